// Command atom-provider-github is the native GitHub provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-github.
package main

import (
	"github.com/atomhq/atom/plugins/native/github/github"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(github.New()) }
