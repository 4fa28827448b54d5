package providertest

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

// ClosedInputs fails the test for every action of m whose input schema is
// not a JSON object schema with "additionalProperties": false, so that an
// input field the provider does not know is rejected before its handler
// runs. Actions named in open must still declare an object schema but may
// leave it open (e.g. a test_connection that ignores its input).
func ClosedInputs(t testing.TB, m provider.Manifest, open ...string) {
	t.Helper()
	for _, a := range m.Actions {
		var in map[string]any
		err := json.Unmarshal(a.Input, &in)
		if err != nil || (in["additionalProperties"] != false && !slices.Contains(open, a.Name)) {
			t.Errorf("action %s: input schema must be a closed object: %s", a.Name, a.Input)
		}
	}
}
