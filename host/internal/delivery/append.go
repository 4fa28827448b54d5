package delivery

import (
	"context"
	"time"

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
	tenant, id := tx.TenantID(), d.ID
	q := s.q()
	if q != nil {
		if _, err := q.InsertTx(ctx, tx, s.args(d), s.insertOpts()); err != nil {
			return nil, err
		}
		return func() { s.attemptNow(tenant, id) }, nil
	}
	return func() { s.inProcess(ctx, tenant, id) }, nil
}

// attemptNow makes the first attempt of a delivery whose job is queued at
// once, in the background, when the tenant has an attempt slot free on
// this replica: the event reaches the endpoint without waiting for a
// worker to fetch the job. The attempt leases the delivery like the job's
// would, so the job finds it delivered (or leased, or due later after a
// failure) and only retries what this attempt did not do.
func (s *Service) attemptNow(tenant, id string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// A failure is logged by Attempt and retried by the job. An
		// earlier event of the source still being delivered (its outcome
		// not written yet) is waited for a little, in order, without
		// holding an attempt slot meanwhile.
		// The earlier event is usually written within milliseconds, so
		// the waits start short and double.
		for i := range 8 {
			if !s.inFlight.Take(tenant, MaxTenantDeliveries) {
				return // the job delivers it
			}
			wait, err := s.Attempt(context.Background(), tenant, id)
			s.inFlight.Done(tenant)
			if err != nil || wait == 0 || wait > 2*time.Second {
				return
			}
			time.Sleep(min(wait, 5*time.Millisecond<<i))
		}
	}()
}
