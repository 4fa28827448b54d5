// Command atom-provider-google-drive is the native Google Drive provider
// for Atom. Build it into ATOM_PLUGIN_DIR as atom-provider-google-drive.
package main

import (
	"github.com/atomhq/atom/plugins/native/google-drive/gdrive"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(gdrive.New()) }
