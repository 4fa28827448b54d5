// Command atom-provider-stripe is the native Stripe provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-stripe.
package main

import (
	"github.com/atomhq/atom/plugins/native/stripe/stripe"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(stripe.New()) }
