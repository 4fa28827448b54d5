package faults

import (
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
)

// tenantEndpoint is a tenant's webhook receiver whose first request hangs
// until the sender's connection closes.
type tenantEndpoint struct {
	url    string
	mu     sync.Mutex
	got    []string // webhook-id of each request, in arrival order
	ok     map[string]int
	live   atomic.Int32
	hanged atomic.Bool
}

func newTenantEndpoint(t *testing.T) *tenantEndpoint {
	e := &tenantEndpoint{ok: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.url = "http://" + ln.Addr().String() + "/hook"
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		id := r.Header.Get("webhook-id")
		e.mu.Lock()
		e.got = append(e.got, id)
		e.mu.Unlock()
		if e.hanged.CompareAndSwap(false, true) {
			e.live.Add(1)
			<-r.Context().Done() // the sender died
			e.live.Add(-1)
			return
		}
		e.mu.Lock()
		e.ok[id]++
		e.mu.Unlock()
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return e
}

// TestFaultDeliveryKill9 kills the host with SIGKILL while it delivers an
// event to a tenant's endpoint, starts it again on the same database, and
// checks the event is delivered after the restart with the same id, and
// no event is lost.
func TestFaultDeliveryKill9(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			d := newDurEnv(t, backend)
			d.env = append(d.env, "ATOM_DELIVERY_TIMEOUT=4s")
			ep := newTenantEndpoint(t)
			p := d.start()
			_, key := p.newTenant(t, "delivery")
			p.must(t, "PUT", "/api/v1/webhook", key, map[string]string{"url": ep.url}, 200, nil)
			p.connectOAuth(t, key) // records connection.created and delivers it
			hosttest.WaitFor(t, 20*time.Second, "the delivery in flight", func() bool { return ep.live.Load() == 1 })
			p.kill9(t)
			ep.mu.Lock()
			first := ep.got[0]
			ep.mu.Unlock()

			p = d.start()
			p.must(t, "DELETE", "/api/v1/connections/fakeoauth", key, nil, 200, nil) // connection.disconnected
			var page struct {
				Events []struct {
					ID, Type string
					Delivery struct{ State string }
				}
			}
			hosttest.WaitFor(t, 60*time.Second, "every event delivered", func() bool {
				p.must(t, "GET", "/api/v1/events", key, nil, 200, &page)
				for _, e := range page.Events {
					var one struct{ Delivery struct{ State string } }
					p.must(t, "GET", "/api/v1/events/"+e.ID, key, nil, 200, &one)
					if one.Delivery.State != "delivered" {
						return false
					}
				}
				return len(page.Events) == 2
			})
			ep.mu.Lock()
			defer ep.mu.Unlock()
			if page.Events[0].ID != first || page.Events[0].Type != "connection.created" {
				t.Fatalf("the event cut by the kill was %s, the first event recorded %+v", first, page.Events[0])
			}
			for _, e := range page.Events {
				if ep.ok[e.ID] == 0 {
					t.Errorf("event %s (%s) never received", e.ID, e.Type)
				}
			}
			// Same ids only: nothing the endpoint saw is outside the events.
			for _, id := range ep.got {
				if id != page.Events[0].ID && id != page.Events[1].ID {
					t.Errorf("the endpoint received an unknown id %s", id)
				}
			}
			// Order within the connection: disconnected is first sent after
			// created was answered (every request after the first, hung one
			// is answered 200), so two created requests come before it.
			created := 0
			for _, id := range ep.got {
				if id == page.Events[1].ID {
					break
				}
				created++
			}
			if created < 2 {
				t.Errorf("connection.disconnected was sent before connection.created was delivered: %v", ep.got)
			}
			t.Logf("%s: requests %v", backend, ep.got)
		})
	}
}
