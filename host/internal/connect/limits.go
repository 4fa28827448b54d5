package connect

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/store"
)

// CodeTooManyStates is the error code of a connect refused because the
// tenant has too many unfinished OAuth flows.
const CodeTooManyStates = "too_many_oauth_states"

// Limits bound what one tenant can hold in connect's tables.
type Limits struct {
	// MaxOAuthStates caps a tenant's live (unexpired, unused) OAuth
	// states (ATOM_TENANT_MAX_OAUTH_STATES; config's default when zero).
	MaxOAuthStates int
}

// limitsHolder keeps a Service's limits; the zero value means defaults.
type limitsHolder struct{ p atomic.Pointer[Limits] }

func (h *limitsHolder) get() Limits {
	var l Limits
	if p := h.p.Load(); p != nil {
		l = *p
	}
	if l.MaxOAuthStates <= 0 {
		l.MaxOAuthStates = config.DefaultTenantMaxOAuthStates
	}
	return l
}

// SetLimits sets the per-tenant limits of s.
func (s *Service) SetLimits(l Limits) { s.limits.p.Store(&l) }

// checkStateCap refuses a new OAuth state when the tenant already has
// MaxOAuthStates live ones: each holds a row (and sealed secrets) until it
// expires, so unbounded connect calls would let one tenant fill the table.
func (s *Service) checkStateCap(ctx context.Context, tx store.Tx) error {
	c, ok := store.Counting(tx)
	if !ok {
		return nil
	}
	max := s.limits.get().MaxOAuthStates
	n, err := c.CountLiveStates(ctx, s.now(), max)
	if err != nil {
		return err
	}
	if n >= max {
		return &Error{Code: CodeTooManyStates, Status: http.StatusTooManyRequests,
			Msg: fmt.Sprintf("this tenant already has %d unfinished connections (the limit, ATOM_TENANT_MAX_OAUTH_STATES); finish or abandon them — unused ones expire after %s — and retry", max, s.cfg.StateTTL)}
	}
	return nil
}
