package fakeprovider_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/triggers"
	"github.com/atomhq/atom/sdk/pluginhost"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

// plug runs one first-party provider through the go-plugin gRPC
// transport against the Apps fake, as the host would.
type plug struct {
	t     *testing.T
	apps  *fakeprovider.Apps
	id    string
	p     provider.Provider
	c     *pluginhost.Client
	host  *providertest.Host
	creds provider.Credentials
}

func newPlug(t *testing.T, apps *fakeprovider.Apps, id string, p provider.Provider) *plug {
	return &plug{t: t, apps: apps, id: id, p: p, c: providertest.Serve(t, p), host: providertest.NewHost(),
		creds: provider.Credentials{Type: "oauth2", AccessToken: apps.Token, TokenType: "Bearer"}}
}

func (p *plug) call(op, trigger, input string, set func(*provider.TriggerCall)) (provider.TriggerResult, error) {
	p.t.Helper()
	c := provider.TriggerCall{Op: op, TriggerRequest: provider.TriggerRequest{ExecutionID: "trg-test", TenantID: "tenant-1",
		Trigger: trigger, Input: json.RawMessage(input), Credentials: p.creds, BaseURL: p.apps.BaseURL(p.id)}}
	if set != nil {
		set(&c)
	}
	return providertest.RunTrigger(p.t, p.p, c, providertest.Using(p.c), providertest.WithHost(p.host))
}

// receiver stands for the host's hook URL: it hands every request to the
// plugin's Handle (after Route, for an app webhook) and keeps the events,
// deduplicated by id as the host does.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	events  []provider.Event
	seen    map[string]int
	refused int
	handled int
}

func newReceiver(t *testing.T, handle func(provider.WebhookRequest) (provider.TriggerResult, error)) *receiver {
	rc := &receiver{seen: map[string]int{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		res, err := handle(provider.WebhookRequest{Method: r.Method, Headers: r.Header, Body: body})
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.handled++
		switch {
		case errors.Is(err, provider.ErrInvalidSignature):
			rc.refused++
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, e := range res.Events {
			if rc.seen[e.ID]++; rc.seen[e.ID] == 1 {
				rc.events = append(rc.events, e)
			}
		}
		if res.Reply != nil {
			for k, vs := range res.Reply.Headers {
				w.Header()[k] = vs
			}
			w.WriteHeader(max(res.Reply.Status, 200))
			w.Write(res.Reply.Body)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() ([]provider.Event, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]provider.Event(nil), rc.events...), rc.refused
}

func statuses(ds []fakeprovider.Delivery) []int {
	out := make([]int, len(ds))
	for i, d := range ds {
		out[i] = d.Status
	}
	return out
}

func allStatus(t *testing.T, ds []fakeprovider.Delivery, want int) {
	t.Helper()
	if len(ds) == 0 {
		t.Fatal("nothing was delivered")
	}
	for _, d := range ds {
		if d.Status != want {
			t.Fatalf("delivery statuses %v, want all %d (reply %s)", statuses(ds), want, d.Reply)
		}
	}
}

func payload(t *testing.T, e provider.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Payload, &m); err != nil {
		t.Fatalf("payload %s: %v", e.Payload, err)
	}
	return m
}

// liveHooks counts the fake's registrations of provider not deleted.
func liveHooks(a *fakeprovider.Apps, provider string) int {
	n := 0
	for _, h := range a.Hooks() {
		if h.Provider == provider && !h.Deleted {
			n++
		}
	}
	return n
}

// poller runs polls of one trigger instance with the host's dedupe.
type poller struct {
	p       *plug
	trigger string
	input   string
	st      triggers.PollState
}

func (pl *poller) poll() []provider.Event {
	pl.p.t.Helper()
	res, err := pl.p.call(provider.TriggerOpPoll, pl.trigger, pl.input, func(c *provider.TriggerCall) { c.State = pl.st.Provider })
	if err != nil {
		pl.p.t.Fatalf("poll %s: %v", pl.trigger, err)
	}
	fresh, next := triggers.Apply(pl.st, provider.PollResult{Events: res.Events, State: res.State}, triggers.DedupeOptions{})
	pl.st = next
	return fresh
}

func ids(es []provider.Event) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

var hourAgo = func() time.Time { return time.Now().Add(-time.Hour) }
