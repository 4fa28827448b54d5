package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"time"

	"github.com/riverqueue/river"

	"github.com/atomhq/atom/host/internal/connect"
	idgen "github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/jobs"
	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/sdk/provider"
)

// Polling runs on River across replicas. The scheduler, a periodic job
// River runs on its elected leader, claims the polling instances that are
// due in batches — each claim leases its rows (lease_until, lease_token)
// with FOR UPDATE SKIP LOCKED, so two claims never take one instance —
// and enqueues one poll job per instance, which any replica works. A poll
// first takes a turn of its provider's budget, one budget per provider
// kept in the database for every replica (store.TakeProviderPoll); past
// the budget it only moves the instance's next poll time on. A poll
// writes its state, its events and the instance's next poll time in one
// transaction, and only while it still holds the lease: a poll whose
// lease ran out (its replica stalled past it) records nothing, and the
// instance is polled again by whoever claims it next. An instance is thus
// polled by one replica at a time, and its next poll is due an interval
// (plus up to a tenth, at random) after the last one started.

// ScheduleArgs is the scheduler's periodic job.
type ScheduleArgs struct{}

// Kind implements river.JobArgs.
func (ScheduleArgs) Kind() string { return "atom.triggers.schedule" }

// PollArgs is one poll of one instance under a lease.
type PollArgs struct {
	TenantID   string `json:"tenant_id"`
	InstanceID string `json:"instance_id"`
	Token      string `json:"token"`
}

// Kind implements river.JobArgs.
func (PollArgs) Kind() string { return "atom.triggers.poll" }

type scheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	e *Engine
}

func (w *scheduleWorker) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	_, err := w.e.Schedule(ctx)
	return err
}

type pollWorker struct {
	river.WorkerDefaults[PollArgs]
	e *Engine
}

func (w *pollWorker) Work(ctx context.Context, job *river.Job[PollArgs]) error {
	return w.e.Poll(ctx, job.Args)
}

// Timeout bounds a poll job a little beyond the trigger call.
func (w *pollWorker) Timeout(*river.Job[PollArgs]) time.Duration {
	return w.e.cfg.Timeout + 30*time.Second
}

// AddWorkers registers the scheduler and poll workers.
func AddWorkers(workers *river.Workers, e *Engine) {
	river.AddWorker(workers, &scheduleWorker{e: e})
	river.AddWorker(workers, &pollWorker{e: e})
}

// PeriodicJobs is the scheduler, every ScheduleTick.
func (e *Engine) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(e.cfg.ScheduleTick),
		func() (river.JobArgs, *river.InsertOpts) { return ScheduleArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
}

// lease is how long a claim holds an instance: longer than a poll job
// may run, so only a dead replica's lease runs out.
func (e *Engine) lease() time.Duration { return 2*e.cfg.Timeout + time.Minute }

// maxClaims bounds the batches one scheduler run claims.
const maxClaims = 50

// Schedule claims the due polling instances and enqueues their polls; it
// returns how many it enqueued.
func (e *Engine) Schedule(ctx context.Context) (int, error) {
	q := e.q()
	if q == nil {
		return 0, errors.New("triggers: no job queue")
	}
	total := 0
	for range maxClaims {
		now := e.now()
		token := idgen.Random(16)
		refs, err := e.sys().ClaimDueTriggers(ctx, now, now.Add(e.lease()), token, e.cfg.ClaimBatch)
		if err != nil {
			return total, fmt.Errorf("triggers: claim due instances: %w", err)
		}
		params := make([]river.InsertManyParams, 0, len(refs))
		for _, r := range refs {
			params = append(params, river.InsertManyParams{Args: PollArgs{TenantID: r.TenantID, InstanceID: r.InstanceID, Token: token},
				InsertOpts: &river.InsertOpts{Queue: jobs.QueueTriggers, MaxAttempts: 1}})
		}
		// Polls that cannot be enqueued keep their lease until it runs
		// out; the instances are claimed again then.
		if err := q.InsertMany(ctx, params); err != nil {
			return total, err
		}
		total += len(refs)
		if len(refs) < e.cfg.ClaimBatch {
			break
		}
	}
	return total, nil
}

// Poll runs one leased poll: the provider's budget (shared by the
// replicas: a poll past it is deferred), the instance's connection's
// credentials (waiting for a refresh in flight), the trigger's
// Poll with the state kept, dedupe, and the new items as events, all
// written under the lease.
func (e *Engine) Poll(ctx context.Context, a PollArgs) error {
	// The instance and its connection in one transaction.
	var ti *store.TriggerInstance
	var conn *store.Connection
	var connErr error
	err := e.in(ctx, a.TenantID, func(tx store.Tx, tt store.TriggerTx) (err error) {
		if ti, err = tt.GetTrigger(ctx, a.InstanceID); err != nil || ti.LeaseToken != a.Token || ti.Kind != provider.TriggerPolling {
			return err
		}
		conn, connErr = tx.GetConnectionByID(ctx, ti.ConnectionID)
		if connErr != nil && !errors.Is(connErr, store.ErrNotFound) {
			return connErr
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	if ti.LeaseToken != a.Token || ti.Kind != provider.TriggerPolling {
		return nil // another claim holds it now
	}
	start := e.now()
	iv := time.Duration(ti.IntervalSeconds) * time.Second
	if iv < e.cfg.MinInterval {
		iv = e.cfg.MinInterval
	}
	next := start.Add(jitter(iv))
	ti.NextPollAt = &next
	every, burst := e.rateOf(ti.Provider)
	wait, err := e.sys().TakeProviderPoll(ctx, ti.Provider, start, every, burst)
	if err != nil {
		return err // the lease runs out and the instance is claimed again
	}
	if wait > 0 {
		// Over the provider's budget: due again once the budget allows,
		// spread over a tenth of the interval (at least a second) so a
		// backlog does not come back all at once.
		at := start.Add(wait + time.Duration(mathrand.Int64N(int64(max(time.Second, iv/10)))))
		ti.NextPollAt = &at
		e.polls.WithLabelValues(ti.Provider, "deferred").Inc()
		return e.settle(ctx, ti, a.Token, nil)
	}
	tr, _, err := e.implOf(ti.Provider, ti.Trigger)
	if err != nil {
		ti.LastError = err.Error()
		e.polls.WithLabelValues(ti.Provider, "unavailable").Inc()
		return e.settle(ctx, ti, a.Token, nil)
	}
	if connErr != nil {
		return e.pollFailed(ctx, ti, a.Token, connErr)
	}
	cr, err := e.credsOf(ctx, ti, conn)
	if err != nil {
		return e.pollFailed(ctx, ti, a.Token, err)
	}
	if ti.Status == store.TriggerNeedsReauth {
		ti.Status = store.TriggerActive // reconnected
	}
	var prev PollState
	raw, err := e.open(ti, "state", ti.StateCT)
	if err != nil {
		return fmt.Errorf("triggers: open state of %s: %w", ti.ID, err)
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &prev); err != nil {
			return fmt.Errorf("triggers: decode state of %s: %w", ti.ID, err)
		}
	}
	res, err := e.callWith(ctx, tr, ti, conn, cr, provider.TriggerCall{Op: provider.TriggerOpPoll, State: prev.Provider})
	if err != nil {
		return e.pollFailed(ctx, ti, a.Token, err)
	}
	fresh, st := Apply(prev, provider.PollResult{Events: res.Events, State: res.State}, DedupeOptions{SkipBacklog: true})
	stateJSON, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if ti.StateCT, err = e.seal(ti, "state", stateJSON); err != nil {
		return err
	}
	ti.LastError = ""
	polled := start
	ti.LastPolledAt = &polled
	if err := e.settle(ctx, ti, a.Token, fresh); err != nil {
		return err
	}
	e.polls.WithLabelValues(ti.Provider, "ok").Inc()
	return nil
}

// pollFailed records why a poll did not run or failed; the instance is
// polled again at its next time. A connection that needs re-auth marks it
// needs_reauth; a deleted one disables it.
func (e *Engine) pollFailed(ctx context.Context, ti *store.TriggerInstance, token string, err error) error {
	ce, isConn := connect.AsError(err)
	switch {
	case errors.Is(err, store.ErrNotFound) || isConn && ce.Code == connect.CodeProviderNotConnected:
		ti.Status, ti.LastError, ti.NextPollAt = store.TriggerDisabled, "the connection was deleted", nil
		e.polls.WithLabelValues(ti.Provider, "disabled").Inc()
	case isConn && (ce.Code == connect.CodeConnectionRevoked || ce.Code == connect.CodeConnectionExpired):
		ti.Status, ti.LastError = store.TriggerNeedsReauth, ce.Message()
		e.polls.WithLabelValues(ti.Provider, "needs_reauth").Inc()
	case isConn:
		ti.LastError = ce.Message()
		e.polls.WithLabelValues(ti.Provider, "credentials_failed").Inc()
	case store.Unavailable(err):
		return err // the lease runs out and the instance is claimed again
	default:
		ti.LastError = outbound.Redact(err.Error())
		outcome := "failed"
		if errors.Is(err, runtimes.ErrUnavailable) {
			outcome = "unavailable"
		}
		e.polls.WithLabelValues(ti.Provider, outcome).Inc()
		e.log.Warn("poll failed", "tenant_id", ti.TenantID, "trigger_id", ti.ID, "provider", ti.Provider, "err", ti.LastError)
	}
	return e.settle(ctx, ti, token, nil)
}

// settle writes ti (under the lease when token is set) and records items
// as events, in one transaction, then runs the deliveries' follow-ups.
func (e *Engine) settle(ctx context.Context, ti *store.TriggerInstance, token string, items []provider.Event) error {
	var after []func()
	n := 0
	err := e.in(context.WithoutCancel(ctx), ti.TenantID, func(tx store.Tx, tt store.TriggerTx) error {
		var err error
		if after, n, err = e.record(ctx, tx, ti, items); err != nil {
			return err
		}
		if n > 0 {
			at := e.now()
			ti.LastEventAt = &at
		}
		return tt.UpdateTrigger(ctx, ti, token)
	})
	if errors.Is(err, store.ErrConflict) && token != "" {
		e.log.Warn("poll outcome dropped: the instance's lease ran out", "tenant_id", ti.TenantID, "trigger_id", ti.ID)
		return nil
	}
	if err != nil {
		return err
	}
	for _, fn := range after {
		fn()
	}
	if n > 0 {
		e.events.WithLabelValues(ti.Provider, ti.Kind).Add(float64(n))
	}
	return nil
}
