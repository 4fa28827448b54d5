// Command atom-provider-hubspot is the native HubSpot provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-hubspot.
package main

import (
	"github.com/atomhq/atom/plugins/native/hubspot/hubspot"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(hubspot.New()) }
