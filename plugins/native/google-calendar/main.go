// Command atom-provider-google-calendar is the native Google Calendar
// provider for Atom. Build it into ATOM_PLUGIN_DIR as
// atom-provider-google-calendar.
package main

import (
	"github.com/atomhq/atom/plugins/native/google-calendar/gcal"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(gcal.New()) }
