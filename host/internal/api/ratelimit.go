package api

import (
	"errors"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/host/internal/ratelimit"
)

// newKeyedLimiter returns an inbound rate limit, one token bucket per key
// (a tenant: ATOM_TENANT_RATE_LIMIT requests per second and
// ATOM_TENANT_RATE_BURST; a hook URL: ATOM_HOOK_RATE_LIMIT and
// ATOM_HOOK_RATE_BURST), or nil (no limit) when perSecond is zero.
// Buckets idle for longer than it takes to refill are dropped.
func newKeyedLimiter(perSecond float64, burst int) *ratelimit.Keyed[string] {
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

// maxHookKey bounds the path value a hook's bucket is keyed by; hook ids
// are far shorter, and a longer one names no hook.
const maxHookKey = 128

// hookRateLimit is the hook routes' middleware, before the body is read:
// one token bucket per hook URL (the hook id, or the provider of an app
// webhook URL), so that a flood at one hook — a hostile provider, or
// anyone who learned the URL — gets 429 rate_limited with Retry-After
// while every other hook's requests go on. A request for a hook id that
// turns out not to exist leaves no bucket behind; it takes a token from
// its client address's bucket of misses instead, and while an address
// has none left its requests for hook ids are refused before any lookup,
// except those for hooks this replica found active within the hour: made
// up hook ids cost a lookup each only up to the rate, and the hooks in
// use keep working behind a proxy that gives every client one address.
// (An app webhook URL names a provider: an unknown one costs no lookup.)
func (s *Server) hookRateLimit(c *fiber.Ctx) error {
	if s.hookLimiter == nil {
		return c.Next()
	}
	now := time.Now()
	hookID := c.Params("hookId")
	addr := ""
	if hookID != "" {
		addr = clientNet(c.IP())
		if ok, wait := s.hookMisses.Peek(addr, now); !ok && !s.knownHook(hookID) {
			return s.hookRefused(c, wait, "this address sends requests for hook URLs that do not exist:")
		}
	}
	key := "h:" + hookID
	if p := c.Params("provider"); p != "" {
		key = "a:" + p
	}
	if len(key) > maxHookKey {
		if addr != "" {
			s.hookMisses.Allow(addr, now)
		}
		return apiErr(http.StatusNotFound, "hook_not_found", "no trigger has this hook URL")
	}
	ok, wait := s.hookLimiter.Allow(key, now)
	if !ok {
		return s.hookRefused(c, wait, "this hook receives")
	}
	err := c.Next()
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusNotFound {
		s.hookLimiter.Forget(key)
		if addr != "" {
			s.hookMisses.Allow(addr, time.Now())
		}
	}
	return err
}

// knownHook reports whether this replica found hookID's instance active
// within the hour.
func (s *Server) knownHook(hookID string) bool {
	return len(hookID) <= maxHookKey && s.deps.Triggers != nil && s.deps.Triggers.KnownHook(hookID)
}

// hookRefused answers a hook request over a rate limit: what is refused,
// then " more than <rate> requests per second…".
func (s *Server) hookRefused(c *fiber.Ctx, wait time.Duration, what string) error {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	s.metrics.hookLimited.WithLabelValues(c.Route().Path).Inc()
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return apiErr(http.StatusTooManyRequests, "rate_limited", what+" more than "+
		strconv.FormatFloat(s.hookLimiter.Rate(), 'g', -1, 64)+" requests per second (ATOM_HOOK_RATE_LIMIT): retry after "+strconv.Itoa(secs)+"s")
}

// clientNet is the bucket key of a client address: the address itself
// for IPv4, its /64 for IPv6, since one host commonly holds a whole /64
// and could otherwise make a bucket per address.
func clientNet(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
