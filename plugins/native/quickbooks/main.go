// Command atom-provider-quickbooks is the native QuickBooks Online provider
// for Atom. Build it into ATOM_PLUGIN_DIR as atom-provider-quickbooks.
package main

import (
	"github.com/atomhq/atom/plugins/native/quickbooks/quickbooks"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(quickbooks.New()) }
