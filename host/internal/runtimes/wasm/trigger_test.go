package wasm

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
	"strings"
	"sync"
	"testing"
	"time"

	hostrt "github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/triggers"
	"github.com/atomhq/atom/sdk/provider"
)

const pieceKey = "sk_piece_real"

// fakeItemsProvider lists items newest first (whatever was polled before)
// and keeps webhook registrations.
type fakeItemsProvider struct {
	mu      sync.Mutex
	items   []map[string]any
	hooks   map[string]string
	deleted []string
	badAuth int
}

func (f *fakeItemsProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+pieceKey {
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
		_, _ = io.WriteString(w, `{"id":"`+id+`","secret":"gh_secret_`+id+`"}`)
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/hooks/"):
		id := strings.TrimPrefix(r.URL.Path, "/hooks/")
		delete(f.hooks, id)
		f.deleted = append(f.deleted, id)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// TestPieceTriggers drives a piece's polling and webhook triggers through
// the real module: poll state round trip with the host's dedupe, a webhook
// enabled with and removed from a fake provider, a signed delivery handled
// and a forged one refused, and hostile answers bounded.
func TestPieceTriggers(t *testing.T) {
	fake := &fakeItemsProvider{hooks: map[string]string{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	rt := testRuntime(t, Config{Rewrite: map[string]string{"items.test": srv.URL}})
	p, err := rt.Load(modulePath("triggers"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var tr hostrt.Triggers = p
	mf := p.Manifest()
	if len(mf.Triggers) != 3 || mf.Triggers[1].Kind != provider.TriggerPolling || mf.Triggers[2].Kind != provider.TriggerWebhook || len(mf.Triggers[1].Input) == 0 {
		t.Fatalf("manifest triggers %+v", mf.Triggers)
	}
	host := newMemHost()
	ctx := context.Background()
	base := provider.TriggerRequest{ExecutionID: "trg-1", TenantID: "tenant-a", Credentials: provider.Credentials{Type: "api_key", APIKey: pieceKey}}

	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	add := func(id string, at time.Time) {
		fake.mu.Lock()
		fake.items = append(fake.items, map[string]any{"id": id, "created_at": at})
		fake.mu.Unlock()
	}
	add("a", t0)
	add("b", t0.Add(time.Minute))
	var st triggers.PollState
	poll := func() []string {
		t.Helper()
		req := base
		req.Trigger = "new_item"
		res, err := tr.Trigger(ctx, provider.TriggerCall{Op: provider.TriggerOpPoll, TriggerRequest: req, State: st.Provider}, host)
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		var fresh []provider.Event
		fresh, st = triggers.Apply(st, provider.PollResult{Events: res.Events, State: res.State}, triggers.DedupeOptions{})
		var ids []string
		for _, e := range fresh {
			ids = append(ids, e.ID)
		}
		return ids
	}
	if got := poll(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("first poll %v", got)
	}
	add("c", t0.Add(2*time.Minute))
	if got := poll(); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("second poll %v, want [c]", got)
	}
	if string(st.Provider) != `{"polls":2}` {
		t.Fatalf("piece state %s: not carried between polls", st.Provider)
	}

	wh := base
	wh.Trigger = "item_event"
	res, err := tr.Trigger(ctx, provider.TriggerCall{Op: provider.TriggerOpEnable, TriggerRequest: wh, WebhookURL: "https://atom.example/api/v1/hooks/xyz"}, host)
	if err != nil {
		t.Fatalf("enable: %v", err)
	}
	fake.mu.Lock()
	registered := fake.hooks["hook_1"]
	fake.mu.Unlock()
	if registered != "https://atom.example/api/v1/hooks/xyz" || !strings.Contains(string(res.Registration), `"hook_id":"hook_1"`) {
		t.Fatalf("registration %s, provider has %q", res.Registration, registered)
	}
	body := []byte(`{"action":"opened","issue":{"id":7}}`)
	m := hmac.New(sha256.New, []byte("gh_secret_hook_1"))
	m.Write(body)
	sig := "sha256=" + hex.EncodeToString(m.Sum(nil))
	handle := func(sig string) (provider.TriggerResult, error) {
		return tr.Trigger(ctx, provider.TriggerCall{Op: provider.TriggerOpHandle, TriggerRequest: wh, Registration: res.Registration,
			Webhook: &provider.WebhookRequest{Method: "POST", Headers: http.Header{"X-Hub-Signature-256": {sig}, "X-Github-Delivery": {"d-1"}}, Body: body}}, host)
	}
	got, err := handle(sig)
	if err != nil || len(got.Events) != 1 || got.Events[0].ID != "d-1" || string(got.Events[0].Payload) != string(body) {
		t.Fatalf("handle %+v, %v", got, err)
	}
	if _, err := handle("sha256=" + strings.Repeat("0", 64)); !errors.Is(err, provider.ErrInvalidSignature) {
		t.Fatalf("forged signature: err = %v, want ErrInvalidSignature", err)
	}
	if _, err := tr.Trigger(ctx, provider.TriggerCall{Op: provider.TriggerOpDisable, TriggerRequest: wh, Registration: res.Registration}, host); err != nil {
		t.Fatalf("disable: %v", err)
	}
	fake.mu.Lock()
	deleted, bad := slices.Clone(fake.deleted), fake.badAuth
	fake.mu.Unlock()
	if !slices.Equal(deleted, []string{"hook_1"}) || bad != 0 {
		t.Fatalf("deleted %v, %d unauthenticated requests", deleted, bad)
	}

	// Operations the manifest does not declare never reach the module.
	for _, c := range []provider.TriggerCall{
		{Op: provider.TriggerOpEnable, TriggerRequest: provider.TriggerRequest{Trigger: "new_item"}},
		{Op: provider.TriggerOpPoll, TriggerRequest: provider.TriggerRequest{Trigger: "missing"}},
	} {
		if _, err := tr.Trigger(ctx, c, host); !errors.Is(err, hostrt.ErrUnknownTrigger) {
			t.Errorf("%s %s: err = %v, want ErrUnknownTrigger", c.Op, c.Trigger, err)
		}
	}

	// Route: no tenant, no credentials, no request (the piece fails
	// if its request gets through).
	rr, err := tr.Trigger(ctx, provider.TriggerCall{Op: provider.TriggerOpRoute, TriggerRequest: base,
		Webhook: &provider.WebhookRequest{Body: []byte(`{"team_id":"T9"}`)}}, host)
	if err != nil || rr.Route != "T9" {
		t.Fatalf("route %q, %v", rr.Route, err)
	}

	// Hostile answers.
	hostile := func(mode string) error {
		req := base
		req.Trigger, req.Input = "new_item", json.RawMessage(`{"hostile":"`+mode+`"}`)
		r, err := tr.Trigger(ctx, provider.TriggerCall{Op: provider.TriggerOpPoll, TriggerRequest: req}, host)
		if err == nil || len(r.Events) != 0 {
			t.Errorf("%s: accepted (%d events)", mode, len(r.Events))
		}
		return err
	}
	for _, mode := range []string{"many_events", "big_state"} {
		if err := hostile(mode); !errors.Is(err, triggers.ErrInvalidResult) {
			t.Errorf("%s: err = %v, want ErrInvalidResult", mode, err)
		}
	}
	if err := hostile("escape"); !errors.Is(err, hostrt.ErrTriggerFailed) || !strings.Contains(err.Error(), "not declared") {
		t.Errorf("escape: err = %v, want the host's refusal", err)
	}
	// The piece still serves.
	if _, err := p.Execute(ctx, provider.Request{TenantID: "tenant-a", Action: "noop", Input: json.RawMessage(`{}`)}, host); err != nil {
		t.Fatalf("execute after triggers: %v", err)
	}
}

// TestPieceWithoutTriggers: a module built before triggers (no
// atom_trigger export, no triggers in its manifest) loads and runs as
// before and is never asked for a trigger.
func TestPieceWithoutTriggers(t *testing.T) {
	rt := testRuntime(t, Config{})
	for _, f := range pieceFixtures() {
		if !f.wat {
			continue
		}
		p, err := rt.Load(modulePath(f.name))
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if n := len(p.Manifest().Triggers); n != 0 {
			t.Fatalf("%s lists %d triggers", f.name, n)
		}
		_, err = p.Trigger(context.Background(), provider.TriggerCall{Op: provider.TriggerOpPoll, TriggerRequest: provider.TriggerRequest{Trigger: "x"}}, newMemHost())
		if !errors.Is(err, hostrt.ErrUnknownTrigger) {
			t.Fatalf("%s: err = %v, want ErrUnknownTrigger", f.name, err)
		}
		return
	}
	t.Fatal("no piece written in WebAssembly text to load")
}
