package triggers_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/apiclient"
	"github.com/atomhq/atom/host/internal/delivery"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/triggers"
	"github.com/atomhq/atom/host/internal/vault"
)

func TestMain(m *testing.M) { testbin.Main(m) }

// fakeProvider is the provider of the triggers fixture plugin
// (host/internal/runtimes/native/testdata/triggers): an item list, newest
// first and ignoring cursors, and a webhook registry. Each API key is one
// account; polls are counted per key, and a poll of a key already being
// polled is recorded as an overlap.
type fakeProvider struct {
	mu       sync.Mutex
	items    []fakeItem
	hooks    map[string]string // id → url
	deleted  []string
	polls    map[string]int
	inflight map[string]int
	overlaps int
	badAuth  int
}

type fakeItem struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Name      string    `json:"name"`
}

func newFake() *fakeProvider {
	return &fakeProvider{hooks: map[string]string{}, polls: map[string]int{}, inflight: map[string]int{}}
}

func (f *fakeProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/oauth/token" {
		// Client credentials: the token response names the client's team.
		_ = r.ParseForm()
		client := r.PostForm.Get("client_id")
		if u, _, ok := r.BasicAuth(); ok {
			client = u
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"access_token":"sk_test_cc_%s","token_type":"bearer","expires_in":3600,"team_id":"T-%s"}`, client, client)
		return
	}
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	if !ok || !strings.HasPrefix(key, "sk_test_") {
		f.badAuth++
		f.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/items":
		f.polls[key]++
		f.inflight[key]++
		if f.inflight[key] > 1 {
			f.overlaps++
		}
		out := slices.Clone(f.items)
		f.mu.Unlock()
		time.Sleep(20 * time.Millisecond) // a poll takes a while: overlaps would show
		slices.Reverse(out)
		_ = json.NewEncoder(w).Encode(out)
		f.mu.Lock()
		f.inflight[key]--
		f.mu.Unlock()
		return
	case r.Method == http.MethodPost && r.URL.Path == "/hooks":
		var in struct {
			URL string `json:"url"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		id := fmt.Sprintf("hook_%d", len(f.hooks)+len(f.deleted)+1)
		f.hooks[id] = in.URL
		_, _ = io.WriteString(w, `{"id":"`+id+`","secret":"whsec_fake_`+id+`"}`)
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/hooks/"):
		id := strings.TrimPrefix(r.URL.Path, "/hooks/")
		delete(f.hooks, id)
		f.deleted = append(f.deleted, id)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
	f.mu.Unlock()
}

func (f *fakeProvider) add(id string, at time.Time) {
	f.mu.Lock()
	f.items = append(f.items, fakeItem{ID: id, CreatedAt: at, Name: "item " + id})
	f.mu.Unlock()
}

// receiver is a tenant's webhook endpoint.
type receiver struct {
	mu   sync.Mutex
	got  []received
	srv  *httptest.Server
	fail bool
}

type received struct {
	Header http.Header
	Body   []byte
}

func newReceiver(t testing.TB) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{Header: r.Header.Clone(), Body: b})
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

const descriptor = `{"id":"triggers","name":"Triggers","categories":["development"],
	"auth":{"kind":"api_key","credential_fields":["apiKey"],"connection_params":["team_id"]},"api":{"base_url":"%s"},
	"implementations":["native"],"connectable":true}`

func triggersBinary(t testing.TB) string {
	return testbin.Build(t, "host/internal/runtimes/native/testdata/triggers", "")
}

// startHost starts a host serving the fixture plugin against fake, with
// polls every second.
func startHost(t testing.TB, o hosttest.Options, fake *httptest.Server) *hosttest.Host {
	t.Helper()
	return startHostWith(t, o, fake, fmt.Sprintf(descriptor, fake.URL))
}

func startHostWith(t testing.TB, o hosttest.Options, fake *httptest.Server, desc string) *hosttest.Host {
	t.Helper()
	bin := triggersBinary(t)
	o.Tenant = "acme"
	o.Catalog = map[string]string{"triggers.json": desc}
	o.Prepare = func(dir string) { testbin.Install(t, bin, dir, plugindir.NativePrefix+"triggers", 0o755) }
	o.Env = map[string]string{"ATOM_TRIGGER_MIN_INTERVAL": "1s", "ATOM_TRIGGER_DEFAULT_INTERVAL": "1s",
		"ATOM_TRIGGER_SCHEDULE_TICK": "300ms", "TRIGGERS_WEBHOOK_SECRET": "app-signing-secret"}
	return hosttest.Start(t, o)
}

type instance struct {
	ID           string     `json:"id"`
	Kind         string     `json:"kind"`
	Status       string     `json:"status"`
	LastError    string     `json:"last_error"`
	HookURL      string     `json:"hook_url"`
	LastPolledAt *time.Time `json:"last_polled_at"`
	ConnectionID string     `json:"connection_id"`
}

type eventPage struct {
	Events []struct {
		ID     string          `json:"id"`
		Type   string          `json:"type"`
		Source string          `json:"source"`
		Seq    int64           `json:"seq"`
		Data   json.RawMessage `json:"data"`
	} `json:"events"`
}

func eventsOf(h *hosttest.Host, key, trigger string) eventPage {
	h.T.Helper()
	var p eventPage
	h.Must(h.Call("GET", "/api/v1/events?trigger="+trigger, key, nil, nil), 200, &p)
	return p
}

func backends() []string { return []string{"sqlite", "postgres"} }

// TestPollingTriggerOverREST creates a polling trigger over REST on a real
// plugin process against a fake provider: the first poll records what
// exists (no backlog replayed), items added later become events once each,
// in order, with ids stable across polls, listed by ?trigger=, streamed
// over SSE and delivered signed to the tenant's endpoint. Bad input is
// refused naming the field; another tenant sees none of it.
func TestPollingTriggerOverREST(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			fake := newFake()
			srv := httptest.NewServer(fake)
			defer srv.Close()
			h := startHost(t, hosttest.Options{Backend: backend}, srv)
			key := h.Tenant.Key
			rc := newReceiver(t)
			var wh struct{ Secret string }
			h.Must(h.Call("PUT", "/api/v1/webhook", key, map[string]any{"url": rc.srv.URL}, nil), 200, &wh)
			h.Must(h.Call("POST", "/api/v1/connections/triggers", key, map[string]any{"api_key": "sk_test_acme"}, nil), 201, nil)
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			fake.add("a", t0)
			fake.add("b", t0.Add(time.Second))

			// Bad input names the field; unknown triggers are listed.
			r := h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "new_item", "input": map[string]any{"hostile": 5}}, nil)
			if code, _ := r.ErrorCode(); r.Status != 400 || code != "invalid_input" || !strings.Contains(string(r.Body), `"field":"/hostile"`) {
				t.Fatalf("bad input: %d %s", r.Status, r.Body)
			}
			r = h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "nope"}, nil)
			if r.Status != 404 || !strings.Contains(string(r.Body), "new_item") {
				t.Fatalf("unknown trigger: %d %s", r.Status, r.Body)
			}
			r = h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "new_item", "interval_seconds": -1}, nil)
			if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"interval_seconds"`) {
				t.Fatalf("bad interval: %d %s", r.Status, r.Body)
			}
			r = h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "new_item", "extra": 1}, nil)
			if r.Status != 400 {
				t.Fatalf("unknown field: %d %s", r.Status, r.Body)
			}

			var ti instance
			h.Must(h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "new_item", "interval_seconds": 1}, nil), 201, &ti)
			if ti.Kind != "polling" || ti.Status != "active" || ti.HookURL != "" {
				t.Fatalf("created %+v", ti)
			}
			hosttest.WaitFor(t, 20*time.Second, "the first poll", func() bool {
				var got instance
				h.Must(h.Call("GET", "/api/v1/triggers/"+ti.ID, key, nil, nil), 200, &got)
				return got.LastPolledAt != nil
			})
			if n := len(eventsOf(h, key, ti.ID).Events); n != 0 {
				t.Fatalf("the first poll replayed %d items of the backlog", n)
			}
			fake.add("c", t0.Add(2*time.Second))
			fake.add("d", t0.Add(3*time.Second))
			var page eventPage
			hosttest.WaitFor(t, 20*time.Second, "events of c and d", func() bool {
				page = eventsOf(h, key, ti.ID)
				return len(page.Events) >= 2
			})
			fake.mu.Lock()
			before := fake.polls["sk_test_acme"]
			fake.mu.Unlock()
			hosttest.WaitFor(t, 20*time.Second, "two more polls", func() bool {
				fake.mu.Lock()
				defer fake.mu.Unlock()
				return fake.polls["sk_test_acme"] >= before+2
			})
			page = eventsOf(h, key, ti.ID)
			var items []string
			for i, e := range page.Events {
				var d struct {
					ItemID    string `json:"item_id"`
					TriggerID string `json:"trigger_id"`
				}
				_ = json.Unmarshal(e.Data, &d)
				items = append(items, d.ItemID)
				if e.ID != triggers.EventID(ti.ID, d.ItemID) || e.Source != ti.ID || e.Seq != int64(i+1) || e.Type != "triggers.new_item" || d.TriggerID != ti.ID {
					t.Fatalf("event %d: %+v (data %s)", i, e, e.Data)
				}
			}
			if !slices.Equal(items, []string{"c", "d"}) {
				t.Fatalf("events of items %v, want [c d] once each, in order", items)
			}

			// The generated client reads the same through the OpenAPI
			// document, strictly (an undeclared field fails it).
			api := h.API(key)
			ctx0 := context.Background()
			got, _, err := api.GetTrigger(ctx0, ti.ID)
			if err != nil || got.Kind != "polling" || got.Status != "active" || got.LastPolledAt == nil || !got.Delivery.Webhook {
				t.Fatalf("GetTrigger: %+v, %v", got, err)
			}
			tl, _, err := api.ListTriggers(ctx0, &apiclient.ListTriggersParams{ConnectionID: ti.ConnectionID})
			if err != nil || len(tl.Triggers) != 1 || tl.Triggers[0].ID != ti.ID {
				t.Fatalf("ListTriggers: %+v, %v", tl, err)
			}
			el, _, err := api.ListEvents(ctx0, &apiclient.ListEventsParams{Trigger: ti.ID})
			if err != nil || len(el.Events) != 2 {
				t.Fatalf("ListEvents: %+v, %v", el, err)
			}

			// Delivered signed (Standard Webhooks), with the event's id.
			mine := func() []received {
				var out []received
				for _, d := range rc.all() {
					if strings.Contains(string(d.Body), `"type":"triggers.new_item"`) {
						out = append(out, d)
					}
				}
				return out
			}
			hosttest.WaitFor(t, 20*time.Second, "two deliveries", func() bool { return len(mine()) >= 2 })
			if n := len(mine()); n != 2 {
				t.Fatalf("%d deliveries of the trigger's events, want 2", n)
			}
			for i, d := range mine() {
				id := d.Header.Get("webhook-id")
				ts, _ := strconv.ParseInt(d.Header.Get("webhook-timestamp"), 10, 64)
				if id != page.Events[i].ID || d.Header.Get("webhook-signature") != delivery.Sign(id, time.Unix(ts, 0), d.Body, wh.Secret) {
					t.Fatalf("delivery %d: id %q, signature %q", i, id, d.Header.Get("webhook-signature"))
				}
			}

			// The stream of the trigger's events.
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", h.URL+"/api/v1/events/stream?trigger="+ti.ID, nil)
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Accept", "text/event-stream")
			resp, err := hosttest.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var streamed []string
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() && len(streamed) < 2 {
				if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					var e struct{ ID string }
					_ = json.Unmarshal([]byte(data), &e)
					streamed = append(streamed, e.ID)
				}
			}
			resp.Body.Close()
			if !slices.Equal(streamed, []string{page.Events[0].ID, page.Events[1].ID}) {
				t.Fatalf("streamed %v", streamed)
			}

			// Another tenant sees nothing of it, under any spelling.
			other := h.NewTenant("rival")
			for _, c := range []struct{ method, path string }{
				{"GET", "/api/v1/triggers/" + ti.ID}, {"DELETE", "/api/v1/triggers/" + ti.ID},
				{"GET", "/api/v1/events?trigger=" + ti.ID}, {"GET", "/api/v1/events/" + page.Events[0].ID},
			} {
				if r := h.Call(c.method, c.path, other.Key, nil, nil); r.Status != 404 {
					t.Fatalf("%s %s as another tenant: %d %s", c.method, c.path, r.Status, r.Body)
				}
			}
			var list struct{ Triggers []instance }
			h.Must(h.Call("GET", "/api/v1/triggers", other.Key, nil, nil), 200, &list)
			if len(list.Triggers) != 0 {
				t.Fatalf("another tenant lists %v", list.Triggers)
			}
			for _, p := range []string{"/api/v1/triggers/", "//api/v1/triggers/" + ti.ID, "/api//v1/triggers/" + ti.ID, "/api/v1/Triggers/" + ti.ID,
				"/api/v1/%74riggers/" + ti.ID, "/api/v1/triggers/" + ti.ID + "/", "/API/v1/triggers/" + ti.ID} {
				for _, k := range []string{"", other.Key} {
					r := h.Call("GET", p, k, nil, nil)
					if r.Status == 200 || strings.Contains(string(r.Body), `"kind"`) {
						t.Fatalf("GET %s (key %t): %d %s", p, k != "", r.Status, r.Body)
					}
				}
				if r := h.Call("DELETE", p, other.Key, nil, nil); r.Status < 400 {
					t.Fatalf("DELETE %s as another tenant: %d", p, r.Status)
				}
			}
			h.Must(h.Call("GET", "/api/v1/triggers/"+ti.ID, key, nil, nil), 200, nil)
			if r := h.Call("GET", "/api/v1/triggers", "", nil, nil); r.Status != 401 {
				t.Fatalf("no key: %d", r.Status)
			}

			// Deleted: gone, and polled no more.
			h.Must(h.Call("DELETE", "/api/v1/triggers/"+ti.ID, key, nil, nil), 200, nil)
			h.Must(h.Call("GET", "/api/v1/triggers/"+ti.ID, key, nil, nil), 404, nil)
		})
	}
}

func stripeSign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.%s", ts, body)
	return "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// TestWebhookTriggerOverREST registers a webhook trigger with the fake
// provider (Enable with the host's hook URL), receives signed requests at
// the URL — each sent three times and out of order gives one event with
// one id — refuses forged and stale signatures (401, counted), answers an
// unknown hook 404, and, when the connection is deleted, disables the
// trigger and unregisters the webhook at the provider.
func TestWebhookTriggerOverREST(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			fake := newFake()
			srv := httptest.NewServer(fake)
			defer srv.Close()
			h := startHost(t, hosttest.Options{Backend: backend}, srv)
			key := h.Tenant.Key
			rc := newReceiver(t)
			h.Must(h.Call("PUT", "/api/v1/webhook", key, map[string]any{"url": rc.srv.URL}, nil), 200, nil)
			h.Must(h.Call("POST", "/api/v1/connections/triggers", key, map[string]any{"api_key": "sk_test_acme", "params": map[string]string{"team_id": "T-1"}}, nil), 201, nil)
			// A team id the tenant typed in does not make an app webhook
			// account: it could be anyone's.
			if r := h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "team_message"}, nil); r.Status != 400 {
				t.Fatalf("app webhook trigger on a typed-in team id: %d %s", r.Status, r.Body)
			}
			created, resp, err := h.API(key).CreateTrigger(context.Background(), apiclient.CreateTriggerRequest{Provider: "triggers", Trigger: "item_event",
				Delivery: &apiclient.TriggerDeliveryRequest{Webhook: false}})
			if err != nil || resp.StatusCode != 201 {
				t.Fatalf("CreateTrigger: %v", err)
			}
			ti := instance{ID: created.ID, Kind: created.Kind, Status: created.Status, HookURL: created.HookURL, ConnectionID: created.ConnectionID}
			fake.mu.Lock()
			registered := fake.hooks["hook_1"]
			fake.mu.Unlock()
			if ti.Kind != "webhook" || ti.HookURL == "" || registered != ti.HookURL || !strings.HasPrefix(ti.HookURL, h.URL+"/api/v1/hooks/hk_") {
				t.Fatalf("created %+v; the provider registered %q", ti, registered)
			}
			var again instance
			h.Must(h.Call("GET", "/api/v1/triggers/"+ti.ID, key, nil, nil), 200, &again)
			if again.HookURL != "" {
				t.Fatal("the hook URL is shown again after creation")
			}
			path := strings.TrimPrefix(ti.HookURL, h.URL)
			secret := "whsec_fake_hook_1"
			send := func(id string, ts int64, sig string) hosttest.Response {
				body := []byte(fmt.Sprintf(`{"id":%q,"created":%d,"type":"item.created"}`, id, ts))
				if sig == "" {
					sig = stripeSign(secret, ts, body)
				}
				return h.Call("POST", path, "", body, map[string]string{"Stripe-Signature": sig, "Content-Type": "application/json"})
			}
			now := time.Now().Unix()
			// evt_2 first, then evt_1 three times, then evt_2 again.
			for i, id := range []string{"evt_2", "evt_1", "evt_1", "evt_1", "evt_2"} {
				r := send(id, now, "")
				if r.Status != 200 {
					t.Fatalf("send %d (%s): %d %s", i, id, r.Status, r.Body)
				}
			}
			page := eventsOf(h, key, ti.ID)
			var ids []string
			for _, e := range page.Events {
				ids = append(ids, e.ID)
			}
			want := []string{triggers.EventID(ti.ID, "evt_2"), triggers.EventID(ti.ID, "evt_1")}
			if !slices.Equal(ids, want) {
				t.Fatalf("events %v, want %v (each once)", ids, want)
			}
			// delivery.webhook false: recorded, never scheduled for the
			// tenant's endpoint, which exists.
			for _, id := range ids {
				var ev struct {
					Delivery json.RawMessage `json:"delivery"`
				}
				h.Must(h.Call("GET", "/api/v1/events/"+id, key, nil, nil), 200, &ev)
				if ev.Delivery != nil {
					t.Fatalf("event %s of a trigger without webhook delivery has a delivery: %s", id, ev.Delivery)
				}
			}
			// Forged, stale and missing signatures, and an unknown hook.
			if r := send("evt_3", now, "t="+strconv.FormatInt(now, 10)+",v1=00"); r.Status != 401 {
				t.Fatalf("forged: %d %s", r.Status, r.Body)
			}
			if r := send("evt_3", now-3600, ""); r.Status != 401 {
				t.Fatalf("stale: %d %s", r.Status, r.Body)
			}
			if r := h.Call("POST", path, "", []byte(`{"id":"evt_4"}`), nil); r.Status != 401 {
				t.Fatalf("unsigned: %d %s", r.Status, r.Body)
			}
			if n := len(eventsOf(h, key, ti.ID).Events); n != 2 {
				t.Fatalf("%d events after refused requests", n)
			}
			for _, p := range []string{"/api/v1/hooks/hk_" + strings.Repeat("a", 52), "/api/v1/hooks/x", path + "x", strings.ToUpper(path)} {
				if r := h.Call("POST", p, "", []byte(`{}`), nil); r.Status != 404 {
					t.Fatalf("unknown hook %s: %d %s", p, r.Status, r.Body)
				}
			}
			// A body past ATOM_BODY_LIMIT is refused before it is read.
			if r := h.Call("POST", path, "", make([]byte, 2<<20), map[string]string{"Content-Type": "application/json"}); r.Status != 413 {
				t.Fatalf("oversized hook body: %d %s", r.Status, r.Body)
			}
			metrics := string(h.Call("GET", "/metrics", "", nil, nil).Body)
			if !strings.Contains(metrics, `atom_trigger_webhooks_refused_total{provider="triggers",reason="signature"} 3`) {
				t.Fatalf("refusals not counted:\n%s", grepLines(metrics, "atom_trigger_webhooks"))
			}
			// Another tenant's key cannot delete it.
			other := h.NewTenant("rival")
			h.Must(h.Call("DELETE", "/api/v1/triggers/"+ti.ID, other.Key, nil, nil), 404, nil)

			// Deleting the connection disables the trigger and unregisters
			// its webhook at the provider; its URL is dead.
			h.Must(h.Call("DELETE", "/api/v1/connections/triggers", key, nil, nil), 200, nil)
			h.Must(h.Call("GET", "/api/v1/triggers/"+ti.ID, key, nil, nil), 200, &again)
			fake.mu.Lock()
			deleted := slices.Clone(fake.deleted)
			fake.mu.Unlock()
			if again.Status != "disabled" || !slices.Equal(deleted, []string{"hook_1"}) {
				t.Fatalf("after the connection was deleted: %+v, provider deleted %v", again, deleted)
			}
			if r := send("evt_5", time.Now().Unix(), ""); r.Status != 404 {
				t.Fatalf("hook of a disabled trigger: %d %s", r.Status, r.Body)
			}
		})
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestAppWebhookRoutesByAccount: the fixture's app webhook trigger gets
// the requests sent to the provider's one URL for its connection's team
// (from the token response), verified with the operator's signing
// secret; another tenant's connection to another team gets none of them;
// a URL verification challenge is answered; a forged request is refused.
func TestAppWebhookRoutesByAccount(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			fake := newFake()
			srv := httptest.NewServer(fake)
			defer srv.Close()
			h := startHostWith(t, hosttest.Options{Backend: backend}, srv, fmt.Sprintf(`{"id":"triggers","name":"Triggers","categories":["development"],
				"auth":{"kind":"oauth2_cc","token_url":"%s/oauth/token","token_metadata":["team_id"]},"api":{"base_url":"%s"},
				"implementations":["native"],"connectable":true}`, srv.URL, srv.URL))
			connect := func(key, client string) instance {
				h.Must(h.Call("POST", "/api/v1/connections/triggers", key, map[string]any{"fields": map[string]string{"client_id": client, "client_secret": "s"}}, nil), 201, nil)
				var ti instance
				h.Must(h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "team_message"}, nil), 201, &ti)
				return ti
			}
			mine := connect(h.Tenant.Key, "1")
			rival := h.NewTenant("rival")
			theirs := connect(rival.Key, "2")
			slack := func(body string, secret string) hosttest.Response {
				ts := strconv.FormatInt(time.Now().Unix(), 10)
				m := hmac.New(sha256.New, []byte(secret))
				fmt.Fprintf(m, "v0:%s:%s", ts, body)
				return h.Call("POST", "/api/v1/hooks/app/triggers", "", []byte(body), map[string]string{
					"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + hex.EncodeToString(m.Sum(nil)), "Content-Type": "application/json"})
			}
			if r := slack(`{"type":"url_verification","challenge":"ch-123"}`, "app-signing-secret"); r.Status != 200 || string(r.Body) != "ch-123" {
				t.Fatalf("challenge: %d %s", r.Status, r.Body)
			}
			msg := `{"type":"event_callback","team_id":"T-1","event_id":"Ev1","event":{"type":"message","text":"hi"}}`
			for range 3 {
				h.Must(slack(msg, "app-signing-secret"), 200, nil)
			}
			if r := slack(strings.Replace(msg, "Ev1", "Ev2", 1), "wrong"); r.Status != 401 {
				t.Fatalf("forged: %d %s", r.Status, r.Body)
			}
			page := eventsOf(h, h.Tenant.Key, mine.ID)
			if len(page.Events) != 1 || page.Events[0].ID != triggers.EventID(mine.ID, "Ev1") {
				t.Fatalf("events %+v", page.Events)
			}
			if n := len(eventsOf(h, rival.Key, theirs.ID).Events); n != 0 {
				t.Fatalf("another team's connection got %d events", n)
			}
		})
	}
}

// TestTwoHostsPollEachInstanceOnce runs two hosts on one PostgreSQL
// database with many polling instances: every instance is polled, and no
// instance is ever polled by both at once or more often than its
// interval allows.
func TestTwoHostsPollEachInstanceOnce(t *testing.T) {
	fake := newFake()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	keys, err := vault.Generate("k1")
	if err != nil {
		t.Fatal(err)
	}
	a := startHost(t, hosttest.Options{Backend: "postgres", EncryptionKeys: keys, Quiet: true}, srv)
	b := startHost(t, hosttest.Options{DatabaseURL: a.PG.AppURL, MigrateDatabaseURL: a.PG.OwnerURL, Backend: "postgres", EncryptionKeys: keys, Quiet: true}, srv)
	const n = 12
	start := time.Now()
	for i := range n {
		h := a
		if i%2 == 1 {
			h = b
		}
		tn := h.NewTenant(fmt.Sprintf("t%d", i))
		h.Must(h.Call("POST", "/api/v1/connections/triggers", tn.Key, map[string]any{"api_key": fmt.Sprintf("sk_test_%d", i)}, nil), 201, nil)
		h.Must(h.Call("POST", "/api/v1/triggers", tn.Key, map[string]any{"provider": "triggers", "trigger": "new_item", "interval_seconds": 2}, nil), 201, nil)
	}
	hosttest.WaitFor(t, 60*time.Second, "every instance polled three times", func() bool {
		fake.mu.Lock()
		defer fake.mu.Unlock()
		for i := range n {
			if fake.polls[fmt.Sprintf("sk_test_%d", i)] < 3 {
				return false
			}
		}
		return true
	})
	elapsed := time.Since(start)
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.overlaps != 0 {
		t.Fatalf("%d polls overlapped another poll of the same instance", fake.overlaps)
	}
	// Polls of one instance are at least an interval (2 s) apart: at most
	// one more than the intervals that fit in the time elapsed.
	limit := int(elapsed/(2*time.Second)) + 1
	for i := range n {
		if got := fake.polls[fmt.Sprintf("sk_test_%d", i)]; got > limit {
			t.Fatalf("instance %d polled %d times in %v (at most %d)", i, got, elapsed, limit)
		}
	}
}

// TestRevokedConnectionNeedsReauth: a connection the provider rejects
// marks its triggers needs_reauth (and polls do not run on it); connecting
// again makes them active and polled.
func TestRevokedConnectionNeedsReauth(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			fake := newFake()
			srv := httptest.NewServer(fake)
			defer srv.Close()
			h := startHost(t, hosttest.Options{Backend: backend}, srv)
			key := h.Tenant.Key
			h.Must(h.Call("POST", "/api/v1/connections/triggers", key, map[string]any{"api_key": "sk_test_acme"}, nil), 201, nil)
			var ti instance
			h.Must(h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "new_item", "interval_seconds": 1}, nil), 201, &ti)
			if err := h.App.Connect.MarkRejected(context.Background(), h.Tenant.ID, ti.ConnectionID, "the provider said the key is revoked"); err != nil {
				t.Fatal(err)
			}
			var got instance
			h.Must(h.Call("GET", "/api/v1/triggers/"+ti.ID, key, nil, nil), 200, &got)
			if got.Status != "needs_reauth" {
				t.Fatalf("after the connection was revoked: %+v", got)
			}
			fake.mu.Lock()
			polls := fake.polls["sk_test_acme"]
			fake.mu.Unlock()
			hosttest.WaitFor(t, 20*time.Second, "a poll attempt on the revoked connection", func() bool {
				h.Must(h.Call("GET", "/api/v1/triggers/"+ti.ID, key, nil, nil), 200, &got)
				return got.LastError != "" && strings.Contains(got.LastError, "reconnect")
			})
			fake.mu.Lock()
			after := fake.polls["sk_test_acme"]
			fake.mu.Unlock()
			if got.Status != "needs_reauth" || after > polls+1 {
				t.Fatalf("revoked: %+v, %d polls reached the provider (from %d)", got, after, polls)
			}
			h.Must(h.Call("POST", "/api/v1/connections/triggers", key, map[string]any{"api_key": "sk_test_acme"}, nil), 201, nil)
			h.Must(h.Call("GET", "/api/v1/triggers/"+ti.ID, key, nil, nil), 200, &got)
			if got.Status != "active" {
				t.Fatalf("after reconnecting: %+v", got)
			}
			hosttest.WaitFor(t, 20*time.Second, "polls again", func() bool {
				fake.mu.Lock()
				defer fake.mu.Unlock()
				return fake.polls["sk_test_acme"] > after
			})
		})
	}
}
