// Command atom-provider-clickup is the native ClickUp provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-clickup.
package main

import (
	"github.com/atomhq/atom/plugins/native/clickup/clickup"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(clickup.New()) }
