package connect_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// TestShortLivedTokenRefreshedOncePerLifetime runs 70 s tokens for twelve
// lifetimes on the test clock, one second at a time. Every second 50
// concurrent callers ask for credentials and the background sweep runs
// beside them. Each token must be refreshed exactly once, between 75 % and
// 85 % of its lifetime (the default fraction and jitter) and never after
// it expired; the provider must never see a refresh token twice.
func TestShortLivedTokenRefreshedOncePerLifetime(t *testing.T) {
	const life = 70 * time.Second
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, fakeprovider.Quirks{RotateRefresh: true, ExpiresIn: int(life / time.Second)}, nil)
		cb := e.connect("fake", connect.ConnectOptions{})
		connID := cb.Connection.ID
		row := func() *store.Connection {
			var c *store.Connection
			if err := e.st.InTenant(ctx, e.tenant, func(tx store.Tx) error {
				var err error
				c, err = tx.GetConnectionByID(ctx, connID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return c
		}
		issued := *row().LastRefreshedAt
		refreshes, calls := 0, 0
		var minAge, maxAge time.Duration
		for step := 0; step < 12*int(life/time.Second); step++ {
			e.clock.Advance(time.Second)
			done := make(chan error, 1)
			go func() {
				_, err := e.svc.RefreshDue(ctx, 2*time.Minute, 100)
				done <- err
			}()
			tokens := hammer(t, e, []*connect.Service{e.svc}, 50)
			calls += 50
			if err := <-done; err != nil {
				t.Fatalf("sweep: %v", err)
			}
			if len(tokens) != 1 {
				t.Fatalf("at %s callers got %d different tokens", e.clock.Now().Sub(issued), len(tokens))
			}
			c := row()
			if !c.ExpiresAt.After(e.clock.Now()) {
				t.Fatalf("the token expired at %s before it was refreshed", c.ExpiresAt)
			}
			if c.LastRefreshedAt.Equal(issued) {
				continue
			}
			refreshes++
			age := c.LastRefreshedAt.Sub(issued)
			if age < life*75/100 || age > life*85/100+time.Second {
				t.Fatalf("token refreshed at %s of its %s lifetime, want 75-85 %%", age, life)
			}
			if refreshes == 1 || age < minAge {
				minAge = age
			}
			maxAge = max(maxAge, age)
			issued = *c.LastRefreshedAt
			if got := e.fp.Refreshes(); got != refreshes {
				t.Fatalf("provider saw %d refreshes, %d tokens were replaced", got, refreshes)
			}
		}
		lifetimes := 12
		t.Logf("70s tokens over %d lifetimes, %d calls: refreshes=%d reused_refresh_tokens=%d refreshed_at=%s..%s",
			lifetimes, calls, refreshes, e.fp.ReusedRefreshTokens(), minAge, maxAge)
		if refreshes < lifetimes || refreshes > lifetimes*100/75+1 {
			t.Fatalf("%d refreshes in %d lifetimes", refreshes, lifetimes)
		}
		if e.fp.ReusedRefreshTokens() != 0 {
			t.Fatalf("provider saw %d reused refresh tokens", e.fp.ReusedRefreshTokens())
		}
	})
}

// TestRefreshFloor gives tokens an 8 s lifetime, shorter than the 10 s
// floor: the token is not refreshed at its fraction (6 s) but once it
// expired, so a provider handing out tiny lifetimes does not draw a
// refresh every few seconds.
func TestRefreshFloor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, fakeprovider.Quirks{RotateRefresh: true, ExpiresIn: 8}, nil)
		e.connect("fake", connect.ConnectOptions{})
		var last time.Time
		for step := 1; step <= 40; step++ {
			e.clock.Advance(time.Second)
			if _, err := e.svc.RefreshDue(ctx, time.Minute, 100); err != nil {
				t.Fatal(err)
			}
			hammer(t, e, []*connect.Service{e.svc}, 20)
			if e.fp.Refreshes() != step/8 {
				t.Fatalf("after %d s: %d refreshes, want %d (one per expiry)", step, e.fp.Refreshes(), step/8)
			}
			last = e.clock.Now()
		}
		t.Logf("8s tokens, 10s floor, 40s until %s: refreshes=%d", last.Format(time.TimeOnly), e.fp.Refreshes())
	})
}

// enqueued records the jobs a Service enqueues.
type enqueued struct {
	mu   sync.Mutex
	args []river.JobArgs
	opts []*river.InsertOpts
}

func (q *enqueued) Enqueue(_ context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.args, q.opts = append(q.args, args), append(q.opts, opts)
	return nil
}

// TestSweepSchedulesJobAtRefreshTime checks that the sweep lists a
// connection only when its refresh falls within the lookahead and
// schedules its job at that time, not at the sweep.
func TestSweepSchedulesJobAtRefreshTime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, fakeprovider.Quirks{}, nil)
		q := &enqueued{}
		e.svc = e.newServiceWith(st, func(c *connect.Config) { c.RefreshJitter = -1; c.Jobs = q })
		e.connect("fake", connect.ConnectOptions{}) // 1 h token: refresh at 48 min
		e.clock.Advance(30 * time.Minute)
		if n, err := e.svc.RefreshDue(ctx, 2*time.Minute, 100); err != nil || n != 0 {
			t.Fatalf("sweep 18 min before the refresh time listed %d (%v)", n, err)
		}
		e.clock.Advance(17 * time.Minute)
		before := time.Now()
		if n, err := e.svc.RefreshDue(ctx, 2*time.Minute, 100); err != nil || n != 1 {
			t.Fatalf("sweep a minute before the refresh time listed %d (%v)", n, err)
		}
		after := time.Now()
		if len(q.opts) != 1 || q.opts[0] == nil {
			t.Fatalf("job not scheduled: %+v", q.opts)
		}
		if at := q.opts[0].ScheduledAt; at.Before(before.Add(time.Minute)) || at.After(after.Add(time.Minute)) {
			t.Fatalf("job scheduled %s after the sweep, want one minute", at.Sub(before))
		}
		if a, ok := q.args[0].(connect.RefreshArgs); !ok || a.TenantID != e.tenant {
			t.Fatalf("job args %+v", q.args[0])
		}
		e.clock.Advance(2 * time.Minute)
		if _, err := e.svc.RefreshDue(ctx, 2*time.Minute, 100); err != nil || len(q.opts) != 2 || q.opts[1] != nil {
			t.Fatalf("a due refresh must run at once: %v %+v", err, q.opts)
		}
		if e.fp.Refreshes() != 0 {
			t.Fatalf("the sweep refreshed inline with a queue: %d", e.fp.Refreshes())
		}
	})
}
