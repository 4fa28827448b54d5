// Command atom-provider-pipedrive is the native Pipedrive provider for
// Atom. Build it into ATOM_PLUGIN_DIR as atom-provider-pipedrive.
package main

import (
	"github.com/atomhq/atom/plugins/native/pipedrive/pipedrive"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(pipedrive.New()) }
