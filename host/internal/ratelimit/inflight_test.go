package ratelimit

import "testing"

func TestInFlight(t *testing.T) {
	var c InFlight
	for i := 0; i < 3; i++ {
		if !c.Take("a", 3) {
			t.Fatalf("take %d refused under the cap", i)
		}
	}
	if c.Take("a", 3) {
		t.Fatal("a fourth slot was given over a cap of 3")
	}
	if !c.Take("b", 3) {
		t.Fatal("another tenant was refused")
	}
	c.Done("a")
	if !c.Take("a", 3) {
		t.Fatal("a freed slot was not given again")
	}
	for i := 0; i < 3; i++ {
		c.Done("a")
	}
	c.Done("b")
	if len(c.n) != 0 {
		t.Fatalf("counts of idle tenants are kept: %v", c.n)
	}
}
