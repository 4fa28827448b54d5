// Package provider is what a native Atom provider is written with: a Go
// program that serves one integration's actions to the Atom host. Start
// here; sdk/README.md has the checklist from nothing to a running plugin
// and sdk/proto the wire protocol for other languages.
//
// # The life of a provider
//
// Writing. A provider is a Manifest (the catalog id it serves, its
// version, the hosts its requests may reach, its actions with JSON Schemas
// for input and output) and a handler per action. Build one with New and
// ActionDef, decode typed input with Typed, call the API with Call.HTTP
// (base URL, credentials and one refresh after a 401 handled for you), and
// report provider-side failures as diagnostics (UserError, *HTTPError)
// rather than errors. main is one line:
//
//	func main() { provider.Serve(myprovider.New()) }
//
// Testing. sdk/providertest runs a provider in-process, or over the real
// go-plugin gRPC transport with providertest.OverGRPC, against a fake host
// whose refresh results, store and logs a test sets and reads.
//
// Installing. Build the program as atom-provider-<id> and put it in the
// host's plugin directory (ATOM_PLUGIN_DIR), or upload it with
// PUT /api/v1/admin/plugins/<id>. The host notices the file within a
// second (changes are debounced for 100 ms), copies it to a private file
// and hashes it (with verification on, it must match its line in
// plugins.lock), then starts it once to read the manifest: the manifest's
// ID must equal <id>. Tenants connect to the integration through its
// catalog descriptor (docs/descriptors.md), not through the plugin.
//
// Serving. The process starts on the first call and serves many: Execute
// is called concurrently (at most the host's per-plugin limit, 64 by
// default), each call with its own context, deadline, action, validated
// input and the connection's credentials (placeholders the host swaps for
// the secrets on the way out, unless Manifest.RawCredentials). Every HTTP
// request goes out through the host, only to AllowedHosts and the host of
// the request's BaseURL; Host gives the tenant's key-value store, logs and
// refreshes, each bound to the execution. A process may serve several
// tenants in turn: keep no tenant's data in globals.
//
// Stopping. After 5 minutes without calls the
// host stops the process; the next call starts a new one. A crashed
// process is restarted on the next call (with backoff while it keeps
// crashing); the calls it was serving fail as unavailable and are not
// retried by the host.
//
// Replacing. A new binary under the same name is loaded beside the old
// one; new calls go to it once it has started, calls in flight finish on
// the old process, which then stops. The manifest's Version need not
// change: the host tells versions apart by checksum. See "Replacing a
// plugin" in sdk/README.md.
//
// Compatibility. Within protocol atom.plugin.v1 and SDK v1, a plugin built
// with any v1 SDK runs on any v1 host (sdk/README.md, "Stability promise").
package provider
