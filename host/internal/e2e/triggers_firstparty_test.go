package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/delivery"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// firstParty are the ten first-party triggers: the plugin directory, the
// auth of the test connection (its fields or params), the trigger and its
// input, and how to make the fake provider produce one item for it.
type firstParty struct {
	id, dir string
	auth    string // descriptor auth object
	conn    map[string]any
	trigger string
	input   map[string]any
	polling bool
	// events is how many events one fire gives (1 when zero).
	events int
	// fire makes apps emit (signed as o says) or change; it returns the
	// deliveries sent (for webhooks).
	fire func(apps *fakeprovider.Apps, o fakeprovider.EmitOptions) []fakeprovider.Delivery
}

func firstPartyTriggers() []firstParty {
	key := `{"kind":"api_key","credential_fields":["apiKey"]}`
	return []firstParty{
		{id: "stripe", dir: "stripe", auth: key, trigger: "event", input: map[string]any{"events": []string{"payment_intent.succeeded", "charge.refunded"}}, events: 2,
			fire: func(a *fakeprovider.Apps, o fakeprovider.EmitOptions) []fakeprovider.Delivery {
				// Two events, each sent three times as Stripe retries, the
				// second first.
				ds := a.StripeEvent("payment_intent.succeeded", map[string]any{"id": "pi_1", "object": "payment_intent", "amount": 2000}, o)
				ds = append(ds, a.StripeEvent("charge.refunded", map[string]any{"id": "ch_1", "object": "charge"}, o)...)
				return a.Send(ds, fakeprovider.EmitOptions{Repeat: 3, Reverse: true})
			}},
		{id: "github", dir: "github", auth: key, trigger: "issues", input: map[string]any{"owner": "octo", "repo": "hello"},
			fire: func(a *fakeprovider.Apps, o fakeprovider.EmitOptions) []fakeprovider.Delivery {
				return a.Send(a.GitHubEvent("octo/hello", "issues", map[string]any{"action": "opened", "issue": map[string]any{"id": 1, "number": 7, "updated_at": "2026-01-02T03:04:05Z"}}, o), o)
			}},
		{id: "shopify", dir: "shopify", auth: `{"kind":"custom","credential_fields":["adminToken"]}`, trigger: "order", input: map[string]any{"topic": "orders/create"},
			fire: func(a *fakeprovider.Apps, o fakeprovider.EmitOptions) []fakeprovider.Delivery {
				return a.Send(a.ShopifyOrder("orders/create", map[string]any{"id": 820982911946154508, "name": "#1001"}, o), fakeprovider.EmitOptions{Repeat: 2})
			}},
		{id: "linear", dir: "linear", auth: key, trigger: "webhook", input: map[string]any{"resource_types": []string{"Issue"}},
			fire: func(a *fakeprovider.Apps, o fakeprovider.EmitOptions) []fakeprovider.Delivery {
				return a.Send(a.LinearEvent("create", "Issue", map[string]any{"id": "i1", "identifier": "ENG-1", "teamId": "t1"}, o), o)
			}},
		// Slack's workspace comes from its token response (set in the test).
		{id: "slack", dir: "slack", trigger: "message_in_channel",
			input: map[string]any{"channel": "C0123ABCD"},
			fire: func(a *fakeprovider.Apps, o fakeprovider.EmitOptions) []fakeprovider.Delivery {
				return a.Send(a.SlackMessage("C0123ABCD", "U1", "hello", nil, o), fakeprovider.EmitOptions{Repeat: 2})
			}},
		{id: "hubspot", dir: "hubspot", auth: key, trigger: "new_or_updated_contact", polling: true,
			fire: func(a *fakeprovider.Apps, o fakeprovider.EmitOptions) []fakeprovider.Delivery {
				a.AddContact(map[string]string{"email": "new@example.com"}, time.Time{})
				return nil
			}},
		{id: "google-drive", dir: "google-drive", auth: key, trigger: "new_file_in_folder", input: map[string]any{"folder_id": "F1"}, polling: true,
			fire: func(a *fakeprovider.Apps, o fakeprovider.EmitOptions) []fakeprovider.Delivery {
				a.AddFile("F1", "report.pdf", "", time.Time{})
				return nil
			}},
		{id: "google-mail", dir: "google-mail", auth: key, trigger: "new_email", input: map[string]any{"query": "subject:invoice"}, polling: true,
			fire: func(a *fakeprovider.Apps, o fakeprovider.EmitOptions) []fakeprovider.Delivery {
				a.AddMessage("billing@example.com", "me@example.com", "Invoice 42", "attached", time.Time{})
				return nil
			}},
		{id: "jira", dir: "jira", auth: `{"kind":"api_key","credential_fields":["apiKey"],"connection_params":["cloud_id"]}`, trigger: "new_issue",
			input: map[string]any{"jql": "project = ENG"}, polling: true,
			fire: func(a *fakeprovider.Apps, o fakeprovider.EmitOptions) []fakeprovider.Delivery {
				a.AddIssue("ENG", "Bug", "Crash on start", time.Time{})
				return nil
			}},
		{id: "notion", dir: "notion", auth: key, trigger: "updated_page_in_database", input: map[string]any{"database_id": fakeprovider.NotionDatabase}, polling: true,
			fire: func(a *fakeprovider.Apps, o fakeprovider.EmitOptions) []fakeprovider.Delivery {
				a.AddPage(fakeprovider.NotionDatabase, "Tuscan kale", time.Time{})
				return nil
			}},
	}
}

// tenantEndpoint is a tenant's webhook endpoint, keeping what it receives.
type tenantEndpoint struct {
	*httptest.Server
	mu  sync.Mutex
	got map[string]http.Header // webhook-id → headers
	raw map[string][]byte
}

func newTenantEndpoint(t *testing.T) *tenantEndpoint {
	te := &tenantEndpoint{got: map[string]http.Header{}, raw: map[string][]byte{}}
	te.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		te.mu.Lock()
		te.got[r.Header.Get("webhook-id")] = r.Header.Clone()
		te.raw[r.Header.Get("webhook-id")] = b
		te.mu.Unlock()
	}))
	t.Cleanup(te.Close)
	return te
}

func (te *tenantEndpoint) delivered(id string) (http.Header, []byte) {
	te.mu.Lock()
	defer te.mu.Unlock()
	return te.got[id], te.raw[id]
}

// must checks r's status and decodes its body into v, failing t (h.Must
// fails the test the host was started for).
func must(t *testing.T, r hosttest.Response, status int, v any) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if v != nil {
		if err := json.Unmarshal(r.Body, v); err != nil {
			t.Fatalf("decode %s: %v", r.Body, err)
		}
	}
}

// TestFirstPartyTriggersEndToEnd runs each of the ten first-party
// triggers over REST on real plugin processes against the fake providers,
// on SQLite and PostgreSQL: the trigger instance is created (a webhook
// registered at the provider with the host's hook URL), the provider emits
// (retries included) or its feed changes, and the item shows once as an
// event on /api/v1/events?trigger=, on the SSE stream, and delivered
// signed to the tenant's endpoint, to no other tenant's. Forged and stale
// provider signatures are refused; deleting a webhook trigger unregisters
// it at the provider.
func TestFirstPartyTriggersEndToEnd(t *testing.T) {
	tps := firstPartyTriggers()
	bins := map[string]string{}
	for _, tp := range tps {
		bins[tp.id] = testbin.Build(t, "plugins/native/"+tp.dir, "")
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			apps := fakeprovider.NewApps(t)
			// Slack's token endpoint names the workspace (team_id), which
			// app webhooks are routed by.
			slackOAuth := fakeprovider.New(t, fakeprovider.Quirks{Metadata: map[string]string{"team_id": apps.SlackTeam}})
			cat := map[string]string{}
			for _, tp := range tps {
				if tp.id == "slack" {
					tp.auth = fmt.Sprintf(`{"kind":"oauth2_cc","token_url":%q,"token_metadata":["team_id"]}`, slackOAuth.URL+"/oauth/token")
				}
				cat[tp.id+".json"] = fmt.Sprintf(`{"id":%q,"name":%q,"categories":["development"],"auth":%s,"api":{"base_url":%q},"implementations":["native"],"connectable":true}`,
					tp.id, tp.id, tp.auth, apps.BaseURL(tp.id))
			}
			h := startHost(t, hosttest.Options{Backend: backend, Catalog: cat,
				Env: map[string]string{"ATOM_TRIGGER_MIN_INTERVAL": "1s", "ATOM_TRIGGER_DEFAULT_INTERVAL": "1s", "ATOM_TRIGGER_SCHEDULE_TICK": "200ms",
					"SLACK_WEBHOOK_SECRET": apps.SlackSigningSecret, "SHOPIFY_WEBHOOK_SECRET": apps.ShopifySecret},
				Prepare: func(dir string) {
					for id, bin := range bins {
						testbin.Install(t, bin, dir, "atom-provider-"+id, 0o755)
					}
				}})
			if err := apps.SetSlackRequestURL(h.URL + "/api/v1/hooks/app/slack"); err != nil {
				t.Fatalf("Slack's url_verification of the host's app URL: %v", err)
			}
			var endpoints []*tenantEndpoint
			var keys []string
			for _, tp := range tps {
				// A tenant per provider, with its webhook endpoint (a
				// tenant holds a few event streams at once).
				key := h.NewTenant("t-" + tp.id).Key
				te := newTenantEndpoint(t)
				var wh struct{ Secret string }
				h.Must(h.Call("PUT", "/api/v1/webhook", key, map[string]any{"url": te.URL}, nil), 200, &wh)
				endpoints, keys = append(endpoints, te), append(keys, key)
				t.Run(tp.id, func(t *testing.T) {
					conn := map[string]any{}
					switch tp.id {
					case "shopify":
						conn["fields"] = map[string]string{"adminToken": apps.Token}
					case "slack":
						conn["fields"] = map[string]string{"client_id": slackOAuth.ClientID, "client_secret": slackOAuth.ClientSecret}
					case "jira":
						conn["api_key"] = apps.Token
						conn["params"] = map[string]string{"cloud_id": apps.JiraCloudID}
					default:
						conn["api_key"] = apps.Token
					}
					must(t, h.Call("POST", "/api/v1/connections/"+tp.id, key, conn, nil), 201, nil)
					body := map[string]any{"provider": tp.id, "trigger": tp.trigger}
					if tp.input != nil {
						body["input"] = tp.input
					}
					if tp.polling {
						body["interval_seconds"] = 1
					}
					var ti struct {
						ID, Kind, Status, HookURL string
						LastPolledAt              *time.Time `json:"last_polled_at"`
					}
					r := h.Call("POST", "/api/v1/triggers", key, body, nil)
					must(t, r, 201, &ti)
					_ = json.Unmarshal(r.Body, &struct {
						HookURL *string `json:"hook_url"`
					}{&ti.HookURL})
					if tp.polling {
						hosttest.WaitFor(t, 30*time.Second, "the first poll", func() bool {
							must(t, h.Call("GET", "/api/v1/triggers/"+ti.ID, key, nil, nil), 200, &ti)
							return ti.LastPolledAt != nil
						})
					} else if tp.id != "slack" {
						registered := false
						for _, hk := range apps.Hooks() {
							registered = registered || (hk.Provider == tp.id && hk.URL == ti.HookURL && ti.HookURL != "")
						}
						if !registered {
							t.Fatalf("%s: hook URL %q not registered at the provider: %+v", tp.id, ti.HookURL, apps.Hooks())
						}
					}
					if !tp.polling {
						// Forged and stale signatures are refused.
						for _, o := range []fakeprovider.EmitOptions{{Forge: true}, {SignedAt: time.Now().Add(-time.Hour)}} {
							if !o.Forge && (tp.id == "github" || tp.id == "shopify") {
								continue // their signatures carry no time
							}
							for _, d := range tp.fire(apps, o) {
								if d.Status != 401 {
									t.Fatalf("%s: a forged or stale delivery answered %d %s", tp.id, d.Status, d.Reply)
								}
							}
						}
					}
					for _, d := range tp.fire(apps, fakeprovider.EmitOptions{}) {
						if d.Status != 200 {
							t.Fatalf("%s: the host answered the provider %d %s", tp.id, d.Status, d.Reply)
						}
					}
					type event struct {
						ID   string          `json:"id"`
						Data json.RawMessage `json:"data"`
					}
					var page struct{ Events []event }
					hosttest.WaitFor(t, 30*time.Second, tp.id+" event", func() bool {
						must(t, h.Call("GET", "/api/v1/events?trigger="+ti.ID, key, nil, nil), 200, &page)
						return len(page.Events) >= max(tp.events, 1)
					})
					if tp.polling { // one more poll: nothing new
						before := *ti.LastPolledAt
						hosttest.WaitFor(t, 30*time.Second, "another poll", func() bool {
							must(t, h.Call("GET", "/api/v1/triggers/"+ti.ID, key, nil, nil), 200, &ti)
							return ti.LastPolledAt.After(before)
						})
						must(t, h.Call("GET", "/api/v1/events?trigger="+ti.ID, key, nil, nil), 200, &page)
					}
					if want := max(tp.events, 1); len(page.Events) != want {
						t.Fatalf("%s: %d events, want %d (retries and repeated polls deduplicated)", tp.id, len(page.Events), want)
					}
					ev := page.Events[0]
					var data struct {
						Provider, Trigger string
						Payload           json.RawMessage
					}
					if err := json.Unmarshal(ev.Data, &data); err != nil || data.Provider != tp.id || data.Trigger != tp.trigger || len(data.Payload) < 2 {
						t.Fatalf("%s: event data %s", tp.id, ev.Data)
					}
					// Streamed over SSE.
					ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
					defer cancel()
					req, _ := http.NewRequestWithContext(ctx, "GET", h.URL+"/api/v1/events/stream?trigger="+ti.ID, nil)
					req.Header.Set("Authorization", "Bearer "+key)
					req.Header.Set("Accept", "text/event-stream")
					resp, err := hosttest.Client.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					streamed := ""
					sc := bufio.NewScanner(resp.Body)
					for streamed == "" && sc.Scan() {
						if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
							var e struct{ ID string }
							_ = json.Unmarshal([]byte(d), &e)
							streamed = e.ID
						}
					}
					resp.Body.Close()
					if streamed != ev.ID {
						t.Fatalf("%s: streamed %q, want %q", tp.id, streamed, ev.ID)
					}
					// Delivered signed to the tenant.
					var hd http.Header
					var raw []byte
					hosttest.WaitFor(t, 30*time.Second, tp.id+" delivery", func() bool {
						hd, raw = te.delivered(ev.ID)
						return hd != nil
					})
					ts, _ := strconv.ParseInt(hd.Get("webhook-timestamp"), 10, 64)
					if hd.Get("webhook-signature") != delivery.Sign(ev.ID, time.Unix(ts, 0), raw, wh.Secret) {
						t.Fatalf("%s: delivery signature %q does not verify", tp.id, hd.Get("webhook-signature"))
					}
					// No other tenant received it or can read it.
					for i, other := range endpoints[:len(endpoints)-1] {
						if hd, _ := other.delivered(ev.ID); hd != nil {
							t.Fatalf("%s: event delivered to another tenant's endpoint", tp.id)
						}
						must(t, h.Call("GET", "/api/v1/events?trigger="+ti.ID, keys[i], nil, nil), 404, nil)
					}
					// Deleting a webhook trigger unregisters it at the provider.
					must(t, h.Call("DELETE", "/api/v1/triggers/"+ti.ID, key, nil, nil), 200, nil)
					if !tp.polling && tp.id != "slack" {
						for _, hk := range apps.Hooks() {
							if hk.Provider == tp.id && hk.URL == ti.HookURL && !hk.Deleted {
								t.Fatalf("%s: webhook still registered after the trigger was deleted", tp.id)
							}
						}
					}
				})
			}
		})
	}
}
