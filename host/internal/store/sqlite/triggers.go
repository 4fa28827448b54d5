package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/atomhq/atom/host/internal/store"
)

var _ store.TriggerStore = (*Store)(nil)

func collectTriggerRefs(rows *sql.Rows, err error) ([]store.TriggerRef, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.TriggerRef
	for rows.Next() {
		var r store.TriggerRef
		if err := rows.Scan(&r.TenantID, &r.InstanceID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ClaimDueTriggers leases due polling instances in one statement (SQLite
// serialises writers, so claims never overlap).
func (s *Store) ClaimDueTriggers(ctx context.Context, now, until time.Time, token string, limit int) ([]store.TriggerRef, error) {
	rows, err := s.db.QueryContext(ctx, `UPDATE trigger_instances SET lease_until = ?2, lease_token = ?3
		WHERE id IN (SELECT id FROM trigger_instances
			WHERE kind = 'polling' AND status IN ('active', 'needs_reauth') AND next_poll_at <= ?1 AND (lease_until IS NULL OR lease_until < ?1)
			ORDER BY next_poll_at LIMIT ?4)
		RETURNING tenant_id, id`, now.UnixMicro(), until.UnixMicro(), token, limit)
	return collectTriggerRefs(rows, err)
}

// LookupTriggerHook finds the instance of a hook id's hash.
func (s *Store) LookupTriggerHook(ctx context.Context, hookHash string) (store.TriggerRef, error) {
	var ref store.TriggerRef
	err := s.db.QueryRowContext(ctx, `SELECT tenant_id, id FROM trigger_instances WHERE hook_hash = ?1`, hookHash).Scan(&ref.TenantID, &ref.InstanceID)
	if errors.Is(err, sql.ErrNoRows) {
		return ref, store.ErrNotFound
	}
	return ref, err
}

// AppTriggers lists the active app webhook instances of a provider account.
func (s *Store) AppTriggers(ctx context.Context, provider, account string, limit int) ([]store.TriggerRef, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tenant_id, id FROM trigger_instances
		WHERE kind = 'app_webhook' AND provider = ?1 AND account = ?2 AND status = 'active' ORDER BY id LIMIT ?3`, provider, account, limit)
	return collectTriggerRefs(rows, err)
}

// TakeProviderPoll takes a turn of a provider's poll budget in one
// statement (SQLite serialises writers).
func (s *Store) TakeProviderPoll(ctx context.Context, provider string, now time.Time, every time.Duration, burst int) (time.Duration, error) {
	if provider == "" || len(provider) > store.MaxProvider || every < time.Microsecond {
		return 0, fmt.Errorf("%w: a provider budget needs a provider id of 1 to %d bytes and an interval of at least 1µs", store.ErrInvalid, store.MaxProvider)
	}
	n, e, tol := now.UnixMicro(), every.Microseconds(), int64(max(burst, 1)-1)*every.Microseconds()
	var tat int64
	err := s.db.QueryRowContext(ctx, store.ProviderBudgetTurn("MAX"), provider, n, e, tol).Scan(&tat)
	if err == nil {
		return 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if err := s.db.QueryRowContext(ctx, `SELECT tat_us FROM trigger_provider_budgets WHERE provider = $1`, provider).Scan(&tat); err != nil {
		return 0, err
	}
	return store.BudgetWait(time.UnixMicro(tat), now, every, burst), nil
}
