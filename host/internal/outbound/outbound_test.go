package outbound

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestForbidden(t *testing.T) {
	cases := []struct {
		addr   string
		reason string
	}{
		{"127.0.0.1", "loopback"},
		{"::1", "loopback"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"192.168.1.1", "private"},
		{"fd00::1", "private"},
		{"169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.0.0.1", "private"},
		{"255.255.255.255", "reserved"},
		{"64:ff9b::a00:1", "translated"},
		{"8.8.8.8", ""},
		{"2606:4700:4700::1111", ""},
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			if got := Forbidden(netip.MustParseAddr(tc.addr)); got != tc.reason {
				t.Fatalf("Forbidden(%s) = %q, want %q", tc.addr, got, tc.reason)
			}
		})
	}
}

func get(t *testing.T, c *Client, ctx context.Context, u string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(ctx, req)
}

func TestRefusesLoopbackUnlessListed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)

	c := New(Config{})
	_, err := get(t, c, context.Background(), srv.URL+"/secret?api_key=s3cr3t")
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("err = %v, want ErrForbiddenAddress", err)
	}
	var ae *AddressError
	if !errors.As(err, &ae) || ae.Reason != "loopback" {
		t.Fatalf("AddressError = %+v", ae)
	}
	if strings.Contains(ae.Error(), "s3cr3t") {
		t.Fatalf("error leaks the URL: %s", ae.Error())
	}

	// A name that resolves to loopback is refused after resolution.
	_, err = get(t, c, context.Background(), "http://localhost:"+u.Port()+"/")
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("localhost: err = %v, want ErrForbiddenAddress", err)
	}

	for _, allow := range []string{u.Host, "127.0.0.1"} {
		c := New(Config{AllowPrivateHosts: []string{allow}})
		resp, err := get(t, c, context.Background(), srv.URL)
		if err != nil {
			t.Fatalf("allowed %s: %v", allow, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok" {
			t.Fatalf("body %q", b)
		}
	}
	// Listing another port does not open this one.
	c = New(Config{AllowPrivateHosts: []string{"127.0.0.1:1"}})
	if _, err := get(t, c, context.Background(), srv.URL); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("other port: err = %v", err)
	}
}

// TestScopedPrivateHosts: a private host granted to one provider is
// reachable by that provider's requests only, also after one of its
// requests left a pooled connection to it.
func TestScopedPrivateHosts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	for _, grant := range []string{"127.0.0.1", u.Host} {
		c := New(Config{ScopedPrivateHosts: map[string][]string{"mine": {grant}}})
		resp, err := get(t, c, Scope(context.Background(), "t1", "mine"), srv.URL)
		if err != nil {
			t.Fatalf("granted provider refused (%s): %v", grant, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close() // leaves an idle pooled connection
		for _, ctx := range []context.Context{
			Scope(context.Background(), "t1", "other"),
			Scope(context.Background(), "t2", "mine-too"),
			context.Background(),
		} {
			if _, err := get(t, c, ctx, srv.URL); !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("grant %s: a request of another provider reached the host: err = %v", grant, err)
			}
		}
	}
}

// flaky answers the first request with status and header, then 200.
func flaky(status int, header, value string) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if n.Add(1) == 1 {
			if header != "" {
				w.Header().Set(header, value)
			}
			w.WriteHeader(status)
			io.WriteString(w, `{"error":"slow down"}`)
			return
		}
		io.WriteString(w, "ok:"+string(body))
	}))
	return srv, &n
}

func TestRetries(t *testing.T) {
	cases := []struct {
		name        string
		method      string
		status      int
		header      string
		value       string
		wantStatus  int
		wantHits    int32
		minDuration time.Duration
	}{
		{"429 retry-after seconds", "GET", 429, "Retry-After", "1", 200, 2, 900 * time.Millisecond},
		{"503 retry-after date", "GET", 503, "Retry-After", "date+2s", 200, 2, 500 * time.Millisecond},
		{"429 beyond the cap", "GET", 429, "Retry-After", "3600", 429, 1, 0},
		{"502 backoff", "GET", 502, "", "", 200, 2, 0},
		{"429 post not retried", "POST", 429, "Retry-After", "1", 429, 1, 0},
		{"put retried", "PUT", 503, "Retry-After", "0", 200, 2, 0},
		{"400 never retried", "GET", 400, "", "", 400, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.value == "date+2s" {
				// An HTTP date has whole seconds: 2s ahead waits at least 1s.
				tc.value = time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)
			}
			srv, hits := flaky(tc.status, tc.header, tc.value)
			defer srv.Close()
			c := New(Config{AllowPrivateHosts: []string{"127.0.0.1"}, Backoff: 20 * time.Millisecond})
			req, _ := http.NewRequest(tc.method, srv.URL, strings.NewReader("payload"))
			start := time.Now()
			resp, err := c.Do(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || hits.Load() != tc.wantHits {
				t.Fatalf("status %d hits %d, want %d and %d", resp.StatusCode, hits.Load(), tc.wantStatus, tc.wantHits)
			}
			if tc.wantStatus == 200 && string(b) != "ok:payload" {
				t.Fatalf("retried body %q, want the request body replayed", b)
			}
			// The wait is a behaviour (Retry-After honoured), not a speed.
			if waited := time.Since(start); waited < tc.minDuration {
				t.Fatalf("retried after %s, before the provider's Retry-After", waited)
			}
		})
	}
}

func TestRetryAfterRespectsDeadline(t *testing.T) {
	srv, hits := flaky(429, "Retry-After", "5")
	defer srv.Close()
	c := New(Config{AllowPrivateHosts: []string{"127.0.0.1"}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := get(t, c, ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || hits.Load() != 1 {
		t.Fatalf("status %d hits %d: a retry that cannot finish before the deadline must not be attempted", resp.StatusCode, hits.Load())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{"1.5", 1500 * time.Millisecond, true},
		{now.Add(4 * time.Second).Format(http.TimeFormat), 4 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
	}
	for _, tc := range cases {
		got, ok := ParseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRateLimitPerScope(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	// A token per 10 s: the 4th call would wait longer than the budget.
	c := New(Config{AllowPrivateHosts: []string{"127.0.0.1"}, Rate: 0.1, Burst: 3})
	a := Scope(context.Background(), "t1", "stripe")
	for i := 0; i < 3; i++ {
		resp, err := get(t, c, a, srv.URL)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		resp.Body.Close()
	}
	_, err := get(t, c, a, srv.URL)
	var rl *RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) || rl.Provider != "stripe" || rl.RetryAfter <= 0 {
		t.Fatalf("4th call: err = %v, want a RateLimitError", err)
	}
	// Other tenants and providers have their own buckets.
	for _, ctx := range []context.Context{Scope(context.Background(), "t2", "stripe"), Scope(context.Background(), "t1", "slack")} {
		resp, err := get(t, c, ctx, srv.URL)
		if err != nil {
			t.Fatalf("other scope: %v", err)
		}
		resp.Body.Close()
	}
}

// TestRateLimitWaits: calls past the burst wait for their token within
// MaxWait instead of failing; past the waiter bound or the budget they
// fail at once with the wait named.
func TestRateLimitWaits(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	defer srv.Close()
	c := New(Config{AllowPrivateHosts: []string{"127.0.0.1"}, Rate: 50, Burst: 5, MaxWait: 2 * time.Second})
	ctx := Scope(context.Background(), "t1", "stripe")
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := 0; i < 25; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := get(t, c, ctx, srv.URL)
			if err != nil {
				failed.Add(1)
				return
			}
			resp.Body.Close()
		}()
	}
	wg.Wait()
	if failed.Load() != 0 || served.Load() != 25 {
		t.Fatalf("a burst of 25 within the wait budget: %d failed, %d served", failed.Load(), served.Load())
	}

	// With two waiters allowed, of 10 calls at once past an empty bucket
	// two wait and the rest are refused without waiting.
	slow := New(Config{AllowPrivateHosts: []string{"127.0.0.1"}, Rate: 2, Burst: 1, MaxWait: 5 * time.Second, MaxWaiters: 2})
	resp, err := get(t, slow, ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var refused, ok atomic.Int32
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := get(t, slow, ctx, srv.URL)
			var rl *RateLimitError
			switch {
			case err == nil:
				resp.Body.Close()
				ok.Add(1)
			case errors.As(err, &rl) && rl.RetryAfter > 0:
				refused.Add(1)
			default:
				t.Errorf("call: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 2 || refused.Load() != 8 {
		t.Fatalf("10 calls with 2 waiters allowed: %d passed, %d refused; want 2 and 8", ok.Load(), refused.Load())
	}
}

func TestDoesNotFollowRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data", http.StatusFound)
	}))
	defer srv.Close()
	c := New(Config{AllowPrivateHosts: []string{"127.0.0.1"}})
	resp, err := get(t, c, context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want the 302 returned", resp.StatusCode)
	}
	// The following client follows, and the hop is dial-checked.
	_, err = c.HTTPClient().Get(srv.URL)
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("redirect to link-local: err = %v", err)
	}
}
