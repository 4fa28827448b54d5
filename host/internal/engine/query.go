package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/sdk/provider"
)

// HealthAction is the action a provider offers as its connection health
// check (Stripe: read the balance; Slack: auth.test; GitHub: GET /user).
const HealthAction = "test_connection"

// Offered is one action that runs for a provider, with the kind of
// implementation that runs it.
type Offered struct {
	provider.Action
	// Implementation is runtimes.KindNative, KindPiece or KindGeneric.
	Implementation string
}

// Offer lists the actions that run for id, each once (registry.Offer):
// on the integrations route, or on the pieces route when preferPiece. It
// is false when nothing serves id.
func (e *Engine) Offer(id string, preferPiece bool) ([]Offered, bool) {
	offered, ok := e.cfg.Registry.Offer(id, preferPiece)
	out := make([]Offered, 0, len(offered))
	for _, o := range offered {
		out = append(out, Offered{Action: o.Action, Implementation: o.Impl.Kind()})
	}
	return out, ok
}

// Served returns the ids a native plugin or a piece serves, sorted.
func (e *Engine) Served() []string {
	ids := append(e.cfg.Registry.Natives(), e.cfg.Registry.Pieces()...)
	sort.Strings(ids)
	return slices.Compact(ids)
}

// ProviderInfo describes the implementation serving a provider on the
// integrations route and the actions that run for it.
type ProviderInfo struct {
	ID, Name, Implementation, Version string
	Actions                           []Offered
}

// Provider describes what serves id, waiting while its plugin is still
// loading at start. An unknown provider is a 404 *Error.
func (e *Engine) Provider(ctx context.Context, id string) (ProviderInfo, error) {
	if err := e.WaitLoaded(ctx, id); err != nil {
		return ProviderInfo{}, err
	}
	impl, ok := e.cfg.Registry.Resolve(id)
	if !ok {
		return ProviderInfo{}, apiError(http.StatusNotFound, CodeUnknownProvider,
			fmt.Sprintf("unknown provider %q: it is not in the catalog (or not connectable) and no plugin serves it", id))
	}
	m := impl.Manifest()
	info := ProviderInfo{ID: id, Name: m.Name, Implementation: impl.Kind(), Version: m.Version}
	if d, ok := e.cfg.Catalog().Get(id); ok && info.Name == "" {
		info.Name = d.Name
	}
	info.Actions, _ = e.Offer(id, false)
	return info, nil
}

// PieceImplementation returns the kind and version of what serves id on
// the pieces route: the piece, else the native plugin, else the generic
// action.
func (e *Engine) PieceImplementation(id string) (kind, version string, ok bool) {
	impl, ok := e.cfg.Registry.Serving(id, true)
	if !ok {
		return "", "", false
	}
	return impl.Kind(), impl.Manifest().Version, true
}

// ErrBadBefore is returned by ListExecutions for a before that is neither
// an RFC 3339 time nor an execution id of the tenant.
var ErrBadBefore = errors.New("before must be an RFC 3339 time or an execution id of this tenant")

// ListExecutions lists the tenant's executions matching f, newest first,
// without inputs or outputs. before, when set, is an RFC 3339 time or the
// id of an execution the listing continues after.
func (e *Engine) ListExecutions(ctx context.Context, tenant string, f store.ExecutionFilter, before string) ([]store.Execution, error) {
	var list []store.Execution
	err := e.cfg.Store.InTenant(ctx, tenant, func(tx store.Tx) error {
		if before != "" {
			if t, err := time.Parse(time.RFC3339Nano, before); err == nil {
				f.Before = t
			} else {
				x, err := tx.GetExecution(ctx, before)
				if errors.Is(err, store.ErrNotFound) {
					return ErrBadBefore
				}
				if err != nil {
					return err
				}
				f.Before = x.CreatedAt
			}
		}
		var err error
		if hl, ok := tx.(store.HeadLister); ok {
			list, err = hl.ListExecutionHeads(ctx, f) // the listing shows no inputs or outputs
		} else {
			list, err = tx.ListExecutions(ctx, f)
		}
		return err
	})
	return list, err
}

// GetExecution reads one of the tenant's executions (store.ErrNotFound
// when it has none with that id).
func (e *Engine) GetExecution(ctx context.Context, tenant, id string) (*store.Execution, error) {
	var x *store.Execution
	err := e.cfg.Store.InTenant(ctx, tenant, func(tx store.Tx) error {
		var err error
		x, err = tx.GetExecution(ctx, id)
		return err
	})
	return x, err
}

// Stored is what an execution record's output column holds, besides the
// status and error columns.
type Stored struct {
	Output      json.RawMessage
	Diagnostics []provider.Diagnostic
	Truncated   bool
	// Field is the input field or provider parameter a failure names.
	Field string
}

// StoredOutput reads the output column of x (zero when it holds nothing
// readable).
func StoredOutput(x *store.Execution) Stored {
	var env envelope
	if len(x.Output) == 0 || json.Unmarshal(x.Output, &env) != nil {
		return Stored{}
	}
	return Stored{Output: env.Output, Diagnostics: env.Diagnostics, Truncated: env.Truncated, Field: env.Field}
}

// Stats returns how many calls the implementation of kind serving id ran
// on this replica and the last failure's message.
func (e *Engine) Stats(kind, id string) (int64, string) { return e.statsOf(kind, id) }
