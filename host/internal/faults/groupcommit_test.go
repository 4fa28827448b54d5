package faults

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
)

// TestFaultGroupCommitKill9 kills `atom serve` with SIGKILL while
// synchronous executions of two tenants — whose records the host writes
// in group commits, many executions per transaction — are acknowledged
// back to back from 16 clients, starts it again on the same database and
// finds every acknowledged execution stored with its outcome, each its
// own tenant's only. A record answered before its batch committed would be
// missing after the kill.
func TestFaultGroupCommitKill9(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			d := newDurEnv(t, backend)
			p := d.start()
			_, keyA := p.newTenant(t, "group-a")
			_, keyB := p.newTenant(t, "group-b")
			la, lb := newLedger(), newLedger()
			lb.seq.Store(1 << 40) // the tenants' calls go to distinct upstream paths
			var stop atomic.Bool
			var wg sync.WaitGroup
			for g := range 16 {
				key, l := keyA, la
				if g%2 == 1 {
					key, l = keyB, lb
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						l.execute(p, key, false, "")
					}
				}()
			}
			acked := func() int {
				la.mu.Lock()
				defer la.mu.Unlock()
				lb.mu.Lock()
				defer lb.mu.Unlock()
				return len(la.acked) + len(lb.acked)
			}
			hosttest.WaitFor(t, 60*time.Second, "load before the kill", func() bool { return acked() > 600 })
			p.kill9(t)
			stop.Store(true)
			wg.Wait()
			p = d.start()
			for _, c := range []struct {
				name       string
				l          *ledger
				key, other string
			}{{"tenant a", la, keyA, keyB}, {"tenant b", lb, keyB, keyA}} {
				res := c.l.settle(t, p, c.key, d.up, 30*time.Second)
				res.check(t, "group commit, kill -9 ("+backend+", "+c.name+")", c.l, 0)
				if res.byStatus["succeeded"] != res.acknowledged {
					t.Errorf("%s: acknowledged synchronous executions stored as %v, want all succeeded", c.name, res.byStatus)
				}
				c.l.mu.Lock()
				n := 0
				for id := range c.l.acked {
					if n++; n > 50 {
						break
					}
					r, err := p.do("GET", "/api/v1/executions/"+id, c.other, nil, nil)
					if err != nil || r.status != 404 {
						t.Errorf("%s's execution %s read by the other tenant: %v %d %s", c.name, id, err, r.status, r.body)
					}
				}
				c.l.mu.Unlock()
			}
		})
	}
}
