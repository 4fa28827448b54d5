package faults

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// tenantTables lists the tables with a tenant_id column (and tenants),
// read from the catalog so a new table is covered without editing the
// test.
func tenantTables(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.columns
		WHERE table_schema = 'public' AND column_name = 'tenant_id' AND table_name NOT LIKE 'river%' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return append(tables, "tenants")
}

// TestAttackSQLAsAppRole connects to the database as the host's own role
// after a full run of two tenants and proves row-level security: with no
// tenant set nothing is visible, with A set nothing of B's is, and writes
// across tenants are refused.
func TestAttackSQLAsAppRole(t *testing.T) {
	storetest.RequirePostgres(t)
	h := startHost(t, hosttest.Options{Backend: "postgres", Prepare: withPlugins(t)})
	a := setupVictim(t, h)
	bv := setupVictim(t, h)
	b := bv.Tenant
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, h.PG.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	tables := tenantTables(t, owner)
	// The owner sees both tenants' rows: the cases below are not vacuous.
	populated := 0
	for _, table := range tables {
		var n int
		col := "tenant_id"
		if table == "tenants" {
			col = "id"
		}
		if err := owner.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s = $1`, table, col), b.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			populated++
		}
	}
	if populated < 7 {
		t.Fatalf("only %d of %d tables hold B's rows; the run did not populate them", populated, len(tables))
	}

	app, err := pgx.Connect(ctx, h.PG.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	var super, bypass bool
	if err := app.QueryRow(ctx, `SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&super, &bypass); err != nil || super || bypass {
		t.Fatalf("app role is superuser=%v bypassrls=%v (%v): the test would prove nothing", super, bypass, err)
	}
	inTenant := func(t *testing.T, tenant string, fn func(tx pgx.Tx)) {
		t.Helper()
		tx, err := app.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if tenant != "" {
			if _, err := tx.Exec(ctx, `SELECT set_config('app.current_tenant_id', $1, true)`, tenant); err != nil {
				t.Fatal(err)
			}
		}
		fn(tx)
	}
	for _, table := range tables {
		col := "tenant_id"
		if table == "tenants" {
			col = "id"
		}
		t.Run(table+"/no tenant set sees 0 rows", func(t *testing.T) {
			inTenant(t, "", func(tx pgx.Tx) {
				var n int
				if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 0 {
					t.Fatalf("%d rows visible", n)
				}
			})
		})
		t.Run(table+"/tenant A set sees 0 rows of B", func(t *testing.T) {
			inTenant(t, a.ID, func(tx pgx.Tx) {
				var other, own int
				if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FILTER (WHERE %[1]s <> $1), count(*) FILTER (WHERE %[1]s = $1) FROM %[2]s`, col, table), a.ID).Scan(&other, &own); err != nil {
					t.Fatal(err)
				}
				if other != 0 {
					t.Fatalf("%d rows of other tenants visible", other)
				}
			})
		})
		t.Run(table+"/UPDATE and DELETE of B's rows as A touch 0 rows", func(t *testing.T) {
			inTenant(t, a.ID, func(tx pgx.Tx) {
				for _, q := range []string{
					fmt.Sprintf(`UPDATE %s SET %s = %s WHERE %s = $1`, table, col, col, col),
					fmt.Sprintf(`DELETE FROM %s WHERE %s = $1`, table, col),
				} {
					tag, err := tx.Exec(ctx, q, b.ID)
					if err != nil {
						t.Fatalf("%s: %v", q, err)
					}
					if tag.RowsAffected() != 0 {
						t.Fatalf("%s changed %d of B's rows", q, tag.RowsAffected())
					}
				}
			})
		})
		t.Run(table+"/moving A's rows to B is refused", func(t *testing.T) {
			inTenant(t, a.ID, func(tx pgx.Tx) {
				_, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE %s = $2`, table, col, col), b.ID, a.ID)
				if err == nil {
					// Allowed only if A has no row in the table to move.
					var n int
					tx.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n)
					if n != 0 {
						t.Fatalf("A's %d rows were re-assigned to B", n)
					}
					return
				}
				if !strings.Contains(err.Error(), "row-level security") && !strings.Contains(err.Error(), "violates") {
					t.Fatalf("unexpected error: %v", err)
				}
			})
		})
	}
	t.Run("INSERT of a row for B as A is refused", func(t *testing.T) {
		for _, q := range []string{
			`INSERT INTO kv_store (tenant_id, provider, key, value, updated_at) VALUES ($1, 'sandbox', 'planted', '\x00', now())`,
			`INSERT INTO users (tenant_id, id, created_at) VALUES ($1, 'planted', now())`,
			`INSERT INTO tenants (id, name) VALUES ($1 || '-x', 'planted')`,
		} {
			inTenant(t, a.ID, func(tx pgx.Tx) {
				_, err := tx.Exec(ctx, q, b.ID)
				if err == nil || !strings.Contains(err.Error(), "row-level security") {
					t.Fatalf("%s: %v", q, err)
				}
			})
		}
	})
	t.Run("set_config to B inside A's transaction cannot read A afterwards", func(t *testing.T) {
		inTenant(t, b.ID, func(tx pgx.Tx) {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM integration_tokens WHERE tenant_id = $1`, a.ID).Scan(&n); err != nil || n != 0 {
				t.Fatalf("B sees %d of A's connections (%v)", n, err)
			}
		})
	})
}

// TestLeakDumpAfterFullRun connects with every auth kind, registers an
// OAuth app and a webhook, runs executions (one with an OAuth token in
// flight) and then reads every column of every table: no stored secret
// may appear in plaintext, and executions hold no credential.
func TestLeakDumpAfterFullRun(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			h := startHost(t, hosttest.Options{Backend: backend, Prepare: withPlugins(t)})
			a := setupVictim(t, h)
			// Executions that use every connection, so credentials were in
			// flight while the rows were written.
			for _, p := range []string{"fakeoauth", "fakekey", "fakebasic"} {
				h.Exec(a.Tenant, p, "custom_api_call", map[string]any{"method": "GET", "path": "/me"}, nil)
			}
			h.Exec(a.Tenant, "fakecustom", "custom_api_call", map[string]any{"method": "GET", "path": "/me"}, map[string]string{"X-Atom-User-Id": "alice"})
			// A pending OAuth state whose plaintext must not be stored.
			state, _ := h.startOAuth(a.Tenant, "fakeother", "")
			secrets := []string{a.Key, a.Key[strings.LastIndex(a.Key, "_")+1:], state, a.cookie, a.csrf,
				h.fake.ClientSecret, h.fake.CurrentRefreshToken()}
			for _, r := range h.fake.APIRequests() {
				if r.Token != "" {
					secrets = append(secrets, r.Token)
				}
			}
			for _, s := range a.secrets {
				if strings.HasPrefix(s, "sk_") || strings.Contains(s, "password") || strings.Contains(s, "token") || strings.Contains(s, "secret") || len(s) > 30 {
					secrets = append(secrets, s)
				}
			}
			values := hosttest.DumpTables(t, h.App)
			if len(values) < 100 {
				t.Fatalf("dump returned only %d values", len(values))
			}
			for _, v := range values {
				for _, s := range secrets {
					if s != "" && strings.Contains(v, s) {
						t.Fatalf("secret %.6s… stored in plaintext: %.200q", s, v)
					}
				}
			}
			t.Logf("%d values scanned for %d secrets", len(values), len(secrets))
		})
	}
}
