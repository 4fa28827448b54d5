// Command atom-provider-monday is the native monday.com provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-monday.
package main

import (
	"github.com/atomhq/atom/plugins/native/monday/monday"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(monday.New()) }
