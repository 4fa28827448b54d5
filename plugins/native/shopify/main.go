// Command atom-provider-shopify is the native Shopify provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-shopify.
package main

import (
	"github.com/atomhq/atom/plugins/native/shopify/shopify"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(shopify.New()) }
