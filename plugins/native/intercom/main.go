// Command atom-provider-intercom is the native Intercom provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-intercom.
package main

import (
	"github.com/atomhq/atom/plugins/native/intercom/intercom"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(intercom.New()) }
