package triggers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/delivery"
	idgen "github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/inputschema"
	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/sdk/provider"
)

// Defaults of Config.
const (
	DefaultInterval     = 5 * time.Minute
	DefaultMinInterval  = time.Minute
	DefaultScheduleTick = time.Second
	DefaultClaimBatch   = 500
	DefaultTimeout      = 60 * time.Second
	// DefaultProviderRate is how many polls per second one provider gets
	// across the tenants and the replicas (its burst: the same number).
	DefaultProviderRate = 20
	// MaxInstancesPerTenant bounds a tenant's trigger instances.
	MaxInstancesPerTenant = 1000
	// MaxAppFanout bounds the instances one app webhook request reaches.
	MaxAppFanout = 100
)

// Errors the API maps to statuses.
var (
	// ErrUnknownHook: no instance has this hook id (404).
	ErrUnknownHook = errors.New("no trigger has this hook URL")
	// ErrBadSignature: the trigger refused the request's signature (401).
	ErrBadSignature = errors.New("the webhook signature is missing, forged or stale")
)

// Error is a refusal with its HTTP status, a code and the field at fault.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func fail(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Credentials supplies a connection's credentials through the path
// actions use (refresh under connect's lock). *connect.Service satisfies
// it.
type Credentials interface {
	Credentials(ctx context.Context, tenantID, userID, providerID string) (provider.Credentials, *store.Connection, error)
	ForceRefresh(ctx context.Context, tenantID, connectionID string) (provider.Credentials, error)
}

// Resolver finds the implementation serving a provider. *registry.Registry
// satisfies it.
type Resolver interface {
	Resolve(id string) (runtimes.Implementation, bool)
}

// Queue inserts poll jobs. *jobs.Client satisfies it.
type Queue interface {
	InsertMany(ctx context.Context, params []river.InsertManyParams) error
}

// Config configures an Engine. Store, Keyring, Resolver, Credentials and
// Delivery are required.
type Config struct {
	Store       store.Store
	Keyring     *vault.Keyring
	Resolver    Resolver
	Credentials Credentials
	Delivery    *delivery.Service
	// BaseURL resolves a provider's API base URL for a connection's
	// credentials (generic.BaseURLs).
	BaseURL runtimes.BaseURLFunc
	// PublicURL is the host's external base URL; hook URLs are
	// PublicURL + /api/v1/hooks/{hook id}.
	PublicURL string
	// Env reads the app webhook secrets ({PROVIDER}_WEBHOOK_SECRET or
	// {PROVIDER}_SIGNING_SECRET).
	Env     func(string) string
	Logger  *slog.Logger
	Metrics prometheus.Registerer
	// DefaultInterval is a polling instance's interval when it asks for
	// none; MinInterval is the floor of any interval.
	DefaultInterval, MinInterval time.Duration
	// ScheduleTick is how often the scheduler claims due instances.
	ScheduleTick time.Duration
	// ClaimBatch bounds the instances one claim takes.
	ClaimBatch int
	// Timeout bounds one trigger call.
	Timeout time.Duration
	// ProviderRate is the polls per second one provider gets across the
	// replicas sharing the database (burst: the same number, at least
	// 1); ProviderRates overrides it by provider id.
	ProviderRate  float64
	ProviderRates map[string]float64
	Clock         func() time.Time
}

// Engine runs trigger instances: it creates and removes them, polls them
// on River and turns provider webhooks into events. Safe for concurrent
// use.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	inputs inputschema.Checker

	mu    sync.RWMutex
	queue Queue
	hooks hookCache // webhook instances read recently (hooks.go)

	refused *prometheus.CounterVec
	polls   *prometheus.CounterVec
	events  *prometheus.CounterVec
}

// New returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Keyring == nil || cfg.Resolver == nil || cfg.Credentials == nil || cfg.Delivery == nil {
		return nil, errors.New("triggers: Store, Keyring, Resolver, Credentials and Delivery are required")
	}
	if _, ok := cfg.Store.(store.TriggerStore); !ok {
		return nil, errors.New("triggers: the store has no trigger instances")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MinInterval <= 0 {
		cfg.MinInterval = DefaultMinInterval
	}
	if cfg.DefaultInterval <= 0 {
		cfg.DefaultInterval = DefaultInterval
	}
	cfg.DefaultInterval = max(cfg.DefaultInterval, cfg.MinInterval)
	if cfg.ScheduleTick <= 0 {
		cfg.ScheduleTick = DefaultScheduleTick
	}
	if cfg.ClaimBatch <= 0 {
		cfg.ClaimBatch = DefaultClaimBatch
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ProviderRate <= 0 {
		cfg.ProviderRate = DefaultProviderRate
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Env == nil {
		cfg.Env = func(string) string { return "" }
	}
	for id, r := range cfg.ProviderRates {
		if r <= 0 {
			return nil, fmt.Errorf("triggers: the poll rate of %q must be positive", id)
		}
	}
	e := &Engine{cfg: cfg, log: slog.New(outbound.NewRedactingHandler(cfg.Logger.Handler())).With("component", "triggers")}
	e.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atom_trigger_webhooks_refused_total", Help: "Provider webhook requests refused, by provider and reason (signature, unknown_hook).",
	}, []string{"provider", "reason"})
	e.polls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atom_trigger_polls_total", Help: "Polls of trigger instances by provider and outcome.",
	}, []string{"provider", "outcome"})
	e.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atom_trigger_events_total", Help: "Events recorded from triggers by provider and kind.",
	}, []string{"provider", "kind"})
	if cfg.Metrics != nil {
		for _, c := range []prometheus.Collector{e.refused, e.polls, e.events} {
			if err := cfg.Metrics.Register(c); err != nil {
				return nil, fmt.Errorf("triggers: register metrics: %w", err)
			}
		}
	}
	return e, nil
}

// SetQueue sets the job queue (its workers need the Engine first).
func (e *Engine) SetQueue(q Queue) {
	e.mu.Lock()
	e.queue = q
	e.mu.Unlock()
}

func (e *Engine) q() Queue {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.queue
}

func (e *Engine) now() time.Time { return e.cfg.Clock().UTC() }

func (e *Engine) sys() store.TriggerStore { return e.cfg.Store.(store.TriggerStore) }

// in runs fn in a tenant transaction with its trigger statements.
func (e *Engine) in(ctx context.Context, tenant string, fn func(tx store.Tx, tt store.TriggerTx) error) error {
	return e.cfg.Store.InTenant(ctx, tenant, func(tx store.Tx) error {
		tt, ok := tx.(store.TriggerTx)
		if !ok {
			return errors.New("triggers: the store's transactions have no trigger statements")
		}
		return fn(tx, tt)
	})
}

// HookHash is the hex SHA-256 of a hook id: only it is stored, so a
// lookup by it reveals nothing of other ids and no stored value is a
// usable URL.
func HookHash(hookID string) string {
	sum := sha256.Sum256([]byte(hookID))
	return hex.EncodeToString(sum[:])
}

// newHookID returns an unguessable hook id (256 random bits).
func newHookID() string { return "hk_" + idgen.Random(32) }

// EventID is the id of the event an instance records for a provider item:
// the same for every delivery of the item (a webhook sent three times, a
// poll seeing it again), so a re-delivered item is not a new event.
func EventID(instanceID, itemID string) string {
	sum := sha256.Sum256([]byte(instanceID + "\x00" + itemID))
	return "evt_t" + hex.EncodeToString(sum[:20])
}

func sealAD(ti *store.TriggerInstance, column string) vault.AD {
	return vault.AD{Table: "trigger_instances", Column: column, TenantID: ti.TenantID, Provider: ti.Provider, RowID: ti.ID}
}

func (e *Engine) seal(ti *store.TriggerInstance, column string, v []byte) ([]byte, error) {
	if len(v) == 0 {
		return nil, nil
	}
	ct, _, err := e.cfg.Keyring.Seal(v, sealAD(ti, column))
	return ct, err
}

func (e *Engine) open(ti *store.TriggerInstance, column string, ct []byte) ([]byte, error) {
	if len(ct) == 0 {
		return nil, nil
	}
	return e.cfg.Keyring.Open(ct, sealAD(ti, column))
}

// implOf returns the implementation serving provider's triggers and the
// trigger named.
func (e *Engine) implOf(providerID, name string) (runtimes.Triggers, provider.Trigger, error) {
	impl, ok := e.cfg.Resolver.Resolve(providerID)
	if !ok {
		return nil, provider.Trigger{}, fail(http.StatusNotFound, "unknown_provider", "no plugin or piece serving %q is loaded", providerID)
	}
	tr, ok := impl.(runtimes.Triggers)
	m := impl.Manifest()
	var names []string
	for _, t := range m.Triggers {
		if ok && t.Name == name {
			return tr, t, nil
		}
		names = append(names, t.Name)
	}
	if !ok || len(names) == 0 {
		return nil, provider.Trigger{}, fail(http.StatusNotFound, "unknown_trigger", "provider %q has no triggers that run here", providerID)
	}
	slices.Sort(names)
	return nil, provider.Trigger{}, fail(http.StatusNotFound, "unknown_trigger", "provider %q has no trigger %q (it offers: %s)", providerID, name, strings.Join(names, ", "))
}

// CreateRequest asks for a trigger instance.
type CreateRequest struct {
	TenantID string
	// ConnectionID names the connection; when empty, the tenant-wide
	// connection (or UserID's) to Provider.
	ConnectionID, Provider, UserID string
	Trigger                        string
	Input                          json.RawMessage
	// Deliver: events go to the tenant's webhook URL too (default true).
	Deliver *bool
	// IntervalSeconds is a polling instance's interval (0: the default).
	IntervalSeconds int
}

// Created is a new instance and, for a webhook instance, its hook URL
// (shown once: only its hash is kept).
type Created struct {
	Instance *store.TriggerInstance
	HookURL  string
}

// Create validates req, registers a webhook instance's URL with the
// provider (Enable) and stores the instance; a polling instance is
// polled at once, then every interval.
func (e *Engine) Create(ctx context.Context, req CreateRequest) (*Created, error) {
	var conn *store.Connection
	var count int
	err := e.in(ctx, req.TenantID, func(tx store.Tx, tt store.TriggerTx) error {
		var err error
		if req.ConnectionID != "" {
			conn, err = tx.GetConnectionByID(ctx, req.ConnectionID)
		} else {
			conn, err = tx.GetConnection(ctx, req.Provider, req.UserID)
		}
		if err != nil {
			return err
		}
		list, err := tt.ListTriggers(ctx, "", MaxInstancesPerTenant)
		count = len(list)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		if req.ConnectionID != "" {
			return nil, &Error{Status: http.StatusNotFound, Code: "connection_not_found", Field: "connection_id",
				Message: fmt.Sprintf("no connection %q; list yours with GET /api/v1/connections", req.ConnectionID)}
		}
		return nil, &Error{Status: http.StatusNotFound, Code: "provider_not_connected", Field: "provider",
			Message: fmt.Sprintf("%q is not connected; connect it first (POST /api/v1/connections/%s) or name a connection_id", req.Provider, req.Provider)}
	}
	if err != nil {
		return nil, err
	}
	if req.Provider != "" && req.Provider != conn.Provider {
		return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_input", Field: "provider",
			Message: fmt.Sprintf("connection %s is a connection to %q, not %q", conn.ID, conn.Provider, req.Provider)}
	}
	if count >= MaxInstancesPerTenant {
		return nil, fail(http.StatusTooManyRequests, "too_many_triggers", "a tenant has at most %d trigger instances; delete one first", MaxInstancesPerTenant)
	}
	tr, spec, err := e.implOf(conn.Provider, req.Trigger)
	if err != nil {
		return nil, err
	}
	input, err := e.validate(spec, req.Input)
	if err != nil {
		return nil, err
	}
	now := e.now()
	ti := &store.TriggerInstance{ID: idgen.New("trg"), TenantID: req.TenantID, ConnectionID: conn.ID, Provider: conn.Provider,
		Trigger: spec.Name, Kind: spec.Kind, Input: input, Deliver: req.Deliver == nil || *req.Deliver, Status: store.TriggerActive, CreatedAt: now}
	out := &Created{Instance: ti}
	switch spec.Kind {
	case provider.TriggerPolling:
		iv, err := e.interval(req.IntervalSeconds)
		if err != nil {
			return nil, err
		}
		ti.IntervalSeconds = int(iv / time.Second)
		ti.NextPollAt = &now
	case provider.TriggerWebhook:
		if req.IntervalSeconds != 0 {
			return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_input", Field: "interval_seconds",
				Message: "interval_seconds applies to polling triggers only; " + spec.Name + " is a webhook trigger"}
		}
		hookID := newHookID()
		ti.HookHash = HookHash(hookID)
		out.HookURL = strings.TrimRight(e.cfg.PublicURL, "/") + "/api/v1/hooks/" + hookID
		res, err := e.call(ctx, tr, ti, provider.TriggerCall{Op: provider.TriggerOpEnable, WebhookURL: out.HookURL})
		if err != nil {
			return nil, e.callRefusal("enable", err)
		}
		if ti.RegistrationCT, err = e.seal(ti, "registration", res.Registration); err != nil {
			e.disable(context.WithoutCancel(ctx), tr, ti, res.Registration)
			return nil, err
		}
		defer func() {
			if out == nil {
				e.disable(context.WithoutCancel(ctx), tr, ti, res.Registration)
			}
		}()
	case provider.TriggerAppWebhook:
		if req.IntervalSeconds != 0 {
			return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_input", Field: "interval_seconds",
				Message: "interval_seconds applies to polling triggers only; " + spec.Name + " is an app webhook trigger"}
		}
		ti.Account = AccountOf(conn)
		if ti.Account == "" {
			return nil, fail(http.StatusBadRequest, "no_account", "connection %s has no provider account (team, workspace) from %s's token response to route its app webhooks by; connect %s through its OAuth flow", conn.ID, conn.Provider, conn.Provider)
		}
	}
	if err := e.in(ctx, req.TenantID, func(_ store.Tx, tt store.TriggerTx) error { return tt.CreateTrigger(ctx, ti) }); err != nil {
		out = nil
		return nil, err
	}
	e.log.Info("trigger created", "tenant_id", ti.TenantID, "trigger_id", ti.ID, "provider", ti.Provider, "trigger", ti.Trigger, "kind", ti.Kind)
	return out, nil
}

// AccountOf is the provider account (team, workspace, shop) a connection
// belongs to, as the provider said in its token response (the
// descriptor's token_metadata). Parameters a tenant typed in are not
// trusted: naming another tenant's account there would route that
// account's events to it.
func AccountOf(c *store.Connection) string {
	for _, k := range []string{"account_id", "team_id", "team.id", "workspace_id", "workspace.id", "shop", "company_id", "realmId"} {
		if v := c.Metadata[k]; v != "" {
			return v
		}
	}
	return ""
}

func (e *Engine) interval(seconds int) (time.Duration, error) {
	if seconds == 0 {
		return e.cfg.DefaultInterval, nil
	}
	iv := time.Duration(seconds) * time.Second
	if seconds < 0 || iv < e.cfg.MinInterval || iv > 7*24*time.Hour {
		return 0, &Error{Status: http.StatusBadRequest, Code: "invalid_input", Field: "interval_seconds",
			Message: fmt.Sprintf("interval_seconds must be from %d to %d", int(e.cfg.MinInterval/time.Second), 7*24*3600)}
	}
	return iv, nil
}

// callRefusal turns a failed create-time call into an answer.
func (e *Engine) callRefusal(op string, err error) error {
	var te *Error
	var ce *connect.Error
	switch {
	case errors.As(err, &te), errors.As(err, &ce):
		return err
	case errors.Is(err, runtimes.ErrTriggerFailed):
		return fail(http.StatusBadGateway, "trigger_failed", "the provider refused to %s the trigger: %s", op, outbound.Redact(err.Error()))
	case store.Unavailable(err):
		return err
	}
	return fail(http.StatusBadGateway, "plugin_unavailable", "the trigger could not be %sd: %s", op, outbound.Redact(err.Error()))
}

// creds returns the credentials of an instance's connection through the
// path actions use (waiting for a refresh in flight), and the connection.
func (e *Engine) creds(ctx context.Context, ti *store.TriggerInstance) (provider.Credentials, *store.Connection, error) {
	var conn *store.Connection
	err := e.in(ctx, ti.TenantID, func(tx store.Tx, _ store.TriggerTx) (err error) {
		conn, err = tx.GetConnectionByID(ctx, ti.ConnectionID)
		return
	})
	if err != nil {
		return provider.Credentials{}, nil, err
	}
	cr, err := e.credsOf(ctx, ti, conn)
	return cr, conn, err
}

// credsOf returns the credentials of conn, ti's connection read already.
func (e *Engine) credsOf(ctx context.Context, ti *store.TriggerInstance, conn *store.Connection) (provider.Credentials, error) {
	cr, c, err := e.cfg.Credentials.Credentials(ctx, ti.TenantID, conn.UserID, conn.Provider)
	if err == nil && c != nil && c.ID != conn.ID {
		err = store.ErrNotFound // replaced by another connection meanwhile
	}
	return cr, err
}

// call runs one trigger operation for ti with its connection's
// credentials.
func (e *Engine) call(ctx context.Context, tr runtimes.Triggers, ti *store.TriggerInstance, call provider.TriggerCall) (provider.TriggerResult, error) {
	cr, conn, err := e.creds(ctx, ti)
	if err != nil {
		return provider.TriggerResult{}, err
	}
	return e.callWith(ctx, tr, ti, conn, cr, call)
}

func (e *Engine) callWith(ctx context.Context, tr runtimes.Triggers, ti *store.TriggerInstance, conn *store.Connection, cr provider.Credentials, call provider.TriggerCall) (provider.TriggerResult, error) {
	call.TriggerRequest = provider.TriggerRequest{ExecutionID: idgen.New("tcl"), TenantID: ti.TenantID, Trigger: ti.Trigger, Input: ti.Input, Credentials: cr}
	if e.cfg.BaseURL != nil {
		base, err := e.cfg.BaseURL(ti.Provider, cr, false)
		if runtimes.Refused(err) {
			return provider.TriggerResult{}, err
		}
		call.BaseURL = base
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	h := &callHost{e: e, ti: ti}
	if conn != nil {
		h.connID = conn.ID
	}
	return tr.Trigger(ctx, call, h)
}

// disable unregisters a webhook instance's registration; failures are
// logged.
func (e *Engine) disable(ctx context.Context, tr runtimes.Triggers, ti *store.TriggerInstance, reg json.RawMessage) bool {
	if _, err := e.call(ctx, tr, ti, provider.TriggerCall{Op: provider.TriggerOpDisable, Registration: reg}); err != nil {
		e.log.Warn("trigger webhook not unregistered", "tenant_id", ti.TenantID, "trigger_id", ti.ID, "provider", ti.Provider, "err", err.Error())
		return false
	}
	return true
}

// Get returns an instance of the tenant (store.ErrNotFound when it is
// not the tenant's).
func (e *Engine) Get(ctx context.Context, tenant, id string) (*store.TriggerInstance, error) {
	var ti *store.TriggerInstance
	err := e.in(ctx, tenant, func(_ store.Tx, tt store.TriggerTx) (err error) { ti, err = tt.GetTrigger(ctx, id); return })
	return ti, err
}

// List lists the tenant's instances, newest first (a connection's when
// connectionID is set).
func (e *Engine) List(ctx context.Context, tenant, connectionID string, limit int) ([]store.TriggerInstance, error) {
	var out []store.TriggerInstance
	err := e.in(ctx, tenant, func(_ store.Tx, tt store.TriggerTx) (err error) {
		out, err = tt.ListTriggers(ctx, connectionID, limit)
		return
	})
	return out, err
}

// Delete removes an instance, unregistering a webhook instance's URL at
// the provider first (Disable). It reports whether the registration was
// removed (true when there was none).
func (e *Engine) Delete(ctx context.Context, tenant, id string) (bool, error) {
	ti, err := e.Get(ctx, tenant, id)
	if err != nil {
		return false, err
	}
	removed := e.unregister(ctx, ti)
	err = e.in(ctx, tenant, func(_ store.Tx, tt store.TriggerTx) error { return tt.DeleteTrigger(ctx, id) })
	e.hooks.clear()
	if err == nil {
		e.log.Info("trigger deleted", "tenant_id", tenant, "trigger_id", id, "unregistered", removed)
	}
	return removed, err
}

// unregister calls Disable for a webhook instance still registered.
func (e *Engine) unregister(ctx context.Context, ti *store.TriggerInstance) bool {
	if ti.Kind != provider.TriggerWebhook || len(ti.RegistrationCT) == 0 {
		return true
	}
	reg, err := e.open(ti, "registration", ti.RegistrationCT)
	if err != nil {
		e.log.Warn("trigger registration unreadable", "trigger_id", ti.ID, "err", err.Error())
		return false
	}
	tr, _, err := e.implOf(ti.Provider, ti.Trigger)
	if err != nil {
		return false
	}
	return e.disable(ctx, tr, ti, reg)
}

// ConnectionRemoved disables the instances of a connection about to be
// deleted, unregistering their webhooks while its credentials still
// exist. connect calls it before the deletion.
func (e *Engine) ConnectionRemoved(ctx context.Context, c *store.Connection) {
	defer e.hooks.clear()
	list, err := e.List(ctx, c.TenantID, c.ID, MaxInstancesPerTenant)
	if err != nil {
		e.log.Error("triggers of a deleted connection not disabled", "tenant_id", c.TenantID, "connection_id", c.ID, "err", err.Error())
		return
	}
	for i := range list {
		ti := &list[i]
		if ti.Status == store.TriggerDisabled {
			continue
		}
		e.unregister(ctx, ti)
		ti.Status, ti.LastError, ti.RegistrationCT, ti.HookHash, ti.NextPollAt = store.TriggerDisabled, "the connection was deleted", nil, "", nil
		if err := e.in(ctx, c.TenantID, func(_ store.Tx, tt store.TriggerTx) error { return tt.UpdateTrigger(ctx, ti, "") }); err != nil {
			e.log.Error("trigger not disabled", "tenant_id", c.TenantID, "trigger_id", ti.ID, "err", err.Error())
		}
	}
}

// ConnectionChanged follows a connection's status: a revoked, expired or
// failed connection marks its active instances needs_reauth; an active
// one makes them active again.
func (e *Engine) ConnectionChanged(ctx context.Context, c *store.Connection) {
	defer e.hooks.clear()
	from, to := store.TriggerActive, store.TriggerNeedsReauth
	if c.Status == store.StatusActive {
		from, to = store.TriggerNeedsReauth, store.TriggerActive
	}
	list, err := e.List(ctx, c.TenantID, c.ID, MaxInstancesPerTenant)
	if err != nil {
		e.log.Error("triggers of a connection not updated", "tenant_id", c.TenantID, "connection_id", c.ID, "err", err.Error())
		return
	}
	for i := range list {
		ti := &list[i]
		if ti.Status != from {
			continue
		}
		ti.Status, ti.LastError = to, ""
		if to == store.TriggerNeedsReauth {
			ti.LastError = "the connection needs re-authorization (" + c.Status + ")"
		}
		if err := e.in(ctx, c.TenantID, func(_ store.Tx, tt store.TriggerTx) error { return tt.UpdateTrigger(ctx, ti, "") }); err != nil && !errors.Is(err, store.ErrNotFound) {
			e.log.Error("trigger status not updated", "tenant_id", c.TenantID, "trigger_id", ti.ID, "err", err.Error())
		}
	}
}

// record appends the events of items not recorded yet for ti (by their
// stable ids) in tx; it returns the functions to run after the commit
// and how many events it recorded.
func (e *Engine) record(ctx context.Context, tx store.Tx, ti *store.TriggerInstance, items []provider.Event) ([]func(), int, error) {
	var after []func()
	n := 0
	typ := eventType(ti)
	for _, it := range items {
		id := EventID(ti.ID, it.ID)
		if _, err := tx.GetEvent(ctx, id); err == nil {
			continue // recorded already: the provider sent it again
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, 0, err
		}
		data, err := json.Marshal(eventData{TriggerID: ti.ID, Provider: ti.Provider, Trigger: ti.Trigger, ConnectionID: ti.ConnectionID,
			ItemID: it.ID, OccurredAt: it.OccurredAt, Payload: it.Payload})
		if err != nil {
			return nil, 0, err
		}
		fn, err := e.cfg.Delivery.Append(ctx, tx, &store.Event{ID: id, Source: ti.ID, Type: typ, Payload: data}, ti.Deliver)
		if err != nil {
			return nil, 0, err
		}
		after = append(after, fn)
		n++
	}
	return after, n, nil
}

// eventType is the type of an instance's events: provider.trigger,
// clipped to what the store keeps.
func eventType(ti *store.TriggerInstance) string {
	typ := ti.Provider + "." + ti.Trigger
	if len(typ) > store.MaxEventType {
		typ = typ[:store.MaxEventType]
	}
	return typ
}

// eventData is the data of a trigger's event.
type eventData struct {
	TriggerID    string          `json:"trigger_id"`
	Provider     string          `json:"provider"`
	Trigger      string          `json:"trigger"`
	ConnectionID string          `json:"connection_id,omitempty"`
	ItemID       string          `json:"item_id"`
	OccurredAt   time.Time       `json:"occurred_at,omitzero"`
	Payload      json.RawMessage `json:"payload"`
}

// validate checks input against the trigger's input schema and returns
// it compacted ({} when empty).
func (e *Engine) validate(t provider.Trigger, input json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(input)) == 0 {
		input = json.RawMessage("{}")
	}
	var refusal *inputschema.Refusal
	if err := e.inputs.Check(t.Input, input); errors.As(err, &refusal) {
		return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_input", Field: refusal.Field, Message: refusal.Message}
	} else if err != nil {
		e.log.Warn("trigger input schema does not compile; input not validated", "trigger", t.Name, "err", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, input); err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_input", Field: "input", Message: "input is not valid JSON"}
	}
	return buf.Bytes(), nil
}

// jitter returns d plus up to a tenth more, at random: polls spread out
// and never come closer than the interval.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(mathrand.Int64N(int64(d)/10+1))
}

// rateOf is the polls per second and the burst provider gets.
func (e *Engine) rateOf(providerID string) (every time.Duration, burst int) {
	r := e.cfg.ProviderRate
	if x, ok := e.cfg.ProviderRates[providerID]; ok {
		r = x
	}
	return max(time.Duration(float64(time.Second)/r), time.Microsecond), max(1, int(r))
}
