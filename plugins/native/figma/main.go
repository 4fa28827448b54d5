// Command atom-provider-figma is the native Figma provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-figma.
package main

import (
	"github.com/atomhq/atom/plugins/native/figma/figma"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(figma.New()) }
