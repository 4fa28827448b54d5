package api_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/apiclient"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

type eventPage struct {
	Events []struct {
		ID, Type, Source, Cursor string
		Seq                      int64
	} `json:"events"`
	NextCursor string `json:"next_cursor"`
}

// The events API on both backends: cursor pull, stream, deliveries,
// dead letters, replay, rotation; bad input answers 4xx saying what to
// fix; another tenant's event is 404.
func TestEventsAPI(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			h := hosttest.Start(t, hosttest.Options{Backend: backend, Tenant: "a", Quiet: true,
				Configure: func(c *config.Config) { c.Delivery.MaxAttempts = 1 }})
			a, b := h.Tenant, h.NewTenant("b")
			var fail atomic.Bool
			var got atomic.Int32
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got.Add(1)
				if fail.Load() {
					w.WriteHeader(500)
				}
			}))
			defer rcv.Close()
			if r := h.Call("PUT", "/api/v1/webhook", a.Key, map[string]string{"url": rcv.URL}, nil); r.Status != 200 {
				t.Fatalf("put webhook: %d %s", r.Status, r.Body)
			}
			svc := h.App.Webhooks.Delivery()
			ctx := context.Background()
			var ids []string
			for i := 0; i < 3; i++ {
				ev, err := svc.Emit(ctx, a.ID, "connection:c1", "connection.created", map[string]int{"i": i})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, ev.ID)
			}
			evB, _ := svc.Emit(ctx, b.ID, "connection:c9", "connection.created", nil)

			// Cursor pull, paged.
			var p eventPage
			h.Must(h.Call("GET", "/api/v1/events?limit=2", a.Key, nil, nil), 200, &p)
			if len(p.Events) != 2 || p.Events[0].ID != ids[0] || p.Events[1].Seq != 2 {
				t.Fatalf("first page %+v", p)
			}
			h.Must(h.Call("GET", "/api/v1/events?after="+p.NextCursor, a.Key, nil, nil), 200, &p)
			if len(p.Events) != 1 || p.Events[0].ID != ids[2] {
				t.Fatalf("second page %+v", p)
			}
			h.Must(h.Call("GET", "/api/v1/events", b.Key, nil, nil), 200, &p)
			if len(p.Events) != 1 || p.Events[0].ID != evB.ID {
				t.Fatalf("tenant b's events %+v", p)
			}

			// The newest first: the latest two, then none after the newest.
			h.Must(h.Call("GET", "/api/v1/events?order=desc&limit=2", a.Key, nil, nil), 200, &p)
			if len(p.Events) != 2 || p.Events[0].ID != ids[2] || p.Events[1].ID != ids[1] || p.NextCursor != p.Events[0].Cursor {
				t.Fatalf("newest first %+v", p)
			}
			newest := p.NextCursor
			h.Must(h.Call("GET", "/api/v1/events?order=desc&after="+newest, a.Key, nil, nil), 200, &p)
			if len(p.Events) != 0 || p.NextCursor != newest {
				t.Fatalf("newest after the newest %+v", p)
			}
			h.Must(h.Call("GET", "/api/v1/events?order=desc", b.Key, nil, nil), 200, &p)
			if len(p.Events) != 1 || p.Events[0].ID != evB.ID {
				t.Fatalf("tenant b's newest events %+v", p)
			}

			// Bad input and other tenants' ids.
			for _, c := range []struct {
				method, path, key string
				body              any
				status            int
				code              string
			}{
				{"GET", "/api/v1/events?after=abc", a.Key, nil, 400, "invalid_cursor"},
				{"GET", "/api/v1/events?after=-1", a.Key, nil, 400, "invalid_cursor"},
				{"GET", "/api/v1/events?limit=0", a.Key, nil, 400, "invalid_limit"},
				{"GET", "/api/v1/events?limit=5000", a.Key, nil, 400, "invalid_limit"},
				{"GET", "/api/v1/events?order=newest", a.Key, nil, 400, "invalid_order"},
				{"GET", "/api/v1/events?order=DESC%00", a.Key, nil, 400, "invalid_order"},
				{"GET", "/api/v1/events/stream?after=x", a.Key, nil, 400, "invalid_cursor"},
				{"GET", "/api/v1/deliveries?state=lost", a.Key, nil, 400, "invalid_state"},
				{"GET", "/api/v1/deliveries?limit=x", a.Key, nil, 400, "invalid_limit"},
				{"POST", "/api/v1/webhook/rotate", a.Key, map[string]int{"overlap_seconds": -1}, 400, "invalid_overlap"},
				{"POST", "/api/v1/webhook/rotate", a.Key, map[string]int{"overlap_seconds": 1 << 30}, 400, "invalid_overlap"},
				{"POST", "/api/v1/webhook/rotate", a.Key, `{"overlap":`, 400, "invalid_json"},
				{"POST", "/api/v1/webhook/rotate", b.Key, nil, 409, "no_webhook"},
				{"GET", "/api/v1/events/" + ids[0], b.Key, nil, 404, "event_not_found"},
				{"POST", "/api/v1/events/" + ids[0] + "/replay", b.Key, nil, 404, "event_not_found"},
				{"POST", "/api/v1/events/evt_none/replay", a.Key, nil, 404, "event_not_found"},
				{"POST", "/api/v1/events/" + evB.ID + "/replay", b.Key, nil, 409, "no_webhook"},
				{"GET", "/api/v1/events", "", nil, 401, "unauthorized"},
			} {
				r := h.Call(c.method, c.path, c.key, c.body, map[string]string{"Accept": "text/event-stream, application/json"})
				code, msg := r.ErrorCode()
				if r.Status != c.status || code != c.code || msg == "" {
					t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, r.Status, r.Body, c.status, c.code)
				}
			}

			if r := h.Call("GET", "/api/v1/events/stream", a.Key, nil, nil); r.Status != 406 {
				t.Errorf("stream without Accept: text/event-stream: %d %s", r.Status, r.Body)
			}

			// Delivered, then replayed.
			hosttest.WaitFor(t, 20*time.Second, "three deliveries", func() bool { return got.Load() >= 3 })
			var ev struct {
				ID       string
				Delivery struct{ State string }
			}
			hosttest.WaitFor(t, 20*time.Second, "delivered state", func() bool {
				h.Must(h.Call("GET", "/api/v1/events/"+ids[2], a.Key, nil, nil), 200, &ev)
				return ev.Delivery.State == store.DeliveryDelivered
			})
			if r := h.Call("POST", "/api/v1/events/"+ids[0]+"/replay", a.Key, nil, nil); r.Status != 202 {
				t.Fatalf("replay: %d %s", r.Status, r.Body)
			}
			hosttest.WaitFor(t, 20*time.Second, "the replay", func() bool { return got.Load() >= 4 })

			// One attempt allowed: a 500 makes a dead letter.
			fail.Store(true)
			dead, _ := svc.Emit(ctx, a.ID, "connection:c2", "connection.disconnected", nil)
			var dl struct {
				Deliveries []struct {
					EventID    string `json:"event_id"`
					State      string
					LastStatus int `json:"last_status"`
				}
			}
			hosttest.WaitFor(t, 20*time.Second, "a dead letter", func() bool {
				h.Must(h.Call("GET", "/api/v1/deliveries?state=dead", a.Key, nil, nil), 200, &dl)
				return len(dl.Deliveries) == 1
			})
			if dl.Deliveries[0].EventID != dead.ID || dl.Deliveries[0].LastStatus != 500 {
				t.Fatalf("dead letters %+v", dl)
			}
			h.Must(h.Call("GET", "/api/v1/deliveries?state=dead", b.Key, nil, nil), 200, &dl)
			if len(dl.Deliveries) != 0 {
				t.Fatalf("tenant b sees dead letters %+v", dl)
			}

			// Rotation.
			var rot struct {
				Secret                  string `json:"secret"`
				PreviousSecretExpiresAt string `json:"previous_secret_expires_at"`
			}
			h.Must(h.Call("POST", "/api/v1/webhook/rotate", a.Key, map[string]int{"overlap_seconds": 60}, nil), 200, &rot)
			if !strings.HasPrefix(rot.Secret, "whsec_") || rot.PreviousSecretExpiresAt == "" {
				t.Fatalf("rotate %+v", rot)
			}
			var wh map[string]any
			h.Must(h.Call("GET", "/api/v1/webhook", a.Key, nil, nil), 200, &wh)
			if wh["previous_secret_expires_at"] == nil || wh["secret"] != nil {
				t.Fatalf("webhook %+v", wh)
			}

			// The stream sends the events after the cursor, then new ones.
			req, _ := http.NewRequest("GET", h.URL+"/api/v1/events/stream?after=1", nil)
			req.Header.Set("Authorization", "Bearer "+a.Key)
			req.Header.Set("Accept", "text/event-stream")
			sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			resp, err := http.DefaultClient.Do(req.WithContext(sctx))
			if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				t.Fatalf("stream: %v %+v", err, resp)
			}
			defer resp.Body.Close()
			late, _ := svc.Emit(ctx, a.ID, "connection:c1", "connection.recovered", nil)
			sc := bufio.NewScanner(resp.Body)
			var seen []string
			for sc.Scan() && len(seen) < 4 {
				if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					seen = append(seen, d)
				}
			}
			if len(seen) != 4 || !strings.Contains(seen[0], ids[1]) || !strings.Contains(seen[3], late.ID) || strings.Contains(strings.Join(seen, ""), evB.ID) {
				t.Fatalf("stream sent %q", seen)
			}
		})
	}
}

// TestEventStreamEndsOnRevocation: an event stream is authorised for as
// long as it stays open, not only when it opens: once its API key is
// revoked the stream ends with an error event, while a stream of another
// key of the same tenant goes on.
func TestEventStreamEndsOnRevocation(t *testing.T) {
	prev := api.EventStreamRecheck
	api.EventStreamRecheck = 100 * time.Millisecond
	t.Cleanup(func() { api.EventStreamRecheck = prev })
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			h := hosttest.Start(t, hosttest.Options{Backend: backend, Tenant: "a", Quiet: true})
			ctx := context.Background()
			admin := h.API(h.AdminKey)
			doomed, resp, err := admin.CreateAPIKey(ctx, h.Tenant.ID, &apiclient.CreateAPIKeyRequest{Name: "doomed"})
			if err != nil || resp.StatusCode != 201 {
				t.Fatalf("create key: %v", err)
			}
			open := func(key string) (*bufio.Scanner, func()) {
				req, _ := http.NewRequest("GET", h.URL+"/api/v1/events/stream", nil)
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Accept", "text/event-stream")
				sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				resp, err := http.DefaultClient.Do(req.WithContext(sctx))
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("stream: %v %+v", err, resp)
				}
				return bufio.NewScanner(resp.Body), func() { cancel(); resp.Body.Close() }
			}
			gone, closeGone := open(doomed.Key)
			defer closeGone()
			kept, closeKept := open(h.Tenant.Key)
			defer closeKept()
			if r := h.Call("DELETE", "/api/v1/tenants/"+h.Tenant.ID+"/api-keys/"+doomed.ID, h.AdminKey, nil, nil); r.Status/100 != 2 {
				t.Fatalf("revoke: %d %s", r.Status, r.Body)
			}
			var sawError bool
			for gone.Scan() {
				if gone.Text() == "event: error" {
					sawError = true
				}
				if sawError && strings.Contains(gone.Text(), `"unauthorized"`) {
					break
				}
			}
			if !sawError {
				t.Fatalf("the stream of a revoked key ended without an error event (%v)", gone.Err())
			}
			for gone.Scan() {
				if gone.Text() != "" {
					t.Fatalf("the stream of a revoked key went on: %q", gone.Text())
				}
			}
			if err := gone.Err(); err != nil {
				t.Fatalf("the stream of a revoked key did not end: %v", err)
			}
			// The tenant's other key still streams: an event emitted now
			// reaches it.
			ev, err := h.App.Webhooks.Delivery().Emit(ctx, h.Tenant.ID, "connection:c1", "connection.created", nil)
			if err != nil {
				t.Fatal(err)
			}
			for kept.Scan() {
				if strings.Contains(kept.Text(), ev.ID) {
					return
				}
			}
			t.Fatalf("the stream of the key kept ended: %v", kept.Err())
		})
	}
}
