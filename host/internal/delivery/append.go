package delivery

import (
	"context"
	"math"
	"sync"
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
		return func() { s.drain(tenant, e.Source, d) }, nil
	}
	return func() { s.inProcess(ctx, tenant, id) }, nil
}

// drainSet marks the sources this replica is delivering at once.
type drainSet struct {
	mu sync.Mutex
	// m maps tenant and source to whether events arrived while the
	// source was being drained.
	m map[string]bool
}

// maxDrain bounds the attempts one drain makes before it leaves the rest
// to the jobs.
const maxDrain = 10000

// drain delivers the pending deliveries of a source at once, in order, in
// the background, each right after the one before it: a trigger event
// reaches the endpoint without waiting for a worker to fetch its job, and
// a burst of one source's events goes out at the endpoint's pace rather
// than at the jobs' retry pace. One drain per source runs on a replica;
// an event recorded meanwhile makes it look again. Each attempt leases
// its delivery like a job's, so the jobs find their deliveries delivered
// (or leased) and only retry what a drain did not do: a failed attempt
// ends the drain, and the delivery's backoff is its job's.
//
// first is the delivery just recorded that calls for the drain: a drain
// it starts attempts it first, without reading the source's pending
// deliveries (the attempt itself waits for an earlier one).
func (s *Service) drain(tenant, source string, first *store.Delivery) {
	key := tenant + "\x00" + source
	s.drains.mu.Lock()
	if s.drains.m == nil {
		s.drains.m = map[string]bool{}
	}
	if _, running := s.drains.m[key]; running {
		s.drains.m[key] = true
		s.drains.mu.Unlock()
		return
	}
	s.drains.m[key] = false
	s.drains.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			s.drainOnce(tenant, source, first)
			first = nil
			s.drains.mu.Lock()
			if !s.drains.m[key] {
				delete(s.drains.m, key)
				s.drains.mu.Unlock()
				return
			}
			s.drains.m[key] = false
			s.drains.mu.Unlock()
		}
	}()
}

// drainOnce attempts the source's earliest pending delivery until none is
// due, an attempt fails, or the tenant's attempt slots stay taken.
func (s *Service) drainOnce(tenant, source string, first *store.Delivery) {
	ctx := context.Background()
	idle := 0
	next := first // then the one read with the last attempt's outcome
	for range maxDrain {
		d := next
		next = nil
		if d == nil {
			err := s.cfg.Store.InTenant(ctx, tenant, func(tx store.Tx) (err error) {
				d, err = tx.PendingBefore(ctx, source, math.MaxInt64)
				return
			})
			if err != nil {
				return // none pending (ErrNotFound), or the database: the jobs retry
			}
		}
		now := s.cfg.Clock()
		if d.NextAttemptAt.After(now.Add(time.Second)) {
			return // backing off after a failure: its job retries it
		}
		if d.LeaseUntil != nil && d.LeaseUntil.After(now) || d.NextAttemptAt.After(now) {
			// Another attempt holds it, or it is due in a moment.
			if idle++; idle > 10 {
				return
			}
			time.Sleep(min(5*time.Millisecond<<idle, 500*time.Millisecond))
			continue
		}
		if !s.inFlight.Take(tenant, MaxTenantDeliveries) {
			// The tenant's slots are taken (its jobs): wait for one.
			if idle++; idle > 10 {
				return // the jobs deliver it
			}
			time.Sleep(min(5*time.Millisecond<<idle, 500*time.Millisecond))
			continue
		}
		idle = 0
		wait, following, looked, err := s.attempt(ctx, tenant, d.ID, true)
		s.inFlight.Done(tenant)
		if err != nil {
			return // logged by Attempt; its job retries after the backoff
		}
		if looked && following == nil {
			// Settled, and nothing pending after it when its outcome was
			// recorded; an event recorded since calls drain again.
			return
		}
		next = following
		if wait > 0 {
			if idle++; idle > 10 {
				return
			}
			time.Sleep(min(wait, 5*time.Millisecond<<idle))
		}
	}
}
