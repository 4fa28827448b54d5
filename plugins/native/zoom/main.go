// Command atom-provider-zoom is the native Zoom provider for Atom. Build
// it into ATOM_PLUGIN_DIR as atom-provider-zoom.
package main

import (
	"github.com/atomhq/atom/plugins/native/zoom/zoom"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(zoom.New()) }
