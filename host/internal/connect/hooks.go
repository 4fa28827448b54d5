package connect

import (
	"context"
	"sync/atomic"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/webhook"
)

// Hooks are told of changes to connections (the trigger engine follows
// them). Either may be nil.
type Hooks struct {
	// Removing runs before a connection is deleted, while its
	// credentials can still be used (to unregister provider webhooks).
	Removing func(ctx context.Context, c *store.Connection)
	// Changed runs after a connection was created, recovered, or marked
	// for re-auth (c.Status says which).
	Changed func(ctx context.Context, c *store.Connection)
}

type hooksHolder struct{ p atomic.Pointer[Hooks] }

// SetHooks sets the hooks (after construction: the trigger engine needs
// the Service first).
func (s *Service) SetHooks(h Hooks) { s.hooks.p.Store(&h) }

func (s *Service) removing(ctx context.Context, c *store.Connection) {
	if h := s.hooks.p.Load(); h != nil && h.Removing != nil {
		h.Removing(ctx, c)
	}
}

func (s *Service) changed(ctx context.Context, typ string, c *store.Connection) {
	h := s.hooks.p.Load()
	if h == nil || h.Changed == nil || typ == webhook.EventConnectionDisconnected {
		return
	}
	h.Changed(ctx, c)
}
