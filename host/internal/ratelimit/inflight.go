package ratelimit

import "sync"

// InFlight counts work in flight per key (a tenant): a cap on how much of
// a replica's concurrency one key may hold. The zero value is ready.
type InFlight struct {
	mu sync.Mutex
	n  map[string]int
}

// Take counts one more for key unless it already has max; it reports
// whether it did. Each true Take is paired with one Done.
func (c *InFlight) Take(key string, max int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	if c.n[key] >= max {
		return false
	}
	c.n[key]++
	return true
}

// Done counts one less for key.
func (c *InFlight) Done(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key]--; c.n[key] <= 0 {
		delete(c.n, key)
	}
}
