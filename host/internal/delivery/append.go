package delivery

import (
	"context"
	"errors"
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

// BirthLease is the lease a delivery recorded now may be born with, so
// that this replica attempts it without claiming it first (Recorded);
// zero without a job queue (deliveries are then attempted in process).
func (s *Service) BirthLease() time.Time {
	if s.q() == nil {
		return time.Time{}
	}
	return s.cfg.Clock().UTC().Add(s.lease())
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.cfg.Clock() }

// Recorded starts delivering a delivery recorded, with its event, outside
// Append (store.HookRecorder): at once, by a drain of its source. leased
// says it was born leased to this replica (BirthLease) with no earlier
// delivery of its source pending; t is the tenant as the recording
// transaction saw it.
func (s *Service) Recorded(tenant string, t *store.Tenant, ev *store.Event, d *store.Delivery, leased bool) {
	switch {
	case s.q() == nil:
		s.inProcess(context.Background(), tenant, d.ID)
	case leased && t != nil:
		s.startDrain(tenant, d.Source, nil, &claimed{d: d, ev: ev, t: t})
	default:
		s.drain(tenant, d.Source, d)
	}
}

// drainSet marks the sources this replica is delivering at once.
type drainSet struct {
	mu sync.Mutex
	m  map[string]*drainState // by tenant and source
}

// drainState is a running drain's: whether events arrived while the
// source was being drained, and the deliveries recorded leased to this
// replica that the drain attempts next.
type drainState struct {
	again bool
	held  []*claimed
}

// maxDrain bounds the attempts one drain makes before it leaves the rest
// to the sweep.
const maxDrain = 10000

// drain delivers the pending deliveries of a source at once, in order, in
// the background, each right after the one before it: a trigger event
// reaches the endpoint without waiting for a worker to fetch a job, and a
// burst of one source's events goes out at the endpoint's pace. One drain
// per source runs on a replica; an event recorded meanwhile makes it look
// again. Each attempt leases its delivery, so a job or another replica
// finds it delivered (or leased): a failed attempt ends the drain, and
// the job its outcome scheduled retries it after the backoff.
//
// first is the delivery just recorded that calls for the drain: a drain
// it starts attempts it first, without reading the source's pending
// deliveries (the claim itself waits for an earlier one).
func (s *Service) drain(tenant, source string, first *store.Delivery) {
	s.startDrain(tenant, source, first, nil)
}

// startDrain is drain, or, with held, the drain attempting a delivery
// leased to this replica already.
func (s *Service) startDrain(tenant, source string, first *store.Delivery, held *claimed) {
	key := tenant + "\x00" + source
	s.drains.mu.Lock()
	if s.drains.m == nil {
		s.drains.m = map[string]*drainState{}
	}
	if st, running := s.drains.m[key]; running {
		st.again = true
		if held != nil {
			st.held = append(st.held, held)
		}
		s.drains.mu.Unlock()
		return
	}
	s.drains.m[key] = &drainState{}
	s.drains.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			s.drainOnce(tenant, source, first, held)
			first, held = nil, nil
			s.drains.mu.Lock()
			st := s.drains.m[key]
			switch {
			case len(st.held) > 0:
				held, st.held = st.held[0], st.held[1:]
			case st.again:
				st.again = false
			default:
				delete(s.drains.m, key)
				s.drains.mu.Unlock()
				return
			}
			s.drains.mu.Unlock()
		}
	}()
}

// takeHeld returns a delivery recorded leased to this replica for the
// source's running drain, if any.
func (s *Service) takeHeld(key string) *claimed {
	s.drains.mu.Lock()
	defer s.drains.mu.Unlock()
	st := s.drains.m[key]
	if st == nil || len(st.held) == 0 {
		return nil
	}
	c := st.held[0]
	st.held = st.held[1:]
	return c
}

// release gives up the lease of a claimed delivery not attempted: the
// sweep hands it to a job after its grace.
func (s *Service) release(tenant string, c *claimed) {
	err := s.cfg.Store.InTenant(context.Background(), tenant, func(tx store.Tx) error { return tx.UpdateDelivery(context.Background(), c.d) })
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("delivery lease not released; it runs out", "tenant", tenant, "delivery", c.d.ID, "err", err)
	}
}

// drainOnce attempts the source's earliest pending delivery until none is
// due, an attempt fails, or the tenant's attempt slots stay taken. The
// transaction recording an attempt's outcome claims the next delivery, so
// a drain in flight costs one transaction per delivery. held, when set, is
// a delivery leased to this replica already, attempted first.
func (s *Service) drainOnce(tenant, source string, first *store.Delivery, held *claimed) {
	ctx := context.Background()
	key := tenant + "\x00" + source
	idle := 0
	d := first // then one read with the last attempt's outcome
	var c *claimed
	slot := false // c holds one of the tenant's attempt slots
	defer func() {
		if c != nil {
			if slot {
				s.inFlight.Done(tenant)
			}
			s.release(tenant, c)
		}
	}()
	for range maxDrain {
		if c == nil {
			if held == nil {
				held = s.takeHeld(key)
			}
			if held != nil {
				c, held = held, nil
				for !s.inFlight.Take(tenant, MaxTenantDeliveries) {
					if idle++; idle > 10 {
						return // released: the sweep delivers it
					}
					time.Sleep(min(5*time.Millisecond<<idle, 500*time.Millisecond))
				}
				slot = true
			}
		}
		if c == nil && d == nil {
			if b, ok := s.cfg.Store.(store.DeliveryBatcher); ok {
				// The earliest pending delivery, claimed at once when due.
				if !s.inFlight.Take(tenant, MaxTenantDeliveries) {
					if idle++; idle > 10 {
						return // the jobs, or the sweep, deliver it
					}
					time.Sleep(min(5*time.Millisecond<<idle, 500*time.Millisecond))
					continue
				}
				now := s.cfg.Clock().UTC()
				cl, err := b.ClaimEarliest(ctx, tenant, source, now, now.Add(s.lease()))
				switch {
				case err != nil:
					s.inFlight.Done(tenant)
					return // the sweep resumes it
				case cl.Claimed:
					c, slot = &claimed{d: cl.Delivery, ev: cl.Event, t: cl.Tenant}, true
				case cl.Delivery == nil:
					s.inFlight.Done(tenant)
					return // none pending
				default:
					s.inFlight.Done(tenant)
					d = cl.Delivery // leased elsewhere, or not due: looked at below
				}
			} else {
				err := s.cfg.Store.InTenant(ctx, tenant, func(tx store.Tx) (err error) {
					d, err = tx.PendingBefore(ctx, source, math.MaxInt64)
					return
				})
				if err != nil {
					return // none pending (ErrNotFound), or the database: the sweep resumes
				}
			}
		}
		if c == nil {
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
				return // the sweep resumes it
			}
			if c == nil {
				if idle++; idle > 10 {
					return
				}
				if wait > 0 {
					time.Sleep(min(wait, 5*time.Millisecond<<idle))
				}
				continue
			}
			slot = true
		}
		idle = 0
		o, err := s.send(ctx, tenant, c, modeDrain)
		if c = o.next; c == nil {
			s.inFlight.Done(tenant)
			slot = false
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
