package ratelimit

import (
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
