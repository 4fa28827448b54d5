// Package ratelimit keeps one token bucket per key (a tenant, a tenant and
// provider pair) and forgets buckets left idle, for the host's inbound and
// outbound rate limits.
package ratelimit

import (
	"context"
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
	// waiters counts the callers of Wait holding a reservation on this
	// bucket; a bucket with waiters is never swept.
	waiters int
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
	b := k.bucketLocked(key, now)
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

// bucketLocked returns key's bucket, made at now if needed, after
// dropping the buckets idle for longer than k.idle. k.mu is held.
func (k *Keyed[K]) bucketLocked(key K, now time.Time) *bucket {
	if now.Sub(k.lastSweep) > k.idle {
		for key, b := range k.buckets {
			if b.waiters == 0 && now.Sub(b.seen) > k.idle {
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
	return b
}

// Wait takes a token from key's bucket, waiting for it when it is free
// within maxWait (and before ctx's deadline) and fewer than maxWaiters
// callers already wait on that key. Tokens are handed out in the order
// callers arrive. Otherwise it returns false at once with how long until
// a token would be free; a caller whose ctx ends while it waits gets
// ctx's error and its token goes back to the bucket.
func (k *Keyed[K]) Wait(ctx context.Context, key K, maxWait time.Duration, maxWaiters int) (bool, time.Duration, error) {
	now := time.Now()
	k.mu.Lock()
	b := k.bucketLocked(key, now)
	if b.waiters >= maxWaiters {
		// Refuse without reserving: the queue is full. The wait named is
		// what the bucket's current reservations add up to.
		r := b.lim.ReserveN(now, 1)
		d := r.DelayFrom(now)
		r.CancelAt(now)
		k.mu.Unlock()
		return false, max(d, time.Duration(float64(time.Second)/float64(k.rate))), nil
	}
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		k.mu.Unlock()
		return false, time.Second, nil
	}
	d := r.DelayFrom(now)
	if d == 0 {
		k.mu.Unlock()
		return true, 0, nil
	}
	limit := maxWait
	if dl, ok := ctx.Deadline(); ok && dl.Sub(now) < limit {
		limit = dl.Sub(now)
	}
	if d > limit {
		r.CancelAt(now)
		k.mu.Unlock()
		return false, d, nil
	}
	b.waiters++
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		b.waiters--
		k.mu.Unlock()
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true, 0, nil
	case <-ctx.Done():
		r.Cancel()
		return false, 0, ctx.Err()
	}
}

// owned copies a string key, which outlives the request it may alias.
func owned[K comparable](key K) K {
	if s, ok := any(key).(string); ok {
		return any(strings.Clone(s)).(K)
	}
	return key
}

// Peek reports whether key's bucket holds a token at now, without taking
// it, or how long until it will. A key with no bucket has a full one.
func (k *Keyed[K]) Peek(key K, now time.Time) (bool, time.Duration) {
	k.mu.Lock()
	b, ok := k.buckets[key]
	k.mu.Unlock()
	if !ok {
		return true, 0
	}
	tokens := b.lim.TokensAt(now)
	if tokens >= 1 {
		return true, 0
	}
	return false, time.Duration((1 - tokens) / float64(k.rate) * float64(time.Second))
}

// Forget drops key's bucket unless a caller of Wait holds a reservation on
// it: a key that turned out not to exist (an unknown hook id) leaves no
// bucket behind, so made-up keys cannot grow the set.
func (k *Keyed[K]) Forget(key K) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.buckets[key]; ok && b.waiters == 0 {
		delete(k.buckets, key)
	}
}

// Len is the number of buckets kept.
func (k *Keyed[K]) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}
