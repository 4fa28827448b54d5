package provider

import (
	"context"
	"fmt"
)

// StoreCached returns the value kept under key in the execution's host
// store, or, when there is none, calls load, keeps its result under key and
// returns it. It suits values looked up once per connection, such as a
// tenant or site id an API needs on every call (Xero's tenant id, Atlassian's
// cloudId). An empty value counts as absent (see StoreForget). The store is
// a cache: when the host has no store or a store call fails, the loaded
// value is still returned. An error from load is returned as is and nothing
// is kept.
func StoreCached(ctx context.Context, key string, load func(context.Context) ([]byte, error)) ([]byte, error) {
	h := HostFrom(ctx)
	if v, ok, err := h.StoreGet(ctx, key); err == nil && ok && len(v) > 0 {
		return v, nil
	}
	v, err := load(ctx)
	if err != nil {
		return nil, err
	}
	if len(v) == 0 {
		return nil, fmt.Errorf("provider: lookup for %q returned nothing", key)
	}
	if perr := h.StorePut(ctx, key, v); perr != nil && perr != ErrNoHost {
		h.Log(ctx, LevelWarn, fmt.Sprintf("provider: keep %q in store: %v", key, perr))
	}
	return v, nil
}

// StoreForget clears key in the execution's host store, so that the next
// StoreCached for key loads it again (for example after the API rejected a
// cached id).
func StoreForget(ctx context.Context, key string) error {
	return HostFrom(ctx).StorePut(ctx, key, nil)
}
