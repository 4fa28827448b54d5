package providertest

import (
	"net/http"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

// RunRefreshing runs action with stale credentials while the host's
// Refresh hands out fresh ones, the way a provider meets an expired token.
// It fails the test unless the call succeeded after exactly one refresh,
// and returns the response.
func RunRefreshing(t testing.TB, p provider.Provider, action string, input any, stale, fresh provider.Credentials, opts ...Option) provider.Response {
	t.Helper()
	host := NewHost()
	host.RefreshCredentials = fresh
	resp := Run(t, p, action, input, stale, append(opts, WithHost(host))...)
	if resp.Failed() || host.Refreshes() != 1 {
		t.Fatalf("providertest: %s after %d refreshes: %+v", action, host.Refreshes(), resp.Diagnostics)
	}
	return resp
}

// WriteGoogleError answers with a Google API error body: code, message
// and status (e.g. "NOT_FOUND"), and one errors item with the reason and,
// when location is set, the location and its type (e.g. "parameter").
func WriteGoogleError(w http.ResponseWriter, status int, statusName, reason, msg, location, locationType string) {
	e := map[string]any{"domain": "global", "reason": reason, "message": msg}
	if location != "" {
		e["location"], e["locationType"] = location, locationType
	}
	WriteJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "message": msg, "status": statusName, "errors": []any{e}}})
}
