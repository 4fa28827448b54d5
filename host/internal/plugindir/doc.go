// Package plugindir owns the plugin directory (ATOM_PLUGIN_DIR): which
// files in it are plugins and under which id, the lock file that pins what
// may run (plugins.lock), the private copies executed instead of the files
// plugins could reach, and the one watcher that tells the native manager
// and the wasm loader what changed. The runtimes import it; it imports no
// runtime.
//
// Id rules: an id is 1-64 characters of a-z, 0-9, _ and -, starting with a
// letter or digit. A native plugin's file is atom-provider-<id> (or <id>),
// a piece's <id>.wasm; the file name decides the id, and the artifact must
// declare that id.
package plugindir
