// Command atom-provider-twilio is the native Twilio provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-twilio.
package main

import (
	"github.com/atomhq/atom/plugins/native/twilio/twilio"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(twilio.New()) }
