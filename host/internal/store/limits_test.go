package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// The counts behind the per-tenant caps count only the tenant's own rows,
// stop at max, and the execution listing reads no inputs or outputs.
func TestCountsAndHeads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		a, b := storetest.NewTenant(t, st), storetest.NewTenant(t, st)
		now := time.Now().UTC()
		fill := func(tenant string, users, live, expired, pending, done int) {
			err := st.InTenant(ctx, tenant, func(tx store.Tx) error {
				for i := 0; i < users; i++ {
					if err := tx.CreateUser(ctx, &store.User{ID: fmt.Sprintf("u%d", i)}); err != nil {
						return err
					}
				}
				for i := 0; i < live+expired; i++ {
					exp := now.Add(time.Hour)
					if i >= live {
						exp = now.Add(-time.Minute)
					}
					s := &store.OAuthState{StateHash: fmt.Sprintf("%s-%d", tenant, i), Provider: "p", ExpiresAt: exp}
					if err := tx.CreateState(ctx, s); err != nil {
						return err
					}
				}
				for i := 0; i < pending+done; i++ {
					e := &store.Execution{Provider: "p", Action: "a", Implementation: "generic", Status: store.ExecPending,
						Input: json.RawMessage(`{"in":1}`), CreatedAt: now}
					switch {
					case i >= pending:
						e.Status, e.Output = store.ExecSucceeded, json.RawMessage(`{"output":{"big":"x"}}`)
					case i%2 == 1:
						// An asynchronous execution whose job runs: not
						// finished, so it counts.
						e.Status, e.JobID = store.ExecRunning, int64(i+1)
					default:
						e.JobID = int64(i + 1)
					}
					if err := tx.CreateExecution(ctx, e); err != nil {
						return err
					}
				}
				// A synchronous call running under an Idempotency-Key has
				// no job: it is not an asynchronous execution.
				sync := &store.Execution{Provider: "p", Action: "a", Implementation: "generic", Status: store.ExecRunning,
					Input: json.RawMessage(`{"in":1}`), CreatedAt: now}
				if err := tx.CreateExecution(ctx, sync); err != nil {
					return err
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		fill(a, 4, 3, 2, 5, 2)
		fill(b, 1, 1, 1, 1, 1)
		err := st.InTenant(ctx, a, func(tx store.Tx) error {
			c, ok := store.Counting(tx)
			if !ok {
				t.Fatal("the backend cannot count")
			}
			for _, tc := range []struct {
				name      string
				count     func(max int) (int, error)
				all, capt int
			}{
				{"users", func(m int) (int, error) { return c.CountUsers(ctx, m) }, 4, 2},
				{"live states", func(m int) (int, error) { return c.CountLiveStates(ctx, now, m) }, 3, 2},
				{"pending executions", func(m int) (int, error) { return c.CountPendingExecutions(ctx, m) }, 5, 2},
			} {
				if n, err := tc.count(100); err != nil || n != tc.all {
					t.Errorf("%s: %d, %v; want %d", tc.name, n, err, tc.all)
				}
				if n, err := tc.count(tc.capt); err != nil || n != tc.capt {
					t.Errorf("%s up to %d: %d, %v", tc.name, tc.capt, n, err)
				}
			}
			heads, err := tx.(store.HeadLister).ListExecutionHeads(ctx, store.ExecutionFilter{Limit: 100})
			if err != nil {
				return err
			}
			if len(heads) != 8 { // 5 pending or running, 2 done, 1 synchronous running
				t.Errorf("%d heads, want 8", len(heads))
			}
			for _, h := range heads {
				if h.Input != nil || h.Output != nil || h.ID == "" || h.Status == "" {
					t.Errorf("head %+v", h)
				}
			}
			pend, err := tx.(store.HeadLister).ListExecutionHeads(ctx, store.ExecutionFilter{Status: store.ExecPending, Limit: 3})
			if err != nil || len(pend) != 3 {
				t.Errorf("pending heads: %d, %v", len(pend), err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
