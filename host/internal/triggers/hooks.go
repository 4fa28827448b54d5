package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/atomhq/atom/host/internal/connect"
	idgen "github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/sdk/provider"
)

// HookResult is what the host answers a provider's webhook request.
type HookResult struct {
	// Reply is the trigger's own answer (a challenge echo); nil: 200.
	Reply *provider.WebhookReply
	// Events is how many new events the request gave.
	Events int
}

// HandleHook handles a request a provider sent to a webhook instance's
// URL: the hook id picks the instance (by its hash, so an unknown id costs
// the same lookup as a known one), the trigger verifies the provider's
// signature and turns the request into events, and each item becomes an
// event once (by its stable id), whatever the number and order of the
// provider's retries. ErrUnknownHook for an id no active instance has;
// ErrBadSignature (counted) for a signature the trigger refused. What is
// read of the instance is reused for hookCacheTTL; the events are
// recorded only while the instance still takes them.
func (e *Engine) HandleHook(ctx context.Context, hookID string, req provider.WebhookRequest) (HookResult, error) {
	hash := HookHash(hookID)
	hk, err := e.hook(ctx, hash)
	if err != nil {
		return HookResult{}, err
	}
	ti, conn := hk.ti, hk.conn
	tr, _, err := e.implOf(ti.Provider, ti.Trigger)
	if err != nil {
		return HookResult{}, err
	}
	reg := withAppSecret(hk.reg, e.AppSecret(ti.Provider))
	// The trigger's Handle verifies the signature with the registration;
	// the connection's credentials come along as for every call, but a
	// connection needing re-auth does not stop a signed event.
	cr := provider.Credentials{}
	if conn != nil {
		var cerr error
		cr, cerr = e.credsOf(ctx, ti, conn)
		if cerr != nil {
			if _, ok := connect.AsError(cerr); !ok && !errors.Is(cerr, store.ErrNotFound) {
				return HookResult{}, cerr
			}
			cr, conn = provider.Credentials{}, nil
		}
	}
	res, err := e.callWith(ctx, tr, ti, conn, cr, provider.TriggerCall{Op: provider.TriggerOpHandle, Registration: reg, Webhook: &req})
	if err != nil {
		return HookResult{}, e.handleFailed(ti.Provider, err)
	}
	n, err := e.recordHook(ctx, ti, res.Events)
	if errors.Is(err, store.ErrNotFound) {
		// Disabled or deleted since it was read: the hook is dead.
		e.hooks.forget(hash)
		e.refused.WithLabelValues(ti.Provider, "unknown_hook").Inc()
		return HookResult{}, ErrUnknownHook
	}
	return HookResult{Reply: res.Reply, Events: n}, err
}

// hookCacheTTL is how long a replica reuses what it read of a webhook
// instance (the instance, its connection, its opened registration). The
// transaction recording the events checks that the instance still takes
// events, so a trigger disabled or deleted meanwhile records nothing.
const hookCacheTTL = 2 * time.Second

// maxHookCache bounds the instances cached; past it the cache starts
// over.
const maxHookCache = 10000

// hookEntry is what HandleHook reads of a webhook instance.
type hookEntry struct {
	ti   *store.TriggerInstance
	conn *store.Connection // nil: the connection is gone
	reg  []byte            // the registration, opened
	at   time.Time
}

// hookCache holds the webhook instances read recently, by hook hash.
// Only hooks that exist are kept: made-up ids cannot fill it.
type hookCache struct {
	mu sync.Mutex
	m  map[string]*hookEntry
	// known holds when each hook was last found active, for knownHookTTL.
	known map[string]time.Time
}

// knownHookTTL is how long a hook found active counts as known to
// KnownHook.
const knownHookTTL = time.Hour

// maxKnownHooks bounds the hooks KnownHook remembers; past it the set
// starts over.
const maxKnownHooks = 100000

// KnownHook reports whether a request for hookID found an active
// instance on this replica within the last hour. It proves nothing about
// the instance now (HandleHook still looks), and serves to keep
// answering the hooks in use when a client address is refused for
// flooding made-up ones.
func (e *Engine) KnownHook(hookID string) bool {
	hash := HookHash(hookID)
	c := &e.hooks
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.known[hash]
	return ok && time.Since(at) < knownHookTTL
}

func (c *hookCache) get(hash string, now time.Time) *hookEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h := c.m[hash]; h != nil && now.Sub(h.at) < hookCacheTTL {
		return h
	}
	return nil
}

func (c *hookCache) put(hash string, h *hookEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxHookCache {
		c.m = map[string]*hookEntry{}
	}
	c.m[hash] = h
	if c.known == nil || len(c.known) >= maxKnownHooks {
		c.known = map[string]time.Time{}
	}
	c.known[hash] = h.at
}

func (c *hookCache) forget(hash string) {
	c.mu.Lock()
	delete(c.m, hash)
	delete(c.known, hash)
	c.mu.Unlock()
}

func (c *hookCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// hook returns the webhook instance whose hook id hashes to hash, with its
// connection and opened registration: from the cache, or read in one
// transaction. ErrUnknownHook (counted) when no active webhook instance
// has it. The entry is shared: callers only read it.
func (e *Engine) hook(ctx context.Context, hash string) (*hookEntry, error) {
	if h := e.hooks.get(hash, time.Now()); h != nil {
		return h, nil
	}
	ref, err := e.sys().LookupTriggerHook(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		e.refused.WithLabelValues("", "unknown_hook").Inc()
		return nil, ErrUnknownHook
	}
	if err != nil {
		return nil, err
	}
	h := &hookEntry{at: time.Now()}
	err = e.in(ctx, ref.TenantID, func(tx store.Tx, tt store.TriggerTx) error {
		var err error
		if h.ti, err = tt.GetTrigger(ctx, ref.InstanceID); err != nil {
			return err
		}
		if h.conn, err = tx.GetConnectionByID(ctx, h.ti.ConnectionID); errors.Is(err, store.ErrNotFound) {
			h.conn, err = nil, nil
		}
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnknownHook
	}
	if err != nil {
		return nil, err
	}
	ti := h.ti
	if ti.Kind != provider.TriggerWebhook || ti.Status == store.TriggerDisabled || ti.Status == store.TriggerFailed {
		e.refused.WithLabelValues(ti.Provider, "unknown_hook").Inc()
		return nil, ErrUnknownHook
	}
	if h.reg, err = e.open(ti, "registration", ti.RegistrationCT); err != nil {
		return nil, fmt.Errorf("triggers: open registration of %s: %w", ti.ID, err)
	}
	e.hooks.put(hash, h)
	return h, nil
}

func (e *Engine) handleFailed(providerID string, err error) error {
	if errors.Is(err, provider.ErrInvalidSignature) {
		e.refused.WithLabelValues(providerID, "signature").Inc()
		e.log.Warn("webhook signature refused", "provider", providerID)
		return ErrBadSignature
	}
	return err
}

// recordHook records a webhook's items as events of ti; a concurrent
// request recording the same item first makes it retry once, and then
// find the item recorded.
func (e *Engine) recordHook(ctx context.Context, ti *store.TriggerInstance, items []provider.Event) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	if hr, ok := e.cfg.Store.(store.HookRecorder); ok {
		return e.recordHookGrouped(ctx, hr, ti, items)
	}
	var n int
	var err error
	for range 3 {
		var after []func()
		err = e.in(context.WithoutCancel(ctx), ti.TenantID, func(tx store.Tx, tt store.TriggerTx) error {
			var err error
			if after, n, err = e.record(ctx, tx, ti, items); err != nil || n == 0 {
				return err
			}
			return tt.TouchTriggerEvent(ctx, ti.ID, e.now())
		})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err == nil {
			for _, fn := range after {
				fn()
			}
			if n > 0 {
				e.events.WithLabelValues(ti.Provider, ti.Kind).Add(float64(n))
			}
		}
		return n, err
	}
	return 0, err
}

// recordHookGrouped is recordHook on a store that records webhook events
// in a group commit: the events of concurrent webhooks, across tenants,
// share one transaction. A delivery recorded with no earlier one of its
// source pending is leased to this replica as it is recorded, and its
// attempt starts at once from what the transaction returned.
func (e *Engine) recordHookGrouped(ctx context.Context, hr store.HookRecorder, ti *store.TriggerInstance, items []provider.Event) (int, error) {
	d := e.cfg.Delivery
	rec := &store.HookRecord{Source: ti.ID, Type: eventType(ti), Deliver: ti.Deliver, At: d.Now().UTC(), LeaseUntil: d.BirthLease()}
	rec.Items = make([]store.HookItem, 0, len(items))
	for _, it := range items {
		data, err := json.Marshal(eventData{TriggerID: ti.ID, Provider: ti.Provider, Trigger: ti.Trigger, ConnectionID: ti.ConnectionID,
			ItemID: it.ID, OccurredAt: it.OccurredAt, Payload: it.Payload})
		if err != nil {
			return 0, err
		}
		rec.Items = append(rec.Items, store.HookItem{Event: store.Event{ID: EventID(ti.ID, it.ID), Payload: data}, DeliveryID: idgen.New("dlv")})
	}
	var err error
	for range 3 {
		// A concurrent request recording the same item first makes it
		// try again, and then find the item recorded.
		if err = hr.RecordHookEvents(context.WithoutCancel(ctx), ti.TenantID, rec); !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	if err != nil {
		return 0, err
	}
	if !rec.Live {
		return 0, store.ErrNotFound
	}
	n := 0
	for i := range rec.Items {
		it := &rec.Items[i]
		if !it.Recorded {
			continue
		}
		n++
		if it.Delivery != nil {
			d.Recorded(ti.TenantID, rec.Tenant, &it.Event, it.Delivery, it.Leased)
		}
	}
	if n > 0 {
		e.events.WithLabelValues(ti.Provider, ti.Kind).Add(float64(n))
	}
	return n, nil
}

// AppSecret is the signing secret of a provider's app webhooks, from the
// operator's configuration: {PROVIDER}_WEBHOOK_SECRET, else
// {PROVIDER}_SIGNING_SECRET.
func (e *Engine) AppSecret(providerID string) string {
	name := connect.EnvName(providerID)
	for _, k := range []string{name + "_WEBHOOK_SECRET", name + "_SIGNING_SECRET"} {
		if v := strings.TrimSpace(e.cfg.Env(k)); v != "" {
			return v
		}
	}
	return ""
}

// HandleAppHook handles a request sent to a provider's one app webhook
// URL: the trigger's Route names the provider account, and every active
// app webhook instance of that account (in whichever tenant connected it)
// handles the request, verifying its signature with the operator's
// signing secret. A request Route cannot place (a URL verification
// challenge) is handled once without a tenant, for its reply.
func (e *Engine) HandleAppHook(ctx context.Context, providerID string, req provider.WebhookRequest) (HookResult, error) {
	impl, ok := e.cfg.Resolver.Resolve(providerID)
	var app []provider.Trigger
	if ok {
		for _, t := range impl.Manifest().Triggers {
			if t.Kind == provider.TriggerAppWebhook {
				app = append(app, t)
			}
		}
	}
	if len(app) == 0 {
		return HookResult{}, ErrUnknownHook
	}
	tr, _, err := e.implOf(providerID, app[0].Name)
	if err != nil {
		return HookResult{}, err
	}
	secret := e.AppSecret(providerID)
	if secret == "" {
		return HookResult{}, fail(http.StatusServiceUnavailable, "not_configured",
			"app webhooks of %s need the app's signing secret: set %s_WEBHOOK_SECRET on the host", providerID, connect.EnvName(providerID))
	}
	reg, _ := json.Marshal(map[string]string{"signing_secret": secret})
	rt, err := tr.Trigger(ctx, provider.TriggerCall{Op: provider.TriggerOpRoute, Webhook: &req}, nil)
	account := rt.Route
	if err != nil || account == "" {
		// Nobody's account: a verification request of the app itself.
		ti := &store.TriggerInstance{Provider: providerID, Trigger: app[0].Name}
		res, err := e.callWith(ctx, tr, ti, nil, provider.Credentials{}, provider.TriggerCall{Op: provider.TriggerOpHandle, Registration: reg, Webhook: &req})
		if err != nil {
			return HookResult{}, e.handleFailed(providerID, err)
		}
		if res.Reply == nil {
			return HookResult{}, fail(http.StatusBadRequest, "unroutable", "the request names no %s account this host knows", providerID)
		}
		return HookResult{Reply: res.Reply}, nil
	}
	refs, err := e.sys().AppTriggers(ctx, providerID, account, MaxAppFanout)
	if err != nil {
		return HookResult{}, err
	}
	out := HookResult{}
	for _, r := range refs {
		ti, err := e.Get(ctx, r.TenantID, r.InstanceID)
		if err != nil {
			continue
		}
		cr, conn, cerr := e.creds(ctx, ti)
		if cerr != nil {
			cr, conn = provider.Credentials{}, nil
		}
		res, err := e.callWith(ctx, tr, ti, conn, cr, provider.TriggerCall{Op: provider.TriggerOpHandle, Registration: reg, Webhook: &req})
		if err != nil {
			if errors.Is(err, provider.ErrInvalidSignature) {
				return HookResult{}, e.handleFailed(providerID, err) // the same secret for all: refused once
			}
			e.log.Warn("app webhook not handled for an instance", "tenant_id", ti.TenantID, "trigger_id", ti.ID, "err", err.Error())
			continue
		}
		if out.Reply == nil {
			out.Reply = res.Reply
		}
		n, err := e.recordHook(ctx, ti, res.Events)
		if err != nil {
			return out, err // the provider retries; recorded items are not recorded twice
		}
		out.Events += n
	}
	if len(refs) == 0 {
		e.log.Log(ctx, slog.LevelDebug, "app webhook for an account with no trigger", "provider", providerID)
	}
	return out, nil
}
