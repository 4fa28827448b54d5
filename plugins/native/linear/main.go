// Command atom-provider-linear is the native Linear provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-linear.
package main

import (
	"github.com/atomhq/atom/plugins/native/linear/linear"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(linear.New()) }
