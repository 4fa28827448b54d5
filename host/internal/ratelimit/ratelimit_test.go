package ratelimit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestKeyed(t *testing.T) {
	k := New[string](2, 3, time.Minute)
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if ok, _ := k.Allow("a", now); !ok {
			t.Fatalf("call %d within the burst refused", i)
		}
	}
	ok, wait := k.Allow("a", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("past the burst: ok=%v wait=%v, want a refusal with a wait of at most 1s", ok, wait)
	}
	if ok, _ := k.Allow("b", now); !ok {
		t.Fatal("another key shares the bucket")
	}
	if ok, _ := k.Allow("a", now.Add(wait)); !ok {
		t.Fatal("not refilled after the wait it named")
	}
	// A bucket idle past the idle time is forgotten.
	k.Allow("c", now)
	k.Allow("a", now.Add(2*time.Minute))
	if _, kept := k.buckets["c"]; kept {
		t.Fatal("an idle bucket was kept")
	}
}

// TestWait: callers past the burst wait their turn when it comes within
// the budget, in order, and are refused at once with the wait they would
// need beyond it, when the queue is full, or past their deadline.
func TestWait(t *testing.T) {
	const perSecond = 100
	k := New[string](perSecond, 2, time.Minute)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if ok, _, err := k.Wait(ctx, "a", 0, 10); !ok || err != nil {
			t.Fatalf("call %d within the burst: ok=%v err=%v", i, ok, err)
		}
	}
	// With no budget, a caller past the burst is refused with the wait.
	ok, wait, err := k.Wait(ctx, "a", 0, 10)
	if ok || err != nil || wait <= 0 || wait > time.Second/perSecond {
		t.Fatalf("no budget: ok=%v wait=%v err=%v, want a refusal naming a wait up to 10ms", ok, wait, err)
	}
	// Five callers with a 1 s budget all pass, taking turns.
	var wg sync.WaitGroup
	var passed atomic.Int32
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _, err := k.Wait(ctx, "a", time.Second, 10); ok && err == nil {
				passed.Add(1)
			}
		}()
	}
	wg.Wait()
	if passed.Load() != 5 {
		t.Fatalf("%d of 5 callers within the budget passed", passed.Load())
	}

	// A full queue refuses at once without reserving.
	slow := New[string](0.5, 1, time.Minute) // one token every 2 s
	slow.Wait(ctx, "q", 0, 1)
	parked := make(chan error, 1)
	pctx, cancel := context.WithCancel(ctx)
	go func() {
		_, _, err := slow.Wait(pctx, "q", time.Minute, 1)
		parked <- err
	}()
	waitFor(t, func() bool { return slow.waiting("q") == 1 })
	if ok, wait, err := slow.Wait(ctx, "q", time.Minute, 1); ok || err != nil || wait <= 0 {
		t.Fatalf("full queue: ok=%v wait=%v err=%v, want an immediate refusal", ok, wait, err)
	}
	// A deadline shorter than the wait refuses at once too.
	dctx, dcancel := context.WithTimeout(ctx, time.Millisecond)
	defer dcancel()
	if ok, _, err := slow.Wait(dctx, "other", time.Minute, 1); !ok || err != nil {
		t.Fatal("another key's first call refused")
	}
	if ok, wait, err := slow.Wait(dctx, "other", time.Minute, 5); ok || err != nil || wait <= 0 {
		t.Fatalf("past the deadline: ok=%v wait=%v err=%v, want an immediate refusal", ok, wait, err)
	}
	// A waiter whose context ends leaves with its error and frees its place.
	cancel()
	if err := <-parked; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: err=%v, want context.Canceled", err)
	}
	if n := slow.waiting("q"); n != 0 {
		t.Fatalf("%d waiters left after cancellation", n)
	}
}

func (k *Keyed[K]) waiting(key K) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.buckets[key]; ok {
		return b.waiters
	}
	return 0
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not reached")
}

func TestForget(t *testing.T) {
	k := New[string](1, 1, time.Hour)
	now := time.Now()
	if ok, _ := k.Allow("a", now); !ok {
		t.Fatal("a fresh bucket refused")
	}
	if ok, _ := k.Allow("a", now); ok {
		t.Fatal("an empty bucket allowed")
	}
	if k.Allow("b", now); k.Len() != 2 {
		t.Fatalf("%d buckets, want 2", k.Len())
	}
	k.Forget("b")
	k.Forget("never")
	if k.Len() != 1 {
		t.Fatalf("%d buckets after Forget, want 1", k.Len())
	}
	if ok, _ := k.Allow("a", now); ok {
		t.Fatal("forgetting another key refilled a")
	}
}

// TestPeek: Peek tells whether a token is there without taking it or
// making a bucket, and how long until one is.
func TestPeek(t *testing.T) {
	k := New[string](2, 2, time.Minute)
	now := time.Unix(1000, 0)
	if ok, _ := k.Peek("a", now); !ok || k.Len() != 0 {
		t.Fatalf("peek of a key without a bucket: %v, %d buckets", ok, k.Len())
	}
	for range 2 {
		if ok, _ := k.Allow("a", now); !ok {
			t.Fatal("the burst was refused")
		}
	}
	for range 3 {
		if ok, wait := k.Peek("a", now); ok || wait != 500*time.Millisecond {
			t.Fatalf("peek of an empty bucket: %v, wait %s", ok, wait)
		}
	}
	if ok, _ := k.Peek("a", now.Add(500*time.Millisecond)); !ok {
		t.Fatal("no token after the refill time")
	}
	if ok, _ := k.Allow("a", now.Add(500*time.Millisecond)); !ok {
		t.Fatal("peeking took the token")
	}
}
