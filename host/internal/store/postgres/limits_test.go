package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// TestColumnLimits checks that every limit the API and the store apply
// is the bound of the PostgreSQL column that holds the value, so a value
// the API accepts always fits.
func TestColumnLimits(t *testing.T) {
	pg := storetest.Postgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Every other bounded column holds only what the host makes (ids,
	// hashes, key ids, statuses) or what the operator's descriptors name.
	hostMade := map[string]bool{}
	for _, c := range strings.Fields(`
		tenants.webhook_key_id users.tenant_id workspaces.id workspaces.tenant_id workspaces.name
		tenant_api_keys.id tenant_api_keys.tenant_id tenant_api_keys.prefix
		oauth_states.id oauth_states.tenant_id oauth_states.state oauth_states.redirect_uri oauth_states.key_id
		integration_tokens.id integration_tokens.tenant_id integration_tokens.workspace_id integration_tokens.auth_kind
		integration_tokens.key_id integration_tokens.token_type integration_tokens.status
		oauth_apps.tenant_id oauth_apps.key_id
		executions.id executions.tenant_id executions.implementation executions.status executions.request_hash executions.error_code
		audit_events.id audit_events.tenant_id audit_events.actor audit_events.action audit_events.target
		kv_store.tenant_id
		revoked_sessions.tenant_id revoked_sessions.session_hash
		tenants.webhook_prev_key_id event_counters.tenant_id events.id events.tenant_id
		deliveries.id deliveries.tenant_id deliveries.event_id deliveries.state
		trigger_instances.id trigger_instances.tenant_id trigger_instances.connection_id trigger_instances.kind
		trigger_instances.hook_hash trigger_instances.status trigger_instances.lease_token`) {
		hostMade[c] = true
	}
	rows, err := conn.Query(ctx, `SELECT table_name || '.' || column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type = 'character varying' AND table_name NOT LIKE 'river%' AND table_name <> 'goose_db_version'`)
	if err != nil {
		t.Fatal(err)
	}
	bounded, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range bounded {
		if _, ok := store.Columns[col]; !ok && !hostMade[col] {
			t.Errorf("%s is bounded but has no limit in store.Columns: add one (and check it in the API) or list it here as host-made", col)
		}
	}
	for col, limit := range store.Columns {
		table, name, _ := strings.Cut(col, ".")
		var n *int
		if err := conn.QueryRow(ctx, `SELECT character_maximum_length FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2`, table, name).Scan(&n); err != nil {
			t.Fatalf("%s: %v", col, err)
		}
		if n == nil || *n != limit {
			t.Errorf("%s: column bound %v, store limit %d", col, n, limit)
		}
	}
}
