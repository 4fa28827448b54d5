// Command atom-provider-slack is the native Slack provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-slack.
package main

import (
	"github.com/atomhq/atom/plugins/native/slack/slack"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(slack.New()) }
