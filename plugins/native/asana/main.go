// Command atom-provider-asana is the native Asana provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-asana.
package main

import (
	"github.com/atomhq/atom/plugins/native/asana/asana"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(asana.New()) }
