package connect

import (
	"maps"
	"sync"
	"time"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/sdk/provider"
)

// credCache keeps the decrypted credentials of recently used connections
// for Config.CredentialCacheTTL, so back-to-back executions skip the
// database read and the decryption. Entries are dropped in this process
// the moment the connection is saved, refreshed or disconnected here;
// another replica's change is seen at the latest when the entry expires,
// which is why the TTL is short. A token that needs refreshing is never
// served from the cache.
type credCache struct {
	mu     sync.Mutex
	byKey  map[string]*credEntry
	byConn map[string]string // connection id → key
	// gen counts invalidations: an entry read from the database before an
	// invalidation is not stored after it.
	gen uint64
}

type credEntry struct {
	conn  store.Connection
	creds provider.Credentials
	until time.Time
}

func newCredCache() *credCache {
	return &credCache{byKey: map[string]*credEntry{}, byConn: map[string]string{}}
}

func cacheKey(tenantID, userID, providerID string) string {
	return tenantID + "\x00" + userID + "\x00" + providerID
}

// get returns a copy of the cached entry if it is still valid at now.
func (c *credCache) get(key string, now time.Time) (provider.Credentials, *store.Connection, bool) {
	c.mu.Lock()
	e, ok := c.byKey[key]
	c.mu.Unlock()
	if !ok || !now.Before(e.until) {
		return provider.Credentials{}, nil, false
	}
	conn := e.conn
	conn.Metadata, conn.Params = maps.Clone(e.conn.Metadata), maps.Clone(e.conn.Params)
	cr := e.creds
	cr.Fields, cr.Metadata, cr.Params = cloneMap(e.creds.Fields), cloneMap(e.creds.Metadata), cloneMap(e.creds.Params)
	return cr, &conn, true
}

// generation returns the invalidation count to pass to put.
func (c *credCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put stores an entry read from the database after generation returned
// gen, unless an invalidation happened since.
func (c *credCache) put(gen uint64, key string, conn *store.Connection, creds provider.Credentials, until time.Time) {
	e := &credEntry{conn: *conn, creds: creds, until: until}
	e.conn.Metadata, e.conn.Params = maps.Clone(conn.Metadata), maps.Clone(conn.Params)
	e.creds.Fields, e.creds.Metadata, e.creds.Params = cloneMap(creds.Fields), cloneMap(creds.Metadata), cloneMap(creds.Params)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.byKey) >= maxCachedCredentials {
		c.sweep(time.Now())
		if len(c.byKey) >= maxCachedCredentials {
			clear(c.byKey)
			clear(c.byConn)
		}
	}
	c.byKey[key] = e
	c.byConn[conn.ID] = key
}

// sweep drops expired entries; the caller holds mu.
func (c *credCache) sweep(now time.Time) {
	for k, e := range c.byKey {
		if !now.Before(e.until) {
			delete(c.byKey, k)
			delete(c.byConn, e.conn.ID)
		}
	}
}

// forget drops the entry of a (tenant, user, provider).
func (c *credCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if e, ok := c.byKey[key]; ok {
		delete(c.byConn, e.conn.ID)
		delete(c.byKey, key)
	}
}

// forgetConn drops the entry of a connection id.
func (c *credCache) forgetConn(connID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if key, ok := c.byConn[connID]; ok {
		delete(c.byKey, key)
		delete(c.byConn, connID)
	}
}

// maxCachedCredentials bounds the cache; past it, expired entries are
// swept and, if that is not enough, the cache starts over.
const maxCachedCredentials = 100_000
