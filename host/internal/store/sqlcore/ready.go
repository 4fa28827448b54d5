package sqlcore

import (
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// HeartbeatUpsert is the readiness probe's write: it upserts the one row
// of host_heartbeat ($1 is the time, as the backend stores times).
const HeartbeatUpsert = `INSERT INTO host_heartbeat (id, beat_at) VALUES (1, $1)
ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at`

// AppliedVersions is the query listing the migration versions goose
// recorded as applied.
const AppliedVersions = `SELECT version_id FROM goose_db_version WHERE is_applied`

// MigrationVersions returns the versions of the goose migrations in fsys
// (files named <version>_<name>.sql), in any order.
func MigrationVersions(fsys fs.FS) ([]int64, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, len(names))
	for _, n := range names {
		num, _, ok := strings.Cut(path.Base(n), "_")
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, v)
	}
	return out, nil
}

// Pending reports whether a version of want is not in applied.
func Pending(want, applied []int64) bool {
	have := make(map[int64]bool, len(applied))
	for _, v := range applied {
		have[v] = true
	}
	for _, v := range want {
		if !have[v] {
			return true
		}
	}
	return false
}
