// Package ratelimit keeps one token bucket per key (a tenant, a tenant and
// provider pair) and forgets buckets left idle, for the host's inbound and
// outbound rate limits.
package ratelimit

import (
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed is a set of token buckets, one per key, each refilling at Rate per
// second up to Burst. It is safe for concurrent use.
type Keyed[K comparable] struct {
	rate  rate.Limit
	burst int
	idle  time.Duration

	mu        sync.Mutex
	buckets   map[K]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New returns buckets of perSecond tokens per second and burst tokens. A
// bucket unused for idle is dropped (a fresh one starts full, so idle
// should be at least the time a bucket takes to refill).
func New[K comparable](perSecond float64, burst int, idle time.Duration) *Keyed[K] {
	return &Keyed[K]{rate: rate.Limit(perSecond), burst: burst, idle: idle, buckets: map[K]*bucket{}}
}

// Rate is the tokens per second of each bucket.
func (k *Keyed[K]) Rate() float64 { return float64(k.rate) }

// Allow takes a token from key's bucket at now, or returns how long until
// one is free (without taking it).
func (k *Keyed[K]) Allow(key K, now time.Time) (bool, time.Duration) {
	k.mu.Lock()
	if now.Sub(k.lastSweep) > k.idle {
		for key, b := range k.buckets {
			if now.Sub(b.seen) > k.idle {
				delete(k.buckets, key)
			}
		}
		k.lastSweep = now
	}
	b, ok := k.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(k.rate, k.burst)}
		k.buckets[owned(key)] = b
	}
	b.seen = now
	k.mu.Unlock()
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// owned copies a string key, which outlives the request it may alias.
func owned[K comparable](key K) K {
	if s, ok := any(key).(string); ok {
		return any(strings.Clone(s)).(K)
	}
	return key
}
