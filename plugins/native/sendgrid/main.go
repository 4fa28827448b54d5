// Command atom-provider-sendgrid is the native SendGrid provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-sendgrid.
package main

import (
	"github.com/atomhq/atom/plugins/native/sendgrid/sendgrid"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(sendgrid.New()) }
