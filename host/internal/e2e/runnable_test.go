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
	"github.com/atomhq/atom/plugins/native/stripe/stripe"
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
				if private {
					checkCatalogActions(t, h)
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

type catalogAction struct {
	Name           string          `json:"name"`
	Implementation string          `json:"implementation"`
	InputSchema    json.RawMessage `json:"input_schema"`
}

type catalogEntry struct {
	ID               string          `json:"id"`
	Connectable      bool            `json:"connectable"`
	Actions          []catalogAction `json:"actions"`
	ReferenceActions []string        `json:"reference_actions"`
}

// checkCatalogActions checks that the catalog API and the status
// dashboard show the actions that run apart from the upstream names kept
// for reference, and that the counts add up.
func checkCatalogActions(t *testing.T, h *hosttest.Host) {
	t.Helper()
	byKind := func(e catalogEntry) map[string]string {
		m := map[string]string{}
		for _, a := range e.Actions {
			if len(a.InputSchema) == 0 {
				t.Fatalf("%s/%s listed without its input schema", e.ID, a.Name)
			}
			m[a.Name] = a.Implementation
		}
		return m
	}
	var st catalogEntry
	h.Must(h.Call("GET", "/api/v1/catalog/stripe", h.Tenant.Key, nil, nil), 200, &st)
	if k := byKind(st); len(st.Actions) != len(stripe.Actions())+1 || k["get_balance"] != "native" || k["custom_api_call"] != "generic" {
		t.Fatalf("catalog stripe: %+v", st)
	}
	// Upstream names that do not run here are apart, and answer 404.
	var oc catalogEntry
	h.Must(h.Call("GET", "/api/v1/catalog/oneclickimpact", h.Tenant.Key, nil, nil), 200, &oc)
	if k := byKind(oc); len(oc.Actions) != 1 || k["custom_api_call"] != "generic" || !contains(oc.ReferenceActions, "plantTrees") ||
		contains(oc.ReferenceActions, "custom_api_call") {
		t.Fatalf("catalog oneclickimpact: %+v", oc)
	}
	r := h.Exec(h.Tenant, "oneclickimpact", "plantTrees", map[string]any{}, nil)
	if code, _ := r.ErrorCode(); r.Status != 404 || code != "unknown_action" {
		t.Fatalf("reference action plantTrees: %d %s", r.Status, r.Body)
	}
	var page struct {
		Items []catalogEntry `json:"items"`
		Total int            `json:"total"`
	}
	h.Must(h.Call("GET", "/api/v1/catalog?q=discord&limit=5", h.Tenant.Key, nil, nil), 200, &page)
	if len(page.Items) == 0 || page.Items[0].ID != "discord" || byKind(page.Items[0])["send_message"] != "piece" {
		t.Fatalf("catalog search discord: %+v", page.Items)
	}

	var status struct {
		Runnable           int `json:"runnable_actions"`
		Typed              int `json:"typed_actions"`
		ProvidersWithTyped int `json:"providers_with_typed_actions"`
		Reference          int `json:"reference_actions"`
		Providers          []struct {
			ID              string   `json:"id"`
			RunnableActions int      `json:"runnable_actions"`
			TypedActions    []string `json:"typed_actions"`
			Status          string   `json:"status"`
		} `json:"providers"`
	}
	h.Must(h.Call("GET", "/api/integrations/status", h.Tenant.Key, nil, nil), 200, &status)
	runnable, typed, withTyped := 0, 0, 0
	for _, p := range status.Providers {
		runnable += p.RunnableActions
		typed += len(p.TypedActions)
		if len(p.TypedActions) > 0 {
			withTyped++
		}
		switch p.ID {
		case "stripe":
			if len(p.TypedActions) != len(stripe.Actions()) || p.RunnableActions != len(stripe.Actions())+1 {
				t.Fatalf("status stripe: %+v", p)
			}
		case "oneclickimpact":
			if len(p.TypedActions) != 0 || p.RunnableActions != 1 {
				t.Fatalf("status oneclickimpact: %+v", p)
			}
		}
		if p.Status == "not_connectable" && p.RunnableActions != 0 && len(p.TypedActions) == 0 {
			t.Fatalf("status %s: not connectable, yet %d runnable actions", p.ID, p.RunnableActions)
		}
	}
	// Only the Stripe plugin and the Discord piece are loaded here.
	if status.Runnable != runnable || status.Typed != typed || status.ProvidersWithTyped != withTyped || withTyped != 2 || status.Reference == 0 {
		t.Fatalf("status counts runnable=%d typed=%d with_typed=%d reference=%d; providers add up to %d %d %d",
			status.Runnable, status.Typed, status.ProvidersWithTyped, status.Reference, runnable, typed, withTyped)
	}
	t.Logf("status: runnable_actions=%d typed_actions=%d providers_with_typed_actions=%d reference_actions=%d",
		status.Runnable, status.Typed, status.ProvidersWithTyped, status.Reference)
}
