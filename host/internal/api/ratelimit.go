package api

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/host/internal/ratelimit"
)

// newTenantLimiter returns the inbound rate limit, one token bucket per
// tenant (ATOM_TENANT_RATE_LIMIT requests per second,
// ATOM_TENANT_RATE_BURST), or nil (no limit) when perSecond is zero.
// Buckets idle for longer than it takes to refill are dropped.
func newTenantLimiter(perSecond float64, burst int) *ratelimit.Keyed[string] {
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
	return ratelimit.New[string](perSecond, burst, idle)
}

// rateLimit is the tenant routes' middleware after authentication: a
// tenant over its rate gets 429 rate_limited with Retry-After.
func (s *Server) rateLimit(c *fiber.Ctx) error {
	p := principalOf(c)
	if s.limiter == nil || p == nil {
		return c.Next()
	}
	ok, wait := s.limiter.Allow(p.TenantID, time.Now())
	if ok {
		return c.Next()
	}
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return apiErr(http.StatusTooManyRequests, "rate_limited", "this tenant sends more than "+
		strconv.FormatFloat(s.limiter.Rate(), 'g', -1, 64)+" requests per second (ATOM_TENANT_RATE_LIMIT): retry after "+strconv.Itoa(secs)+"s")
}
