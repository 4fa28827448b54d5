// Command atom-provider-zoho-crm is the native Zoho CRM provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-zoho-crm.
package main

import (
	"github.com/atomhq/atom/plugins/native/zoho-crm/zohocrm"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(zohocrm.New()) }
