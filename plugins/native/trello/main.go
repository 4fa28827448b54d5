// Command atom-provider-trello is the native Trello provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-trello.
package main

import (
	"github.com/atomhq/atom/plugins/native/trello/trello"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(trello.New()) }
