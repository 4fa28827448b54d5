// Package e2e holds end-to-end tests that start a real host in process
// (app.New with the execution engine's hook) on a real database, with real
// plugin processes, real wasm modules and local fakes of provider APIs.
package e2e

import (
	"encoding/json"
	"testing"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
)

func TestMain(m *testing.M) { testbin.Main(m) }

// stripeBinary builds the first-party Stripe plugin.
func stripeBinary(t testing.TB) string { return testbin.Build(t, "plugins/native/stripe", "") }

// startHost starts a host as o describes with a tenant "acme"
// (Host.Tenant) and a body limit large enough for plugin uploads.
func startHost(t testing.TB, o hosttest.Options) *hosttest.Host {
	t.Helper()
	o.Tenant = "acme"
	o.BodyLimit = 256 << 20
	return hosttest.Start(t, o)
}

// object decodes an action's JSON output as an object.
func object(t testing.TB, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("output %s: %v", raw, err)
	}
	return m
}
