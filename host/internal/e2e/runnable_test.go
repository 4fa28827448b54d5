package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// discordKeyDescriptor replaces the catalog's Discord entry with a bot
// token connection, served by the Discord piece and the generic runtime.
const discordKeyDescriptor = `{"id":"discord","name":"Discord","categories":["communication"],
 "auth":{"kind":"api_key","credential_fields":["apiKey"],"api_key_in":"header","api_key_name":"Authorization","api_key_prefix":"Bot "},
 "api":{"base_url":"https://discord.com/api"},"implementations":["piece","generic"],"connectable":true}`

// upstream is one fake API standing for Stripe, Discord and the fake
// provider: it answers who called (from the credential the request
// carries) and the path, and counts the requests.
type upstream struct {
	*httptest.Server
	hits atomic.Int64
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		who := "nobody"
		switch {
		case r.Header.Get("Authorization") == "Bearer sk_test_123":
			who = "stripe"
		case r.Header.Get("Authorization") == "Bot d_1":
			who = "discord"
		case r.Header.Get("X-Api-Key") == "k_1":
			who = "fakeapi"
		}
		w.Header().Set("Content-Type", "application/json")
		if who == "nobody" {
			w.WriteHeader(401)
		}
		b, _ := json.Marshal(map[string]string{"as": who, "path": r.URL.Path, "method": r.Method})
		_, _ = w.Write(b)
	}))
	t.Cleanup(u.Close)
	return u
}

// TestCustomAPICallEverywhere runs custom_api_call on both routes for a
// provider with a native plugin (Stripe), one with a piece (Discord) and
// one served by the generic runtime alone, and checks it obeys the same
// credential and outbound rules as a generic-only provider.
func TestCustomAPICallEverywhere(t *testing.T) {
	stripeBin := stripeBinary(t)
	discordWasm := testbin.BuildWasm(t, "plugins/pieces/discord", "")
	providers := []struct{ id, typed string }{{"stripe", "get_balance"}, {"discord", "send_message"}, {"fakeapi", ""}}
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, private := range []bool{true, false} {
			name := backend + "/private-allowed"
			if !private {
				name = backend + "/private-refused"
			}
			t.Run(name, func(t *testing.T) {
				if backend == "postgres" {
					storetest.RequirePostgres(t)
				}
				up := newUpstream(t)
				h := startHost(t, hosttest.Options{
					Backend: backend,
					Env: map[string]string{"STRIPE_API_BASE_URL": up.URL, "DISCORD_API_BASE_URL": up.URL + "/api",
						"FAKEAPI_API_BASE_URL": up.URL},
					Catalog: map[string]string{"stripe.json": stripeDescriptor, "discord.json": discordKeyDescriptor,
						"fakeapi.json": fakeAPIDescriptor},
					NoPrivate: !private,
					Prepare: func(dir string) {
						testbin.Install(t, stripeBin, dir, "atom-provider-stripe", 0o755)
						testbin.Install(t, discordWasm, dir, "discord.wasm", 0o644)
					},
				})
				ctx := context.Background()
				for id, key := range map[string]string{"stripe": "sk_test_123", "discord": "d_1", "fakeapi": "k_1"} {
					if _, err := h.App.Connect.ConnectCredentials(ctx, h.Tenant.ID, "", id, connect.CredentialsInput{APIKey: key}); err != nil {
						t.Fatal(err)
					}
				}
				other := h.NewTenant("other")
				call := map[string]any{"method": "GET", "path": "/v1/things"}
				for _, p := range providers {
					// Both listings offer custom_api_call (by the generic
					// runtime) next to the typed actions.
					var list struct {
						Implementation string `json:"implementation"`
						Actions        []struct {
							Name, Implementation string
							InputSchema          json.RawMessage `json:"input_schema"`
						} `json:"actions"`
					}
					h.Must(h.Call("GET", "/api/v1/integrations/"+p.id+"/actions", h.Tenant.Key, nil, nil), 200, &list)
					kinds := map[string]string{}
					for _, a := range list.Actions {
						kinds[a.Name] = a.Implementation
						if len(a.InputSchema) == 0 {
							t.Fatalf("%s/%s listed without its input schema", p.id, a.Name)
						}
					}
					if kinds["custom_api_call"] != "generic" || (p.typed != "" && kinds[p.typed] != list.Implementation) {
						t.Fatalf("%s actions: %+v", p.id, list)
					}

					for _, route := range []string{"/api/v1/integrations/", "/api/v1/pieces/"} {
						path := route + p.id + "/actions/custom_api_call"
						before := up.hits.Load()
						r := h.Call("POST", path, h.Tenant.Key, map[string]any{"input": call}, nil)
						if !private {
							// The outbound policy refuses the loopback
							// upstream, as for a generic-only provider.
							code, msg := r.ErrorCode()
							if r.Status != 422 || code != "action_failed" || !strings.Contains(msg, "loopback") || up.hits.Load() != before {
								t.Fatalf("%s with private hosts refused: %d %s (hits %d)", path, r.Status, r.Body, up.hits.Load()-before)
							}
							continue
						}
						var v struct {
							Output struct {
								Status int               `json:"status"`
								Body   map[string]string `json:"body"`
							} `json:"output"`
							ExecutionID string `json:"execution_id"`
						}
						h.Must(r, 200, &v)
						wantPath := "/v1/things"
						if p.id == "discord" {
							wantPath = "/api/v1/things"
						}
						// The tenant's own connection authenticates the
						// call, applied as the descriptor says.
						if v.Output.Status != 200 || v.Output.Body["as"] != p.id || v.Output.Body["path"] != wantPath {
							t.Fatalf("%s: %+v", path, v.Output)
						}
						var x struct{ Implementation, Status, Action string }
						h.Must(h.Call("GET", "/api/v1/executions/"+v.ExecutionID, h.Tenant.Key, nil, nil), 200, &x)
						if x.Implementation != "generic" || x.Status != "succeeded" || x.Action != "custom_api_call" {
							t.Fatalf("%s recorded %+v", path, x)
						}

						// The path cannot leave the provider's API.
						before = up.hits.Load()
						r = h.Call("POST", path, h.Tenant.Key, map[string]any{"input": map[string]any{"method": "GET", "path": "https://evil.example/x"}}, nil)
						if r.Status != 422 || up.hits.Load() != before {
							t.Fatalf("%s absolute URL: %d %s", path, r.Status, r.Body)
						}
					}
					// A tenant without a connection is refused before any
					// request leaves.
					before := up.hits.Load()
					r := h.Exec(other, p.id, "custom_api_call", call, nil)
					if code, msg := r.ErrorCode(); r.Status != 404 || !strings.Contains(msg, "Provider not connected") || up.hits.Load() != before {
						t.Fatalf("%s not connected: %d %s %s", p.id, r.Status, code, r.Body)
					}
				}
				// Unknown actions still name what runs.
				r := h.Exec(h.Tenant, "stripe", "refund_everything", map[string]any{}, nil)
				if _, msg := r.ErrorCode(); r.Status != 404 || !strings.Contains(msg, "custom_api_call") || !strings.Contains(msg, "get_balance") {
					t.Fatalf("unknown action: %d %s", r.Status, r.Body)
				}
				// Typed actions still run on their own implementation.
				r = h.Call("POST", "/api/v1/pieces/discord/actions/send_message", h.Tenant.Key, map[string]any{"input": map[string]any{}}, nil)
				if code, _ := r.ErrorCode(); r.Status != 400 || code != "invalid_input" {
					t.Fatalf("piece action: %d %s", r.Status, r.Body)
				}
			})
		}
	}
}
