// Command atom-provider-square is the native Square provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-square.
package main

import (
	"github.com/atomhq/atom/plugins/native/square/square"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(square.New()) }
