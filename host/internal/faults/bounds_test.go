package faults

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/webhook"
)

// The limits of the bounds suite's hosts: small, so each cap is reached
// with few requests.
const (
	boundsBody        = 256 << 10
	boundsConcurrent  = 3
	boundsRunAsync    = 2
	boundsAsyncWork   = 4
	boundsPending     = 24
	boundsStates      = 5
	boundsUsers       = 5
	boundsLeakSecret  = "LEAKSECRET-9f8e7d"
	boundsLeakSecret2 = "sig-LEAKSECRET-0a1b"
)

// upstream is a provider API that a tenant's calls reach: it answers
// bodies of every kind, blocks calls until released, and quotes URLs with
// tokens in its errors.
type upstream struct {
	*httptest.Server
	mu      sync.Mutex
	release chan struct{}
	blocked atomic.Int64
}

// body returns n bytes of the given kind and its content type.
func body(kind string, n int) ([]byte, string) {
	rep := func(unit string) []byte {
		b := bytes.Repeat([]byte(unit), n/len(unit)+1)
		return b[:n]
	}
	switch kind {
	case "ctrl-0x01": // valid UTF-8, every byte escaped as \u0001 by a JSON encoder
		return rep("\x01"), "application/octet-stream"
	case "nul":
		return rep("\x00"), "application/octet-stream"
	case "ctrl-mixed":
		return rep("a\x1b[0m\x07\x7f"), "text/plain"
	case "binary":
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*131 + i>>8)
		}
		return b, "image/png"
	case "latin1":
		return rep("caf\xe9 "), "text/plain; charset=iso-8859-1"
	case "html":
		return rep("<a&b>"), "text/html"
	case "json-html":
		if n < 8 {
			return []byte(`"<>"`), "application/json"
		}
		return append(append([]byte(`"`), rep("<>&")[:n-2]...), '"'), "application/json"
	case "quotes":
		return rep(`"\`), "text/plain"
	case "u2028":
		return rep("\u2028"), "text/plain; charset=utf-8"
	case "json-array":
		if n < 8 {
			return []byte(`[]`), "application/json"
		}
		return []byte("[" + strings.Repeat("1,", (n-3)/2) + "1]"), "application/json"
	}
	return nil, ""
}

var bodyKinds = []string{"ctrl-0x01", "nul", "ctrl-mixed", "binary", "latin1", "html", "json-html", "quotes", "u2028", "json-array"}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{release: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/body/"):
			n, _ := strconv.Atoi(q.Get("n"))
			b, ctype := body(strings.TrimPrefix(r.URL.Path, "/api/body/"), n)
			w.Header().Set("Content-Type", ctype)
			if q.Get("chunked") == "" {
				w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			}
			for len(b) > 0 {
				k := min(len(b), 32<<10)
				if _, err := w.Write(b[:k]); err != nil {
					return
				}
				if q.Get("chunked") != "" {
					w.(http.Flusher).Flush()
				}
				b = b[k:]
			}
		case r.URL.Path == "/api/block":
			u.blocked.Add(1)
			defer u.blocked.Add(-1)
			u.mu.Lock()
			rel := u.release
			u.mu.Unlock()
			select {
			case <-rel:
			case <-r.Context().Done():
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":true}`))
		case r.URL.Path == "/api/fast":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":true}`))
		case r.URL.Path == "/api/leak":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":{"message":%q}}`, q.Get("msg"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

// releaseAll lets every blocked call answer, and blocks later ones again
// after reset.
func (u *upstream) releaseAll() {
	u.mu.Lock()
	close(u.release)
	u.mu.Unlock()
}

func (u *upstream) reset() {
	u.mu.Lock()
	u.release = make(chan struct{})
	u.mu.Unlock()
}

// syncBuffer is a log sink shared by the host's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type boundsHost struct {
	*host
	up  *upstream
	log *syncBuffer
}

// startBoundsHost starts a host with small limits, the fake OAuth
// provider's descriptors, and "bnd", a provider without auth whose API is
// the upstream.
func startBoundsHost(t *testing.T, backend string, plugins bool) *boundsHost {
	t.Helper()
	if backend == "postgres" {
		storetest.RequirePostgres(t)
	}
	up := newUpstream(t)
	fp := fakeprovider.New(t, fakeprovider.Quirks{RequirePKCE: true})
	cat := descriptors(fp)
	cat["bnd.json"] = `{"id":"bnd","name":"Bounds","categories":["development"],"auth":{"kind":"none"},
 "api":{"base_url":"` + up.URL + `/api"},"implementations":["generic"],"connectable":true}`
	env := map[string]string{}
	for _, p := range []string{"FAKEOAUTH", "FAKEOTHER"} {
		env[p+"_CLIENT_ID"], env[p+"_CLIENT_SECRET"] = fp.ClientID, fp.ClientSecret
	}
	logs := &syncBuffer{}
	o := hosttest.Options{Backend: backend, AdminKey: adminKey, Catalog: cat, Env: env, LogLevel: "warn",
		Timeout: 60 * time.Second, BodyLimit: 2 << 20, Log: logs,
		Configure: func(c *config.Config) {
			c.RateLimit = -1
			c.Limits = config.Limits{MaxUpstreamBody: boundsBody, TenantMaxConcurrent: boundsConcurrent,
				TenantMaxRunningAsync: boundsRunAsync, AsyncWorkers: boundsAsyncWork, TenantMaxPendingAsync: boundsPending,
				TenantMaxOAuthStates: boundsStates, TenantMaxUsers: boundsUsers}
		}}
	if plugins {
		o.Prepare = func(dir string) {
			testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
		}
	}
	return &boundsHost{host: &host{Host: hosttest.Start(t, o), fake: fp}, up: up, log: logs}
}

// custom calls bnd's custom_api_call as tn, on the integrations or the
// pieces route.
func (h *boundsHost) custom(tn hosttest.Tenant, route, path string, hdr map[string]string) hosttest.Response {
	h.T.Helper()
	in := map[string]any{"method": "GET", "path": path}
	if route == "pieces" {
		return h.Call("POST", "/api/v1/pieces/bnd/actions/custom_api_call", tn.Key, map[string]any{"input": in}, hdr)
	}
	return h.Call("POST", "/api/v1/integrations/bnd/actions/custom_api_call", tn.Key, map[string]any{"input": in}, hdr)
}

// tally counts the cases of one attack class and logs the line the suite
// is counted by.
type tally struct {
	t         *testing.T
	class     string
	backend   string
	cases     int
	succeeded int
}

func (c *tally) check(ok bool, format string, args ...any) {
	c.t.Helper()
	c.cases++
	if !ok {
		c.succeeded++
		c.t.Errorf(c.class+": "+format, args...)
	}
}

func (c *tally) report() {
	c.t.Logf("attack %s: %d cases on %s, %d succeeded", c.class, c.cases, c.backend, c.succeeded)
}

// TestAttackBounds tries, on both backends, what one tenant or one
// provider reply can make the host hold: amplified replies, oversized
// replies and plugin results, a tenant's concurrent and queued
// executions, OAuth states and users, and secrets in URLs reaching logs
// and stored errors.
func TestAttackBounds(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			h := startBoundsHost(t, backend, true)
			a, b := h.NewTenant("bounds-a"), h.NewTenant("bounds-b")
			t.Run("upstream amplification", func(t *testing.T) { h.attackReplies(t, backend, a) })
			t.Run("plugin result size", func(t *testing.T) { h.attackResults(t, backend, a) })
			t.Run("tenant concurrency", func(t *testing.T) { h.attackConcurrency(t, backend, a, b) })
			t.Run("users", func(t *testing.T) { h.attackUsers(t, backend, a, b) })
			t.Run("oauth states", func(t *testing.T) { h.attackStates(t, backend, a, b) })
			t.Run("secrets in logs", func(t *testing.T) { h.attackLeaks(t, backend, a) })
			t.Run("webhook fairness", func(t *testing.T) { h.attackWebhooks(t, backend, a, b) })
			t.Run("async fairness", func(t *testing.T) { h.attackAsync(t, backend, a, b) })
		})
	}
}

// attackReplies: replies of every kind of body that a JSON encoder
// inflates (control characters, NULs, binary, HTML characters, quotes,
// U+2028) at several sizes up to the cap come back within 4/3 of their
// size and byte-exact; replies over the cap, announced or chunked, answer
// 502 upstream_too_large.
func (h *boundsHost) attackReplies(t *testing.T, backend string, tn hosttest.Tenant) {
	c := &tally{t: t, class: "upstream-amplification", backend: backend}
	defer c.report()
	for _, route := range []string{"integrations", "pieces"} {
		for _, kind := range bodyKinds {
			for _, n := range []int{1, 1000, 64 << 10, boundsBody} {
				r := h.custom(tn, route, "/body/"+kind+"?n="+strconv.Itoa(n), nil)
				want, _ := body(kind, n)
				jsonKind := strings.HasPrefix(kind, "json-")
				c.check(r.Status == 200 && len(r.Body) <= n*4/3+2048 && sameBody(r.Body, want, jsonKind),
					"%s %s n=%d: status %d, %d-byte reply (limit %d), body intact=%t", route, kind, n, r.Status, len(r.Body), n*4/3+2048, sameBody(r.Body, want, jsonKind))
			}
			for _, q := range []string{"?n=" + strconv.Itoa(boundsBody+1), "?chunked=1&n=" + strconv.Itoa(4*boundsBody)} {
				r := h.custom(tn, route, "/body/"+kind+q, nil)
				code, msg := r.ErrorCode()
				c.check(r.Status == 502 && code == "upstream_too_large" && strings.Contains(msg, "ATOM_MAX_UPSTREAM_BODY") && len(r.Body) < 4096,
					"%s %s%s: %d %.200s", route, kind, q, r.Status, r.Body)
			}
		}
	}
}

// sameBody reports whether an execution's reply holds want as its body:
// a JSON reply as its JSON value, text as a string, anything else as
// base64.
func sameBody(reply, want []byte, jsonKind bool) bool {
	var res struct {
		Output struct {
			Body       json.RawMessage `json:"body"`
			BodyBase64 string          `json:"body_base64"`
		} `json:"output"`
	}
	if json.Unmarshal(reply, &res) != nil {
		return false
	}
	switch {
	case res.Output.BodyBase64 != "":
		got, err := base64.StdEncoding.DecodeString(res.Output.BodyBase64)
		return !jsonKind && err == nil && bytes.Equal(got, want)
	case jsonKind:
		var g, w bytes.Buffer
		return json.Compact(&g, res.Output.Body) == nil && json.Compact(&w, want) == nil && bytes.Equal(g.Bytes(), w.Bytes())
	}
	var s string
	return json.Unmarshal(res.Output.Body, &s) == nil && s == string(want)
}

// attackResults: a native plugin's result over the cap answers 502
// result_too_large, synchronously and with an idempotency key (whose
// replay answers the same).
func (h *boundsHost) attackResults(t *testing.T, backend string, tn hosttest.Tenant) {
	c := &tally{t: t, class: "result-size", backend: backend}
	defer c.report()
	for i, n := range []int{boundsBody + 1, boundsBody * 2, boundsBody * 3} {
		in := map[string]any{"pad": strings.Repeat("x", n)}
		r := h.Exec(tn, "echo", "echo", in, nil)
		code, _ := r.ErrorCode()
		c.check(r.Status == 502 && code == "result_too_large" && len(r.Body) < 4096, "echo %d bytes: %d %.200s", n, r.Status, r.Body)
		key := map[string]string{"Idempotency-Key": "big-result-" + strconv.Itoa(i)}
		for try := 0; try < 2; try++ {
			r = h.Exec(tn, "echo", "echo", in, key)
			code, _ = r.ErrorCode()
			c.check(r.Status == 502 && code == "result_too_large", "echo %d bytes, idempotent try %d: %d %.200s", n, try, r.Status, r.Body)
		}
	}
	// The plugin's JSON encoder escapes "<" six-fold: a 1 MiB input comes
	// back as a 6 MiB result, over the plugin protocol's message limit.
	r := h.Call("POST", "/api/v1/integrations/echo/actions/echo", tn.Key, []byte(`{"input":{"pad":"`+strings.Repeat("<", 1<<20)+`"}}`),
		map[string]string{"Content-Type": "application/json"})
	code, _ := r.ErrorCode()
	c.check(r.Status == 502 && (code == "result_too_large" || code == "plugin_failed"), "echo of 1 MiB of '<': %d %.300s", r.Status, r.Body)
	r = h.Exec(tn, "echo", "echo", map[string]any{"pad": "small"}, nil)
	c.check(r.Status == 200, "a small result after the refused ones: %d %s", r.Status, r.Body)
}

// attackConcurrency: with its executions all running, a tenant's further
// calls on every route answer 429 too_many_concurrent with Retry-After;
// another tenant's calls still run.
func (h *boundsHost) attackConcurrency(t *testing.T, backend string, a, b hosttest.Tenant) {
	c := &tally{t: t, class: "tenant-concurrency", backend: backend}
	defer c.report()
	h.up.reset()
	var wg sync.WaitGroup
	held := make([]hosttest.Response, boundsConcurrent)
	for i := 0; i < boundsConcurrent; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := h.Try("POST", "/api/v1/integrations/bnd/actions/custom_api_call", a.Key,
				map[string]any{"input": map[string]any{"method": "GET", "path": "/block"}}, nil)
			if err == nil {
				held[i] = r
			}
		}(i)
	}
	waitFor(t, "the tenant's calls to reach the provider", func() bool { return h.up.blocked.Load() == boundsConcurrent })
	for i := 0; i < 5; i++ {
		for _, v := range []struct {
			route string
			hdr   map[string]string
		}{{"integrations", nil}, {"pieces", nil}, {"integrations", map[string]string{"Idempotency-Key": "conc-" + strconv.Itoa(i)}}} {
			r := h.custom(a, v.route, "/fast", v.hdr)
			code, msg := r.ErrorCode()
			c.check(r.Status == 429 && code == "too_many_concurrent" && r.Header.Get("Retry-After") != "" && strings.Contains(msg, "ATOM_TENANT_MAX_CONCURRENT"),
				"over the cap, %s %v: %d %s", v.route, v.hdr, r.Status, r.Body)
		}
		r := h.Call("POST", "/api/v1/integrations/echo/actions/echo", a.Key, map[string]any{"input": map[string]any{}}, nil)
		code, _ := r.ErrorCode()
		c.check(r.Status == 429 && code == "too_many_concurrent", "over the cap, native plugin: %d %s", r.Status, r.Body)
		r = h.Call("POST", "/api/v1/integrations/bnd/actions/custom_api_call?async=true", a.Key,
			map[string]any{"input": map[string]any{"method": "GET", "path": "/fast"}}, nil)
		code, _ = r.ErrorCode()
		c.check(r.Status == 429 && code == "too_many_concurrent" && r.Header.Get("Retry-After") != "", "over the cap, async: %d %s", r.Status, r.Body)
	}
	for i := 0; i < boundsConcurrent; i++ {
		r := h.custom(b, "integrations", "/fast", nil)
		c.check(r.Status == 200, "another tenant while the first is at its cap: %d %s", r.Status, r.Body)
	}
	h.up.releaseAll()
	wg.Wait()
	for i, r := range held {
		c.check(r.Status == 200, "held call %d: %d %s", i, r.Status, r.Body)
	}
	r := h.custom(a, "integrations", "/fast", nil)
	c.check(r.Status == 200, "the tenant after its calls finished: %d %s", r.Status, r.Body)
}

// attackUsers: past the cap, user creation answers 409 too_many_users;
// another tenant still creates users.
func (h *boundsHost) attackUsers(t *testing.T, backend string, a, b hosttest.Tenant) {
	c := &tally{t: t, class: "tenant-users", backend: backend}
	defer c.report()
	for i := 0; i < boundsUsers; i++ {
		h.Must(h.Call("POST", "/api/v1/users", a.Key, map[string]any{"id": "cap-user-" + strconv.Itoa(i)}, nil), 201, nil)
	}
	for i := 0; i < 10; i++ {
		body := map[string]any{"id": "over-" + strconv.Itoa(i), "email": "u" + strconv.Itoa(i) + "@a.test"}
		if i%2 == 1 {
			body = map[string]any{"name": "generated id " + strconv.Itoa(i)}
		}
		r := h.Call("POST", "/api/v1/users", a.Key, body, nil)
		code, msg := r.ErrorCode()
		c.check(r.Status == 409 && code == "too_many_users" && strings.Contains(msg, "ATOM_TENANT_MAX_USERS"), "user %d over the cap: %d %s", i, r.Status, r.Body)
	}
	r := h.Call("POST", "/api/v1/users", b.Key, map[string]any{"id": "b-user"}, nil)
	c.check(r.Status == 201, "another tenant's user: %d %s", r.Status, r.Body)
}

// attackStates: past the cap of live OAuth states, connect answers 429
// too_many_oauth_states on every provider and with a user; another
// tenant still connects; expired states free the cap.
func (h *boundsHost) attackStates(t *testing.T, backend string, a, b hosttest.Tenant) {
	c := &tally{t: t, class: "oauth-states", backend: backend}
	defer c.report()
	providers := []string{"fakeoauth", "fakeother"}
	for i := 0; i < boundsStates; i++ {
		h.startOAuth(a, providers[i%2], "")
	}
	for i := 0; i < 10; i++ {
		for _, p := range providers {
			hdr := map[string]string(nil)
			if i%2 == 1 {
				hdr = map[string]string{"X-Atom-User-Id": "cap-user-0"}
			}
			r := h.Call("GET", "/api/integrations/"+p+"?action=connect", a.Key, nil, hdr)
			code, msg := r.ErrorCode()
			c.check(r.Status == 429 && code == "too_many_oauth_states" && strings.Contains(msg, "ATOM_TENANT_MAX_OAUTH_STATES"),
				"connect %s #%d over the cap: %d %s", p, i, r.Status, r.Body)
		}
	}
	r := h.Call("GET", "/api/integrations/fakeoauth?action=connect", b.Key, nil, nil)
	c.check(r.Status == 200, "another tenant's connect: %d %s", r.Status, r.Body)
	h.expireStates(t)
	r = h.Call("GET", "/api/integrations/fakeoauth?action=connect", a.Key, nil, nil)
	c.check(r.Status == 200, "connect once the states expired: %d %s", r.Status, r.Body)
}

// attackLeaks: tokens in webhook URLs' query strings, and URLs with tokens
// in provider errors, reach neither the host's log, nor River's stored
// job errors, nor execution records.
func (h *boundsHost) attackLeaks(t *testing.T, backend string, tn hosttest.Tenant) {
	c := &tally{t: t, class: "secrets-in-logs", backend: backend}
	defer c.report()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // deliveries to it fail with the URL in Go's error
	hooks := []string{
		"http://" + closed + "/hook?token=" + boundsLeakSecret,
		"http://" + closed + "/hook?a=1&sig=" + boundsLeakSecret2 + "&b=2",
		"http://" + closed + "/p/" + "?x=" + url.QueryEscape("k="+boundsLeakSecret),
	}
	for i, hook := range hooks {
		h.Must(h.Call("PUT", "/api/v1/webhook", tn.Key, map[string]any{"url": hook}, nil), 200, nil)
		before := h.jobErrorCount(t)
		h.Must(h.Call("POST", "/api/v1/connections/fakekey", tn.Key, map[string]any{"api_key": "leak-key-" + strconv.Itoa(i)},
			map[string]string{"X-Atom-User-Id": "cap-user-" + strconv.Itoa(i)}), 201, nil)
		waitFor(t, "the webhook delivery to fail", func() bool {
			if h.jobErrorCount(t) > before {
				return true
			}
			return false
		})
		errs := h.jobErrors(t)
		c.check(strings.Contains(errs, closed) && !strings.Contains(errs, boundsLeakSecret) && !strings.Contains(errs, boundsLeakSecret2),
			"webhook %d: stored job errors %q", i, errs)
	}
	h.Must(h.Call("PUT", "/api/v1/webhook", tn.Key, map[string]any{"url": ""}, nil), 200, nil)
	for i, msg := range []string{
		"see https://docs.example/errors?token=" + boundsLeakSecret,
		"callback https://user:" + boundsLeakSecret + "@cb.example/x failed",
		"redirect to https://x.example/a#access_token=" + boundsLeakSecret,
	} {
		r := h.custom(tn, "integrations", "/leak?msg="+url.QueryEscape(msg), nil)
		var res struct {
			ExecutionID string `json:"execution_id"`
		}
		r.JSON(t, &res)
		rec := h.Call("GET", "/api/v1/executions/"+res.ExecutionID, tn.Key, nil, nil)
		var ex struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		rec.JSON(t, &ex)
		c.check(rec.Status == 200 && ex.Error.Message != "" && !strings.Contains(ex.Error.Message, boundsLeakSecret),
			"provider error %d: recorded message %q", i, ex.Error.Message)
	}
	logs := h.log.String()
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, boundsLeakSecret) || strings.Contains(line, boundsLeakSecret2) {
			t.Logf("log line with a token: %.400s", line)
		}
	}
	c.check(!strings.Contains(logs, boundsLeakSecret) && !strings.Contains(logs, boundsLeakSecret2), "the host's log holds a token")
	c.check(strings.Contains(logs, "REDACTED"), "the host's log shows no redacted URL (were the failures logged?)")
}

// attackWebhooks: a tenant whose webhook receiver hangs holds at most
// webhook.MaxTenantDeliveries delivery workers; another tenant's events
// are delivered while the first tenant's backlog waits.
func (h *boundsHost) attackWebhooks(t *testing.T, backend string, a, b hosttest.Tenant) {
	c := &tally{t: t, class: "webhook-fairness", backend: backend}
	defer c.report()
	var hung, peak atomic.Int64
	release := make(chan struct{})
	delivered := make(chan string, 64)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/a" {
			n := hung.Add(1)
			defer hung.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		delivered <- r.URL.Path
	}))
	defer recv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	h.Must(h.Call("PUT", "/api/v1/webhook", a.Key, map[string]any{"url": recv.URL + "/a"}, nil), 200, nil)
	h.Must(h.Call("PUT", "/api/v1/webhook", b.Key, map[string]any{"url": recv.URL + "/b"}, nil), 200, nil)
	const backlog = 12 // more than the queue's workers
	for i := 0; i < backlog; i++ {
		h.Must(h.Call("POST", "/api/v1/connections/fakekey", a.Key, map[string]any{"api_key": "hang-" + strconv.Itoa(i)}, nil), 201, nil)
	}
	waitFor(t, "the hanging receiver to hold deliveries", func() bool { return hung.Load() > 0 })
	for i := 0; i < 5; i++ {
		h.Must(h.Call("POST", "/api/v1/connections/fakekey", b.Key, map[string]any{"api_key": "fair-" + strconv.Itoa(i)}, nil), 201, nil)
		var got string
		waitFor(t, "the other tenant's delivery", func() bool {
			select {
			case got = <-delivered:
				return true
			default:
				return false
			}
		})
		c.check(got == "/b", "the other tenant's event %d: delivered %q first", i, got)
		c.check(peak.Load() <= webhook.MaxTenantDeliveries, "the hanging tenant held %d delivery workers at once (at most %d)", peak.Load(), webhook.MaxTenantDeliveries)
	}
	close(release)
	n := 0
	waitFor(t, "the backlog's deliveries", func() bool {
		for {
			select {
			case p := <-delivered:
				if p == "/a" {
					n++
				}
			default:
				return n >= backlog
			}
		}
	})
	c.check(n >= backlog, "%d of the backlog's %d events delivered after the receiver answered", n, backlog)
	h.Must(h.Call("PUT", "/api/v1/webhook", a.Key, map[string]any{"url": ""}, nil), 200, nil)
	h.Must(h.Call("PUT", "/api/v1/webhook", b.Key, map[string]any{"url": ""}, nil), 200, nil)
}

// jobErrors returns every error River stored with a job.
func (h *boundsHost) jobErrors(t *testing.T) string {
	var out []string
	h.jobErrorRows(t, func(s string) { out = append(out, s) })
	return strings.Join(out, "\n")
}

func (h *boundsHost) jobErrorCount(t *testing.T) int {
	n := 0
	h.jobErrorRows(t, func(s string) { n += strings.Count(s, `"attempt"`) })
	return n
}

func (h *boundsHost) jobErrorRows(t *testing.T, fn func(string)) {
	t.Helper()
	// River keeps errors as jsonb[] on PostgreSQL and as JSONB on SQLite.
	q := `SELECT CAST(array_to_json(errors) AS TEXT) FROM river_job WHERE errors IS NOT NULL`
	if h.Backend == "sqlite" {
		q = `SELECT json(errors) FROM river_job WHERE errors IS NOT NULL`
	}
	ctx := context.Background()
	switch st := h.App.Store.(type) {
	case interface{ Pool() *pgxpool.Pool }:
		rows, err := st.Pool().Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			fn(s)
		}
	case interface{ DB() *sql.DB }:
		rows, err := st.DB().QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			fn(s)
		}
	default:
		t.Fatalf("store %T exposes neither Pool nor DB", st)
	}
}

// attackAsync: one tenant's backlog of blocked asynchronous executions
// does not hold the workers: another tenant's asynchronous call completes
// while every one of the first tenant's calls is still blocked. Past the
// pending cap, the first tenant's further asynchronous calls answer 429
// too_many_pending; the other tenant still enqueues.
func (h *boundsHost) attackAsync(t *testing.T, backend string, a, b hosttest.Tenant) {
	c := &tally{t: t, class: "async-fairness", backend: backend}
	defer c.report()
	h.up.reset()
	enqueue := func(tn hosttest.Tenant, path string) hosttest.Response {
		return h.Call("POST", "/api/v1/integrations/bnd/actions/custom_api_call?async=true", tn.Key,
			map[string]any{"input": map[string]any{"method": "GET", "path": path}}, nil)
	}
	const backlog = 20
	var aIDs []string
	for i := 0; i < backlog; i++ {
		var res struct {
			ExecutionID string `json:"execution_id"`
		}
		h.Must(enqueue(a, "/block"), 202, &res)
		aIDs = append(aIDs, res.ExecutionID)
	}
	status := func(tn hosttest.Tenant, id string) string {
		var ex struct {
			Status string `json:"status"`
		}
		h.Must(h.Call("GET", "/api/v1/executions/"+id, tn.Key, nil, nil), 200, &ex)
		return ex.Status
	}
	waitFor(t, "the backlog to hold its workers", func() bool { return h.up.blocked.Load() == boundsRunAsync })
	var bRes struct {
		ExecutionID string `json:"execution_id"`
	}
	h.Must(enqueue(b, "/fast"), 202, &bRes)
	waitFor(t, "the other tenant's execution", func() bool { return status(b, bRes.ExecutionID) == "succeeded" })
	finished := 0
	for _, id := range aIDs {
		if st := status(a, id); st != "pending" && st != "running" {
			finished++
		}
	}
	c.check(finished == 0 && h.up.blocked.Load() <= boundsRunAsync,
		"the other tenant's execution finished after %d of the backlog's, with %d of them running (cap %d)", finished, h.up.blocked.Load(), boundsRunAsync)

	// The pending cap: the backlog is 20, the cap 24.
	for i := 0; i < boundsPending-backlog; i++ {
		h.Must(enqueue(a, "/fast"), 202, nil)
	}
	for i := 0; i < 10; i++ {
		r := enqueue(a, "/fast")
		code, msg := r.ErrorCode()
		c.check(r.Status == 429 && code == "too_many_pending" && r.Header.Get("Retry-After") != "" && strings.Contains(msg, "ATOM_TENANT_MAX_PENDING_ASYNC"),
			"async call %d over the pending cap: %d %s", i, r.Status, r.Body)
	}
	c.check(enqueue(b, "/fast").Status == 202, "another tenant's async call while the first is at its pending cap")

	h.up.releaseAll()
	waitFor(t, "the backlog to drain", func() bool {
		for _, id := range aIDs {
			if status(a, id) != "succeeded" {
				return false
			}
		}
		return true
	})
	c.check(enqueue(a, "/fast").Status == 202, "the tenant's async call once its backlog ran")
}

// waitFor polls cond until it holds, failing t after a generous bound
// (the bound is never the assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
