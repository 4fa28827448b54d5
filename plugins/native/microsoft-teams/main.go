// Command atom-provider-microsoft-teams is the native Microsoft Teams
// provider for Atom. Build it into ATOM_PLUGIN_DIR as
// atom-provider-microsoft-teams.
package main

import (
	"github.com/atomhq/atom/plugins/native/microsoft-teams/teams"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(teams.New()) }
