package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atomhq/atom/host/internal/store"
)

var _ store.RefreshLocker = (*Store)(nil)

// refreshLockKey maps a connection id to the advisory lock key of its
// refresh. The namespace keeps it apart from other advisory locks in the
// database (goose's migration lock, River's).
func refreshLockKey(connectionID string) int64 {
	sum := sha256.Sum256([]byte("atom/refresh\x00" + connectionID))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// LockRefresh takes a session-level advisory lock on a connection of the
// pool of its own, so no transaction stays open while the lock is held.
// The lock ends with unlock or with the session: a database restart
// releases it, which the caller tolerates (refreshes are also
// compare-and-swap writes).
//
// The sessions come from a pool of their own: a lock holder still needs a
// connection of the main pool to read and write the row, so lock holders
// filling the main pool would wait on each other.
func (s *Store) LockRefresh(ctx context.Context, connectionID string) (func(), error) {
	pool, err := s.lockPool(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: refresh lock: %w", err)
	}
	key := refreshLockKey(connectionID)
	var conn *pgxpool.Conn
	for attempt := 1; ; attempt++ {
		conn, err = pool.Acquire(ctx)
		if err != nil {
			return nil, fmt.Errorf("postgres: refresh lock: %w", err)
		}
		_, err = conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key)
		if err == nil {
			break
		}
		// The session may hold the lock (the answer was lost): end it.
		dead := conn.Conn().IsClosed()
		conn.Conn().Close(context.WithoutCancel(ctx))
		conn.Release()
		// A pooled session the server had already ended (a restart, a
		// terminated backend) holds nothing: try once more on a new one.
		if !dead || attempt == 2 || ctx.Err() != nil {
			return nil, fmt.Errorf("postgres: refresh lock: %w", err)
		}
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
			// A session that may still hold the lock never goes back to
			// the pool.
			conn.Conn().Close(uctx)
		}
		conn.Release()
	}, nil
}

// lockPool returns the pool of refresh-lock sessions, creating it on first
// use with the main pool's settings.
func (s *Store) lockPool(ctx context.Context) (*pgxpool.Pool, error) {
	s.locksMu.Lock()
	defer s.locksMu.Unlock()
	if s.locks != nil {
		return s.locks, nil
	}
	cfg := s.pool.Config()
	cfg.MaxConns, cfg.MinConns = refreshLockSessions, 0
	cfg.MaxConnIdleTime = time.Minute
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.locks = p
	return p, nil
}

// refreshLockSessions bounds how many connections one process refreshes
// at the same time; more wait for a session.
const refreshLockSessions = 16
