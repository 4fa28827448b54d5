package demo

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestExpiryAndSweep moves the demo's clock: tokens stop working after
// their lifetime and expired entries are swept from memory.
func TestExpiryAndSweep(t *testing.T) {
	now := time.Now()
	d := New(Config{ClientID: "c", ClientSecret: "s", BaseURL: "http://localhost:3000"})
	d.now = func() time.Time { return now }
	rec := httptest.NewRecorder()
	d.issue(rec, "g1", "profile")
	var at string
	for k := range d.access {
		at = k
	}
	call := func() int {
		req := httptest.NewRequest("GET", "/demo/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+at)
		w := httptest.NewRecorder()
		d.ServeHTTP(w, req)
		return w.Code
	}
	if call() != http.StatusOK {
		t.Fatal("fresh token refused")
	}
	now = now.Add(AccessTokenTTL)
	if call() != http.StatusUnauthorized {
		t.Fatal("token accepted at its expiry")
	}
	d.requests["r"] = &authRequest{expiresAt: now.Add(-time.Second)}
	d.codes["c"] = &authCode{expiresAt: now.Add(-time.Second)}
	now = now.Add(sweepEvery)
	d.issue(httptest.NewRecorder(), "g2", "")
	if len(d.requests) != 0 || len(d.codes) != 0 || len(d.access) != 1 || len(d.refresh) != 2 {
		t.Fatalf("after sweep: %d requests, %d codes, %d access, %d refresh", len(d.requests), len(d.codes), len(d.access), len(d.refresh))
	}
	now = now.Add(RefreshTokenTTL + time.Second)
	d.issue(httptest.NewRecorder(), "g3", "")
	if len(d.refresh) != 1 {
		t.Fatalf("expired refresh tokens kept: %d", len(d.refresh))
	}
}
