// Command atom-provider-xero is the native Xero provider for Atom. Build it
// into ATOM_PLUGIN_DIR as atom-provider-xero.
package main

import (
	"github.com/atomhq/atom/plugins/native/xero/xero"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(xero.New()) }
