package delivery

import (
	"context"

	"github.com/atomhq/atom/host/internal/store"
)

// Append records e in tx, a transaction of the caller that writes more
// (a trigger instance's poll state, say), and, when deliver is set and
// the tenant has a webhook URL, its pending delivery and the delivery's
// job, so that the event, its delivery and the caller's writes commit
// together. e.ID may be set by the caller (a stable id); Append fills in
// the rest as Emit does. The caller runs the returned function after the
// commit (it starts the delivery when the service has no queue).
func (s *Service) Append(ctx context.Context, tx store.Tx, e *store.Event, deliver bool) (after func(), err error) {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.cfg.Clock().UTC()
	}
	if deliver {
		t, err := tx.GetTenant(ctx)
		if err != nil {
			return nil, err
		}
		deliver = t.WebhookURL != ""
	}
	d, err := tx.AppendEvent(ctx, e, deliver)
	if err != nil || d == nil {
		return func() {}, err
	}
	q := s.q()
	if q != nil {
		if _, err := q.InsertTx(ctx, tx, s.args(d), s.insertOpts()); err != nil {
			return nil, err
		}
		return func() {}, nil
	}
	tenant, id := tx.TenantID(), d.ID
	return func() { s.inProcess(ctx, tenant, id) }, nil
}
