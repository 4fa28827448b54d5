package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/postgres"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// TestClaimDueTriggersConcurrently fills the table with many due polling
// instances (across tenants) and lets two stores — two replicas' pools —
// claim them in batches at once, as the schedulers of two hosts would:
// every instance is claimed exactly once. It logs how long the claims
// took (the scheduler's database work for that many polls).
func TestClaimDueTriggersConcurrently(t *testing.T) {
	const tenants, perTenant, batch = 100, 200, 500
	pg := storetest.Postgres(t)
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, `INSERT INTO tenants (id, name) SELECT 'ten_claim_' || g, 'claim ' || g FROM generate_series(1, $1) g`, tenants); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `INSERT INTO trigger_instances (id, tenant_id, connection_id, provider, trigger_name, kind, input, status, interval_seconds, next_poll_at)
		SELECT 'trg_claim_' || t || '_' || i, 'ten_claim_' || t, 'conn_' || t, 'fake', 'new_item', 'polling', '{}', 'active', 60, NOW() - interval '1 second'
		FROM generate_series(1, $1) t, generate_series(1, $2) i`, tenants, perTenant); err != nil {
		t.Fatal(err)
	}
	second, err := postgres.Open(ctx, pg.AppURL) // a second replica's pool

	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()

	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for r, s := range []store.TriggerStore{pg.Store, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				now := time.Now()
				refs, err := s.ClaimDueTriggers(ctx, now, now.Add(time.Hour), fmt.Sprintf("replica-%d-%d", r, now.UnixNano()), batch)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, ref := range refs {
					seen[ref.InstanceID]++
				}
				mu.Unlock()
				if len(refs) == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(seen) != tenants*perTenant {
		t.Fatalf("%d instances claimed, want %d", len(seen), tenants*perTenant)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s claimed %d times", id, n)
		}
	}
	t.Logf("%d due instances claimed by two concurrent schedulers in batches of %d in %v", tenants*perTenant, batch, elapsed.Round(time.Millisecond))
}
