// Package outbound is the host's HTTP client towards providers. It applies
// the policies every outbound call needs, whoever makes it (the generic
// custom API call, wasm pieces, the connection flows):
//
//   - an SSRF guard that refuses, at dial time and after DNS resolution,
//     loopback, private, link-local, CGNAT, multicast, unspecified and other
//     non-public addresses, unless the host is listed in AllowPrivateHosts
//     (ATOM_ALLOW_PRIVATE_HOSTS), so DNS rebinding cannot bypass it;
//   - one retry of idempotent requests answered 429 or 503, after the
//     provider's Retry-After (seconds or HTTP date) when it is within a cap,
//     and after a short backoff for other 5xx answers;
//   - a token bucket per (tenant, provider), named by Scope on the request's
//     context: a request past the burst waits for its token when it comes
//     within MaxWait (and before the context's deadline), with at most
//     MaxWaiters requests waiting per pair, and otherwise fails at once
//     with a *RateLimitError naming the wait;
//   - a Record per execution (Observe) of the class of its last request:
//     the provider's status and Retry-After, the host's own refusal, a
//     provider that could not be reached or timed out (seen.go), from
//     which the engine answers a failed execution.
//
// A Client is safe for concurrent use. Build one per host with New.
package outbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/atomhq/atom/host/internal/ratelimit"
)

// Errors of the outbound client, for errors.Is.
var (
	// ErrForbiddenAddress is wrapped by *AddressError.
	ErrForbiddenAddress = errors.New("connection to a non-public address refused")
	// ErrRateLimited is wrapped by *RateLimitError.
	ErrRateLimited = errors.New("outbound rate limit exceeded")
)

// AddressError reports a refused connection. It names the host and the
// address, never the URL (URLs may hold secrets).
type AddressError struct {
	Host   string
	Addr   netip.Addr
	Reason string
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("connection to %s (%s, %s) refused: only public addresses are reachable; list the host in ATOM_ALLOW_PRIVATE_HOSTS to allow it", e.Host, e.Addr, e.Reason)
}

// Unwrap returns ErrForbiddenAddress.
func (e *AddressError) Unwrap() error { return ErrForbiddenAddress }

// RateLimitError reports an exhausted token bucket.
type RateLimitError struct {
	Tenant, Provider string
	// RetryAfter is when a token will be available again.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("outbound rate limit for provider %s exceeded; retry in %s", e.Provider, e.RetryAfter.Round(time.Millisecond))
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// Config configures a Client. The zero value of every field selects the
// default documented on it.
type Config struct {
	// AllowPrivateHosts lists hosts ("name" or "name:port") that may
	// resolve to non-public addresses (ATOM_ALLOW_PRIVATE_HOSTS).
	AllowPrivateHosts []string
	// ScopedPrivateHosts grants hosts like AllowPrivateHosts to one
	// provider's requests only (provider id → hosts; the "<id>=<host>"
	// entries of ATOM_ALLOW_PRIVATE_HOSTS). Requests of other providers to
	// such a host are refused before a connection is chosen, so a pooled
	// connection cannot carry them either.
	ScopedPrivateHosts map[string][]string
	// RetryAfterCap is the longest Retry-After the client waits before its
	// one retry (default 10s); a longer one returns the answer as is.
	RetryAfterCap time.Duration
	// Backoff is the base pause before retrying an idempotent request
	// after a 5xx without Retry-After (default 200ms, with jitter).
	Backoff time.Duration
	// Rate and Burst size the token bucket of each (tenant, provider)
	// (defaults 20 requests per second, burst 40). A negative Rate turns
	// rate limiting off.
	Rate  float64
	Burst int
	// MaxWait is how long a request past the burst may wait for a token
	// before it is refused (ATOM_RATE_MAX_WAIT, default 2s; negative: no
	// wait). The request's context deadline shortens it.
	MaxWait time.Duration
	// MaxWaiters bounds the requests waiting at once per (tenant,
	// provider) (default 100); past it requests are refused at once, so
	// a flood parks no more goroutines than this per pair.
	MaxWaiters int
	// Timeout bounds one request including retries (default 60s).
	Timeout time.Duration
	// DialTimeout bounds one connection attempt (default 10s).
	DialTimeout time.Duration
	// Metrics, when set, receives the request counter and duration
	// histogram (metrics.go).
	Metrics prometheus.Registerer
}

// Client sends outbound requests under the host's policies.
type Client struct {
	cfg   Config
	allow map[string]bool
	// scoped holds the hosts granted per provider; scopedAny all of them.
	scoped    map[string]map[string]bool
	scopedAny map[string]bool
	base      *http.Transport
	follow    *http.Client
	noRedir   *http.Client

	limiters *ratelimit.Keyed[scopeKey]
	metrics  *metrics
}

type scopeKey struct{ tenant, provider string }

// New returns a Client configured by cfg.
func New(cfg Config) *Client {
	if cfg.RetryAfterCap <= 0 {
		cfg.RetryAfterCap = 10 * time.Second
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	if cfg.Rate == 0 {
		cfg.Rate = 20
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 40
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 2 * time.Second
	} else if cfg.MaxWait < 0 {
		cfg.MaxWait = 0
	}
	if cfg.MaxWaiters <= 0 {
		cfg.MaxWaiters = 100
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	c := &Client{cfg: cfg, allow: map[string]bool{}}
	if cfg.Rate >= 0 {
		// A pair unused for ten minutes starts again from a full bucket.
		c.limiters = ratelimit.New[scopeKey](cfg.Rate, cfg.Burst, 10*time.Minute)
	}
	for _, h := range cfg.AllowPrivateHosts {
		c.allow[strings.ToLower(strings.TrimSpace(h))] = true
	}
	c.scoped, c.scopedAny = map[string]map[string]bool{}, map[string]bool{}
	for id, hosts := range cfg.ScopedPrivateHosts {
		for _, h := range hosts {
			h = strings.ToLower(strings.TrimSpace(h))
			if c.scoped[id] == nil {
				c.scoped[id] = map[string]bool{}
			}
			c.scoped[id][h] = true
			c.scopedAny[h] = true
		}
	}
	c.base = &http.Transport{
		Proxy:                 nil, // a proxy would dial on our behalf and bypass the guard
		DialContext:           c.dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	if cfg.Metrics != nil {
		c.metrics = newMetrics(cfg.Metrics)
	}
	rt := &policy{c: c}
	c.follow = &http.Client{Transport: rt, Timeout: cfg.Timeout}
	c.noRedir = &http.Client{Transport: rt, Timeout: cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c
}

// HTTPClient returns an *http.Client applying the policies that follows
// redirects (each hop is dial-checked). Use it where a plain client is
// expected, such as connect.Config.HTTPClient.
func (c *Client) HTTPClient() *http.Client { return c.follow }

// Transport returns the policy RoundTripper.
func (c *Client) Transport() http.RoundTripper { return c.follow.Transport }

// Do sends req without following redirects: the caller decides whether
// each hop may be followed. It satisfies the wasm runtime's Outbound.
func (c *Client) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	return c.noRedir.Do(req.WithContext(ctx))
}

// Close releases idle connections.
func (c *Client) Close() { c.base.CloseIdleConnections() }

type scopeCtxKey struct{}

// Scope returns a context whose outbound requests count against the
// token bucket of (tenant, provider).
func Scope(ctx context.Context, tenant, provider string) context.Context {
	return context.WithValue(ctx, scopeCtxKey{}, scopeKey{tenant, provider})
}

// allowed reports whether hostport (or its host) is listed for every
// provider, or for the provider ctx is scoped to.
func (c *Client) allowed(ctx context.Context, hostport string) bool {
	if len(c.allow) == 0 && len(c.scoped) == 0 {
		return false
	}
	hostport = strings.ToLower(hostport)
	if listed(c.allow, hostport) {
		return true
	}
	k, _ := ctx.Value(scopeCtxKey{}).(scopeKey)
	return k.provider != "" && listed(c.scoped[k.provider], hostport)
}

// listed reports whether hostport or its host is in set.
func listed(set map[string]bool, hostport string) bool {
	if len(set) == 0 {
		return false
	}
	if set[hostport] {
		return true
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	return set[host] || set["["+host+"]"]
}

// scopedElsewhere reports whether req goes to a private host granted only
// to some provider other than the one its context is scoped to.
func (c *Client) scopedElsewhere(req *http.Request) bool {
	if len(c.scopedAny) == 0 || req.URL == nil {
		return false
	}
	host, port := strings.ToLower(req.URL.Hostname()), req.URL.Port()
	if port == "" {
		port = "80"
		if req.URL.Scheme == "https" {
			port = "443"
		}
	}
	hostport := net.JoinHostPort(host, port)
	if !listed(c.scopedAny, hostport) || listed(c.allow, hostport) {
		return false
	}
	return !c.allowed(req.Context(), hostport)
}

func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: c.cfg.DialTimeout, KeepAlive: 30 * time.Second}
	if !c.allowed(ctx, addr) {
		host, _, _ := net.SplitHostPort(addr)
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &AddressError{Host: host, Reason: "unparsable address"}
			}
			if reason := Forbidden(ap.Addr()); reason != "" {
				return &AddressError{Host: host, Addr: ap.Addr().Unmap(), Reason: reason}
			}
			return nil
		}
	}
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		var ae *AddressError
		if errors.As(err, &ae) {
			return nil, ae
		}
	}
	return conn, err
}

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	ietf      = netip.MustParsePrefix("192.0.0.0/24")
	bench     = netip.MustParsePrefix("198.18.0.0/15")
	reserved  = netip.MustParsePrefix("240.0.0.0/4")
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	nat64l    = netip.MustParsePrefix("64:ff9b:1::/48")
	docV4a    = netip.MustParsePrefix("192.0.2.0/24")
	docV4b    = netip.MustParsePrefix("198.51.100.0/24")
	docV4c    = netip.MustParsePrefix("203.0.113.0/24")
	docV6     = netip.MustParsePrefix("2001:db8::/32")
	sixToFour = netip.MustParsePrefix("2002::/16")
	teredo    = netip.MustParsePrefix("2001::/32")
)

// Forbidden returns why a may not be reached ("loopback", "private", …),
// or "" for a public unicast address.
func Forbidden(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case !a.IsValid():
		return "invalid"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	case cgnat.Contains(a):
		return "carrier-grade NAT"
	case thisNet.Contains(a), ietf.Contains(a), bench.Contains(a), reserved.Contains(a):
		return "reserved"
	case docV4a.Contains(a), docV4b.Contains(a), docV4c.Contains(a), docV6.Contains(a):
		return "documentation"
	case nat64.Contains(a), nat64l.Contains(a), sixToFour.Contains(a), teredo.Contains(a):
		return "translated"
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	return ""
}

// policy is the RoundTripper: rate limit, then send with retries.
type policy struct{ c *Client }

func (p *policy) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	c := p.c
	start := time.Now()
	defer func() {
		c.metrics.observe(req.Context(), start, resp, err)
		observe(req, resp, err, time.Now())
	}()
	if c.scopedElsewhere(req) {
		return nil, &AddressError{Host: req.URL.Hostname(), Reason: "a private host granted to another provider (ATOM_ALLOW_PRIVATE_HOSTS <id>=<host>)"}
	}
	if err := c.take(req.Context()); err != nil {
		return nil, err
	}
	resp, err = c.base.RoundTrip(req)
	if err != nil || !retryable(req, resp.StatusCode) {
		return resp, err
	}
	wait, ok := c.retryDelay(resp)
	if !ok {
		return resp, nil
	}
	if dl, has := req.Context().Deadline(); has && time.Until(dl) < wait {
		return resp, nil
	}
	body, err := rewind(req)
	if err != nil {
		return resp, nil
	}
	t := time.NewTimer(wait)
	select {
	case <-req.Context().Done():
		t.Stop()
		return resp, nil
	case <-t.C:
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	r2 := req.Clone(req.Context())
	r2.Body = body
	if err := c.take(req.Context()); err != nil {
		return nil, err
	}
	return c.base.RoundTrip(r2)
}

// retryable reports whether an answer with status may be retried once.
func retryable(req *http.Request, status int) bool {
	if status != http.StatusTooManyRequests && status < 500 {
		return false
	}
	if status == http.StatusNotImplemented || status == http.StatusHTTPVersionNotSupported {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return req.Header.Get("Idempotency-Key") != ""
}

// retryDelay returns how long to wait before the retry, and false when
// the provider asks for longer than the cap.
func (c *Client) retryDelay(resp *http.Response) (time.Duration, bool) {
	if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		if d > c.cfg.RetryAfterCap {
			return 0, false
		}
		return d, true
	}
	b := c.cfg.Backoff
	return b/2 + time.Duration(rand.Int64N(int64(b))), true
}

// ParseRetryAfter parses a Retry-After value: delay seconds or an HTTP
// date. A date in the past is a zero delay.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > 1<<31 {
			n = 1 << 31
		}
		return time.Duration(n) * time.Second, true
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f < 1<<31 {
		return time.Duration(f * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}

func rewind(req *http.Request) (io.ReadCloser, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return http.NoBody, nil
	}
	if req.GetBody == nil {
		return nil, errors.New("request body cannot be replayed")
	}
	return req.GetBody()
}

// take consumes a token of the request's scope, waiting for it within
// MaxWait, and fails with a *RateLimitError when it would wait longer,
// past the context's deadline, or behind MaxWaiters other requests.
func (c *Client) take(ctx context.Context) error {
	if c.limiters == nil {
		return nil
	}
	k, ok := ctx.Value(scopeCtxKey{}).(scopeKey)
	if !ok {
		return nil
	}
	ok, wait, err := c.limiters.Wait(ctx, k, c.cfg.MaxWait, c.cfg.MaxWaiters)
	if err != nil {
		return err
	}
	if !ok {
		return &RateLimitError{Tenant: k.tenant, Provider: k.provider, RetryAfter: wait}
	}
	return nil
}
