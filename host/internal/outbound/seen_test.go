package outbound

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestRecordClassifiesLastRequest: the Record of an execution holds the
// class of its last request as the client saw it: the provider's status,
// Retry-After (seconds or HTTP date) and invalid_token, the host's own
// rate-limit refusal with its wait, a dropped connection; a refused
// private address says nothing about the provider.
func TestRecordClassifiesLastRequest(t *testing.T) {
	date := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/limited":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		case "/limited-date":
			w.Header().Set("Retry-After", date)
			w.WriteHeader(429)
		case "/invalid-token":
			w.Header().Set("WWW-Authenticate", `Bearer realm="x", error="invalid_token"`)
			w.WriteHeader(401)
		case "/forbidden":
			w.WriteHeader(403)
		case "/drop":
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}
	}))
	defer srv.Close()
	c := New(Config{AllowPrivateHosts: []string{"127.0.0.1"}, Rate: 0.001, Burst: 6, MaxWait: -1})
	ctx, rec := Observe(Scope(context.Background(), "t", "p"))
	send := func(path string) Seen {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader("x"))
		if resp, err := c.Do(ctx, req); err == nil {
			resp.Body.Close()
		}
		return rec.Last()
	}
	if s := send("/limited"); s.Kind != SeenAnswer || s.Status != 429 || s.RetryAfter != 7*time.Second || s.Host != "127.0.0.1" {
		t.Errorf("429: %+v", s)
	}
	if s := send("/limited-date"); s.Status != 429 || s.RetryAfter < 50*time.Minute {
		t.Errorf("429 with a date: %+v", s)
	}
	if s := send("/invalid-token"); s.Status != 401 || !s.TokenInvalid {
		t.Errorf("401 invalid_token: %+v", s)
	}
	if s := send("/forbidden"); s.Status != 403 || s.TokenInvalid {
		t.Errorf("403: %+v", s)
	}
	if s := send("/drop"); s.Kind != SeenUnreachable {
		t.Errorf("dropped connection: %+v", s)
	}
	send("/forbidden")
	if s := send("/forbidden"); s.Kind != SeenRateLimited || s.RetryAfter < time.Second {
		t.Errorf("past the burst: %+v", s)
	}

	guarded := New(Config{})
	ctx2, rec2 := Observe(context.Background())
	req, _ := http.NewRequest("GET", srv.URL+"/forbidden", nil)
	if _, err := guarded.Do(ctx2, req); err == nil {
		t.Fatal("loopback reached")
	}
	if s := rec2.Last(); s.Kind != SeenNothing {
		t.Errorf("refused address recorded as %+v", s)
	}
}
