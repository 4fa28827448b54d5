package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/sqlcore"
)

var _ store.BatchWriter = (*Store)(nil)

// errGroupRead refuses a group write that reads.
var errGroupRead = errors.New("sqlite: a group write cannot read")

// WriteInTenant runs fn's statements in a group commit
// (sqlcore.GroupCommit): the writes of concurrent callers share one
// immediate transaction and one commit, and each caller is answered once
// that commit returned. Every statement carries its write's tenant, as in
// InTenant. A lone write is committed at once, on its own.
func (s *Store) WriteInTenant(ctx context.Context, tenantID string, fn func(store.Tx) error) error {
	return s.group.Write(ctx, dialect{}, tenantID, fn)
}

// maxPrepared bounds the statements the writer keeps prepared.
const maxPrepared = 64

// writer is the group commit's own connection and the statements it
// keeps prepared on it: BEGIN, the INSERT of an execution record and
// COMMIT are parsed once, not on every record. Only the group commit's
// goroutine uses it.
type writer struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

func (w *writer) exec(ctx context.Context, db *sql.DB, query string, args ...any) error {
	if w.conn == nil {
		c, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		w.conn, w.stmts = c, map[string]*sql.Stmt{}
	}
	st := w.stmts[query]
	if st == nil {
		var err error
		if st, err = w.conn.PrepareContext(ctx, query); err != nil {
			return err
		}
		if len(w.stmts) < maxPrepared {
			w.stmts[query] = st
		} else {
			defer st.Close()
		}
	}
	_, err := st.ExecContext(ctx, args...)
	return err
}

func (w *writer) close() {
	for _, st := range w.stmts {
		st.Close()
	}
	if w.conn != nil {
		w.conn.Close()
	}
	w.conn, w.stmts = nil, nil
}

// commitGroup writes the batch in one immediate transaction on the
// writer's connection. A write whose statement fails is undone alone (a
// savepoint around a write of several statements; SQLite undoes a failed
// statement by itself) and the others commit.
func (s *Store) commitGroup(ctx context.Context, batch []*sqlcore.GroupWrite) {
	if err := s.writeGroup(ctx, batch); err != nil {
		// Whatever the transaction did is undone; the connection may be
		// unusable, so the next batch takes a new one.
		if s.w.conn != nil {
			_ = s.w.exec(ctx, s.db, "ROLLBACK")
		}
		s.w.close()
		for _, w := range batch {
			if w.Err == nil {
				w.Err = err
			}
		}
	}
}

func (s *Store) writeGroup(ctx context.Context, batch []*sqlcore.GroupWrite) error {
	if err := s.w.exec(ctx, s.db, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	for _, w := range batch {
		multi := len(w.Stmts) > 1
		if multi {
			if err := s.w.exec(ctx, s.db, "SAVEPOINT group_write"); err != nil {
				return fmt.Errorf("sqlite: savepoint: %w", err)
			}
		}
		for _, st := range w.Stmts {
			if st.Read != nil {
				w.Err = errGroupRead // not offered by this store
				break
			}
			if err := s.w.exec(ctx, s.db, st.Query, st.Args...); err != nil {
				if !ownFault(err) {
					// An I/O error, a full disk, a lock: SQLite may have
					// rolled back the whole transaction.
					return err
				}
				w.Err = err
				break
			}
		}
		if !multi {
			continue
		}
		if w.Err != nil {
			if err := s.w.exec(ctx, s.db, "ROLLBACK TO group_write"); err != nil {
				return fmt.Errorf("sqlite: rollback to savepoint: %w", err)
			}
		}
		if err := s.w.exec(ctx, s.db, "RELEASE group_write"); err != nil {
			return fmt.Errorf("sqlite: release savepoint: %w", err)
		}
	}
	if err := s.w.exec(ctx, s.db, "COMMIT"); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// ownFault reports an error of one statement's values (a constraint, a
// type or size), after which SQLite keeps the transaction open.
func ownFault(err error) bool {
	var se *sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3lib.SQLITE_CONSTRAINT, sqlite3lib.SQLITE_MISMATCH, sqlite3lib.SQLITE_TOOBIG, sqlite3lib.SQLITE_RANGE:
		return true
	}
	return false
}
