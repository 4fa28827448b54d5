// Package postgres is the production store.Store: a pgx/v5 pool, with
// row-level security on every tenant table. The host connects as a role
// that is neither superuser nor table owner; migrations run as the owner
// and grant the host's role what it needs. Every tenant-scoped
// transaction sets app.current_tenant_id with set_config(..., true).
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/sqlcore"
	"github.com/atomhq/atom/migrations"
)

// Store is a PostgreSQL-backed store.Store.
type Store struct {
	pool *pgxpool.Pool
	keys *sqlcore.KeyCache
	// group commits execution records of concurrent calls together
	// (batch.go).
	group *sqlcore.GroupCommit
	// relaxed commits deliveries' claims and outcomes together without
	// waiting for the WAL flush (deliveries.go).
	relaxed *sqlcore.GroupCommit

	// locks holds the sessions of refresh locks (refreshlock.go).
	locksMu sync.Mutex
	locks   *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects a pool to url. It does not migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse ATOM_DATABASE_URL: %w", redact(err))
	}
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", redact(err))
	}
	s := &Store{pool: pool, keys: sqlcore.NewKeyCache()}
	s.group = &sqlcore.GroupCommit{Commit: s.commitGroup, Writers: groupWriters}
	s.relaxed = &sqlcore.GroupCommit{Commit: s.commitRelaxed, Writers: 1, Linger: relaxedLinger}
	return s, nil
}

// redact drops the connection string from pgx parse errors, which may
// contain a password.
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("invalid connection string")
	}
	return err
}

// Pool exposes the pool (for River's pgx driver).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Backend returns "postgres".
func (s *Store) Backend() string { return "postgres" }

// Ping checks the database.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Close closes the pool.
func (s *Store) Close() error {
	s.group.Close()
	s.relaxed.Close()
	s.locksMu.Lock()
	if s.locks != nil {
		// Closing waits for the sessions of refreshes still waiting for
		// their provider; shutting down does not.
		go s.locks.Close()
	}
	s.locksMu.Unlock()
	s.pool.Close()
	return nil
}

// RoleInfo describes the connected role.
type RoleInfo struct {
	Name      string
	Superuser bool
	BypassRLS bool
	// OwnsTables is true when the role owns any of Atom's tables.
	OwnsTables bool
}

// Safe reports whether row-level security binds this role.
func (r RoleInfo) Safe() bool { return !r.Superuser && !r.BypassRLS && !r.OwnsTables }

// Role reports who the pool connects as.
func (s *Store) Role(ctx context.Context) (RoleInfo, error) {
	var r RoleInfo
	err := s.pool.QueryRow(ctx, `SELECT r.rolname, r.rolsuper, r.rolbypassrls,
		EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = current_schema() AND t.tableowner = r.rolname AND t.tablename = 'integration_tokens')
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&r.Name, &r.Superuser, &r.BypassRLS, &r.OwnsTables)
	return r, err
}

// InTenant runs fn in a transaction with app.current_tenant_id set.
func (s *Store) InTenant(ctx context.Context, tenantID string, fn func(store.Tx) error) error {
	if tenantID == "" {
		return sqlcore.ErrNoTenant
	}
	// A tenant id of plain characters is set in the same round trip as
	// BEGIN (a simple-protocol statement list, the id as a literal);
	// anything else goes as a bind parameter in a second one.
	plain := plainID(tenantID)
	opts := pgx.TxOptions{}
	if plain {
		opts.BeginQuery = "BEGIN; SELECT set_config('app.current_tenant_id', '" + tenantID + "', true)"
	}
	tx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if !plain {
		if _, err := tx.Exec(ctx, `SELECT set_config('app.current_tenant_id', $1, true)`, tenantID); err != nil {
			return fmt.Errorf("postgres: set tenant: %w", err)
		}
	}
	t := sqlcore.NewTx(querier{tx}, dialect{}, tenantID).WithKeyCache(s.keys)
	if err := fn(t); err != nil {
		return err
	}
	err = tx.Commit(ctx)
	if t.RevokedKeys() {
		s.keys.Clear()
	}
	if err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// plainID reports whether id consists only of ASCII letters, digits, '_'
// and '-' (every id the host generates), so it can be written as a SQL
// string literal as is.
func plainID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// LookupAPIKey finds a key by prefix (SECURITY DEFINER function). Found
// rows are reused for sqlcore.APIKeyTTL; a revocation through this store
// clears them at once.
func (s *Store) LookupAPIKey(ctx context.Context, prefix string) (*store.APIKey, error) {
	return s.keys.Lookup(prefix, func() (*store.APIKey, error) {
		k, err := sqlcore.ScanAPIKey(s.pool.QueryRow(ctx, `SELECT * FROM atom_lookup_api_key($1)`, prefix))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		return k, err
	})
}

// LookupStateTenant finds the tenant of a live state.
func (s *Store) LookupStateTenant(ctx context.Context, stateHash string, now time.Time) (string, error) {
	var id *string
	if err := s.pool.QueryRow(ctx, `SELECT atom_state_tenant($1, $2)`, stateHash, now).Scan(&id); err != nil {
		return "", err
	}
	if id == nil {
		return "", store.ErrNotFound
	}
	return *id, nil
}

// DueConnections lists active connections due for refresh.
func (s *Store) DueConnections(ctx context.Context, before time.Time, limit int) ([]store.ConnRef, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, id FROM atom_due_connections($1, $2)`, before, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.ConnRef, error) {
		var c store.ConnRef
		err := r.Scan(&c.TenantID, &c.ConnectionID)
		return c, err
	})
}

// UnsettledExecutions lists pending and running executions, oldest first
// (SECURITY DEFINER function).
func (s *Store) UnsettledExecutions(ctx context.Context, limit int) ([]store.ExecRef, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, id, status, job_id, started_at, created_at FROM atom_unsettled_executions($1)`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.ExecRef, error) {
		var x store.ExecRef
		var job *int64
		err := r.Scan(&x.TenantID, &x.ID, &x.Status, &job, &x.StartedAt, &x.CreatedAt)
		if job != nil {
			x.JobID = *job
		}
		return x, err
	})
}

// StalledDeliveries lists pending deliveries no job works on (SECURITY
// DEFINER function).
func (s *Store) StalledDeliveries(ctx context.Context, now, overdue time.Time, limit int) ([]store.DeliveryRef, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, id FROM atom_stalled_deliveries($1, $2, $3)`, now, overdue, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.DeliveryRef, error) {
		var d store.DeliveryRef
		err := r.Scan(&d.TenantID, &d.DeliveryID)
		return d, err
	})
}

// ExpireEvents removes old settled events (SECURITY DEFINER function).
func (s *Store) ExpireEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT atom_expire_events($1, $2)`, before, limit).Scan(&n)
	return n, err
}

// TenantIDs lists every tenant id.
func (s *Store) TenantIDs(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT atom_tenant_ids()`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func gooseProvider(db *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations.Postgres, "postgres")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
}

func openSQL(ctx context.Context, url string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse migration URL: %w", redact(err))
	}
	db := stdlib.OpenDB(*cfg)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect for migrations: %w", err)
	}
	return db, nil
}

// migrationLockKey is the session advisory lock that serialises whole
// migration runs: Atom's migrations, the steps a caller adds (River's)
// and the grants. GRANT updates catalog rows, so two runs granting at
// once fail with "tuple concurrently updated"; under this lock the
// second run waits and then finds nothing to do.
const migrationLockKey int64 = 0x61746f6d2d6d67 // "atom-mg"

// Migrate applies pending migrations as the role in ownerURL, runs each
// of then (further migrations, e.g. the job queue's), and grants appRole
// (if not empty and not the owner) the privileges the host needs — all
// under one advisory lock, so any number of hosts or `atom migrate up`
// runs may start at once on one database.
func Migrate(ctx context.Context, ownerURL, appRole string, then ...func(context.Context) error) ([]store.Migration, error) {
	db, err := openSQL(ctx, ownerURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	unlock, err := lockMigrations(ctx, db)
	if err != nil {
		return nil, err
	}
	defer unlock()
	p, err := gooseProvider(db)
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	var out []store.Migration
	for _, r := range res {
		out = append(out, store.Migration{Version: r.Source.Version, Name: filepath.Base(r.Source.Path), Applied: true})
	}
	for _, fn := range then {
		if err := fn(ctx); err != nil {
			return out, err
		}
	}
	if err := Grant(ctx, db, appRole); err != nil {
		return out, err
	}
	return out, nil
}

// lockMigrations takes the migration lock on a connection of its own and
// returns the function that releases it (closing the connection releases
// it too, should the unlock fail).
func lockMigrations(ctx context.Context, db *sql.DB) (func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: migration lock: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		conn.Close()
		return nil, fmt.Errorf("postgres: migration lock: %w", err)
	}
	return func() {
		ctx := context.WithoutCancel(ctx)
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, migrationLockKey); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn }) // drop the session, and the lock with it
		}
		conn.Close()
	}, nil
}

// Grant gives role the data privileges on every table, sequence and
// function of the schema. It is idempotent.
func Grant(ctx context.Context, db *sql.DB, role string) error {
	if role == "" {
		return nil
	}
	var current string
	if err := db.QueryRowContext(ctx, `SELECT current_user`).Scan(&current); err != nil {
		return err
	}
	if role == current {
		return nil
	}
	id := pgx.Identifier{role}.Sanitize()
	for _, q := range []string{
		`GRANT USAGE ON SCHEMA public TO ` + id,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ` + id,
		`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ` + id,
		`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ` + id,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("postgres: grant to %s: %w", role, err)
		}
	}
	return nil
}

// GrantURL is Grant over a connection string, under the migration lock.
func GrantURL(ctx context.Context, ownerURL, role string) error {
	db, err := openSQL(ctx, ownerURL)
	if err != nil {
		return err
	}
	defer db.Close()
	unlock, err := lockMigrations(ctx, db)
	if err != nil {
		return err
	}
	defer unlock()
	return Grant(ctx, db, role)
}

// MigrationStatus lists migrations and whether each is applied.
func MigrationStatus(ctx context.Context, url string) ([]store.Migration, error) {
	db, err := openSQL(ctx, url)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	p, err := gooseProvider(db)
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

type dialect struct{}

func (dialect) Rebind(q string) string  { return q }
func (dialect) Time(t time.Time) any    { return t }
func (dialect) ForUpdate() string       { return "FOR UPDATE" }
func (dialect) IsNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// JSON stores b in a jsonb column, as a stand-in object when jsonb cannot
// hold it (NUL, invalid UTF-8, lone surrogates, huge numbers): an
// upstream's reply is never refused.
func (dialect) JSON(b []byte) any {
	if b == nil {
		return nil
	}
	return sqlcore.EncodeJSONB(b)
}
func (dialect) ReadJSON(b []byte) ([]byte, error) { return sqlcore.DecodeJSONB(b) }
func (dialect) UpsertConnectionConflict() string {
	return "ON CONSTRAINT integration_tokens_tenant_provider_user"
}
func (dialect) IsUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

type querier struct{ tx pgx.Tx }

// Native returns the pgx transaction, for River's InsertTx.
func (q querier) Native() any { return q.tx }

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.tx.Exec(ctx, query, args...)
	return tag.RowsAffected(), dataError(err)
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	rows, err := q.tx.Query(ctx, query, args...)
	if err != nil {
		return nil, dataError(err)
	}
	return rows, nil
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlcore.Row {
	return row{q.tx.QueryRow(ctx, query, args...)}
}

type row struct{ pgx.Row }

func (r row) Scan(dest ...any) error { return dataError(r.Row.Scan(dest...)) }

// dataError reports PostgreSQL's data exceptions (class 22: a value too
// long for its column, a NUL, invalid UTF-8, a number out of range) as
// store.ErrInvalid: a value that slips past the store's checks is still
// the input's fault, never an internal error. The message names the
// problem, never the value.
func dataError(err error) error {
	var pe *pgconn.PgError
	if err == nil || !errors.As(err, &pe) || !strings.HasPrefix(pe.Code, "22") {
		return err
	}
	field := pe.ColumnName
	if field == "" {
		field = "a value"
	}
	return &store.InvalidError{Field: field, Reason: "cannot be stored: " + pe.Message}
}

// ProbeWrite upserts the heartbeat row in a transaction of its own and
// commits it: a read-only database (default_transaction_read_only, a hot
// standby) or a full disk fails it.
func (s *Store) ProbeWrite(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sqlcore.HeartbeatUpsert, time.Now())
		return err
	})
}

// MigrationsPending reports whether a migration this build embeds is not
// applied to the database.
func (s *Store) MigrationsPending(ctx context.Context) (bool, error) {
	sub, err := fs.Sub(migrations.Postgres, "postgres")
	if err != nil {
		return false, err
	}
	want, err := sqlcore.MigrationVersions(sub)
	if err != nil {
		return false, err
	}
	rows, err := s.pool.Query(ctx, sqlcore.AppliedVersions)
	if err != nil {
		return false, err
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return false, err
	}
	return sqlcore.Pending(want, applied), nil
}
