package faults

import (
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// TestOutboundRateWaits: at the default outbound limit (20/s, burst 40,
// 2 s wait) a burst of 50 custom API calls through the REST API all
// succeed, the ten past the burst waiting their turn; a burst of 150
// right after spends the wait budget, and the calls beyond it answer 429
// rate_limited with Retry-After at once, on both backends.
func TestOutboundRateWaits(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			h := startHost(t, hosttest.Options{Backend: backend, Configure: func(c *config.Config) {
				c.Limits.TenantMaxConcurrent = 200
			}})
			a := h.NewTenant("rate-wait")
			h.Must(h.Call("POST", "/api/v1/connections/fakekey", a.Key, map[string]any{"api_key": h.fake.APIKey}, nil), 201, nil)
			burst := func(n int) (ok, limited, other int, retryAfter bool) {
				var mu sync.Mutex
				var wg sync.WaitGroup
				retryAfter = true
				for i := 0; i < n; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						r := h.Call("POST", "/api/v1/integrations/fakekey/actions/custom_api_call", a.Key,
							map[string]any{"input": map[string]any{"method": "GET", "path": "/key-check"}}, nil)
						mu.Lock()
						defer mu.Unlock()
						switch code, _ := r.ErrorCode(); {
						case r.Status == 200:
							ok++
						case r.Status == 429 && code == "rate_limited":
							limited++
							retryAfter = retryAfter && r.Header.Get("Retry-After") != ""
						default:
							other++
							t.Errorf("call: %d %s", r.Status, r.Body)
						}
					}()
				}
				wg.Wait()
				return
			}
			ok, limited, other, _ := burst(50)
			t.Logf("burst of 50 at 20/s, burst 40, wait 2s on %s: acknowledged=%d refused=%d lost=%d", backend, ok, limited, other)
			if ok != 50 {
				t.Fatalf("a burst of 50 within the wait budget: %d succeeded, %d refused", ok, limited)
			}
			start := time.Now()
			ok, limited, other, retryAfter := burst(150)
			t.Logf("burst of 150 right after on %s: acknowledged=%d refused=%d lost=%d", backend, ok, limited, other)
			// The bucket is about empty: about 2 s of tokens (40) plus what
			// refills while the burst is sent can pass; the rest wait no
			// longer than the budget and are refused.
			if limited == 0 || ok == 0 || ok > 40+int(20*time.Since(start).Seconds())+1 {
				t.Fatalf("burst of 150 past the budget: %d succeeded, %d refused", ok, limited)
			}
			if !retryAfter {
				t.Fatal("a 429 without Retry-After")
			}
		})
	}
}
