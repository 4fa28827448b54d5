package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/postgres"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// TestRowLevelSecurity proves isolation at the database, as the app role,
// with statements that carry no tenant filter at all.
func TestRowLevelSecurity(t *testing.T) {
	pg := storetest.Postgres(t)
	ctx := context.Background()
	role, err := pg.Store.Role(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !role.Safe() {
		t.Fatalf("app role %+v would bypass RLS; the test proves nothing", role)
	}
	a, b := storetest.NewTenant(t, pg.Store), storetest.NewTenant(t, pg.Store)
	for _, tenant := range []string{a, b} {
		err := pg.Store.InTenant(ctx, tenant, func(tx store.Tx) error {
			return tx.UpsertConnection(ctx, &store.Connection{Provider: "github", AuthKind: "oauth2", CredentialsCT: []byte("x"), KeyID: "k"})
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	conn, err := pgx.Connect(ctx, pg.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tables := []string{"tenants", "integration_tokens", "oauth_states", "tenant_api_keys", "executions", "oauth_apps", "users", "workspaces", "audit_events", "kv_store"}

	t.Run("no tenant set sees nothing", func(t *testing.T) {
		for _, table := range tables {
			var n int
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%s: %d rows visible with no tenant set", table, n)
			}
		}
	})

	t.Run("unfiltered query sees only the current tenant", func(t *testing.T) {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SELECT set_config('app.current_tenant_id', $1, true)`, a); err != nil {
			t.Fatal(err)
		}
		rows, err := tx.Query(ctx, `SELECT tenant_id FROM integration_tokens`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != a {
			t.Fatalf("tenant %s saw %v", a, got)
		}
		var n int
		tx.QueryRow(ctx, `SELECT count(*) FROM tenants`).Scan(&n)
		if n != 1 {
			t.Fatalf("tenant sees %d tenants", n)
		}
	})

	t.Run("write for another tenant is refused", func(t *testing.T) {
		asTenant := func(sql string, args ...any) (int64, error) {
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, `SELECT set_config('app.current_tenant_id', $1, true)`, a); err != nil {
				t.Fatal(err)
			}
			tag, err := tx.Exec(ctx, sql, args...)
			return tag.RowsAffected(), err
		}
		if _, err := asTenant(`INSERT INTO integration_tokens (id, tenant_id, provider, auth_kind, credentials, key_id) VALUES ('x1', $1, 'slack', 'oauth2', '\x00', 'k')`, b); err == nil {
			t.Fatal("insert for another tenant succeeded")
		}
		if n, err := asTenant(`UPDATE integration_tokens SET status = 'revoked' WHERE tenant_id = $1`, b); err != nil || n != 0 {
			t.Fatalf("update of another tenant's rows: %d rows, %v", n, err)
		}
		if _, err := asTenant(`UPDATE integration_tokens SET tenant_id = $1`, b); err == nil {
			t.Fatal("moving a row to another tenant succeeded")
		}
		if n, _ := asTenant(`DELETE FROM integration_tokens`); n != 1 {
			t.Fatalf("unfiltered delete touched %d rows, want only the tenant's 1", n)
		}
	})

	t.Run("setting is transaction-local", func(t *testing.T) {
		err := pg.Store.InTenant(ctx, a, func(tx store.Tx) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		var n int
		conn.QueryRow(ctx, `SELECT count(*) FROM integration_tokens`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d rows visible after a tenant transaction ended", n)
		}
	})

	t.Run("app role cannot disable RLS", func(t *testing.T) {
		_, err := conn.Exec(ctx, `ALTER TABLE integration_tokens DISABLE ROW LEVEL SECURITY`)
		if err == nil {
			t.Fatal("app role altered the table")
		}
	})
}

func TestMigrateIsIdempotentAndLocked(t *testing.T) {
	pg := storetest.NewPostgres(t)
	ctx := context.Background()
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() { _, err := postgres.Migrate(ctx, pg.OwnerURL, pg.AppRole); errs <- err }()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	st, err := postgres.MigrationStatus(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st {
		if !m.Applied {
			t.Fatalf("migration %d not applied", m.Version)
		}
	}
	if _, err := postgres.Open(ctx, "postgres://u:hunter2@[bad"); err == nil || containsSecret(err, "hunter2") {
		t.Fatalf("bad URL error leaks or is nil: %v", err)
	}
}

func containsSecret(err error, s string) bool {
	return strings.Contains(err.Error(), s)
}
