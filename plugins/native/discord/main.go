// Command atom-provider-discord is the native Discord provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-discord.
package main

import (
	"github.com/atomhq/atom/plugins/native/discord/discord"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(discord.New()) }
