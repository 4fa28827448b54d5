package engine

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/store"
)

// StoreQuota bounds what plugins may keep in one tenant's store for one
// provider. The zero value of a field selects its default.
type StoreQuota struct {
	// MaxKeys bounds the number of keys. Default 1,000.
	MaxKeys int
	// MaxBytes bounds the keys and values as stored (sealed). Default
	// 16 MiB.
	MaxBytes int64
}

func (q StoreQuota) withDefaults() StoreQuota {
	if q.MaxKeys <= 0 {
		q.MaxKeys = 1000
	}
	if q.MaxBytes <= 0 {
		q.MaxBytes = 16 << 20
	}
	return q
}

// kvLocks serialise the quota check and write of each (tenant, provider)
// store in this process, so concurrent calls cannot pass one check
// together.
type kvLocks struct {
	mu [64]sync.Mutex
}

var kvSeed = maphash.MakeSeed()

func (l *kvLocks) lock(tenant, provider string) func() {
	m := &l.mu[maphash.String(kvSeed, tenant+"\x00"+provider)%uint64(len(l.mu))]
	m.Lock()
	return m.Unlock
}

// putWithinQuota writes key unless the store would exceed the quota; the
// error then wraps runtimes.ErrStoreQuota and says which bound.
func (h *execHost) putWithinQuota(ctx context.Context, key string, sealed []byte) error {
	q := h.e.cfg.StoreQuota.withDefaults()
	unlock := h.e.kv.lock(h.tenant, h.provider)
	defer unlock()
	return h.e.cfg.Store.InTenant(ctx, h.tenant, func(tx store.Tx) error {
		keys, bytes, err := tx.KVUsage(ctx, h.provider, key)
		if err != nil {
			return err
		}
		if keys+1 > q.MaxKeys {
			return fmt.Errorf("%w: the store of %s holds %d other keys, the limit is %d keys per tenant; overwrite a key instead of adding one",
				runtimes.ErrStoreQuota, h.provider, keys, q.MaxKeys)
		}
		if add := int64(len(key) + len(sealed)); bytes+add > q.MaxBytes {
			return fmt.Errorf("%w: the store of %s holds %d bytes, this value would take it to %d, the limit is %d bytes per tenant",
				runtimes.ErrStoreQuota, h.provider, bytes, bytes+add, q.MaxBytes)
		}
		return tx.KVPut(ctx, h.provider, key, sealed)
	})
}
