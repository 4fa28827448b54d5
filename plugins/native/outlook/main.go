// Command atom-provider-outlook is the native Outlook (Microsoft Graph
// mail) provider for Atom. Build it into ATOM_PLUGIN_DIR as
// atom-provider-outlook.
package main

import (
	"github.com/atomhq/atom/plugins/native/outlook/outlook"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(outlook.New()) }
