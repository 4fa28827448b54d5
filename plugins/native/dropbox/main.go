// Command atom-provider-dropbox is the native Dropbox provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-dropbox.
package main

import (
	"github.com/atomhq/atom/plugins/native/dropbox/dropbox"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(dropbox.New()) }
