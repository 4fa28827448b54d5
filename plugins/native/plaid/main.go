// Command atom-provider-plaid is the native Plaid provider for Atom. Build
// it into ATOM_PLUGIN_DIR as atom-provider-plaid.
package main

import (
	"github.com/atomhq/atom/plugins/native/plaid/plaid"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(plaid.New()) }
