package faults

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

type readyBody struct {
	Status         string   `json:"status"`
	Database       string   `json:"database"`
	PluginsLoading []string `json:"plugins_loading"`
}

// The host listens while its native plugins load, and a request for a
// provider whose plugin is still loading waits for it: no 404, no generic
// fallback, in the startup window. Readiness stays 200 and lists the
// plugins still loading.
func TestStartupWindowWaitsForPlugins(t *testing.T) {
	slow := testbin.SlowEcho(t, "slow", "1.0.0", "4s")
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			h := startHost(t, hosttest.Options{Backend: backend, Tenant: "acme", BackgroundPlugins: true,
				Prepare: func(dir string) { testbin.Install(t, slow, dir, "atom-provider-slow", 0o755) }})
			if got := h.Parts.Native.Loading(); !slices.Contains(got, "slow") {
				t.Fatalf("the host listened after its plugins loaded (loading: %v); it must listen at once", got)
			}
			var rb readyBody
			h.Must(h.Call("GET", "/readyz", "", nil, nil), 200, &rb)
			if !slices.Contains(rb.PluginsLoading, "slow") {
				t.Fatalf("/readyz while slow loads: %+v, want plugins_loading to name it", rb)
			}

			// Requests sent during the window, at once and together.
			const n = 8
			type answer struct {
				status int
				body   string
			}
			answers := make(chan answer, n+1)
			for range n {
				go func() {
					r := h.Exec(h.Tenant, "slow", "echo", map[string]any{"x": 1}, nil)
					answers <- answer{r.Status, string(r.Body)}
				}()
			}
			go func() {
				r := h.Call("GET", "/api/v1/integrations/slow/actions", h.Tenant.Key, nil, nil)
				answers <- answer{r.Status, string(r.Body)}
			}()
			ok, other := 0, 0
			for range n + 1 {
				a := <-answers
				if a.status == 200 && strings.Contains(a.body, `"1.0.0"`) {
					ok++
				} else {
					other++
					t.Errorf("request in the startup window: %d %.300s", a.status, a.body)
				}
			}
			t.Logf("startup window on %s: requests=%d ok=%d failed=%d", backend, n+1, ok, other)
			rb = readyBody{}
			h.Must(h.Call("GET", "/readyz", "", nil, nil), 200, &rb)
			if len(rb.PluginsLoading) != 0 {
				t.Fatalf("/readyz after the load: %+v", rb)
			}
		})
	}
}

// /readyz fails, naming the check, when the database answers but takes
// no write, and when it lacks a migration; it recovers when the database
// does. (The read-only SQLite data dir is proven at the store level,
// host/internal/store: it needs the store to run unprivileged.)
func TestReadyzChecksWritesAndMigrations(t *testing.T) {
	ctx := context.Background()
	waitCode := func(h *host, want string) {
		t.Helper()
		var last string
		hosttest.WaitFor(t, 20*time.Second, "/readyz to answer "+want, func() bool {
			r, err := h.Try("GET", "/readyz", "", nil, nil)
			if err != nil {
				return false
			}
			last = fmt.Sprintf("%d %s", r.Status, r.Body)
			if want == "ready" {
				return r.Status == 200
			}
			code, _ := r.ErrorCode()
			return r.Status == 503 && code == want
		})
		t.Logf("/readyz: %s", last)
	}

	t.Run("postgres read-only database", func(t *testing.T) {
		h := startHost(t, hosttest.Options{Backend: "postgres"})
		waitCode(h, "ready")
		admin, err := pgx.Connect(ctx, storetest.AdminURL())
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(ctx)
		setRO := func(on bool) {
			t.Helper()
			q := fmt.Sprintf(`ALTER DATABASE %s SET default_transaction_read_only = %t`, h.PG.Name, on)
			if _, err := admin.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
			// Sessions read the setting when they start: end the host's.
			if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND usename = $2`, h.PG.Name, h.PG.AppRole); err != nil {
				t.Fatal(err)
			}
		}
		setRO(true)
		waitCode(h, "database_read_only")
		r := h.Call("GET", "/readyz", "", nil, nil)
		for _, secret := range []string{h.PG.AppRole, h.PG.Name, "password", "SQLSTATE"} {
			if strings.Contains(string(r.Body), secret) {
				t.Fatalf("/readyz body reveals %q: %s", secret, r.Body)
			}
		}
		setRO(false)
		waitCode(h, "ready")
	})

	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend+" pending migration", func(t *testing.T) {
			h := startHost(t, hosttest.Options{Backend: backend})
			waitCode(h, "ready")
			const drop = `DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)`
			if backend == "sqlite" {
				db := h.App.Store.(interface{ DB() *sql.DB }).DB()
				if _, err := db.ExecContext(ctx, drop); err != nil {
					t.Fatal(err)
				}
			} else {
				owner, err := pgx.Connect(ctx, h.PG.OwnerURL)
				if err != nil {
					t.Fatal(err)
				}
				defer owner.Close(ctx)
				if _, err := owner.Exec(ctx, drop); err != nil {
					t.Fatal(err)
				}
			}
			waitCode(h, "migrations_pending")
		})
	}
}
