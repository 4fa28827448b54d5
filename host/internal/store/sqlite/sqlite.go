// Package sqlite is the embedded store.Store: modernc.org/sqlite (pure
// Go), one file, no server. It is the default for `make run`. SQLite has
// no row-level security, so isolation rests on the tenant filter every
// statement of sqlcore carries.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/sqlcore"
	"github.com/atomhq/atom/migrations"
)

// Store is a SQLite-backed store.Store.
type Store struct {
	db   *sql.DB
	keys *sqlcore.KeyCache
	// group commits execution records of concurrent calls together
	// (batch.go).
	group *sqlcore.GroupCommit
	w     writer // the group commit's connection, used by its goroutine only
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path. It does not
// migrate; call Migrate.
func Open(ctx context.Context, path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: create %s: %w", dir, err)
		}
	}
	dsn := "file:" + uriPath(path) + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	// As many idle as open: a connection closed when a burst ends is
	// opened again (and its pragmas parsed and run) on the next one.
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := pingOpen(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
		db.Close()
		return nil, fmt.Errorf("sqlite: chmod %s: %w", path, err)
	}
	s := &Store{db: db, keys: sqlcore.NewKeyCache()}
	s.group = &sqlcore.GroupCommit{Commit: s.commitGroup}
	return s, nil
}

// uriPath escapes what a file: URI gives a meaning to, so that a path
// holding '?' or '#' (a data directory, a test's temporary directory)
// names its own file: unescaped, SQLite would cut the name at '#' and
// the driver would read its settings from after a '?'.
func uriPath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(p)
}

// pingOpen opens the first connection. Switching a new file to WAL takes
// an exclusive lock that SQLite does not wait for with busy_timeout, so a
// process opening the file while another one does the same may get
// SQLITE_BUSY: it tries again for a while — longer than busy_timeout, since
// an attempt that did wait on a lock may itself take that long.
func pingOpen(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := db.PingContext(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// DB exposes the database handle (for River's SQLite driver).
func (s *Store) DB() *sql.DB { return s.db }

// Backend returns "sqlite".
func (s *Store) Backend() string { return "sqlite" }

// Ping checks the database.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the database.
func (s *Store) Close() error {
	s.group.Close() // the writer's goroutine has ended: its connection is free
	s.w.close()
	return s.db.Close()
}

func provider(db *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations.SQLite, "sqlite")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, db, sub)
}

// Migrate applies pending migrations. Several runs may start at once on
// one file (SQLite has no advisory lock that outlives a transaction): a
// run whose step fails because another run applied it meanwhile — the
// database's version moved — picks up from the new version; a step that
// fails with the version unchanged is an error.
func (s *Store) Migrate(ctx context.Context) ([]store.Migration, error) {
	p, err := provider(s.db)
	if err != nil {
		return nil, err
	}
	var out []store.Migration
	for {
		before, verr := p.GetDBVersion(ctx)
		res, err := p.Up(ctx)
		for _, r := range res {
			if r.Error == nil {
				out = append(out, store.Migration{Version: r.Source.Version, Name: filepath.Base(r.Source.Path), Applied: true})
			}
		}
		if err == nil {
			return out, nil
		}
		if verr != nil {
			before = 0 // no version table yet
		}
		after, aerr := p.GetDBVersion(ctx)
		if aerr != nil || after <= before {
			return out, fmt.Errorf("sqlite: migrate: %w", err)
		}
	}
}

// MigrationStatus lists migrations and whether each is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]store.Migration, error) {
	p, err := provider(s.db)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Migration
	for _, m := range st {
		out = append(out, store.Migration{Version: m.Source.Version, Name: filepath.Base(m.Source.Path), Applied: m.State == goose.StateApplied, AppliedAt: m.AppliedAt})
	}
	return out, nil
}

// InTenant runs fn in an immediate transaction scoped to tenantID.
func (s *Store) InTenant(ctx context.Context, tenantID string, fn func(store.Tx) error) error {
	if tenantID == "" {
		return sqlcore.ErrNoTenant
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	t := sqlcore.NewTx(querier{tx: tx, s: s}, dialect{}, tenantID).WithKeyCache(s.keys)
	if err := fn(t); err != nil {
		tx.Rollback()
		return err
	}
	err = tx.Commit()
	if t.RevokedKeys() {
		s.keys.Clear()
	}
	if err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// LookupAPIKey finds a key by prefix. Found rows are reused for
// sqlcore.APIKeyTTL; a revocation through this store clears them at once.
func (s *Store) LookupAPIKey(ctx context.Context, prefix string) (*store.APIKey, error) {
	return s.keys.Lookup(prefix, func() (*store.APIKey, error) {
		k, err := sqlcore.ScanAPIKey(s.db.QueryRowContext(ctx, `SELECT id, tenant_id, name, prefix, hash, created_at, revoked_at, last_used_at FROM tenant_api_keys WHERE prefix = ?1`, prefix))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		return k, err
	})
}

// LookupStateTenant finds the tenant of a live state.
func (s *Store) LookupStateTenant(ctx context.Context, stateHash string, now time.Time) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT tenant_id FROM oauth_states WHERE state = ?1 AND expires_at > ?2`, stateHash, now.UnixMicro()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.ErrNotFound
	}
	return id, err
}

// DueConnections lists active connections due for refresh.
func (s *Store) DueConnections(ctx context.Context, before time.Time, limit int) ([]store.ConnRef, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tenant_id, id FROM integration_tokens
		WHERE status = 'active' AND ((expires_at IS NOT NULL AND expires_at < ?1) OR (next_refresh_at IS NOT NULL AND next_refresh_at < ?1))
		ORDER BY COALESCE(next_refresh_at, expires_at) LIMIT ?2`, before.UnixMicro(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ConnRef
	for rows.Next() {
		var r store.ConnRef
		if err := rows.Scan(&r.TenantID, &r.ConnectionID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// StalledDeliveries lists the earliest pending delivery of each source
// that no attempt works on (see migration 00013 of PostgreSQL).
func (s *Store) StalledDeliveries(ctx context.Context, now, overdue time.Time, limit int) ([]store.DeliveryRef, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT d.tenant_id, d.id FROM deliveries d WHERE d.state = 'pending'
		AND ((d.lease_until IS NOT NULL AND d.lease_until < ?1) OR (d.lease_until IS NULL AND d.next_attempt_at < ?2))
		AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.tenant_id = d.tenant_id AND p.source = d.source
			AND p.state = 'pending' AND p.seq < d.seq)
		ORDER BY d.next_attempt_at LIMIT ?3`, now.UnixMicro(), overdue.UnixMicro(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.DeliveryRef
	for rows.Next() {
		var d store.DeliveryRef
		if err := rows.Scan(&d.TenantID, &d.DeliveryID); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ExpireEvents removes old settled events and their deliveries, in one
// transaction.
func (s *Store) ExpireEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	const doomed = `SELECT e.id FROM events e WHERE e.created_at < ?1 AND NOT EXISTS (SELECT 1 FROM deliveries d
		WHERE d.tenant_id = e.tenant_id AND d.event_id = e.id AND d.state = 'pending') ORDER BY e.created_at LIMIT ?2`
	if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE event_id IN (`+doomed+`)`, before.UnixMicro(), limit); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE id IN (`+doomed+`)`, before.UnixMicro(), limit)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	return int(n), tx.Commit()
}

// UnsettledExecutions lists pending and running executions, oldest first.
func (s *Store) UnsettledExecutions(ctx context.Context, limit int) ([]store.ExecRef, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tenant_id, id, status, job_id, started_at, created_at FROM executions
		WHERE status IN ('pending', 'running') ORDER BY created_at LIMIT ?1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ExecRef
	for rows.Next() {
		var x store.ExecRef
		var job *int64
		var started, created sqlcore.Time
		if err := rows.Scan(&x.TenantID, &x.ID, &x.Status, &job, &started, &created); err != nil {
			return nil, err
		}
		if job != nil {
			x.JobID = *job
		}
		x.StartedAt, x.CreatedAt = started.Ptr(), created.T
		out = append(out, x)
	}
	return out, rows.Err()
}

// TenantIDs lists every tenant id.
func (s *Store) TenantIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM tenants ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

type dialect struct{}

func (dialect) Rebind(q string) string  { return sqlcore.RebindQuestion(q) }
func (dialect) Time(t time.Time) any    { return t.UnixMicro() }
func (dialect) ForUpdate() string       { return "" }
func (dialect) IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
func (dialect) JSON(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
func (dialect) ReadJSON(b []byte) ([]byte, error) { return b, nil }
func (dialect) UpsertConnectionConflict() string {
	return "(tenant_id, provider, COALESCE(user_id, ''))"
}
func (dialect) IsUnique(err error) bool {
	var se *sqlite3.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

type querier struct {
	tx *sql.Tx
	s  *Store
}

// Native returns the database/sql transaction, for River's InsertTx.
func (q querier) Native() any { return q.tx }

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	rows, err := q.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlcore.Row {
	return q.tx.QueryRowContext(ctx, query, args...)
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

// ProbeWrite upserts the heartbeat row in an immediate transaction of its
// own and commits it: with the file, its directory or the disk read-only
// or full, the commit (or the write lock before it) fails.
func (s *Store) ProbeWrite(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, sqlcore.RebindQuestion(sqlcore.HeartbeatUpsert), time.Now().UnixMicro()); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// MigrationsPending reports whether a migration this build embeds is not
// applied to the file.
func (s *Store) MigrationsPending(ctx context.Context) (bool, error) {
	sub, err := fs.Sub(migrations.SQLite, "sqlite")
	if err != nil {
		return false, err
	}
	want, err := sqlcore.MigrationVersions(sub)
	if err != nil {
		return false, err
	}
	applied, err := appliedVersions(ctx, s.db)
	if err != nil {
		return false, err
	}
	return sqlcore.Pending(want, applied), nil
}

func appliedVersions(ctx context.Context, db *sql.DB) ([]int64, error) {
	rows, err := db.QueryContext(ctx, sqlcore.AppliedVersions)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
