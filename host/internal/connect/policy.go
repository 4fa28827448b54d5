package connect

import (
	"math/rand/v2"
	"time"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/store"
)

// Refresh policy defaults (Config.RefreshFraction, RefreshJitter,
// RefreshFloor, RefreshSkew).
const (
	DefaultRefreshFraction = 0.8
	DefaultRefreshJitter   = 0.05
	DefaultRefreshFloor    = 10 * time.Second
	DefaultRefreshMargin   = 60 * time.Second
)

// proactiveAt returns when a token issued at issued and expiring at expires
// is refreshed ahead of expiry: at RefreshFraction of its lifetime, moved
// by a random RefreshJitter (a fraction of the lifetime either way), so
// tokens issued together are not all refreshed together.
func (s *Service) proactiveAt(issued, expires time.Time) time.Time {
	life := expires.Sub(issued)
	f := s.cfg.RefreshFraction
	if j := s.cfg.RefreshJitter; j > 0 {
		f += (rand.Float64()*2 - 1) * j
	}
	f = min(max(f, 0.05), 0.95)
	return issued.Add(time.Duration(float64(life) * f))
}

// scheduleRefresh sets c.NextRefreshAt, the time the background refresh
// takes c's token, from a token issued now: a fraction of its lifetime
// when the provider said when it expires, DefaultLifetime otherwise.
func (s *Service) scheduleRefresh(c *store.Connection, tok *tokenResult, now time.Time) {
	if tok.ExpiresIn > 0 {
		next := s.proactiveAt(now, *c.ExpiresAt)
		c.NextRefreshAt = &next
		return
	}
	if tok.RefreshToken != "" || c.AuthKind == catalog.AuthOAuth2CC {
		next := now.Add(s.cfg.DefaultLifetime)
		c.NextRefreshAt = &next
	}
}

// refreshAt returns when c is due for a refresh: its scheduled time (or the
// end of its backoff after a failure); for rows written before refreshes
// were scheduled, RefreshFraction of the lifetime since the last refresh.
func (s *Service) refreshAt(c *store.Connection) (time.Time, bool) {
	if c.NextRefreshAt != nil {
		return *c.NextRefreshAt, true
	}
	if c.ExpiresAt == nil {
		return time.Time{}, false
	}
	if c.LastRefreshedAt != nil && c.LastRefreshedAt.Before(*c.ExpiresAt) {
		life := c.ExpiresAt.Sub(*c.LastRefreshedAt)
		return c.LastRefreshedAt.Add(time.Duration(float64(life) * s.cfg.RefreshFraction)), true
	}
	return c.ExpiresAt.Add(-s.cfg.RefreshSkew), true
}

// needsRefresh reports whether c's token must be refreshed now. An expired
// token always must. Otherwise a token refreshed less than RefreshFloor
// ago never is, and the background (onDemand false) refreshes at the
// scheduled time. A caller waiting for credentials (onDemand) leaves the
// refresh to the background until the token is within RefreshSkew of
// expiry, but never refreshes before the scheduled time: with a short
// lifetime (a 70 s token and a 60 s margin) the scheduled time comes
// first, so each token is refreshed once, whoever does it.
func (s *Service) needsRefresh(c *store.Connection, onDemand bool) bool {
	if !refreshable(c) || c.Status != store.StatusActive {
		return false
	}
	if s.expired(c) {
		return true
	}
	now := s.now()
	if c.LastRefreshedAt != nil && now.Sub(*c.LastRefreshedAt) < s.cfg.RefreshFloor {
		return false
	}
	at, ok := s.refreshAt(c)
	if !ok {
		return false
	}
	if onDemand && c.ExpiresAt != nil {
		if late := c.ExpiresAt.Add(-s.cfg.RefreshSkew); late.After(at) {
			at = late
		}
	}
	return !now.Before(at)
}
