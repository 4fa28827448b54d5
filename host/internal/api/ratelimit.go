package api

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/time/rate"
)

// tenantLimiter is the inbound rate limit: one token bucket per tenant
// (ATOM_TENANT_RATE_LIMIT requests per second, ATOM_TENANT_RATE_BURST).
// It is safe for concurrent use. Buckets idle for longer than it takes to
// refill are dropped, so the map holds only tenants active lately.
type tenantLimiter struct {
	limit rate.Limit
	burst int
	idle  time.Duration

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// newTenantLimiter returns nil (no limit) when perSecond is zero.
func newTenantLimiter(perSecond float64, burst int) *tenantLimiter {
	if perSecond <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = int(math.Max(1, math.Ceil(perSecond)))
	}
	idle := time.Minute
	if refill := time.Duration(float64(burst) / perSecond * float64(time.Second)); refill > idle {
		idle = refill
	}
	return &tenantLimiter{limit: rate.Limit(perSecond), burst: burst, idle: idle, buckets: map[string]*bucket{}}
}

// allow takes a token of tenant's bucket, or returns how long until one is
// free.
func (l *tenantLimiter) allow(tenant string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > l.idle {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > l.idle {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b, ok := l.buckets[tenant]
	if !ok {
		// The key outlives the request: it must not share the request's
		// buffers.
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[strings.Clone(tenant)] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// rateLimit is the tenant routes' middleware after authentication: a
// tenant over its rate gets 429 rate_limited with Retry-After.
func (s *Server) rateLimit(c *fiber.Ctx) error {
	p := principalOf(c)
	if s.limiter == nil || p == nil {
		return c.Next()
	}
	ok, wait := s.limiter.allow(p.TenantID, time.Now())
	if ok {
		return c.Next()
	}
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return apiErr(http.StatusTooManyRequests, "rate_limited", "this tenant sends more than "+
		strconv.FormatFloat(float64(s.limiter.limit), 'g', -1, 64)+" requests per second (ATOM_TENANT_RATE_LIMIT): retry after "+strconv.Itoa(secs)+"s")
}
