package connect

import (
	"context"
	"errors"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/webhook"
)

// MarkRejected marks an active connection for re-auth (status revoked,
// with reason) after the provider said its token is invalid or revoked
// during an execution: later executions answer connection_revoked until
// the tenant reconnects, and a connection.refresh_failed event tells the
// tenant. A connection already marked, changed meanwhile or gone is left
// as it is.
func (s *Service) MarkRejected(ctx context.Context, tenantID, connectionID, reason string) error {
	c, err := s.readConn(ctx, tenantID, connectionID)
	if err != nil {
		return err
	}
	if c.Status != store.StatusActive {
		return nil
	}
	next := *c
	next.Status, next.StatusReason, next.NextRefreshAt = store.StatusRevoked, reason, nil
	err = s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error { return tx.UpdateConnection(ctx, &next) })
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	s.creds.forgetConn(c.ID)
	s.log.WarnContext(ctx, "connection marked for re-auth", "tenant", tenantID, "provider", c.Provider, "connection", c.ID, "reason", reason)
	s.emit(ctx, webhook.EventConnectionRefreshFailed, &next, reason)
	return nil
}
