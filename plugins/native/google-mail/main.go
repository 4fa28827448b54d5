// Command atom-provider-google-mail is the native Gmail provider for
// Atom. Build it into ATOM_PLUGIN_DIR as atom-provider-google-mail.
package main

import (
	"github.com/atomhq/atom/plugins/native/google-mail/gmail"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(gmail.New()) }
