package sqlcore

import (
	"strings"
	"sync"
	"time"

	"github.com/atomhq/atom/host/internal/store"
)

// APIKeyTTL is how long a looked-up API key row is reused before it is
// read again. A revocation in this process clears the cache at once; one
// made by another replica is seen within this time.
const APIKeyTTL = 5 * time.Second

// maxCachedKeys bounds the cache; past it the cache starts over.
const maxCachedKeys = 50_000

// KeyCache keeps API key rows found by LookupAPIKey for APIKeyTTL, so
// authenticated requests do not read the key table every time. It holds
// only what the table holds (the hash, never a key) and only keys that
// exist; callers still verify the presented key against the hash.
type KeyCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]keyEntry
	now func() time.Time
}

type keyEntry struct {
	k     store.APIKey
	until time.Time
}

// NewKeyCache returns an empty cache.
func NewKeyCache() *KeyCache {
	return &KeyCache{m: map[string]keyEntry{}, now: time.Now}
}

// Lookup returns the cached row of prefix or loads it; only found rows
// are cached, and a row loaded while the cache was cleared is not.
func (c *KeyCache) Lookup(prefix string, load func() (*store.APIKey, error)) (*store.APIKey, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[prefix]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		k := e.k
		return &k, nil
	}
	k, err := load()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		if len(c.m) >= maxCachedKeys {
			clear(c.m)
		}
		// The prefix may alias a request buffer; the map keeps its own copy.
		c.m[strings.Clone(prefix)] = keyEntry{k: *k, until: now.Add(APIKeyTTL)}
	}
	return k, nil
}

// Clear drops every entry (after a revocation).
func (c *KeyCache) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}
