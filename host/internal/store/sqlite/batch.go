package sqlite

import (
	"context"
	"errors"
	"fmt"

	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/sqlcore"
)

var _ store.BatchWriter = (*Store)(nil)

// WriteInTenant runs fn's statements in a group commit
// (sqlcore.GroupCommit): the writes of concurrent callers share one
// immediate transaction and one commit, and each caller is answered once
// that commit returned. Every statement carries its write's tenant, as in
// InTenant. A lone write is committed at once, on its own.
func (s *Store) WriteInTenant(ctx context.Context, tenantID string, fn func(store.Tx) error) error {
	return s.group.Write(ctx, dialect{}, tenantID, fn)
}

// commitGroup writes the batch in one transaction. A write whose statement
// fails is undone alone (a savepoint around a write of several
// statements; SQLite undoes a failed statement by itself) and the others
// commit.
func (s *Store) commitGroup(ctx context.Context, batch []*sqlcore.GroupWrite) {
	fail := func(err error) {
		for _, w := range batch {
			if w.Err == nil {
				w.Err = err
			}
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("sqlite: begin: %w", err))
		return
	}
	q := querier{tx: tx, s: s}
	for _, w := range batch {
		multi := len(w.Stmts) > 1
		if multi {
			if _, err := q.Exec(ctx, "SAVEPOINT group_write"); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("sqlite: savepoint: %w", err))
				return
			}
		}
		for _, st := range w.Stmts {
			if _, err := q.Exec(ctx, st.Query, st.Args...); err != nil {
				if !ownFault(err) {
					// An I/O error, a full disk, a lock: SQLite may have
					// rolled back the whole transaction.
					tx.Rollback()
					fail(err)
					return
				}
				w.Err = err
				break
			}
		}
		if !multi {
			continue
		}
		if w.Err != nil {
			if _, err := q.Exec(ctx, "ROLLBACK TO group_write"); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("sqlite: rollback to savepoint: %w", err))
				return
			}
		}
		if _, err := q.Exec(ctx, "RELEASE group_write"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("sqlite: release savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("sqlite: commit: %w", err))
	}
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
