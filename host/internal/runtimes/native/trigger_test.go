package native

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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

	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/triggers"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

// fakeItems is a provider with an item list (newest first, ignoring any
// cursor, so the host's dedupe has work to do) and a webhook registry.
type fakeItems struct {
	mu      sync.Mutex
	items   []item
	hooks   map[string]string // id → url
	deleted []string
	badAuth int
}

type item struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Name      string    `json:"name"`
}

const realKey = "sk_live_real_secret"

func (f *fakeItems) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+realKey {
		f.badAuth++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/items":
		out := slices.Clone(f.items)
		slices.Reverse(out)
		_ = json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodPost && r.URL.Path == "/hooks":
		var in struct {
			URL string `json:"url"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		id := fmt.Sprintf("hook_%d", len(f.hooks)+1)
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
}

func (f *fakeItems) add(id string, at time.Time) {
	f.mu.Lock()
	f.items = append(f.items, item{ID: id, CreatedAt: at, Name: "item " + id})
	f.mu.Unlock()
}

func hmacHex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func triggerPlugin(t *testing.T, flags string) runtimes.Implementation {
	t.Helper()
	dir := t.TempDir()
	testbin.Install(t, testbin.Build(t, "host/internal/runtimes/native/testdata/triggers", flags), dir, plugindir.NativePrefix+"triggers", 0o755)
	m, _ := newManager(t, dir, func(c *Config) {
		c.CallTimeout = 10 * time.Second
		c.Outbound = loopbackOutbound()
	})
	impl, ok := m.Get("triggers")
	if !ok {
		t.Fatalf("triggers not loaded: %+v", m.List())
	}
	return impl
}

// TestTriggersOverPluginProtocol drives the three trigger kinds through
// the real plugin process, over a Session (this SDK) and unary calls (a
// plugin serving protocol version 1 only): polls whose state the host
// keeps and whose items it deduplicates, a webhook enabled with and
// removed from a fake provider, requests signed by it handled and a forged
// one refused, and an app webhook routed by team id. The plugin's requests
// go out through the host with the connection's key, which the plugin
// never sees.
func TestTriggersOverPluginProtocol(t *testing.T) {
	for _, pv := range protocols {
		t.Run(pv.name, func(t *testing.T) {
			fake := &fakeItems{hooks: map[string]string{}}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			impl := triggerPlugin(t, strings.TrimSpace(pv.flags))
			tr, ok := impl.(runtimes.Triggers)
			if !ok {
				t.Fatal("native plugin does not implement runtimes.Triggers")
			}
			mf := impl.Manifest()
			var kinds []string
			for _, tg := range mf.Triggers {
				kinds = append(kinds, tg.Name+":"+tg.Kind)
			}
			if !slices.Equal(kinds, []string{"new_item:polling", "item_event:webhook", "team_message:app_webhook"}) {
				t.Fatalf("manifest triggers %v", kinds)
			}
			if len(mf.Triggers[0].Input) == 0 {
				t.Fatal("trigger input schema lost on the wire")
			}
			host := providertest.NewHost()
			ctx := context.Background()
			base := provider.TriggerRequest{ExecutionID: "trg-1", TenantID: "tenant-a",
				Credentials: provider.Credentials{Type: "api_key", APIKey: realKey}, BaseURL: srv.URL}

			// Polling: state round trip and dedupe.
			t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
			fake.add("a", t0)
			fake.add("b", t0.Add(time.Minute))
			var st triggers.PollState
			poll := func() []provider.Event {
				t.Helper()
				call := provider.TriggerCall{Op: provider.TriggerOpPoll, TriggerRequest: base, State: st.Provider}
				call.Trigger = "new_item"
				res, err := tr.Trigger(ctx, call, host)
				if err != nil {
					t.Fatalf("poll: %v", err)
				}
				var fresh []provider.Event
				fresh, st = triggers.Apply(st, provider.PollResult{Events: res.Events, State: res.State}, triggers.DedupeOptions{})
				return fresh
			}
			first := poll()
			if len(first) != 2 || first[0].ID != "a" || first[1].ID != "b" || !first[0].OccurredAt.Equal(t0) {
				t.Fatalf("first poll %+v", first)
			}
			var payload struct {
				Item    item   `json:"item"`
				SeenKey string `json:"seen_key"`
			}
			if err := json.Unmarshal(first[0].Payload, &payload); err != nil {
				t.Fatal(err)
			}
			if payload.Item.Name != "item a" || payload.SeenKey == "" || strings.Contains(payload.SeenKey, realKey) {
				t.Fatalf("payload %s: the plugin must see a placeholder, not the key", first[0].Payload)
			}
			fake.add("c", t0.Add(2*time.Minute))
			second := poll()
			if len(second) != 1 || second[0].ID != "c" {
				t.Fatalf("second poll %+v, want only c", second)
			}
			var ps struct {
				Cursor string `json:"cursor"`
				Polls  int    `json:"polls"`
			}
			if err := json.Unmarshal(st.Provider, &ps); err != nil || ps.Polls != 2 || ps.Cursor != "a" {
				t.Fatalf("provider state %s: not carried from poll to poll", st.Provider)
			}
			if third := poll(); len(third) != 0 {
				t.Fatalf("third poll found %d new items, want none", len(third))
			}

			// Webhook: enable, handle signed and forged requests, disable.
			wh := base
			wh.Trigger = "item_event"
			res, err := tr.Trigger(ctx, provider.TriggerCall{Op: provider.TriggerOpEnable, TriggerRequest: wh, WebhookURL: "https://atom.example/api/v1/hooks/abc"}, host)
			if err != nil {
				t.Fatalf("enable: %v", err)
			}
			var reg struct {
				HookID string `json:"hook_id"`
				Secret string `json:"secret"`
			}
			if err := json.Unmarshal(res.Registration, &reg); err != nil || reg.HookID != "hook_1" {
				t.Fatalf("registration %s", res.Registration)
			}
			fake.mu.Lock()
			registered := fake.hooks["hook_1"]
			fake.mu.Unlock()
			if registered != "https://atom.example/api/v1/hooks/abc" {
				t.Fatalf("provider got webhook URL %q", registered)
			}
			body := `{"id":"evt_1","type":"item.created","created":1772359200}`
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			signed := http.Header{"Stripe-Signature": {"t=" + ts + ",v1=" + hmacHex("whsec_fake_hook_1", ts+"."+body)}}
			handle := func(h http.Header, body string) (provider.TriggerResult, error) {
				return tr.Trigger(ctx, provider.TriggerCall{Op: provider.TriggerOpHandle, TriggerRequest: wh, Registration: res.Registration,
					Webhook: &provider.WebhookRequest{Method: http.MethodPost, Headers: h, Body: []byte(body)}}, host)
			}
			got, err := handle(signed, body)
			if err != nil {
				t.Fatalf("handle: %v", err)
			}
			if len(got.Events) != 1 || got.Events[0].ID != "evt_1" || string(got.Events[0].Payload) != body || got.Events[0].OccurredAt.Unix() != 1772359200 {
				t.Fatalf("handled %+v", got.Events)
			}
			forged := http.Header{"Stripe-Signature": {"t=" + ts + ",v1=" + hmacHex("whsec_guess", ts+"."+body)}}
			if _, err := handle(forged, body); !errors.Is(err, provider.ErrInvalidSignature) {
				t.Fatalf("forged signature: err = %v, want ErrInvalidSignature", err)
			}
			if _, err := handle(signed, strings.Replace(body, "evt_1", "evt_2", 1)); !errors.Is(err, provider.ErrInvalidSignature) {
				t.Fatalf("tampered body: err = %v, want ErrInvalidSignature", err)
			}
			stale := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
			if _, err := handle(http.Header{"Stripe-Signature": {"t=" + stale + ",v1=" + hmacHex("whsec_fake_hook_1", stale+"."+body)}}, body); !errors.Is(err, provider.ErrInvalidSignature) {
				t.Fatalf("stale signature: err = %v, want ErrInvalidSignature", err)
			}
			if _, err := tr.Trigger(ctx, provider.TriggerCall{Op: provider.TriggerOpDisable, TriggerRequest: wh, Registration: res.Registration}, host); err != nil {
				t.Fatalf("disable: %v", err)
			}
			fake.mu.Lock()
			deleted, left, bad := slices.Clone(fake.deleted), len(fake.hooks), fake.badAuth
			fake.mu.Unlock()
			if !slices.Equal(deleted, []string{"hook_1"}) || left != 0 {
				t.Fatalf("after disable: deleted %v, %d hooks left", deleted, left)
			}
			if bad != 0 {
				t.Fatalf("%d requests reached the provider without the connection's key", bad)
			}

			// App webhook: route by team, then handle with the app's secret.
			slackBody := `{"type":"event_callback","team_id":"T123","event_id":"Ev1","event":{"type":"message","text":"hi"}}`
			route, err := tr.Trigger(ctx, provider.TriggerCall{Op: provider.TriggerOpRoute, Webhook: &provider.WebhookRequest{Body: []byte(slackBody)}}, host)
			if err != nil || route.Route != "T123" {
				t.Fatalf("route %q, %v", route.Route, err)
			}
			app := base
			app.Trigger = "team_message"
			appReg := json.RawMessage(`{"signing_secret":"slack_app_secret"}`)
			slackSigned := http.Header{"X-Slack-Request-Timestamp": {ts}, "X-Slack-Signature": {"v0=" + hmacHex("slack_app_secret", "v0:"+ts+":"+slackBody)}}
			got, err = tr.Trigger(ctx, provider.TriggerCall{Op: provider.TriggerOpHandle, TriggerRequest: app, Registration: appReg,
				Webhook: &provider.WebhookRequest{Headers: slackSigned, Body: []byte(slackBody)}}, host)
			if err != nil || len(got.Events) != 1 || got.Events[0].ID != "Ev1" || string(got.Events[0].Payload) != `{"type":"message","text":"hi"}` {
				t.Fatalf("app handle %+v, %v", got, err)
			}
			challenge := `{"type":"url_verification","challenge":"c-42"}`
			got, err = tr.Trigger(ctx, provider.TriggerCall{Op: provider.TriggerOpHandle, TriggerRequest: app, Registration: appReg,
				Webhook: &provider.WebhookRequest{Headers: http.Header{"X-Slack-Request-Timestamp": {ts}, "X-Slack-Signature": {"v0=" + hmacHex("slack_app_secret", "v0:"+ts+":"+challenge)}}, Body: []byte(challenge)}}, host)
			if err != nil || got.Reply == nil || string(got.Reply.Body) != "c-42" || got.Reply.Headers.Get("Content-Type") != "text/plain" {
				t.Fatalf("url_verification reply %+v, %v", got.Reply, err)
			}
			if _, err := tr.Trigger(ctx, provider.TriggerCall{Op: provider.TriggerOpHandle, TriggerRequest: app, Registration: appReg,
				Webhook: &provider.WebhookRequest{Headers: http.Header{"X-Slack-Request-Timestamp": {ts}, "X-Slack-Signature": {"v0=00"}}, Body: []byte(slackBody)}}, host); !errors.Is(err, provider.ErrInvalidSignature) {
				t.Fatalf("forged slack signature: err = %v", err)
			}

			// The plugin still serves actions on the same process.
			if got := streaming(t, impl); got != pv.stream {
				t.Fatalf("streaming %v, want %v", got, pv.stream)
			}
			if got := triggersStreaming(t, impl); got != pv.triggers {
				t.Fatalf("trigger calls on the session %v, want %v", got, pv.triggers)
			}
			if _, err := call(t, impl, "noop", map[string]any{}, nil); err != nil {
				t.Fatalf("action after triggers: %v", err)
			}
		})
	}
}

// TestTriggerCallsOutsideTheManifest: the host calls no operation the
// manifest does not declare, and a plugin without triggers (as every
// plugin built before them) is never asked.
func TestTriggerCallsOutsideTheManifest(t *testing.T) {
	impl := triggerPlugin(t, "")
	tr := impl.(runtimes.Triggers)
	host := providertest.NewHost()
	for _, c := range []provider.TriggerCall{
		{Op: provider.TriggerOpPoll, TriggerRequest: provider.TriggerRequest{Trigger: "nope"}},
		{Op: provider.TriggerOpPoll, TriggerRequest: provider.TriggerRequest{Trigger: "item_event"}},
		{Op: provider.TriggerOpEnable, TriggerRequest: provider.TriggerRequest{Trigger: "new_item"}},
		{Op: provider.TriggerOpEnable, TriggerRequest: provider.TriggerRequest{Trigger: "team_message"}},
		{Op: "explode", TriggerRequest: provider.TriggerRequest{Trigger: "new_item"}},
	} {
		if _, err := tr.Trigger(context.Background(), c, host); !errors.Is(err, runtimes.ErrUnknownTrigger) {
			t.Errorf("%s %s: err = %v, want ErrUnknownTrigger", c.Op, c.Trigger, err)
		}
	}
	for _, pv := range protocols {
		dir := t.TempDir()
		testbin.Install(t, testbin.Build(t, "host/internal/runtimes/native/testdata/echo", "-X main.version=1.0.0 -X main.id=echo"+pv.flags), dir, "atom-provider-echo", 0o755)
		m, _ := newManager(t, dir, nil)
		echoImpl, _ := m.Get("echo")
		if n := len(echoImpl.Manifest().Triggers); n != 0 {
			t.Fatalf("echo lists %d triggers", n)
		}
		_, err := echoImpl.(runtimes.Triggers).Trigger(context.Background(), provider.TriggerCall{Op: provider.TriggerOpRoute}, host)
		if !errors.Is(err, runtimes.ErrUnknownTrigger) {
			t.Fatalf("%s: route on a plugin without triggers: %v", pv.name, err)
		}
		echo(t, echoImpl)
	}
}

// TestHostileTriggerResults: a plugin answering too many events, an
// oversized state, a message past the wire bound or a payload that is not
// JSON gets an error, nothing of it is returned, and the plugin keeps
// serving; a request to a host it did not declare is refused by the
// host.
func TestHostileTriggerResults(t *testing.T) {
	impl := triggerPlugin(t, "")
	tr := impl.(runtimes.Triggers)
	host := providertest.NewHost()
	pollWith := func(hostile string) (provider.TriggerResult, error) {
		return tr.Trigger(context.Background(), provider.TriggerCall{Op: provider.TriggerOpPoll, TriggerRequest: provider.TriggerRequest{
			TenantID: "tenant-a", Trigger: "new_item", Input: json.RawMessage(`{"hostile":"` + hostile + `"}`),
			Credentials: provider.Credentials{Type: "api_key", APIKey: realKey}, BaseURL: "http://127.0.0.1:1"}}, host)
	}
	for _, h := range []string{"many_events", "big_state", "not_json"} {
		res, err := pollWith(h)
		if !errors.Is(err, triggers.ErrInvalidResult) {
			t.Errorf("%s: err = %v, want ErrInvalidResult", h, err)
		}
		if len(res.Events) != 0 || res.State != nil {
			t.Errorf("%s: a refused result was returned", h)
		}
	}
	res, err := pollWith("big_message")
	if err == nil || len(res.Events) != 0 {
		t.Fatalf("a message past the wire bound was accepted (%d events)", len(res.Events))
	}
	_, err = pollWith("escape")
	if !errors.Is(err, runtimes.ErrTriggerFailed) || !strings.Contains(err.Error(), "host_not_allowed") {
		t.Fatalf("escape: err = %v, want the host's refusal", err)
	}
	if strings.Contains(fmt.Sprint(err), realKey) {
		t.Fatal("error carries the connection's key")
	}
	if _, err := call(t, impl, "noop", map[string]any{}, nil); err != nil {
		t.Fatalf("plugin no longer serves: %v", err)
	}
}
