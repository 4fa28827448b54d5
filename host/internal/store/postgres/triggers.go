package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/store"
)

var _ store.TriggerStore = (*Store)(nil)

func collectTriggerRefs(rows pgx.Rows, err error) ([]store.TriggerRef, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.TriggerRef, error) {
		var ref store.TriggerRef
		err := r.Scan(&ref.TenantID, &ref.InstanceID)
		return ref, err
	})
}

// ClaimDueTriggers leases due polling instances (SECURITY DEFINER
// function; FOR UPDATE SKIP LOCKED, so concurrent claims never overlap).
func (s *Store) ClaimDueTriggers(ctx context.Context, now, until time.Time, token string, limit int) ([]store.TriggerRef, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, id FROM atom_claim_due_triggers($1, $2, $3, $4)`, now, until, token, limit)
	return collectTriggerRefs(rows, err)
}

// LookupTriggerHook finds the instance of a hook id's hash (SECURITY
// DEFINER function).
func (s *Store) LookupTriggerHook(ctx context.Context, hookHash string) (store.TriggerRef, error) {
	var ref store.TriggerRef
	err := s.pool.QueryRow(ctx, `SELECT tenant_id, id FROM atom_trigger_hook($1)`, hookHash).Scan(&ref.TenantID, &ref.InstanceID)
	if errors.Is(err, pgx.ErrNoRows) {
		return ref, store.ErrNotFound
	}
	return ref, err
}

// AppTriggers lists the app webhook instances of a provider account
// (SECURITY DEFINER function).
func (s *Store) AppTriggers(ctx context.Context, provider, account string, limit int) ([]store.TriggerRef, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, id FROM atom_app_triggers($1, $2, $3)`, provider, account, limit)
	return collectTriggerRefs(rows, err)
}

// TakeProviderPoll takes a turn of a provider's poll budget in one
// statement (the row's lock orders replicas taking turns at once).
func (s *Store) TakeProviderPoll(ctx context.Context, provider string, now time.Time, every time.Duration, burst int) (time.Duration, error) {
	if err := checkBudget(provider, every); err != nil {
		return 0, err
	}
	n, e, tol := now.UnixMicro(), every.Microseconds(), int64(max(burst, 1)-1)*every.Microseconds()
	var tat int64
	err := s.pool.QueryRow(ctx, store.ProviderBudgetTurn("GREATEST"), provider, n, e, tol).Scan(&tat)
	if err == nil {
		return 0, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, err
	}
	if err := s.pool.QueryRow(ctx, `SELECT tat_us FROM trigger_provider_budgets WHERE provider = $1`, provider).Scan(&tat); err != nil {
		return 0, err
	}
	return store.BudgetWait(time.UnixMicro(tat), now, every, burst), nil
}

func checkBudget(provider string, every time.Duration) error {
	if provider == "" || len(provider) > store.MaxProvider || every < time.Microsecond {
		return fmt.Errorf("%w: a provider budget needs a provider id of 1 to %d bytes and an interval of at least 1µs", store.ErrInvalid, store.MaxProvider)
	}
	return nil
}
