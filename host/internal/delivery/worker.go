package delivery

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	mathrand "math/rand/v2"

	"github.com/riverqueue/river"
)

// The headers of Atom's own signature, sent alongside the Standard
// Webhooks headers for receivers written against it.
const (
	LegacyHeaderSignature = "Atom-Signature"
	LegacyHeaderEventID   = "Atom-Event-Id"
)

// LegacySign returns the Atom-Signature value: "t=<unix>" then one
// "v1=<hex HMAC-SHA256(secret, "<t>.<body>")>" per secret, keyed with the
// whole secret string.
func LegacySign(t time.Time, body []byte, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	parts := []string{"t=" + ts}
	for _, s := range secrets {
		m := hmac.New(sha256.New, []byte(s))
		m.Write([]byte(ts))
		m.Write([]byte{'.'})
		m.Write(body)
		parts = append(parts, "v1="+hex.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(parts, ",")
}

// DeliverArgs is the River job delivering one delivery; it lives until the
// delivery is delivered or dead, snoozing between attempts.
type DeliverArgs struct {
	TenantID   string `json:"tenant_id"`
	DeliveryID string `json:"delivery_id"`
}

// Kind is the River job kind.
func (DeliverArgs) Kind() string { return "atom.delivery.deliver" }

// Worker works DeliverArgs jobs on jobs.QueueWebhooks.
type Worker struct {
	river.WorkerDefaults[DeliverArgs]
	Service *Service

	retryAt sync.Map // job id → when a failed attempt is retried
}

// Work makes one attempt, or snoozes while the tenant already has
// MaxTenantDeliveries attempts in flight on this replica.
func (w *Worker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	s := w.Service
	tenant := job.Args.TenantID
	if !s.inFlight.Take(tenant, MaxTenantDeliveries) {
		return river.JobSnooze(time.Second + mathrand.N(time.Second))
	}
	defer s.inFlight.Done(tenant)
	c, wait, err := s.claim(ctx, tenant, job.Args.DeliveryID)
	if err != nil {
		return err
	}
	if c == nil {
		if wait > 0 {
			return river.JobSnooze(wait)
		}
		return nil
	}
	o, err := s.send(ctx, tenant, c, modeJob)
	wait, following := o.wait, o.following
	if err == nil && o.next != nil {
		// Claimed with this attempt's outcome: a drain attempts it now.
		s.startDrain(tenant, o.next.d.Source, nil, o.next)
	} else if err == nil && following != nil {
		// The source's next event waited for this one: go on with it now.
		// Its drain may be gone with a replica that died, and the sweep
		// takes an unleased delivery only StallGrace after it was due.
		s.drain(tenant, following.Source, following)
	}
	var ae *AttemptError
	if errors.As(err, &ae) {
		w.retryAt.Store(job.ID, time.Now().Add(ae.Wait))
		return err
	}
	if err != nil {
		return err
	}
	if wait > 0 {
		return river.JobSnooze(wait)
	}
	return nil
}

// NextRetry schedules a failed attempt's retry at the delivery's backoff;
// an error on Atom's side (the database) at River's.
func (w *Worker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	if v, ok := w.retryAt.LoadAndDelete(job.ID); ok {
		return v.(time.Time)
	}
	return time.Time{}
}

// Timeout bounds one attempt with its database work, inside the lease.
func (w *Worker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return w.Service.cfg.Timeout + 5*time.Second
}

// SweepArgs is the periodic job handing stalled deliveries to new jobs.
type SweepArgs struct{}

// Kind is the River job kind.
func (SweepArgs) Kind() string { return "atom.delivery.sweep" }

// SweepWorker works SweepArgs.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	Service *Service
}

// Work sweeps once.
func (w *SweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	n, err := w.Service.Sweep(ctx)
	if n > 0 {
		w.Service.log.Info("stalled deliveries rescheduled", "count", n)
	}
	return err
}

// ExpireArgs is the periodic job removing events past the retention.
type ExpireArgs struct{}

// Kind is the River job kind.
func (ExpireArgs) Kind() string { return "atom.events.expire" }

// ExpireWorker works ExpireArgs.
type ExpireWorker struct {
	river.WorkerDefaults[ExpireArgs]
	Service *Service
}

// Work removes expired events.
func (w *ExpireWorker) Work(ctx context.Context, _ *river.Job[ExpireArgs]) error {
	n, err := w.Service.Expire(ctx)
	if n > 0 {
		w.Service.log.Info("expired events removed", "count", n)
	}
	return err
}

// Timeout bounds one run of the expiry.
func (w *ExpireWorker) Timeout(*river.Job[ExpireArgs]) time.Duration { return 10 * time.Minute }

// AddWorkers registers the delivery, sweep and expiry workers of s.
func AddWorkers(workers *river.Workers, s *Service) {
	river.AddWorker(workers, &Worker{Service: s})
	river.AddWorker(workers, &SweepWorker{Service: s})
	river.AddWorker(workers, &ExpireWorker{Service: s})
}

// PeriodicJobs returns the sweep, every interval (5 s when zero), run by
// the leader replica.
func PeriodicJobs(interval time.Duration) []*river.PeriodicJob {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(interval),
			func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, &river.InsertOpts{MaxAttempts: 1} },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(ExpireInterval),
			func() (river.JobArgs, *river.InsertOpts) { return ExpireArgs{}, &river.InsertOpts{MaxAttempts: 1} },
			&river.PeriodicJobOpts{RunOnStart: true}),
	}
}

// ExpireInterval is how often the leader replica removes expired events.
const ExpireInterval = time.Hour
