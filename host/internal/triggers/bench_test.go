package triggers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/triggers"
	"github.com/atomhq/atom/host/internal/vault"
)

// BenchmarkWebhookToDelivery measures a provider webhook's way through
// the host on PostgreSQL: a signed request to a webhook trigger's hook
// URL (the real plugin verifies it), the event recorded, its delivery
// job worked and the signed delivery received by the tenant's endpoint,
// one request at a time. It reports the latency from sending the request
// to receiving the delivery (p50, p99).
//
//	go test ./host/internal/triggers -run '^$' -bench WebhookToDelivery -benchtime 200x
func BenchmarkWebhookToDelivery(b *testing.B) {
	fake := newFake()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	h := startHost(b, hosttest.Options{Backend: "postgres", Quiet: true}, srv)
	key := h.Tenant.Key
	got := make(chan string, 16)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("webhook-id")
	}))
	defer rc.Close()
	h.Must(h.Call("PUT", "/api/v1/webhook", key, map[string]any{"url": rc.URL}, nil), 200, nil)
	h.Must(h.Call("POST", "/api/v1/connections/triggers", key, map[string]any{"api_key": "sk_test_acme"}, nil), 201, nil)
	drain(got)
	var ti instance
	h.Must(h.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "item_event"}, nil), 201, &ti)
	path := strings.TrimPrefix(ti.HookURL, h.URL)
	lat := make([]time.Duration, 0, b.N)
	var hookLat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("evt_bench_%d", i)
		now := time.Now()
		body := []byte(fmt.Sprintf(`{"id":%q,"created":%d}`, id, now.Unix()))
		r := h.Call("POST", path, "", body, map[string]string{"Stripe-Signature": stripeSign("whsec_fake_hook_1", now.Unix(), body)})
		hookLat = append(hookLat, time.Since(now))
		if r.Status != 200 {
			b.Fatalf("hook: %d %s", r.Status, r.Body)
		}
		want := triggers.EventID(ti.ID, id)
		for {
			select {
			case gotID := <-got:
				if gotID != want {
					continue
				}
			case <-time.After(30 * time.Second):
				b.Fatalf("delivery of %s not received", id)
			}
			break
		}
		lat = append(lat, time.Since(now))
	}
	b.StopTimer()
	slices.Sort(lat)
	slices.Sort(hookLat)
	b.Logf("slowest: %v; hook answered p50 %v, slowest %v", lat[max(0, len(lat)-5):], hookLat[len(hookLat)/2], hookLat[len(hookLat)-1])
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

func drain(c chan string) {
	for {
		select {
		case <-c:
		case <-time.After(500 * time.Millisecond):
			return
		}
	}
}

// BenchmarkWebhookThroughput sends signed webhooks to one webhook trigger
// through two hosts sharing one PostgreSQL database, from concurrent
// clients, and waits until the tenant's endpoint received every event's
// delivery. It reports events per second, from the first request to the
// last delivery.
//
//	go test ./host/internal/triggers -run '^$' -bench WebhookThroughput -benchtime 2000x
func BenchmarkWebhookThroughput(b *testing.B) {
	fake := newFake()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	keys, err := vault.Generate("k1")
	if err != nil {
		b.Fatal(err)
	}
	a := startHost(b, hosttest.Options{Backend: "postgres", EncryptionKeys: keys, Quiet: true}, srv)
	c := startHost(b, hosttest.Options{DatabaseURL: a.PG.AppURL, MigrateDatabaseURL: a.PG.OwnerURL, Backend: "postgres", EncryptionKeys: keys, Quiet: true}, srv)
	key := a.Tenant.Key
	var mu sync.Mutex
	seen := map[string]bool{}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("webhook-id")] = true
		mu.Unlock()
	}))
	defer rc.Close()
	a.Must(a.Call("PUT", "/api/v1/webhook", key, map[string]any{"url": rc.URL}, nil), 200, nil)
	a.Must(a.Call("POST", "/api/v1/connections/triggers", key, map[string]any{"api_key": "sk_test_acme"}, nil), 201, nil)
	var ti instance
	a.Must(a.Call("POST", "/api/v1/triggers", key, map[string]any{"provider": "triggers", "trigger": "item_event"}, nil), 201, &ti)
	path := strings.TrimPrefix(ti.HookURL, a.URL)
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			h := a
			if i%2 == 0 {
				h = c
			}
			now := time.Now().Unix()
			body := []byte(fmt.Sprintf(`{"id":"evt_tp_%d","created":%d}`, i, now))
			r, err := h.Try("POST", path, "", body, map[string]string{"Stripe-Signature": stripeSign("whsec_fake_hook_1", now, body)})
			if err != nil || r.Status != 200 {
				b.Errorf("hook %d: %v %d %s", i, err, r.Status, r.Body)
				return
			}
		}
	})
	accepted := time.Since(start)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		mu.Lock()
		got := 0
		for id := range seen {
			if strings.HasPrefix(id, "evt_t") {
				got++
			}
		}
		mu.Unlock()
		if got >= int(n.Load()) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d deliveries received", got, n.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	all := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n.Load())/accepted.Seconds(), "accepted-events/s")
	b.ReportMetric(float64(n.Load())/all.Seconds(), "delivered-events/s")
}
