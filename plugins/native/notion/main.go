// Command atom-provider-notion is the native Notion provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-notion.
package main

import (
	"github.com/atomhq/atom/plugins/native/notion/notion"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(notion.New()) }
