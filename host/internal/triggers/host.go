package triggers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/sdk/provider"
)

// callHost is the runtimes.Host of one trigger call: bound to its
// instance's tenant, provider and connection.
type callHost struct {
	e         *Engine
	ti        *store.TriggerInstance
	connID    string
	refreshed atomic.Bool
}

// Refresh forces one refresh of the connection (after a 401), through
// connect's lock like an action's.
func (h *callHost) Refresh(ctx context.Context) (provider.Credentials, error) {
	if h.connID == "" {
		return provider.Credentials{}, errors.New("this trigger call has no stored connection to refresh")
	}
	if h.refreshed.Swap(true) {
		return provider.Credentials{}, errors.New("the connection was already refreshed once during this call")
	}
	return h.e.cfg.Credentials.ForceRefresh(ctx, h.ti.TenantID, h.connID)
}

// StoreGet reads the tenant's plugin store, scoped to the provider, as
// actions do (values sealed under the same additional data).
func (h *callHost) StoreGet(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	var ok bool
	err := h.e.cfg.Store.InTenant(ctx, h.ti.TenantID, func(tx store.Tx) (err error) {
		v, ok, err = tx.KVGet(ctx, h.ti.Provider, key)
		return
	})
	if err != nil || !ok {
		return nil, ok, err
	}
	pt, err := h.e.cfg.Keyring.Open(v, vault.AD{Table: "kv_store", Column: "value", TenantID: h.ti.TenantID, Provider: h.ti.Provider, RowID: key})
	if err != nil {
		return nil, false, fmt.Errorf("store value %q: %w", key, err)
	}
	return pt, true, nil
}

// StorePut is refused: a trigger keeps its state in the poll state (or
// its registration), which the host bounds; the plugin store is written
// by actions, under their quota.
func (h *callHost) StorePut(context.Context, string, []byte) error {
	return errors.New("the plugin store is read-only during trigger calls; keep state in the poll state")
}

// Log records a plugin's log line with the instance's ids.
func (h *callHost) Log(ctx context.Context, level, msg string) {
	l := slog.LevelInfo
	switch level {
	case provider.LevelDebug:
		l = slog.LevelDebug
	case provider.LevelWarn:
		l = slog.LevelWarn
	case provider.LevelError:
		l = slog.LevelError
	}
	h.e.log.Log(ctx, l, msg, "source", "plugin", "trigger_id", h.ti.ID, "tenant_id", h.ti.TenantID, "provider", h.ti.Provider)
}
