// Command atom-provider-airtable is the native Airtable provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-airtable.
package main

import (
	"github.com/atomhq/atom/plugins/native/airtable/airtable"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(airtable.New()) }
