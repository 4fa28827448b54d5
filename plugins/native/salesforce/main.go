// Command atom-provider-salesforce is the native Salesforce provider for
// Atom. Build it into ATOM_PLUGIN_DIR as atom-provider-salesforce.
package main

import (
	"github.com/atomhq/atom/plugins/native/salesforce/salesforce"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(salesforce.New()) }
