package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/runtimes/jspiece"
	"github.com/atomhq/atom/host/internal/triggers"
)

// liveFake is a provider API whose answers change while the host polls
// it; it records every request.
type liveFake struct {
	*httptest.Server
	mu      sync.Mutex
	answers map[string]string // "METHOD /path" → JSON
	seen    []upstreamCall
}

func newLiveFake(t testing.TB) *liveFake {
	f := &liveFake{answers: map[string]string{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, upstreamCall{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(b)})
		a, ok := f.answers[r.Method+" "+r.URL.Path]
		f.mu.Unlock()
		if !ok {
			http.Error(w, `{"error":"no such route in the fake"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, a)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *liveFake) set(route, answer string) {
	f.mu.Lock()
	f.answers[route] = answer
	f.mu.Unlock()
}

// calls returns the requests received for "METHOD /path".
func (f *liveFake) calls(route string) []upstreamCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []upstreamCall
	for _, c := range f.seen {
		if c.Method+" "+c.Path == route {
			out = append(out, c)
		}
	}
	return out
}

type trigInstance struct {
	ID           string     `json:"id"`
	Kind         string     `json:"kind"`
	Status       string     `json:"status"`
	LastError    string     `json:"last_error"`
	HookURL      string     `json:"hook_url"`
	LastPolledAt *time.Time `json:"last_polled_at"`
}

type trigEvent struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		TriggerID string          `json:"trigger_id"`
		ItemID    string          `json:"item_id"`
		Payload   json.RawMessage `json:"payload"`
	} `json:"data"`
}

func trigEvents(h *hosttest.Host, key, trigger string) []trigEvent {
	h.T.Helper()
	var p struct{ Events []trigEvent }
	h.Must(h.Call("GET", "/api/v1/events?trigger="+trigger, key, nil, nil), 200, &p)
	return p.Events
}

// TestJSPieceTriggersOverREST runs published Activepieces pieces' own
// triggers through the trigger engine over REST, as native ones run:
// Tidycal's new_booking (pollingHelper, TIMEBASED) polled on River, its
// onEnable seeding the dedupe state, a booking created afterwards an
// event once across polls; ClickUp's task_created (webhook, old
// framework) registering the host's hook URL with ClickUp through the
// tenant's OAuth connection (the exact request asserted), a delivery sent
// twice one event enriched with the task, and deleting the trigger
// deleting ClickUp's webhook; Slack's new-message-in-channel (app
// webhook) on the app's one URL, routed to the tenant's connection by the
// team the token response named, the piece verifying Slack's signature
// with the operator's signing secret (a forged one 401) and answering the
// URL verification challenge. The triggers are listed with their kinds
// and input schemas; input missing a required prop is refused. On SQLite
// and PostgreSQL.
func TestJSPieceTriggersOverREST(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			fp := fakeprovider.New(t, fakeprovider.Quirks{})
			// Slack's token response: the user's token under authed_user,
			// the team at team.id, as the shipped catalog entry reads it.
			slackFP := fakeprovider.New(t, fakeprovider.Quirks{NestedPath: "authed_user"})
			tidy, clickup, slack := newLiveFake(t), newLiveFake(t), newLiveFake(t)
			pieces := []struct{ id, pkg, host string }{
				{"tidycal", "@activepieces/piece-tidycal", "tidycal.com"},
				{"clickup", "@activepieces/piece-clickup", "api.clickup.com"},
				{"slack", "@activepieces/piece-slack", "slack.com"},
			}
			var slackDesc map[string]any
			_ = json.Unmarshal([]byte(oauthDescriptor("slack", "Slack", "https://slack.com/api", slackFP)), &slackDesc)
			slackDesc["auth"].(map[string]any)["token_path"] = "authed_user"
			slackDesc["auth"].(map[string]any)["token_metadata"] = []string{"bot_user_id", "team.id"}
			slackJSON, _ := json.Marshal(slackDesc)
			h := startHost(t, hosttest.Options{Backend: backend,
				Catalog: map[string]string{"clickup.json": oauthDescriptor("clickup", "ClickUp", "https://api.clickup.com", fp), "slack.json": string(slackJSON)},
				Rewrite: map[string]string{"tidycal.com": tidy.URL, "api.clickup.com": clickup.URL, "slack.com": slack.URL},
				Env: map[string]string{connect.EnvName("clickup") + "_CLIENT_ID": fp.ClientID, connect.EnvName("clickup") + "_CLIENT_SECRET": fp.ClientSecret,
					"SLACK_CLIENT_ID": slackFP.ClientID, "SLACK_CLIENT_SECRET": slackFP.ClientSecret, "SLACK_SIGNING_SECRET": "slack-app-secret",
					"ATOM_TRIGGER_MIN_INTERVAL": "1s", "ATOM_TRIGGER_SCHEDULE_TICK": "300ms"},
				Prepare: func(dir string) {
					for _, p := range pieces {
						a := jspiece.Artifact{ID: p.id, Package: p.pkg, Version: installedVersion(t, p.pkg), Hosts: []string{p.host}, Source: bundledPiece(t, p.pkg)}
						if _, err := jspiece.Write(dir, a, nil); err != nil {
							t.Fatal(err)
						}
					}
				}})
			hosttest.WaitFor(t, 120*time.Second, "the JS pieces to load", func() bool {
				for _, p := range pieces {
					if _, ok := h.Parts.Registry.Get(p.id, "piece"); !ok {
						return false
					}
				}
				return true
			})
			key := h.Tenant.Key

			// Listed as runnable triggers, with kinds and input schemas.
			var entry struct {
				Triggers []struct {
					Name, Kind, Implementation string
					InputSchema                struct{ Required []string } `json:"input_schema"`
				}
			}
			h.Must(h.Call("GET", "/api/v1/catalog/clickup", key, nil, nil), 200, &entry)
			listed := false
			for _, tr := range entry.Triggers {
				if tr.Name == "clickup_trigger_task_created" {
					listed = tr.Kind == "webhook" && tr.Implementation == "piece" && reflect.DeepEqual(tr.InputSchema.Required, []string{"workspace_id"})
				}
			}
			if !listed {
				t.Fatalf("clickup's triggers: %+v", entry.Triggers)
			}

			t.Run("polling", func(t *testing.T) {
				old := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
				booking := func(id int, created string) string {
					return fmt.Sprintf(`{"id":%d,"contact_id":3,"created_at":%q,"contact":{"name":"Ada"}}`, id, created)
				}
				tidy.set("GET /api/bookings", `{"data":[`+booking(1, old)+`]}`)
				h.Must(h.Call("POST", "/api/v1/connections/tidycal", key, map[string]any{"api_key": "tidy-key-acme"}, nil), 201, nil)
				var poll trigInstance
				h.Must(h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "tidycal", "trigger": "new_booking", "interval_seconds": 1}, nil), 201, &poll)
				if poll.Kind != "polling" {
					t.Fatalf("instance %+v", poll)
				}
				// The first poll is onEnable (no request for TIMEBASED);
				// the next ones ask for the bookings.
				hosttest.WaitFor(t, 30*time.Second, "two polls of the bookings", func() bool { return len(tidy.calls("GET /api/bookings")) >= 2 })
				for _, c := range tidy.calls("GET /api/bookings") {
					if c.Query != "cancelled=false" || c.Header.Get("Authorization") != "Bearer tidy-key-acme" {
						t.Fatalf("poll request %s?%s with %q", c.Path, c.Query, c.Header.Get("Authorization"))
					}
				}
				if evs := trigEvents(h, key, poll.ID); len(evs) != 0 {
					t.Fatalf("a booking older than the trigger became an event: %+v", evs)
				}
				fresh := time.Now().Add(time.Second).UTC().Format("2006-01-02T15:04:05.000000Z")
				tidy.set("GET /api/bookings", `{"data":[`+booking(2, fresh)+`,`+booking(1, old)+`]}`)
				hosttest.WaitFor(t, 30*time.Second, "the event of booking 2", func() bool { return len(trigEvents(h, key, poll.ID)) > 0 })
				n := len(tidy.calls("GET /api/bookings"))
				hosttest.WaitFor(t, 30*time.Second, "two more polls", func() bool { return len(tidy.calls("GET /api/bookings")) >= n+2 })
				evs := trigEvents(h, key, poll.ID)
				var item struct{ ID int }
				if len(evs) != 1 || evs[0].Type != "tidycal.new_booking" || json.Unmarshal(evs[0].Data.Payload, &item) != nil || item.ID != 2 ||
					evs[0].ID != triggers.EventID(poll.ID, evs[0].Data.ItemID) {
					t.Fatalf("events %+v", evs)
				}
				var got trigInstance
				h.Must(h.Call("GET", "/api/v1/triggers/"+poll.ID, key, nil, nil), 200, &got)
				if got.Status != "active" || got.LastError != "" {
					t.Fatalf("instance %+v", got)
				}
			})

			t.Run("webhook", func(t *testing.T) {
				clickup.set("POST /api/v2/team/9001/webhook", `{"id":"wh-77","webhook":{"id":"wh-77"}}`)
				clickup.set("GET /api/v2/task/86a1", `{"id":"86a1","name":"Ship it"}`)
				clickup.set("DELETE /api/v2/webhook/wh-77", `{}`)
				connectOAuth(h, h.Tenant, "clickup")
				// A required prop missing: refused before the piece runs.
				if r := h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "clickup", "trigger": "clickup_trigger_task_created", "input": map[string]any{}}, nil); r.Status != 400 || !strings.Contains(string(r.Body), "workspace_id") {
					t.Fatalf("without workspace_id: %d %s", r.Status, r.Body)
				}
				var hook trigInstance
				h.Must(h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "clickup", "trigger": "clickup_trigger_task_created",
					"input": map[string]any{"workspace_id": "9001"}}, nil), 201, &hook)
				regs := clickup.calls("POST /api/v2/team/9001/webhook")
				if hook.Kind != "webhook" || !strings.HasPrefix(hook.HookURL, h.URL+"/api/v1/hooks/hk_") || len(regs) != 1 {
					t.Fatalf("instance %+v, registrations %+v", hook, regs)
				}
				checkRequest(t, fp, regs[0], wantRequest{Method: "POST", Path: "/api/v2/team/9001/webhook", Auth: "oauth", ContentType: "application/json",
					Body: map[string]any{"endpoint": hook.HookURL, "events": []any{"taskCreated"}}})

				body := []byte(`{"event":"taskCreated","task_id":"86a1","webhook_id":"wh-77","history_items":[{"id":"h1"}]}`)
				path := strings.TrimPrefix(hook.HookURL, h.URL)
				for range 2 {
					h.Must(h.Call("POST", path, "", body, nil), 200, nil)
				}
				evs := trigEvents(h, key, hook.ID)
				var ev struct {
					Event string
					Task  struct{ Name string }
				}
				if len(evs) != 1 || evs[0].Type != "clickup.clickup_trigger_task_created" || json.Unmarshal(evs[0].Data.Payload, &ev) != nil ||
					ev.Event != "taskCreated" || ev.Task.Name != "Ship it" {
					t.Fatalf("events %+v", evs)
				}
				if r := h.Call("POST", "/api/v1/hooks/hk_unknown", "", body, nil); r.Status != 404 {
					t.Fatalf("an unknown hook: %d %s", r.Status, r.Body)
				}

				var del struct{ Unregistered bool }
				h.Must(h.Call("DELETE", "/api/v1/triggers/"+hook.ID, key, nil, nil), 200, &del)
				dels := clickup.calls("DELETE /api/v2/webhook/wh-77")
				if !del.Unregistered || len(dels) != 1 {
					t.Fatalf("unregistered %t, ClickUp got %+v", del.Unregistered, dels)
				}
				checkRequest(t, fp, dels[0], wantRequest{Method: "DELETE", Path: "/api/v2/webhook/wh-77", Auth: "oauth"})
				if r := h.Call("POST", path, "", body, nil); r.Status != 404 {
					t.Fatalf("the deleted trigger's hook: %d %s", r.Status, r.Body)
				}
			})

			t.Run("app webhook", func(t *testing.T) {
				connectOAuth(h, h.Tenant, "slack")
				var inst trigInstance
				h.Must(h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "slack", "trigger": "new-message-in-channel",
					"input": map[string]any{"channel": "C0123"}}, nil), 201, &inst)
				if inst.Kind != "app_webhook" {
					t.Fatalf("instance %+v", inst)
				}
				send := func(body, secret string) hosttest.Response {
					ts := fmt.Sprint(time.Now().Unix())
					m := hmac.New(sha256.New, []byte(secret))
					m.Write([]byte("v0:" + ts + ":" + body))
					return h.Call("POST", "/api/v1/hooks/app/slack", "", []byte(body), map[string]string{"Content-Type": "application/json",
						"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + hex.EncodeToString(m.Sum(nil))})
				}
				// Slack's URL verification: the piece's challenge reply.
				if r := send(`{"type":"url_verification","challenge":"ch-3f9"}`, "slack-app-secret"); r.Status != 200 || string(r.Body) != "ch-3f9" {
					t.Fatalf("challenge: %d %s", r.Status, r.Body)
				}
				msg := func(channel, text string) string {
					return fmt.Sprintf(`{"type":"event_callback","team_id":"T0FAKE","event":{"type":"message","channel":%q,"channel_type":"channel","user":"U1","text":%q,"ts":"1.1"}}`, channel, text)
				}
				for range 2 {
					h.Must(send(msg("C0123", "hello"), "slack-app-secret"), 200, nil)
				}
				h.Must(send(msg("C0999", "elsewhere"), "slack-app-secret"), 200, nil)
				if r := send(msg("C0123", "forged"), "not-the-secret"); r.Status != 401 {
					t.Fatalf("forged: %d %s", r.Status, r.Body)
				}
				evs := trigEvents(h, key, inst.ID)
				var ev struct{ Channel, Text string }
				if len(evs) != 1 || evs[0].Type != "slack.new-message-in-channel" || json.Unmarshal(evs[0].Data.Payload, &ev) != nil || ev.Text != "hello" {
					t.Fatalf("events %+v", evs)
				}
				// Another tenant does not see the trigger or its events.
				other := h.NewTenant("other-team")
				if r := h.Call("GET", "/api/v1/events?trigger="+inst.ID, other.Key, nil, nil); r.Status != 404 {
					t.Fatalf("another tenant: %d %s", r.Status, r.Body)
				}
			})
		})
	}
}
