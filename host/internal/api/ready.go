package api

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/atomhq/atom/host/internal/store"
)

// readyTTL is how long a readiness verdict is reused: a storm of probes
// costs the database one write per interval, not one per request.
const readyTTL = time.Second

// readyTimeout bounds one round of readiness checks.
const readyTimeout = 2 * time.Second

// readiness runs the database checks behind /readyz and caches the
// verdict for readyTTL. Probes arriving while a round runs wait for it
// (bounded by readyTimeout) and share its verdict.
type readiness struct {
	mu  sync.Mutex
	at  time.Time
	err *Error
}

// check returns nil when the database answers, commits a write and has
// every migration this build embeds, else the 503 naming the failed
// check. Causes go to the log, never to the answer (a driver error may
// name hosts, users or paths).
func (r *readiness) check(ctx context.Context, st store.Store, log *slog.Logger) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.at.IsZero() && time.Since(r.at) < readyTTL {
		if r.err != nil {
			return r.err
		}
		return nil
	}
	// The round runs to its own deadline even when this probe leaves:
	// the verdict serves the probes that wait for it.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyTimeout)
	defer cancel()
	r.err = runChecks(cctx, st, log)
	r.at = time.Now()
	if r.err != nil {
		return r.err
	}
	return nil
}

func runChecks(ctx context.Context, st store.Store, log *slog.Logger) *Error {
	if err := st.Ping(ctx); err != nil {
		log.Warn("readiness: database unreachable", "err", err)
		return apiErr(http.StatusServiceUnavailable, "database_unavailable", "check database: the database does not answer")
	}
	if err := st.ProbeWrite(ctx); err != nil {
		log.Warn("readiness: database takes no writes", "err", err)
		return apiErr(http.StatusServiceUnavailable, "database_read_only", "check database_write: the database answers but a write cannot be committed (read-only file, directory or database, or a full disk)")
	}
	pending, err := st.MigrationsPending(ctx)
	if err != nil {
		log.Warn("readiness: migration state unreadable", "err", err)
		return apiErr(http.StatusServiceUnavailable, "migrations_unknown", "check migrations: the database's migration state cannot be read")
	}
	if pending {
		return apiErr(http.StatusServiceUnavailable, "migrations_pending", "check migrations: the database lacks migrations this build needs; run `atom migrate up` (or start with ATOM_AUTO_MIGRATE=true)")
	}
	return nil
}
