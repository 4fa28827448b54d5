// Command atom-provider-one-drive is the native OneDrive provider for
// Atom. Build it into ATOM_PLUGIN_DIR as atom-provider-one-drive.
package main

import (
	"github.com/atomhq/atom/plugins/native/one-drive/onedrive"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(onedrive.New()) }
