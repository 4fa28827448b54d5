package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/postgres"
	"github.com/atomhq/atom/host/internal/store/sqlite"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// A database that answers but takes no write passes Ping and fails
// ProbeWrite; a database missing a migration reports it.
func TestReadinessProbes(t *testing.T) {
	ctx := context.Background()
	probe := func(t *testing.T, s store.Store) {
		t.Helper()
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
		if err := s.ProbeWrite(ctx); err != nil {
			t.Fatalf("probe on a writable database: %v", err)
		}
		if err := s.ProbeWrite(ctx); err != nil {
			t.Fatalf("second probe (the upsert path): %v", err)
		}
		if p, err := s.MigrationsPending(ctx); err != nil || p {
			t.Fatalf("migrations pending on a migrated database: %v %v", p, err)
		}
	}

	// The data dir turns read-only under a running host: connections
	// opened afterwards (a new process, or the pool replacing an idle
	// one) open the file read-only, answer pings and reads, and fail
	// every write. The test runs the store as an unprivileged user so
	// permission bits apply (they do not bind root).
	t.Run("sqlite read-only data dir", func(t *testing.T) {
		dir := storetest.UnprivilegedDir(t)
		path := filepath.Join(dir, "atom.db")
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		probe(t, s)

		storetest.MakeReadOnly(t, dir)
		ro, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("open on the read-only dir: %v", err)
		}
		defer ro.Close()
		if err := ro.Ping(ctx); err != nil {
			t.Fatalf("ping on the read-only dir: %v (the probe must be what tells)", err)
		}
		if p, err := ro.MigrationsPending(ctx); err != nil || p {
			t.Fatalf("migrations on the read-only dir: pending=%v err=%v", p, err)
		}
		if err := ro.ProbeWrite(ctx); err == nil {
			t.Fatal("ProbeWrite succeeded on a read-only data dir")
		} else {
			t.Logf("read-only sqlite: ping ok, probe: %v", err)
		}
	})

	t.Run("sqlite pending migration", func(t *testing.T) {
		s := storetest.SQLite(t)
		probe(t, s)
		if _, err := s.DB().ExecContext(ctx, `DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)`); err != nil {
			t.Fatal(err)
		}
		if p, err := s.MigrationsPending(ctx); err != nil || !p {
			t.Fatalf("pending=%v err=%v, want pending", p, err)
		}
	})

	t.Run("postgres read-only database", func(t *testing.T) {
		pg := storetest.Postgres(t)
		probe(t, pg.Store)
		admin, err := pgx.Connect(ctx, storetest.AdminURL())
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s SET default_transaction_read_only = on`, pg.Name)); err != nil {
			t.Fatal(err)
		}
		ro, err := postgres.Open(ctx, pg.AppURL)
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		if err := ro.Ping(ctx); err != nil {
			t.Fatalf("ping on the read-only database: %v", err)
		}
		if err := ro.ProbeWrite(ctx); err == nil {
			t.Fatal("ProbeWrite succeeded on a read-only database")
		} else {
			t.Logf("read-only postgres: ping ok, probe: %v", err)
		}
	})

	t.Run("postgres pending migration", func(t *testing.T) {
		pg := storetest.Postgres(t)
		probe(t, pg.Store)
		owner, err := pgx.Connect(ctx, pg.OwnerURL)
		if err != nil {
			t.Fatal(err)
		}
		defer owner.Close(ctx)
		if _, err := owner.Exec(ctx, `DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)`); err != nil {
			t.Fatal(err)
		}
		if p, err := pg.Store.MigrationsPending(ctx); err != nil || !p {
			t.Fatalf("pending=%v err=%v, want pending", p, err)
		}
	})
}
