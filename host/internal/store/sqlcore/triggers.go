package sqlcore

import (
	"context"
	"fmt"
	"time"

	"github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/store"
)

var _ store.TriggerTx = (*Tx)(nil)

const triggerCols = `id, tenant_id, connection_id, provider, trigger_name, kind, input, deliver, state, registration, hook_hash, account,
	status, last_error, interval_seconds, next_poll_at, lease_until, lease_token, last_polled_at, last_event_at, created_at, updated_at`

func (t *Tx) scanTrigger(r Row) (*store.TriggerInstance, error) {
	var ti store.TriggerInstance
	var conn, hook, account, lastErr, token Text
	var input, state, reg Bytes
	var next, lease, polled, evAt, created, updated Time
	if err := r.Scan(&ti.ID, &ti.TenantID, &conn, &ti.Provider, &ti.Trigger, &ti.Kind, &input, &ti.Deliver, &state, &reg, &hook, &account,
		&ti.Status, &lastErr, &ti.IntervalSeconds, &next, &lease, &token, &polled, &evAt, &created, &updated); err != nil {
		return nil, err
	}
	ti.ConnectionID, ti.HookHash, ti.Account, ti.LastError, ti.LeaseToken = string(conn), string(hook), string(account), string(lastErr), string(token)
	ti.StateCT, ti.RegistrationCT = state, reg
	ti.NextPollAt, ti.LeaseUntil, ti.LastPolledAt, ti.LastEventAt, ti.CreatedAt, ti.UpdatedAt = next.Ptr(), lease.Ptr(), polled.Ptr(), evAt.Ptr(), created.T, updated.T
	var err error
	if ti.Input, err = t.d.ReadJSON(input); err != nil {
		return nil, fmt.Errorf("trigger %s input: %w", ti.ID, err)
	}
	return &ti, nil
}

// CreateTrigger inserts a trigger instance of the tenant.
func (t *Tx) CreateTrigger(ctx context.Context, ti *store.TriggerInstance) error {
	if err := checkTexts(textCheck{"provider", ti.Provider, store.MaxProvider}, textCheck{"trigger", ti.Trigger, store.MaxTriggerName},
		textCheck{"account", ti.Account, store.MaxTriggerAccount}); err != nil {
		return err
	}
	if ti.ID == "" {
		ti.ID = ids.New("trg")
	}
	ti.TenantID = t.tenant
	now := t.now()
	if ti.CreatedAt.IsZero() {
		ti.CreatedAt = now
	}
	ti.UpdatedAt = now
	input := ti.Input
	if len(input) == 0 {
		input = []byte("{}")
	}
	_, err := t.exec(ctx, `INSERT INTO trigger_instances (id, tenant_id, connection_id, provider, trigger_name, kind, input, deliver, state,
		registration, hook_hash, account, status, last_error, interval_seconds, next_poll_at, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)`,
		ti.ID, t.tenant, Null(ti.ConnectionID), ti.Provider, ti.Trigger, ti.Kind, t.d.JSON(input), ti.Deliver, Bytes(ti.StateCT),
		Bytes(ti.RegistrationCT), Null(ti.HookHash), Null(ti.Account), ti.Status, Null(clip(CleanText(ti.LastError), 1000)), ti.IntervalSeconds,
		t.tmp(ti.NextPollAt), t.tm(ti.CreatedAt), t.tm(ti.UpdatedAt))
	return err
}

// GetTrigger returns a trigger instance of the tenant.
func (t *Tx) GetTrigger(ctx context.Context, id string) (*store.TriggerInstance, error) {
	ti, err := t.scanTrigger(t.row(ctx, `SELECT `+triggerCols+` FROM trigger_instances WHERE tenant_id = $1 AND id = $2`, t.tenant, id))
	return ti, t.classify(err)
}

// ListTriggers lists the tenant's trigger instances, newest first.
func (t *Tx) ListTriggers(ctx context.Context, connectionID string, limit int) ([]store.TriggerInstance, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return list(ctx, t, t.scanTrigger, `SELECT `+triggerCols+` FROM trigger_instances
		WHERE tenant_id = $1 AND ($2 = '' OR connection_id = $2) ORDER BY created_at DESC, id DESC LIMIT $3`, t.tenant, connectionID, limit)
}

// UpdateTrigger writes an instance's mutable fields, under its lease when
// leaseToken is set.
func (t *Tx) UpdateTrigger(ctx context.Context, ti *store.TriggerInstance, leaseToken string) error {
	if err := CheckText("account", ti.Account, store.MaxTriggerAccount); err != nil {
		return err
	}
	ti.UpdatedAt = t.now()
	q := `UPDATE trigger_instances SET status = $3, last_error = $4, state = $5, registration = $6, account = $7, interval_seconds = $8,
		next_poll_at = $9, last_polled_at = $10, last_event_at = $11, updated_at = $12, hook_hash = $13`
	args := []any{t.tenant, ti.ID, ti.Status, Null(clip(CleanText(ti.LastError), 1000)), Bytes(ti.StateCT), Bytes(ti.RegistrationCT),
		Null(ti.Account), ti.IntervalSeconds, t.tmp(ti.NextPollAt), t.tmp(ti.LastPolledAt), t.tmp(ti.LastEventAt), t.tm(ti.UpdatedAt),
		Null(ti.HookHash)}
	if leaseToken == "" {
		return t.execOne(ctx, q+` WHERE tenant_id = $1 AND id = $2`, args...)
	}
	n, err := t.exec(ctx, q+`, lease_until = NULL, lease_token = NULL WHERE tenant_id = $1 AND id = $2 AND lease_token = $14`,
		append(args, leaseToken)...)
	if err == nil && n == 0 {
		return fmt.Errorf("%w: trigger %s is no longer leased by this poll", store.ErrConflict, ti.ID)
	}
	ti.LeaseUntil, ti.LeaseToken = nil, ""
	return err
}

// TouchTriggerEvent sets the last event time of an instance that takes
// events (not disabled or failed), and nothing else.
func (t *Tx) TouchTriggerEvent(ctx context.Context, id string, at time.Time) error {
	return t.execOne(ctx, `UPDATE trigger_instances SET last_event_at = $3, updated_at = $3
		WHERE tenant_id = $1 AND id = $2 AND status <> $4 AND status <> $5`,
		t.tenant, id, t.tm(at), store.TriggerDisabled, store.TriggerFailed)
}

// DeleteTrigger deletes a trigger instance of the tenant.
func (t *Tx) DeleteTrigger(ctx context.Context, id string) error {
	return t.execOne(ctx, `DELETE FROM trigger_instances WHERE tenant_id = $1 AND id = $2`, t.tenant, id)
}

// ListSourceEvents lists one source's events after a position, in order.
func (t *Tx) ListSourceEvents(ctx context.Context, source string, after int64, limit int) ([]store.Event, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return list(ctx, t, t.scanEvent, `SELECT `+eventCols+` FROM events WHERE tenant_id = $1 AND source = $2 AND pos > $3 ORDER BY pos LIMIT $4`,
		t.tenant, source, after, limit)
}

// ListLatestEvents lists the newest events after a position, newest
// first: one source's, or all of them when source is empty.
func (t *Tx) ListLatestEvents(ctx context.Context, source string, after int64, limit int) ([]store.Event, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	if source == "" {
		return list(ctx, t, t.scanEvent, `SELECT `+eventCols+` FROM events WHERE tenant_id = $1 AND pos > $2 ORDER BY pos DESC LIMIT $3`,
			t.tenant, after, limit)
	}
	return list(ctx, t, t.scanEvent, `SELECT `+eventCols+` FROM events WHERE tenant_id = $1 AND source = $2 AND pos > $3 ORDER BY pos DESC LIMIT $4`,
		t.tenant, source, after, limit)
}

// triggerSecretRows adds the sealed columns of trigger instances to
// SecretRows (their key ids are inside the ciphertexts).
const triggerSecretRows = `
		UNION ALL SELECT 'trigger_instances', 'state', id, provider, '', state FROM trigger_instances WHERE tenant_id = $1 AND state IS NOT NULL
		UNION ALL SELECT 'trigger_instances', 'registration', id, provider, '', registration FROM trigger_instances WHERE tenant_id = $1 AND registration IS NOT NULL`

// updateTriggerSecret re-seals one sealed column of an instance if it is
// unchanged since read.
func (t *Tx) updateTriggerSecret(ctx context.Context, old store.SecretRow, ciphertext []byte) error {
	col := "state"
	if old.Column == "registration" {
		col = "registration"
	}
	n, err := t.exec(ctx, `UPDATE trigger_instances SET `+col+` = $3 WHERE tenant_id = $1 AND id = $2 AND `+col+` = $4`,
		t.tenant, old.RowID, ciphertext, old.Ciphertext)
	if err == nil && n == 0 {
		return fmt.Errorf("%w: trigger_instances.%s row %s changed", store.ErrConflict, col, old.RowID)
	}
	return err
}
