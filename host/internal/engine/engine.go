// Package engine runs provider actions for tenants: it resolves the
// implementation serving a provider (native plugin, wasm piece or the
// generic HTTP action) through the registry, validates the input against
// the action's JSON Schema, fetches the tenant's credentials, runs the
// action with a runtimes.Host bound to that one execution, and records every
// execution (never its credentials).
//
// The engine knows no transport: the API layer (host/internal/api) turns
// requests into a Call, passes it to Execute and encodes the Result; an
// *Error carries the HTTP status of a refusal, and StatusOf is the one
// table from an error code to its status, for live answers and replays.
//
// Inputs are stored only for asynchronous executions, which need them to
// run later; synchronous executions keep no input. Outputs are stored (up
// to MaxStoredOutput bytes) so idempotent replays and GET /executions can
// return them.
package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/inputschema"
	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/ratelimit"
	"github.com/atomhq/atom/host/internal/registry"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/sdk/provider"
)

// Error codes of executions, as they appear in JSON error bodies and in
// the executions' error_code.
const (
	CodeActionFailed        = "action_failed"
	CodePluginUnavailable   = "plugin_unavailable"
	CodePluginFailed        = "plugin_failed"
	CodeTimeout             = "timeout"
	CodeRateLimited         = "rate_limited"
	CodeInternal            = "internal"
	CodeInvalidInput        = "invalid_input"
	CodeUnknownProvider     = "unknown_provider"
	CodeUnknownAction       = "unknown_action"
	CodeIdempotencyConflict = "idempotency_conflict"
	// CodeRecordFailed: an execution whose record cannot be written is
	// not started (asynchronous executions before they are queued).
	CodeRecordFailed = "record_failed"
	// CodeQueueUnavailable: the job queue refused an asynchronous
	// execution; nothing was stored or run.
	CodeQueueUnavailable = "queue_unavailable"
	// CodeCanceled: the caller went away before the execution finished.
	CodeCanceled = "canceled"
	// CodeOutcomeUnknown is the error code of an execution settled as
	// unknown: the call may have reached the provider, its outcome was
	// never recorded.
	CodeOutcomeUnknown = "outcome_unknown"
	// CodeNotRun is the error code of an asynchronous execution whose job
	// ended before the call started: the action was not called.
	CodeNotRun = "not_run"
	// CodeDatabaseUnavailable: the database failed while the execution
	// read what it needs (credentials, connection); retry shortly.
	CodeDatabaseUnavailable = "database_unavailable"
)

// MaxStoredOutput bounds the output kept with an execution record; a
// larger output is returned to the caller but stored as a truncation note.
const MaxStoredOutput = 1 << 20

// Credentials supplies an execution's credentials. *connect.Service
// satisfies it.
type Credentials interface {
	Credentials(ctx context.Context, tenantID, userID, providerID string) (provider.Credentials, *store.Connection, error)
	ForceRefresh(ctx context.Context, tenantID, connectionID string) (provider.Credentials, error)
}

// Config configures an Engine. Store, Registry, Credentials and Catalog
// are required.
type Config struct {
	Store       store.Store
	Registry    *registry.Registry
	Credentials Credentials
	// Catalog returns the current catalog snapshot.
	Catalog func() *catalog.Catalog
	// Logger; slog.Default() when nil.
	Logger *slog.Logger
	// Metrics receives the execution metrics; none when nil.
	Metrics prometheus.Registerer
	// Timeout bounds one execution (default 60s).
	Timeout time.Duration
	// IdempotencyWindow is how long an Idempotency-Key replays its first
	// result (default 24h).
	IdempotencyWindow time.Duration
	// Keyring seals values plugins put in the tenant's store; plugins
	// keep secrets there (e.g. Plaid item tokens). Required.
	Keyring *vault.Keyring
	// Limits are the per-tenant and per-result caps (limits.go); zero
	// fields take config's defaults.
	Limits config.Limits
	// StoreQuota bounds each tenant's plugin store per provider.
	StoreQuota StoreQuota
	// RecordRetry is how long the outcome of an execution is retried
	// while the database refuses it, with backoff (default 60s).
	RecordRetry time.Duration
	// SyncRecordWait is how long a synchronous answer waits for its
	// record when the first write fails (default 2s); the retries go on
	// in the background for RecordRetry.
	SyncRecordWait time.Duration
	// ReconcileEvery is the period of the reconciler (default 30s).
	ReconcileEvery time.Duration
}

// Engine runs executions. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	inputs inputschema.Checker
	jobs   atomic.Pointer[jobQueue]
	stats  sync.Map // provider → *callStats
	kv     kvLocks

	// running and runningAsync count each tenant's synchronous and
	// asynchronous executions in flight on this replica.
	running, runningAsync ratelimit.InFlight

	execs    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

type callStats struct {
	calls   atomic.Int64
	lastErr atomic.Pointer[string]
}

// New returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Registry == nil || cfg.Credentials == nil || cfg.Catalog == nil || cfg.Keyring == nil {
		return nil, errors.New("engine: Store, Registry, Credentials, Catalog and Keyring are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.IdempotencyWindow <= 0 {
		cfg.IdempotencyWindow = 24 * time.Hour
	}
	if cfg.RecordRetry <= 0 {
		cfg.RecordRetry = 60 * time.Second
	}
	if cfg.SyncRecordWait <= 0 {
		cfg.SyncRecordWait = 2 * time.Second
	}
	if cfg.ReconcileEvery <= 0 {
		cfg.ReconcileEvery = 30 * time.Second
	}
	cfg.Limits = cfg.Limits.WithDefaults()
	cfg.StoreQuota = cfg.StoreQuota.withDefaults()
	e := &Engine{cfg: cfg, log: slog.New(outbound.NewRedactingHandler(cfg.Logger.Handler()))}
	e.execs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atom_executions_total", Help: "Executions by provider, action, implementation and final status.",
	}, []string{"provider", "action", "implementation", "status"})
	e.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "atom_execution_duration_seconds", Help: "Execution duration by provider and implementation.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"provider", "implementation"})
	if cfg.Metrics != nil {
		for _, c := range []prometheus.Collector{e.execs, e.duration} {
			if err := cfg.Metrics.Register(c); err != nil {
				return nil, fmt.Errorf("engine: register metrics: %w", err)
			}
		}
	}
	return e, nil
}

// call is one execution request.
type call struct {
	tenant, user   string
	provider       string
	action         string
	input          json.RawMessage
	config         map[string]string // pieces route: per-call connection config
	pieces         bool              // pieces route: prefer piece, then native, then generic
	idempotencyKey string
	async          bool
	// deferRecord: the execution record is inserted by finish, with the
	// outcome, instead of being created before the run.
	deferRecord bool
}

// Result is an execution's outcome as the API answers it.
type Result struct {
	ExecutionID string
	// Status is the HTTP status: 200, 202 (async) or an error status.
	Status      int
	Output      json.RawMessage
	Diagnostics []provider.Diagnostic
	Code        string
	Message     string
	Replayed    bool
	// Field is the input field a provider's validation error names.
	Field string
	// RetryAfter, in seconds, is sent as Retry-After (rate_limited).
	RetryAfter int
	// NotStored: the execution ran but its record was not written when
	// the answer was sent (Atom-Record-Stored: false).
	NotStored bool
}

// WaitLoaded waits, bounded by ctx and the execution timeout, while the
// plugin serving provider is still loading at start; a request giving up
// meanwhile gets a 503.
func (e *Engine) WaitLoaded(ctx context.Context, provider string) error {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	if err := e.cfg.Registry.Wait(ctx, provider); err != nil {
		return apiError(http.StatusServiceUnavailable, CodePluginUnavailable,
			fmt.Sprintf("the plugin serving %q is still loading (the host has just started); retry shortly", provider))
	}
	return nil
}

// resolve finds the implementation that runs c's action (registry.RunAction:
// native, piece, then the generic custom_api_call; the pieces route tries
// the piece first) and the action's declaration.
func (e *Engine) resolve(c *call) (runtimes.Implementation, provider.Action, error) {
	impl, a, known, ok := e.cfg.Registry.RunAction(c.provider, c.action, c.pieces)
	if ok {
		return impl, a, nil
	}
	if !known {
		return nil, provider.Action{}, apiError(http.StatusNotFound, CodeUnknownProvider,
			fmt.Sprintf("unknown provider %q: it is not in the catalog (or not connectable) and no plugin serves it", c.provider))
	}
	offered, _ := e.cfg.Registry.Offer(c.provider, c.pieces)
	names := make([]string, 0, len(offered))
	for _, x := range offered {
		names = append(names, x.Name)
	}
	sort.Strings(names)
	return nil, provider.Action{}, apiError(http.StatusNotFound, CodeUnknownAction,
		fmt.Sprintf("provider %q has no action %q that runs here (it offers: %s)", c.provider, c.action, strings.Join(names, ", ")))
}

// validate checks input against the action's input schema, compiled once
// per distinct schema.
func (e *Engine) validate(a provider.Action, input json.RawMessage) error {
	var refusal *inputschema.Refusal
	err := e.inputs.Check(a.Input, input)
	switch {
	case errors.As(err, &refusal):
		res := &Error{Status: http.StatusBadRequest, Code: CodeInvalidInput, Message: refusal.Message}
		if refusal.Field != "input" {
			res.Field = refusal.Field
		}
		return res
	case err != nil:
		e.log.Warn("action input schema does not compile; input not validated", "action", a.Name, "err", err)
	}
	return nil
}

// requestHash fingerprints what an idempotency key stands for.
func requestHash(c *call) string {
	h := sha256.New()
	canon := func(raw json.RawMessage) []byte {
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return raw
		}
		b, _ := json.Marshal(v)
		return b
	}
	route := "integrations"
	if c.pieces {
		route = "pieces"
	}
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%t\x00", route, c.provider, c.action, c.user, c.async)
	h.Write(canon(c.input))
	h.Write([]byte{0})
	if len(c.config) > 0 {
		b, _ := json.Marshal(c.config) // map keys are sorted
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Call is one execution request, as the API layer received it.
type Call struct {
	TenantID, UserID string
	Provider, Action string
	// Input is the action's input, a JSON object ({} when empty).
	Input json.RawMessage
	// Config is a pieces call's per-call connection config.
	Config map[string]string
	// Pieces marks the pieces route: prefer the piece, then the native
	// plugin, then the generic action.
	Pieces         bool
	IdempotencyKey string
	// Async queues the execution and answers 202 at once.
	Async bool
}

// Execute runs (or replays, or enqueues) one execution. A refusal before
// anything ran is an *Error (with its status) or a store error; once the
// execution ran, its failure is in the Result (Code, Message, Status).
func (e *Engine) Execute(ctx context.Context, c Call) (Result, error) {
	res, err := e.execute(ctx, &call{tenant: c.TenantID, user: c.UserID, provider: c.Provider, action: c.Action,
		input: c.Input, config: c.Config, pieces: c.Pieces, idempotencyKey: c.IdempotencyKey, async: c.Async})
	if err != nil {
		return Result{}, err
	}
	return *res, nil
}

// execute runs (or replays, or enqueues) one execution.
func (e *Engine) execute(ctx context.Context, c *call) (*Result, error) {
	if err := e.WaitLoaded(ctx, c.provider); err != nil {
		return nil, err
	}
	impl, action, err := e.resolve(c)
	if err != nil {
		return nil, err
	}
	if err := e.validate(action, c.input); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(c.input)) == 0 {
		c.input = json.RawMessage("{}")
	}
	if c.async && len(c.config) > 0 {
		return nil, apiError(http.StatusBadRequest, "async_config", "config cannot be combined with async=true (it would have to be stored); connect the provider instead")
	}
	rec := &store.Execution{
		UserID: c.user, Provider: c.provider, Action: c.action, Implementation: impl.Kind(),
		Status: store.ExecRunning, IdempotencyKey: c.idempotencyKey, CreatedAt: time.Now().UTC(),
	}
	if c.async {
		rec.Status = store.ExecPending
		rec.Input = c.input
	} else {
		rec.StartedAt = &rec.CreatedAt
	}
	if c.idempotencyKey != "" {
		rec.RequestHash = requestHash(c)
		if prev, err := e.findByKey(ctx, c.tenant, c.idempotencyKey); err == nil {
			return e.replay(ctx, c.tenant, prev, rec.RequestHash)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	// A slot is held while the call runs or, for ?async=true, while it is
	// counted and queued: at most ATOM_TENANT_MAX_CONCURRENT calls of a
	// tenant pass the pending count at once.
	release, err := e.acquire(c.tenant)
	if err != nil {
		return nil, err
	}
	defer release()
	if !c.async && c.idempotencyKey == "" {
		// A synchronous execution without an idempotency key has nobody
		// to coordinate with while it runs: its record is written once,
		// with its outcome, before the response is sent.
		rec.ID, c.deferRecord = ids.New("exe"), true
		return e.run(ctx, c, rec, impl), nil
	}
	rec.ID = ids.New("exe")
	q := e.jobs.Load()
	if c.async && q == nil {
		return nil, apiError(http.StatusServiceUnavailable, CodeQueueUnavailable, "the job queue is not running yet; retry shortly")
	}
	var txq TxEnqueuer
	if c.async {
		txq, _ = q.q.(TxEnqueuer)
	}
	err = e.cfg.Store.InTenant(ctx, c.tenant, func(tx store.Tx) error {
		if c.async {
			if err := e.checkPending(ctx, tx); err != nil {
				return err
			}
		}
		if txq != nil {
			// The job and the pending record commit together: a 202 is
			// only sent for an execution that is stored and queued.
			id, err := txq.InsertTx(ctx, tx, e.jobArgs(c, rec), nil)
			if err != nil {
				return &queueError{err}
			}
			rec.JobID = id
		}
		return tx.CreateExecution(ctx, rec)
	})
	var tooMany *Error
	if errors.As(err, &tooMany) {
		return nil, tooMany
	}
	var qe *queueError
	if errors.As(err, &qe) {
		e.log.Error("queue execution", "tenant_id", c.tenant, "err", outbound.Redact(qe.err.Error()))
		return nil, apiError(http.StatusServiceUnavailable, CodeQueueUnavailable, "the execution could not be queued, nothing was stored or run; retry shortly")
	}
	if errors.Is(err, store.ErrConflict) && c.idempotencyKey != "" {
		prev, ferr := e.findByKey(ctx, c.tenant, c.idempotencyKey)
		if errors.Is(ferr, store.ErrNotFound) {
			return nil, apiError(http.StatusConflict, CodeIdempotencyConflict,
				"this Idempotency-Key was used more than 24 hours ago; use a new key")
		}
		if ferr != nil {
			return nil, ferr
		}
		return e.replay(ctx, c.tenant, prev, rec.RequestHash)
	}
	if errors.Is(err, store.ErrInvalid) {
		return nil, err // the input is at fault (400), not the database
	}
	if err != nil {
		// Nothing was stored, queued or called.
		e.log.Error("record execution", "tenant_id", c.tenant, "err", outbound.Redact(err.Error()))
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: CodeRecordFailed, RetryAfter: 1,
			Message: "the execution could not be stored, so it was not run; retry shortly"}
	}
	if c.async && txq == nil {
		// A queue that cannot insert in the store's transaction: the
		// record is written first, and settled as failed if the job
		// cannot be inserted after it.
		if err := q.q.Enqueue(ctx, e.jobArgs(c, rec), nil); err != nil {
			e.log.Error("queue execution", "execution_id", rec.ID, "err", outbound.Redact(err.Error()))
			res := &Result{ExecutionID: rec.ID, Status: http.StatusServiceUnavailable, Code: CodeQueueUnavailable,
				Message: "the execution could not be queued and was not run; retry shortly"}
			e.finish(context.WithoutCancel(ctx), c, rec, impl.Kind(), res, 0)
			return res, nil
		}
	}
	if c.async {
		return &Result{ExecutionID: rec.ID, Status: http.StatusAccepted}, nil
	}
	return e.run(ctx, c, rec, impl), nil
}

// queueError is a job insert's failure inside the record's transaction.
type queueError struct{ err error }

func (q *queueError) Error() string { return "queue: " + q.err.Error() }

func (e *Engine) findByKey(ctx context.Context, tenant, key string) (*store.Execution, error) {
	var prev *store.Execution
	err := e.cfg.Store.InTenant(ctx, tenant, func(tx store.Tx) error {
		var err error
		prev, err = tx.FindExecutionByKey(ctx, key, time.Now().Add(-e.cfg.IdempotencyWindow))
		return err
	})
	return prev, err
}

// replay answers a repeated idempotent request with the first result,
// waiting for it if it is still running.
func (e *Engine) replay(ctx context.Context, tenant string, prev *store.Execution, hash string) (*Result, error) {
	if prev.RequestHash != hash {
		return nil, apiError(http.StatusConflict, CodeIdempotencyConflict,
			"this Idempotency-Key was used with a different request; use a new key for a new request")
	}
	if !store.ExecSettled(prev.Status) && (prev.JobID != 0 || len(prev.Input) > 0) {
		// An asynchronous execution not settled yet: the first answer.
		return &Result{ExecutionID: prev.ID, Status: http.StatusAccepted, Replayed: true}, nil
	}
	// A synchronous execution still running is waited for until its
	// first caller has been answered (the timeout, then the short wait
	// for its record); past that the record is stuck (its host died or
	// could not write the outcome) and is settled as unknown here, so a
	// retry gets an answer at once instead of a conflict for the key's
	// whole window.
	for prev.Status == store.ExecRunning || prev.Status == store.ExecPending {
		if time.Now().After(e.stuckAt(prev)) {
			if err := e.settleUnknown(ctx, tenant, prev, prev.Status,
				"the host that ran this call stopped, or could not record its outcome; the provider may have received it"); err != nil && !errors.Is(err, store.ErrConflict) {
				return nil, err
			}
		} else {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
		err := e.cfg.Store.InTenant(ctx, tenant, func(tx store.Tx) error {
			var err error
			prev, err = tx.GetExecution(ctx, prev.ID)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	res := resultOf(prev)
	res.Replayed = true
	return res, nil
}

// stuckAt is when a synchronous record still running can no longer be
// finished by the call that wrote it.
func (e *Engine) stuckAt(x *store.Execution) time.Time {
	start := x.CreatedAt
	if x.StartedAt != nil {
		start = *x.StartedAt
	}
	return start.Add(e.cfg.Timeout + e.cfg.SyncRecordWait + 5*time.Second)
}

// settleUnknown settles x, whose status is still from, as unknown.
func (e *Engine) settleUnknown(ctx context.Context, tenant string, x *store.Execution, from, reason string) error {
	now := time.Now().UTC()
	u := *x
	u.Status, u.ErrorCode, u.Error, u.Output, u.FinishedAt = store.ExecUnknown, CodeOutcomeUnknown, reason, nil, &now
	err := e.cfg.Store.InTenant(ctx, tenant, func(tx store.Tx) error { return tx.SettleExecution(ctx, &u, from) })
	if err == nil {
		e.log.Warn("execution settled as unknown", "execution_id", x.ID, "tenant_id", tenant, "provider", x.Provider, "action", x.Action, "reason", reason)
		e.execs.WithLabelValues(x.Provider, x.Action, x.Implementation, store.ExecUnknown).Inc()
	}
	return err
}

// envelope is what an execution record's output column holds.
type envelope struct {
	Output      json.RawMessage       `json:"output,omitempty"`
	Diagnostics []provider.Diagnostic `json:"diagnostics,omitempty"`
	Truncated   bool                  `json:"truncated,omitempty"`
	// Field and RetryAfter are what a replay answers besides the code.
	Field      string `json:"field,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"`
}

// statusOfCode is the HTTP status of every error code an execution can
// end with: a live answer and the replay of its record use this one
// table (failure, invoke and the connect errors set the same statuses).
var statusOfCode = map[string]int{
	"":                               http.StatusOK,
	CodeActionFailed:                 http.StatusUnprocessableEntity,
	CodePluginUnavailable:            http.StatusBadGateway,
	CodePluginFailed:                 http.StatusBadGateway,
	runtimes.CodeUpstreamTooLarge:    http.StatusBadGateway,
	runtimes.CodeResultTooLarge:      http.StatusBadGateway,
	CodeCanceled:                     499,
	CodeTimeout:                      http.StatusGatewayTimeout,
	CodeRateLimited:                  http.StatusTooManyRequests,
	CodeQueueUnavailable:             http.StatusServiceUnavailable,
	CodeDatabaseUnavailable:          http.StatusServiceUnavailable,
	connect.CodeProviderNotConnected: http.StatusNotFound,
	connect.CodeConnectionExpired:    http.StatusUnauthorized,
	connect.CodeConnectionRevoked:    http.StatusUnauthorized,
	connect.CodeRefreshFailed:        http.StatusBadGateway,
	connect.CodeInvalidInput:         http.StatusBadRequest,
	connect.CodeNotConfigured:        http.StatusBadRequest,
	connect.CodeUnknownProvider:      http.StatusNotFound,
	connect.CodeInvalidCredentials:   http.StatusBadRequest,
	connect.CodeTenantAppRequired:    http.StatusBadRequest,
	connect.CodeInvalidState:         http.StatusBadRequest,
	connect.CodeTokenExchangeFailed:  http.StatusBadGateway,
	connect.CodeAccessDenied:         http.StatusForbidden,
	connect.CodeUnsupported:          http.StatusBadRequest,
	connect.CodeInvalidReturnTo:      http.StatusBadRequest,
	connect.CodeUnknownUser:          http.StatusNotFound,
	connect.CodeTooManyStates:        http.StatusTooManyRequests,
	connect.CodeOAuthAppNotFound:     http.StatusNotFound,
	connect.CodeInvalidCallback:      http.StatusBadRequest,
	CodeUnknownAction:                http.StatusNotFound,
	CodeIdempotencyConflict:          http.StatusConflict,
	CodeTooManyConcurrent:            http.StatusTooManyRequests,
	CodeTooManyPending:               http.StatusTooManyRequests,
	CodeInternal:                     http.StatusInternalServerError,
	CodeRecordFailed:                 http.StatusServiceUnavailable,
	CodeOutcomeUnknown:               http.StatusBadGateway,
	CodeNotRun:                       http.StatusServiceUnavailable,
}

// StatusOf returns the HTTP status of an execution error code, for a live
// answer and for the replay of its record alike; an unlisted code is a 500.
func StatusOf(code string) int {
	if st, ok := statusOfCode[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

func resultOf(x *store.Execution) *Result {
	res := &Result{ExecutionID: x.ID, Code: x.ErrorCode, Message: x.Error}
	var env envelope
	if len(x.Output) > 0 {
		_ = json.Unmarshal(x.Output, &env)
	}
	res.Output, res.Diagnostics, res.Field, res.RetryAfter = env.Output, env.Diagnostics, env.Field, env.RetryAfter
	res.Status = StatusOf(x.ErrorCode)
	return res
}

// run executes c now and records the outcome, waiting at most wait for
// the record when its first write fails (res.NotStored when it was not
// written by then).
func (e *Engine) run(ctx context.Context, c *call, rec *store.Execution, impl runtimes.Implementation) *Result {
	return e.runWait(ctx, c, rec, impl, e.cfg.SyncRecordWait)
}

func (e *Engine) runWait(ctx context.Context, c *call, rec *store.Execution, impl runtimes.Implementation, wait time.Duration) *Result {
	start := time.Now()
	res := e.invoke(ctx, c, rec.ID, impl)
	e.finishWait(context.WithoutCancel(ctx), c, rec, impl.Kind(), res, time.Since(start), wait)
	return res
}

func (e *Engine) invoke(ctx context.Context, c *call, execID string, impl runtimes.Implementation) *Result {
	res := &Result{ExecutionID: execID}
	d, hasDesc := e.cfg.Catalog().Get(c.provider)
	if !hasDesc {
		if r := noDescriptor(res, c.provider, impl); r != nil {
			return r
		}
	}
	creds, conn, err := e.cfg.Credentials.Credentials(ctx, c.tenant, c.user, c.provider)
	// Without a connection, an api_key provider's credentials are the
	// operator's {PROVIDER}_API_KEY: a host-wide secret.
	hostWide := err == nil && conn == nil && creds.APIKey != ""
	if errors.Is(err, connect.ErrProviderNotConnected) || (!hasDesc && errors.Is(err, connect.ErrUnknownProvider)) {
		switch {
		case !hasDesc:
			// A piece serving an id the catalog does not know decides
			// itself what it needs (a native one was refused above).
			creds, err = mergeConfig(provider.Credentials{Type: catalog.AuthNone}, c.config), nil
		case len(c.config) > 0:
			creds, err = configCredentials(d, c.config), nil
		case hasDesc && d.Auth.Kind == catalog.AuthNone:
			creds, err = provider.Credentials{Type: catalog.AuthNone}, nil
		}
	} else if err == nil && len(c.config) > 0 {
		if hostWide && hasDesc && (c.config["api_key"] != "" || c.config["apiKey"] != "") {
			// The caller's own key replaces the operator's.
			creds, hostWide = mergeConfig(provider.Credentials{Type: d.Auth.Kind}, c.config), false
		} else {
			creds = mergeConfig(creds, c.config)
		}
	}
	if err != nil {
		return e.failure(res, err)
	}
	if hostWide && len(c.config) > 0 {
		if msg := operatorKeyConfig(d, c.config); msg != "" {
			res.Status, res.Code, res.Message = http.StatusBadRequest, connect.CodeTenantAppRequired, msg
			return res
		}
	}
	// The adapter resolves the base URL (runtimes.ResolveBaseURL), under
	// the operator's rules when the credentials are the operator's key.
	req := provider.Request{ExecutionID: execID, TenantID: c.tenant, Action: c.action, Input: c.input, Credentials: creds}
	if hostWide {
		ctx = runtimes.WithOperatorKey(ctx)
	}
	h := &execHost{e: e, tenant: c.tenant, provider: c.provider, execID: execID}
	if conn != nil {
		h.connID = conn.ID
	}
	// Each runtime adapter scopes its own outbound requests to the
	// (tenant, provider) rate limit.
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	ctx, seen := outbound.Observe(ctx)
	ctx, baseURL := runtimes.RecordBaseURL(ctx)
	resp, err := impl.Execute(ctx, req, h)
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(err, outbound.ErrRateLimited) {
			err = fmt.Errorf("%w: %v", context.DeadlineExceeded, err)
		}
		return e.failedRun(res, err)
	}
	if err := e.checkResult(impl.Kind(), resp.Output); err != nil {
		return e.failure(res, err)
	}
	res.Output, res.Diagnostics = resp.Output, resp.Diagnostics
	if resp.Failed() {
		return e.failedAction(ctx, res, seen.Last(), h, baseURL())
	}
	res.Status = http.StatusOK
	if len(res.Output) == 0 {
		res.Output = json.RawMessage("null")
	}
	return res
}

// failure classifies a Go error of an execution.
func (e *Engine) failure(res *Result, err error) *Result {
	var ce *connect.Error
	var rl *outbound.RateLimitError
	var tl *runtimes.TooLargeError
	var de *runtimes.DeadlineError
	switch {
	case errors.Is(err, catalog.ErrTenantChosenHost):
		// Whatever serves the call would send the operator's key there.
		res.Status, res.Code, res.Message = StatusOf(connect.CodeTenantAppRequired), connect.CodeTenantAppRequired, err.Error()
	case errors.Is(err, catalog.ErrNotLabel):
		res.Status, res.Code, res.Message = StatusOf(connect.CodeInvalidInput), connect.CodeInvalidInput, err.Error()
	case errors.As(err, &ce):
		// The table's status, so that a replay of the record answers the
		// same.
		res.Status, res.Code, res.Message = StatusOf(ce.Code), ce.Code, ce.Message()
	case errors.As(err, &tl):
		res.Status, res.Code, res.Message = StatusOf(tl.Code), tl.Code, tl.Error()
	case errors.Is(err, errInvalidResult):
		res.Status, res.Code, res.Message = http.StatusBadGateway, CodePluginFailed, err.Error()
	case errors.Is(err, runtimes.ErrPluginFailed):
		// The guest misbehaved (trap, panic, memory cap): the plugin
		// failed, not the host.
		res.Status, res.Code = StatusOf(CodePluginFailed), CodePluginFailed
		res.Message = fmt.Sprintf("the piece failed: %v", err)
	case errors.Is(err, runtimes.ErrUnavailable):
		res.Status, res.Code = http.StatusBadGateway, CodePluginUnavailable
		res.Message = fmt.Sprintf("the plugin serving this provider is unavailable (%v); retry shortly", err)
	case errors.As(err, &de):
		// A runtime's own deadline (a piece's call timeout), which may
		// be shorter than the execution's: the message names the one
		// that fired.
		res.Status, res.Code = http.StatusGatewayTimeout, CodeTimeout
		res.Message = fmt.Sprintf("the action did not finish within %s, the piece's call deadline", de.Limit)
	case errors.Is(err, context.DeadlineExceeded):
		res.Status, res.Code = http.StatusGatewayTimeout, CodeTimeout
		res.Message = fmt.Sprintf("the action did not finish within %s", e.cfg.Timeout)
	case errors.As(err, &rl):
		res.Status, res.Code, res.Message = http.StatusTooManyRequests, CodeRateLimited, rl.Error()
	case errors.Is(err, context.Canceled):
		res.Status, res.Code, res.Message = StatusOf(CodeCanceled), CodeCanceled, "the request was canceled"
	case store.Unavailable(err):
		// The driver's text names the database, role and address: it
		// goes to the log, not to the tenant.
		e.log.Error("execution failed: database unavailable", "execution_id", res.ExecutionID, "err", err.Error())
		res.Status, res.Code = StatusOf(CodeDatabaseUnavailable), CodeDatabaseUnavailable
		res.Message = "the database is unavailable; retry shortly"
	default:
		msg := outbound.Redact(err.Error())
		e.log.Error("execution failed", "execution_id", res.ExecutionID, "err", outbound.Clip(msg, maxErrorMessage))
		res.Status, res.Code, res.Message = http.StatusInternalServerError, CodeInternal, "the execution failed: "+msg
	}
	// A plugin's error text may be anything in length.
	res.Message = outbound.Clip(res.Message, maxErrorMessage)
	return res
}

// finish records the outcome, counts it and updates the plugin stats.
func (e *Engine) finish(ctx context.Context, c *call, rec *store.Execution, kind string, res *Result, d time.Duration) {
	e.finishWait(ctx, c, rec, kind, res, d, e.cfg.SyncRecordWait)
}

func (e *Engine) finishWait(ctx context.Context, c *call, rec *store.Execution, kind string, res *Result, d time.Duration, wait time.Duration) {
	rec.Status = store.ExecSucceeded
	if res.Code != "" {
		rec.Status = store.ExecFailed
	}
	// Messages may quote URLs (a provider's error, a transport failure):
	// the record keeps them without query strings or userinfo.
	rec.Error, rec.ErrorCode, rec.DurationMS, rec.Implementation = outbound.Redact(res.Message), res.Code, d.Milliseconds(), kind
	rec.Output = storedOutput(res)
	now := time.Now().UTC()
	rec.FinishedAt = &now
	out := *rec // the background retries own this copy
	write := func(tx store.Tx) error { return tx.FinishExecution(ctx, &out) }
	run := e.cfg.Store.InTenant
	if c.deferRecord {
		write = func(tx store.Tx) error { return tx.CreateExecution(ctx, &out) }
		if bw, ok := e.cfg.Store.(store.BatchWriter); ok {
			run = bw.WriteInTenant // one round trip for the one INSERT
		}
	}
	if !e.persist(ctx, c.tenant, rec.ID, run, write, wait) {
		// The answer says so; the record may still appear (the retries
		// go on), or the reconciler settles it as unknown.
		res.NotStored = true
	}
	e.execs.WithLabelValues(c.provider, c.action, kind, rec.Status).Inc()
	e.duration.WithLabelValues(c.provider, kind).Observe(d.Seconds())
	key := kind + "/" + c.provider
	v, ok := e.stats.Load(key)
	if !ok {
		v, _ = e.stats.LoadOrStore(key, &callStats{})
	}
	st := v.(*callStats)
	st.calls.Add(1)
	if res.Code == CodePluginUnavailable || res.Code == CodePluginFailed || res.Code == CodeInternal || res.Code == CodeTimeout {
		msg := outbound.Redact(res.Message)
		st.lastErr.Store(&msg)
	}
	level := slog.LevelInfo
	if rec.Status == store.ExecFailed {
		level = slog.LevelWarn
	}
	if !e.log.Enabled(ctx, level) {
		return
	}
	e.log.Log(ctx, level, "execution finished", "execution_id", rec.ID, "tenant_id", c.tenant, "provider", c.provider,
		"action", c.action, "implementation", kind, "status", rec.Status, "error_code", res.Code, "duration_ms", rec.DurationMS,
		"record_stored", !res.NotStored)
}

// persist runs write in a tenant transaction until it commits, with
// backoff, for up to RecordRetry (a database restart, a failover). It
// waits for it at most wait and reports whether it committed by then;
// the retries go on in the background after that. A write that finds the
// record settled already (the reconciler was first) or gone is done.
func (e *Engine) persist(ctx context.Context, tenant, id string, run func(context.Context, string, func(store.Tx) error) error,
	write func(store.Tx) error, wait time.Duration) bool {
	try := func() (bool, error) {
		err := run(ctx, tenant, write)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			e.log.Warn("execution record already settled; outcome not written", "execution_id", id)
			return true, nil
		}
		return err == nil, err
	}
	ok, err := try()
	if ok {
		return true
	}
	e.log.Error("record execution outcome; retrying", "execution_id", id, "err", outbound.Redact(err.Error()))
	done := make(chan bool, 1)
	go func() {
		deadline := time.Now().Add(e.cfg.RecordRetry)
		pause := 50 * time.Millisecond
		for {
			time.Sleep(pause)
			ok, err := try()
			if ok {
				e.log.Info("execution outcome recorded after retries", "execution_id", id)
				done <- true
				return
			}
			if time.Now().Add(pause).After(deadline) {
				e.log.Error("execution outcome not recorded; the reconciler settles it", "execution_id", id, "err", outbound.Redact(err.Error()))
				done <- false
				return
			}
			pause = min(pause*2, 2*time.Second)
		}
	}()
	select {
	case ok := <-done:
		return ok
	case <-time.After(wait):
		return false
	}
}

func (e *Engine) statsOf(kind, id string) (int64, string) {
	v, ok := e.stats.Load(kind + "/" + id)
	if !ok {
		return 0, ""
	}
	st := v.(*callStats)
	msg := ""
	if p := st.lastErr.Load(); p != nil {
		msg = *p
	}
	return st.calls.Load(), msg
}

// operatorKeyConfig says why config may not accompany the operator's
// {PROVIDER}_API_KEY, or "". Any value could choose where a plugin or
// piece sends the key, so only values the descriptor lists are accepted.
func operatorKeyConfig(d *catalog.Descriptor, cfg map[string]string) string {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if opts := d.Auth.ConnectionParamOptions[k]; len(opts) > 0 && slices.Contains(opts, cfg[k]) {
			continue
		}
		return fmt.Sprintf("config.%s cannot accompany the operator's key (%s_API_KEY), which is only sent to hosts the catalog fixes; "+
			"only values the catalog lists may (connection_param_options): pass your own key as config.api_key, or connect %s with your own key (POST /api/v1/connections/%s)",
			k, connect.EnvName(d.ID), d.ID, d.ID)
	}
	return ""
}

// configCredentials turns a pieces call's config into credentials.
func configCredentials(d *catalog.Descriptor, cfg map[string]string) provider.Credentials {
	kind := catalog.AuthCustom
	if d != nil && d.Auth.Kind == catalog.AuthNone {
		kind = catalog.AuthNone
	}
	return mergeConfig(provider.Credentials{Type: kind}, cfg)
}

func mergeConfig(c provider.Credentials, cfg map[string]string) provider.Credentials {
	fields := map[string]string{}
	params := map[string]string{}
	for k, v := range c.Fields {
		fields[k] = v
	}
	for k, v := range c.Params {
		params[k] = v
	}
	for k, v := range cfg {
		// A connection's own parameters and fields, checked when it was
		// made, win over a call's config: config cannot move a
		// connection's requests to another host.
		if _, set := fields[k]; !set {
			fields[k] = v
		}
		if _, set := params[k]; !set {
			params[k] = v
		}
		switch k {
		case "api_key", "apiKey":
			if c.APIKey == "" {
				c.APIKey = v
			}
		case "access_token", "accessToken":
			if c.AccessToken == "" {
				c.AccessToken = v
			}
		}
	}
	c.Fields, c.Params = fields, params
	return c
}

// execHost is the runtimes.Host of one execution.
type execHost struct {
	e                                *Engine
	tenant, provider, connID, execID string
	refreshed                        atomic.Bool
	// renewed: a refresh during this execution gave new credentials.
	renewed atomic.Bool
}

var _ runtimes.Host = (*execHost)(nil)

// Refresh forces one refresh of the execution's connection.
func (h *execHost) Refresh(ctx context.Context) (provider.Credentials, error) {
	if h.connID == "" {
		return provider.Credentials{}, errors.New("this execution has no stored connection to refresh")
	}
	if h.refreshed.Swap(true) {
		return provider.Credentials{}, errors.New("the connection was already refreshed once during this execution")
	}
	creds, err := h.e.cfg.Credentials.ForceRefresh(ctx, h.tenant, h.connID)
	if err == nil {
		h.renewed.Store(true)
	}
	return creds, err
}

// kvAD binds a store value to its tenant, provider and key.
func (h *execHost) kvAD(key string) vault.AD {
	return vault.AD{Table: "kv_store", Column: "value", TenantID: h.tenant, Provider: h.provider, RowID: key}
}

// StoreGet reads the tenant's store, scoped to the provider. Values are
// stored encrypted.
func (h *execHost) StoreGet(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	var ok bool
	err := h.e.cfg.Store.InTenant(ctx, h.tenant, func(tx store.Tx) error {
		var err error
		v, ok, err = tx.KVGet(ctx, h.provider, key)
		return err
	})
	if err != nil || !ok {
		return nil, ok, err
	}
	pt, err := h.e.cfg.Keyring.Open(v, h.kvAD(key))
	if err != nil {
		return nil, false, fmt.Errorf("store value %q: %w", key, err)
	}
	return pt, true, nil
}

// StorePut writes the tenant's store, scoped to the provider, sealed
// under the active key, within the store quota.
func (h *execHost) StorePut(ctx context.Context, key string, value []byte) error {
	ct, _, err := h.e.cfg.Keyring.Seal(value, h.kvAD(key))
	if err != nil {
		return err
	}
	return h.putWithinQuota(ctx, key, ct)
}

// Log records a plugin's log line with the execution's ids.
func (h *execHost) Log(ctx context.Context, level, msg string) {
	l := slog.LevelInfo
	switch level {
	case provider.LevelDebug:
		l = slog.LevelDebug
	case provider.LevelWarn:
		l = slog.LevelWarn
	case provider.LevelError:
		l = slog.LevelError
	}
	h.e.log.Log(ctx, l, msg, "source", "plugin", "execution_id", h.execID, "tenant_id", h.tenant, "provider", h.provider)
}

// Error is an API error with a status, a code and the input field at fault.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
	// RetryAfter, in seconds, is sent as Retry-After when set.
	RetryAfter int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func apiError(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}
