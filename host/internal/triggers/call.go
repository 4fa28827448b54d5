package triggers

import (
	"fmt"

	"github.com/atomhq/atom/sdk/provider"
)

// Allowed reports whether call is an operation the manifest allows:
// route when the provider has an app webhook trigger; otherwise a trigger
// the manifest lists, with an operation of its kind (poll for polling;
// enable, disable and handle for webhook; handle for app webhook). The
// error names the trigger and operation, never the input.
func Allowed(m provider.Manifest, call provider.TriggerCall) error {
	if call.Op == provider.TriggerOpRoute {
		for _, t := range m.Triggers {
			if t.Kind == provider.TriggerAppWebhook {
				return nil
			}
		}
		return fmt.Errorf("provider %s has no app webhook trigger", m.ID)
	}
	for _, t := range m.Triggers {
		if t.Name != call.Trigger {
			continue
		}
		ok := false
		switch call.Op {
		case provider.TriggerOpPoll:
			ok = t.Kind == provider.TriggerPolling
		case provider.TriggerOpEnable, provider.TriggerOpDisable:
			ok = t.Kind == provider.TriggerWebhook
		case provider.TriggerOpHandle:
			ok = t.Kind == provider.TriggerWebhook || t.Kind == provider.TriggerAppWebhook
		}
		if !ok {
			return fmt.Errorf("trigger %s of provider %s (%s) has no operation %q", t.Name, m.ID, t.Kind, call.Op)
		}
		return nil
	}
	return fmt.Errorf("provider %s has no trigger %q", m.ID, call.Trigger)
}
