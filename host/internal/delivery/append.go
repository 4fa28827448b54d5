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
// the tenant has a webhook URL, its pending delivery, so that the event,
// its delivery and the caller's writes commit together. e.ID may be set by the caller (a stable id); Append fills in
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
	if s.q() != nil {
		// No job per event: the drain started after the commit delivers
		// it, a failed attempt schedules its retry's job, and the sweep
		// resumes a source whose drain died with its replica.
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
// due, an attempt fails, or the tenant's attempt slots stay taken. The
// transaction recording an attempt's outcome claims the next delivery, so
// a drain in flight costs one transaction per delivery.
func (s *Service) drainOnce(tenant, source string, first *store.Delivery) {
	ctx := context.Background()
	idle := 0
	d := first // then one read with the last attempt's outcome
	var c *claimed
	defer func() {
		if c != nil {
			s.inFlight.Done(tenant) // its lease runs out; the sweep resumes it
		}
	}()
	for range maxDrain {
		if c == nil {
			if d == nil {
				err := s.cfg.Store.InTenant(ctx, tenant, func(tx store.Tx) (err error) {
					d, err = tx.PendingBefore(ctx, source, math.MaxInt64)
					return
				})
				if err != nil {
					return // none pending (ErrNotFound), or the database: the sweep resumes
				}
			}
			now := s.cfg.Clock()
			if d.NextAttemptAt.After(now.Add(time.Second)) {
				return // backing off after a failure: its job retries it
			}
			if d.LeaseUntil != nil && d.LeaseUntil.After(now) || d.NextAttemptAt.After(now) || !s.inFlight.Take(tenant, MaxTenantDeliveries) {
				// Another attempt holds it, it is due in a moment, or the
				// tenant's slots are taken (its jobs): wait a little.
				d = nil
				if idle++; idle > 10 {
					return // the jobs, or the sweep, deliver it
				}
				time.Sleep(min(5*time.Millisecond<<idle, 500*time.Millisecond))
				continue
			}
			var wait time.Duration
			var err error
			c, wait, err = s.claim(ctx, tenant, d.ID)
			d = nil
			if err != nil || c == nil {
				s.inFlight.Done(tenant)
			}
			if err != nil {
				return // logged by nobody: the sweep resumes it
			}
			if c == nil {
				if wait > 0 {
					if idle++; idle > 10 {
						return
					}
					time.Sleep(min(wait, 5*time.Millisecond<<idle))
				}
				continue
			}
		}
		idle = 0
		o, err := s.send(ctx, tenant, c, modeDrain)
		if c = o.next; c == nil {
			s.inFlight.Done(tenant)
		}
		if err != nil {
			return // a failed attempt: the job its outcome scheduled retries it
		}
		if o.looked && o.following == nil {
			// Settled, and nothing pending after it when its outcome was
			// recorded; an event recorded since calls drain again.
			return
		}
		if c == nil {
			d = o.following // not claimed: leased elsewhere, or not due yet
		}
	}
}
