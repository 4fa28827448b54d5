// Command atom-provider-box is the native Box provider for Atom. Build it
// into ATOM_PLUGIN_DIR as atom-provider-box.
package main

import (
	"github.com/atomhq/atom/plugins/native/box/box"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(box.New()) }
