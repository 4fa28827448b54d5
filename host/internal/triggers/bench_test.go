package triggers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/triggers"
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
