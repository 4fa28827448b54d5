package postgres

import (
	"context"

	"github.com/atomhq/atom/host/internal/store/sqlcore"
)

// CommitSetting reads synchronous_commit inside a batch of the durable
// group commit, or of the relaxed one.
func (s *Store) CommitSetting(ctx context.Context, tenantID string, relaxed bool) (string, error) {
	g := s.group
	if relaxed {
		g = s.relaxed
	}
	var v string
	err := g.WriteStmts(ctx, dialect{}, tenantID, []sqlcore.Stmt{{Query: `SELECT current_setting('synchronous_commit')`,
		Read: func(r sqlcore.Row) error { return r.Scan(&v) }}})
	return v, err
}
