// Command atom-provider-jira is the native Jira provider for Atom.
// Build it into ATOM_PLUGIN_DIR as atom-provider-jira.
package main

import (
	"github.com/atomhq/atom/plugins/native/jira/jira"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(jira.New()) }
