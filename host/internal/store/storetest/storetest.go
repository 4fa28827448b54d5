// Package storetest provides real databases for tests: a temporary
// SQLite file and, on PostgreSQL, a fresh database owned by a fresh role
// with the host connecting as a second, non-superuser, non-owner role, so
// row-level security is in force. Outside CI a test skips when PostgreSQL
// cannot be reached; with CI=true it fails instead.
package storetest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/postgres"
	"github.com/atomhq/atom/host/internal/store/sqlite"
)

// AdminURL is the superuser connection used to create test databases and
// roles; ATOM_TEST_POSTGRES_URL overrides it.
func AdminURL() string {
	if u := os.Getenv("ATOM_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Each runs fn as a subtest against every backend.
func Each(t *testing.T, fn func(t *testing.T, s store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t).Store) })
}

// SQLite returns a migrated store in a temporary file.
func SQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "atom.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// PG is a test PostgreSQL database.
type PG struct {
	// Store connects as the app role (RLS applies).
	Store *postgres.Store
	// AppURL connects as the app role; OwnerURL as the owner that ran
	// the migrations; Name is the database name.
	AppURL, OwnerURL, Name string
	AppRole, OwnerRole     string
}

// RequirePostgres skips (or, with CI=true, fails) when PostgreSQL is down.
func RequirePostgres(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL unreachable at %s with CI=true: %v", redactURL(AdminURL()), err)
		}
		t.Skipf("PostgreSQL unreachable (%v); set ATOM_TEST_POSTGRES_URL or start it", err)
	}
	conn.Close(ctx)
}

// Postgres creates a fresh database and roles, migrates it as the owner
// and returns a store connected as the app role. Everything is dropped
// when the test ends.
func Postgres(t testing.TB) *PG {
	t.Helper()
	pg := NewPostgres(t)
	ctx := context.Background()
	if _, err := postgres.Migrate(ctx, pg.OwnerURL, pg.AppRole); err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(ctx, pg.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	pg.Store = s
	return pg
}

// NewPostgres creates the empty database and roles without migrating.
func NewPostgres(t testing.TB) *PG {
	t.Helper()
	RequirePostgres(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	suffix := strings.ReplaceAll(ids.Random(6), "-", "")
	pg := &PG{Name: "atom_test_" + suffix, OwnerRole: "atom_owner_" + suffix, AppRole: "atom_app_" + suffix}
	pw := ids.Random(12)
	for _, q := range []string{
		fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s' NOSUPERUSER NOBYPASSRLS`, pg.OwnerRole, pw),
		fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s' NOSUPERUSER NOBYPASSRLS`, pg.AppRole, pw),
		fmt.Sprintf(`CREATE DATABASE %s OWNER %s`, pg.Name, pg.OwnerRole),
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		admin, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			return
		}
		defer admin.Close(ctx)
		admin.Exec(ctx, `DROP DATABASE IF EXISTS `+pg.Name+` WITH (FORCE)`)
		admin.Exec(ctx, `DROP ROLE IF EXISTS `+pg.AppRole)
		admin.Exec(ctx, `DROP ROLE IF EXISTS `+pg.OwnerRole)
	})
	pg.OwnerURL = roleURL(AdminURL(), pg.OwnerRole, pw, pg.Name)
	pg.AppURL = roleURL(AdminURL(), pg.AppRole, pw, pg.Name)
	return pg
}

func roleURL(base, user, pw, db string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	u.User = url.UserPassword(user, pw)
	u.Path = "/" + db
	return u.String()
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}

// NewTenant creates a tenant and returns its id.
func NewTenant(t testing.TB, s store.Store) string {
	t.Helper()
	id := ids.New("ten")
	err := s.InTenant(context.Background(), id, func(tx store.Tx) error {
		return tx.CreateTenant(context.Background(), &store.Tenant{ID: id, Name: "tenant " + id})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}
