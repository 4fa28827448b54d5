package triggers_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/triggers"
)

// TestPieceTriggersOverREST runs a wasm piece's triggers (the wasm
// runtime's fixture) through the same engine as a native plugin's: a
// polling trigger's new item becomes an event, a GitHub-signed webhook
// sent twice one event, and deleting the trigger unregisters its hook.
func TestPieceTriggersOverREST(t *testing.T) {
	fake := newFake()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	wasmFile := testbin.BuildWasm(t, "host/internal/runtimes/wasm/testdata/triggers", "")
	h := hosttest.Start(t, hosttest.Options{
		Tenant:  "acme",
		Catalog: map[string]string{"triggers.json": `{"id":"triggers","name":"Triggers","categories":["development"],"auth":{"kind":"api_key"},"api":{"base_url":"https://items.test"},"implementations":["piece"],"connectable":true}`},
		Rewrite: map[string]string{"items.test": srv.URL},
		Prepare: func(dir string) { testbin.Install(t, wasmFile, dir, "triggers.wasm", 0o644) },
		Env:     map[string]string{"ATOM_TRIGGER_MIN_INTERVAL": "1s", "ATOM_TRIGGER_SCHEDULE_TICK": "300ms"},
	})
	key := h.Tenant.Key
	h.Must(h.Call("POST", "/api/v1/connections/triggers", key, map[string]any{"api_key": "sk_test_piece"}, nil), 201, nil)

	var poll instance
	h.Must(h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "new_item", "interval_seconds": 1}, nil), 201, &poll)
	hosttest.WaitFor(t, 20*time.Second, "the first poll", func() bool {
		var got instance
		h.Must(h.Call("GET", "/api/v1/triggers/"+poll.ID, key, nil, nil), 200, &got)
		return got.LastPolledAt != nil
	})
	fake.add("p1", time.Now())
	hosttest.WaitFor(t, 20*time.Second, "the event of p1", func() bool { return len(eventsOf(h, key, poll.ID).Events) == 1 })
	if e := eventsOf(h, key, poll.ID).Events[0]; e.ID != triggers.EventID(poll.ID, "p1") {
		t.Fatalf("event %+v", e)
	}

	var hook instance
	h.Must(h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "item_event"}, nil), 201, &hook)
	fake.mu.Lock()
	var hookID string
	for id, u := range fake.hooks {
		if u == hook.HookURL {
			hookID = id
		}
	}
	fake.mu.Unlock()
	if hookID == "" {
		t.Fatalf("the provider has no hook at %s", hook.HookURL)
	}
	body := []byte(`{"action":"opened","issue":{"id":7}}`)
	m := hmac.New(sha256.New, []byte("whsec_fake_"+hookID))
	m.Write(body)
	sig := "sha256=" + hex.EncodeToString(m.Sum(nil))
	path := strings.TrimPrefix(hook.HookURL, h.URL)
	for range 2 {
		h.Must(h.Call("POST", path, "", body, map[string]string{"X-Hub-Signature-256": sig, "X-GitHub-Delivery": "d-1"}), 200, nil)
	}
	if r := h.Call("POST", path, "", body, map[string]string{"X-Hub-Signature-256": "sha256=" + strings.Repeat("0", 64), "X-GitHub-Delivery": "d-2"}); r.Status != 401 {
		t.Fatalf("forged: %d %s", r.Status, r.Body)
	}
	if evs := eventsOf(h, key, hook.ID).Events; len(evs) != 1 || evs[0].ID != triggers.EventID(hook.ID, "d-1") {
		t.Fatalf("events %+v", evs)
	}
	var del struct{ Unregistered bool }
	h.Must(h.Call("DELETE", "/api/v1/triggers/"+hook.ID, key, nil, nil), 200, &del)
	fake.mu.Lock()
	deleted := slices.Clone(fake.deleted)
	fake.mu.Unlock()
	if !del.Unregistered || !slices.Equal(deleted, []string{hookID}) {
		t.Fatalf("unregistered %t, provider deleted %v", del.Unregistered, deleted)
	}
}
