package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/app"
)

const testAdminKey = "adm_openapi_test"

// do sends a request to the app in memory.
func do(t *testing.T, h *app.Host, method, path, key string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://atom.test"+path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.Server.App().Test(req, 30000)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// newTenant creates a tenant and a key through the admin API.
func newTenant(t *testing.T, h *app.Host, name string) (id, key string) {
	t.Helper()
	st, _, b := do(t, h, "POST", "/api/v1/tenants", testAdminKey, []byte(`{"name":"`+name+`"}`), nil)
	if st != 201 {
		t.Fatalf("create tenant: %d %s", st, b)
	}
	var tn struct{ ID string }
	json.Unmarshal(b, &tn)
	st, _, b = do(t, h, "POST", "/api/v1/tenants/"+tn.ID+"/api-keys", testAdminKey, []byte(`{"name":"k"}`), nil)
	if st != 201 {
		t.Fatalf("create key: %d %s", st, b)
	}
	var k struct{ Key string }
	json.Unmarshal(b, &k)
	return tn.ID, k.Key
}

func errCode(b []byte) string {
	var e struct {
		Error struct {
			Code      string `json:"code"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) != nil || e.Error.RequestID == "" {
		return ""
	}
	return e.Error.Code
}

// TestEveryRouteHasGuard walks Fiber's route table: every route must have
// been registered through a router with a guard, and the admin, callback
// and tenant paths must carry the guard of their kind.
func TestEveryRouteHasGuard(t *testing.T) {
	h := fullHost(t)
	guards := h.Server.RouteGuards()
	routes := h.Server.App().GetRoutes(true)
	if len(routes) < 30 {
		t.Fatalf("only %d routes in the table", len(routes))
	}
	for _, r := range routes {
		key := r.Method + " " + r.Path
		g, ok := guards[key]
		if !ok {
			t.Errorf("%s has no guard: register it through an api.Router", key)
			continue
		}
		var want api.Guard
		switch {
		case r.Path == "/api/v1/tenants" || strings.HasPrefix(r.Path, "/api/v1/tenants/") || strings.HasPrefix(r.Path, "/api/v1/admin/"):
			want = api.GuardAdmin
		case strings.HasPrefix(r.Path, "/api/integrations/") && strings.HasSuffix(r.Path, "/callback"):
			want = api.GuardOAuthState
		case strings.HasPrefix(r.Path, "/api/v1/hooks/"):
			want = api.GuardHook
		case strings.HasPrefix(r.Path, "/api/"):
			want = api.GuardTenant
		default:
			want = api.GuardPublic
		}
		if g != want {
			t.Errorf("%s has guard %s, want %s", key, g, want)
		}
	}
	if len(guards) != len(routes) {
		t.Errorf("%d guards recorded for %d routes", len(guards), len(routes))
	}
}

var allMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

var paramRe = regexp.MustCompile(`:[A-Za-z0-9_]+\??|\*`)

// TestNoServerErrorOnAnyRoute sends every method to every route, with
// params filled with junk and a few queries, without a credential and with
// a tenant key: nothing may answer 5xx, and every error is the JSON shape.
func TestNoServerErrorOnAnyRoute(t *testing.T) {
	h := fullHost(t)
	_, key := newTenant(t, h, "sweep")
	// /demo/ is the stand-in third-party provider: its errors are its own
	// shape, but it may not fail either.
	junk := []string{"callback", "status", "ZZ%2e%2e", strings.Repeat("a", 300), "%E2%98%83", "-"}
	queries := []string{"", "?action=status", "?action=disconnect", "?action=connect&x=%00y", "?state=x&code=y&limit=-1&cursor=zz&async=maybe"}
	seen := map[string]bool{}
	n := 0
	for _, r := range h.Server.App().GetRoutes(true) {
		if seen[r.Path] {
			continue
		}
		seen[r.Path] = true
		for _, j := range junk {
			for _, q := range queries {
				path := paramRe.ReplaceAllString(r.Path, j)
				for _, m := range allMethods {
					for _, k := range []string{"", key} {
						var body []byte
						if m == "POST" || m == "PUT" || m == "PATCH" {
							body = []byte(`{"zz":1}`)
						}
						st, _, b := do(t, h, m, path+q, k, body, nil)
						n++
						if st >= 500 {
							t.Errorf("%s %s (key %v): %d %s", m, path+q, k != "", st, b)
						}
						if st >= 400 && m != "HEAD" && !strings.HasPrefix(path, "/demo/") && errCode(b) == "" {
							t.Errorf("%s %s (key %v): %d without the JSON error shape: %s", m, path+q, k != "", st, b)
						}
					}
				}
			}
		}
	}
	t.Logf("%d requests, no 5xx", n)
}

// TestCallbackPathIsNotACallback is the example that panicked: the spec's
// route /api/integrations/{provider} with provider "callback" is a tenant
// route, not the OAuth callback.
func TestCallbackPathIsNotACallback(t *testing.T) {
	h := fullHost(t)
	for _, m := range allMethods {
		st, _, b := do(t, h, m, "/api/integrations/callback?action=status", "", nil, nil)
		if st >= 500 || (m == "GET" && st != 401) {
			t.Errorf("%s: %d %s", m, st, b)
		}
	}
}

// signIn starts a page session and returns its cookie and CSRF token.
func signIn(t *testing.T, h *app.Host, key string) (cookie, csrf string) {
	t.Helper()
	st, hdr, b := do(t, h, "POST", "/integrations/session", "", []byte(`{"api_key":"`+key+`"}`), map[string]string{"Accept": "application/json"})
	if st != 200 {
		t.Fatalf("sign in: %d %s", st, b)
	}
	var s struct {
		CSRF string `json:"csrf_token"`
	}
	json.Unmarshal(b, &s)
	for _, c := range (&http.Response{Header: hdr}).Cookies() {
		if c.Name == "atom_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" || s.CSRF == "" {
		t.Fatalf("sign in gave no cookie or token: %s", b)
	}
	return cookie, s.CSRF
}

// TestStateChangingGETNeedsIntent: the spec's GET ?action=disconnect (and
// ?action=connect) with the page cookie alone is refused; with the CSRF
// token or an API key it works.
func TestStateChangingGETNeedsIntent(t *testing.T) {
	h := fullHost(t)
	_, key := newTenant(t, h, "csrf")
	cookie, csrf := signIn(t, h, key)
	connect := func() {
		st, _, b := do(t, h, "POST", "/api/v1/connections/acme", key, []byte(`{"api_key":"sk_live_x"}`), nil)
		if st != 201 {
			t.Fatalf("connect: %d %s", st, b)
		}
	}
	connected := func() bool {
		st, _, b := do(t, h, "GET", "/api/integrations/acme?action=status", key, nil, nil)
		var s struct{ Connected bool }
		json.Unmarshal(b, &s)
		if st != 200 {
			t.Fatalf("status: %d %s", st, b)
		}
		return s.Connected
	}
	connect()
	for _, action := range []string{"disconnect", "connect"} {
		st, _, b := do(t, h, "GET", "/api/integrations/acme?action="+action, "", nil, map[string]string{"Cookie": cookie})
		if st != 403 || errCode(b) != "csrf_required" {
			t.Errorf("%s with the cookie alone: %d %s", action, st, b)
		}
	}
	if !connected() {
		t.Fatal("a cookie-only disconnect removed the connection")
	}
	// Reading stays possible with the cookie alone.
	if st, _, b := do(t, h, "GET", "/api/integrations/acme?action=status", "", nil, map[string]string{"Cookie": cookie}); st != 200 {
		t.Errorf("status with the cookie: %d %s", st, b)
	}
	st, _, b := do(t, h, "GET", "/api/integrations/acme?action=disconnect", "", nil, map[string]string{"Cookie": cookie, "X-CSRF-Token": csrf})
	if st != 200 || connected() {
		t.Errorf("disconnect with the CSRF token: %d %s", st, b)
	}
	connect()
	st, _, b = do(t, h, "GET", "/api/integrations/acme?action=disconnect", key, nil, nil)
	if st != 200 || connected() {
		t.Errorf("disconnect with the API key: %d %s", st, b)
	}
	st, _, b = do(t, h, "GET", "/api/integrations/acme-oauth?action=connect", "", nil, map[string]string{"Cookie": cookie, "X-CSRF-Token": csrf})
	if st != 200 {
		t.Errorf("connect with the CSRF token: %d %s", st, b)
	}
}

// TestTenantRateLimit: a tenant over its rate gets 429 rate_limited with
// Retry-After; another tenant is unaffected. The rate refills one token
// per 1000 s, so the test does not depend on timing.
func TestTenantRateLimit(t *testing.T) {
	h := fullHostWith(t, map[string]string{"ATOM_TENANT_RATE_LIMIT": "0.001", "ATOM_TENANT_RATE_BURST": "3"})
	_, a := newTenant(t, h, "a")
	_, b := newTenant(t, h, "b")
	for i := 0; i < 3; i++ {
		if st, _, body := do(t, h, "GET", "/api/v1/me", a, nil, nil); st != 200 {
			t.Fatalf("request %d within the burst: %d %s", i, st, body)
		}
	}
	st, hdr, body := do(t, h, "GET", "/api/v1/catalog", a, nil, nil)
	if st != 429 || errCode(body) != "rate_limited" {
		t.Fatalf("over the burst: %d %s", st, body)
	}
	if ra, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After %q", hdr.Get("Retry-After"))
	}
	if st, _, body := do(t, h, "GET", "/api/v1/me", b, nil, nil); st != 200 {
		t.Errorf("the other tenant was limited too: %d %s", st, body)
	}
	// Unauthenticated requests are refused before the limiter and do not
	// spend the tenant's tokens; the limit is per tenant, not per key.
	if st, _, _ := do(t, h, "GET", "/api/v1/me", "", nil, nil); st != 401 {
		t.Errorf("no key: %d", st)
	}
}

// zeros is an endless body that allocates nothing.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// sendBig writes a request with a body of size bytes (declared, or
// chunked) to addr and returns the status of the response and how many
// body bytes went out before it came. The body is produced as it is sent.
func sendBig(t *testing.T, addr, method, path string, hdr map[string]string, size int64, chunked bool) (int, []byte, int64) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: atom.test\r\nContent-Type: application/json\r\n", method, path)
	for k, v := range hdr {
		fmt.Fprintf(&head, "%s: %s\r\n", k, v)
	}
	if chunked {
		head.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	} else {
		fmt.Fprintf(&head, "Content-Length: %d\r\n\r\n", size)
	}
	if _, err := io.WriteString(conn, head.String()); err != nil {
		t.Fatal(err)
	}
	var sent int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		chunkHead, crlf := []byte(fmt.Sprintf("%x\r\n", len(buf))), []byte("\r\n")
		src := io.LimitReader(zeros{}, size-size%int64(len(buf)))
		for {
			n, _ := src.Read(buf)
			if n == 0 {
				if chunked {
					io.WriteString(conn, "0\r\n\r\n")
				}
				return
			}
			var err error
			if chunked {
				// One chunk per buffer: its size line, the data and CRLF,
				// written without allocating.
				if _, err = conn.Write(chunkHead); err == nil {
					if _, err = conn.Write(buf[:n]); err == nil {
						_, err = conn.Write(crlf)
					}
				}
			} else {
				_, err = conn.Write(buf[:n])
			}
			if err != nil {
				return
			}
			sent += int64(n)
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		conn.Close()
		wg.Wait()
		t.Fatalf("%s %s: no response (%v) after %d body bytes", method, path, err, sent)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	conn.Close()
	wg.Wait()
	return resp.StatusCode, body, sent
}

// listen serves h on a loopback port until the test ends.
func listen(t *testing.T, h *app.Host) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h.Server.App().Listener(ln)
	t.Cleanup(func() { h.Server.App().ShutdownWithTimeout(5 * time.Second) })
	return ln.Addr().String()
}

// TestBodyRefusedBeforeRead sends 120 MB bodies, declared and chunked, to
// admin, tenant, upload and unknown routes with and without credentials:
// each is refused while most of the body is still unsent, and the host's
// allocations do not grow by anything near the body size.
func TestBodyRefusedBeforeRead(t *testing.T) {
	const size = 120 << 20
	h := fullHostWith(t, map[string]string{"ATOM_PLUGIN_UPLOAD_LIMIT": strconv.Itoa(4 << 20), "ATOM_TENANT_RATE_LIMIT": "0"})
	_, key := newTenant(t, h, "big")
	addr := listen(t, h)
	bearer := func(k string) map[string]string { return map[string]string{"Authorization": "Bearer " + k} }
	cases := []struct {
		name, method, path string
		hdr                map[string]string
		want               int
	}{
		{"admin route, no key", "POST", "/api/v1/tenants", nil, 401},
		{"admin route, tenant key", "POST", "/api/v1/tenants", bearer(key), 401},
		{"admin route, admin key", "POST", "/api/v1/tenants", bearer(testAdminKey), 413},
		{"upload, no key", "PUT", "/api/v1/admin/plugins/big", nil, 401},
		{"upload, tenant key", "PUT", "/api/v1/admin/plugins/big", bearer(key), 401},
		{"upload, admin key", "PUT", "/api/v1/admin/plugins/big", bearer(testAdminKey), 413},
		{"tenant route, no key", "POST", "/api/v1/connections/acme", nil, 401},
		{"tenant route, tenant key", "POST", "/api/v1/connections/acme", bearer(key), 413},
		{"execution, tenant key", "POST", "/api/v1/integrations/acme/actions/custom_api_call", bearer(key), 413},
		{"sign-in", "POST", "/integrations/session", nil, 413},
		{"unknown route", "POST", "/api/v1/nothing-here", nil, 404},
		{"public route", "GET", "/healthz", nil, 413},
	}
	for _, tc := range cases {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s chunked=%v", tc.name, chunked), func(t *testing.T) {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				st, body, sent := sendBig(t, addr, tc.method, tc.path, tc.hdr, size, chunked)
				runtime.ReadMemStats(&after)
				if st != tc.want {
					t.Errorf("status %d, want %d: %s", st, tc.want, body)
				}
				if st >= 400 && errCode(body) == "" {
					t.Errorf("not the JSON error shape: %s", body)
				}
				if sent >= size/2 {
					t.Errorf("%d of %d body bytes went out before the answer", sent, size)
				}
				grew := after.TotalAlloc - before.TotalAlloc
				if grew > 32<<20 {
					t.Errorf("the host allocated %d MB for a refused %d MB body", grew>>20, size>>20)
				}
				t.Logf("%d after %d KB sent, %d KB allocated in the process", st, sent>>10, grew>>10)
			})
		}
	}
	// The connection is not left in the middle of a body: a refused
	// request followed by a well-formed one on the same connection does
	// not turn the body into a request.
	smuggled := `{"a":"` + strings.Repeat("x", 100) + `"}GET /healthz HTTP/1.1` + "\r\nHost: x\r\n\r\n"
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(smuggled), smuggled)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("first response: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	fmt.Fprintf(conn, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), "ready") {
			t.Errorf("the unread body was taken for the next request: %d %s", resp.StatusCode, b)
		}
	}
}

// TestCompressedBodyRefused: Fiber would inflate a gzip body without a
// bound, so a compressed body is refused before anything decodes it.
func TestCompressedBodyRefused(t *testing.T) {
	h := fullHost(t)
	_, key := newTenant(t, h, "gz")
	for _, enc := range [][]string{{"gzip"}, {"deflate"}, {"br"}, {"zstd"}, {"gzip, gzip"}, {"identity, gzip"}, {"identity", "gzip"}, {"GZIP"}} {
		req := httptest.NewRequest("POST", "http://atom.test/api/v1/connections/acme", bytes.NewReader([]byte{0x1f, 0x8b, 0, 0}))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		for _, e := range enc {
			req.Header.Add("Content-Encoding", e)
		}
		resp, err := h.Server.App().Test(req, 10000)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 415 || errCode(b) != "unsupported_content_encoding" {
			t.Errorf("%q: %d %s", enc, resp.StatusCode, b)
		}
	}
	// identity is no encoding.
	st, _, b := do(t, h, "POST", "/api/v1/connections/acme", key, []byte(`{"api_key":"k"}`), map[string]string{"Content-Encoding": "identity"})
	if st != 201 {
		t.Errorf("identity: %d %s", st, b)
	}
}

// TestMetricsAfterConcurrentTraffic: after mixed concurrent requests
// (methods, paths, tenants), /metrics answers 200 and every label value is
// a real method, route and status.
func TestMetricsAfterConcurrentTraffic(t *testing.T) {
	h := fullHostWith(t, map[string]string{"ATOM_TENANT_RATE_LIMIT": "0"})
	addr := listen(t, h)
	keys := make([]string, 4)
	for i := range keys {
		_, keys[i] = newTenant(t, h, "m"+strconv.Itoa(i))
	}
	type req struct{ method, path string }
	mix := []req{
		{"GET", "/healthz"}, {"GET", "/api/v1/me"}, {"POST", "/api/v1/users"}, {"DELETE", "/api/v1/connections/acme"},
		{"GET", "/api/v1/catalog/acme"}, {"PUT", "/api/v1/webhook"}, {"PATCH", "/api/v1/me"}, {"OPTIONS", "/api/v1/catalog"},
		{"GET", "/api/integrations/acme?action=status"}, {"GET", "/no/such/route/at/all"}, {"HEAD", "/readyz"},
		{"GET", "/api/v1/Tenants"}, {"POST", "/api/v1/executions"}, {"GET", "/api/v1/catalog?limit=7"},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				r := mix[(g+i)%len(mix)]
				var body io.Reader
				if r.method == "POST" || r.method == "PUT" || r.method == "PATCH" {
					body = strings.NewReader(`{"id":"u` + strconv.Itoa(g*1000+i) + `","url":"x"}`)
				}
				rq, _ := http.NewRequest(r.method, "http://"+addr+r.path, body)
				rq.Header.Set("Authorization", "Bearer "+keys[(g*7+i)%len(keys)])
				rq.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(rq)
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 500 {
					mu.Lock()
					failures = append(failures, r.method+" "+r.path+": "+resp.Status)
					mu.Unlock()
				}
			}
		}(g)
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d failures, first: %s", len(failures), failures[0])
	}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, b)
	}
	routes := map[string]bool{"unmatched": true}
	for k := range h.Server.RouteGuards() {
		routes[k[strings.IndexByte(k, ' ')+1:]] = true
	}
	methods := map[string]bool{}
	for _, m := range allMethods {
		methods[m] = true
	}
	label := regexp.MustCompile(`(\w+)="([^"]*)"`)
	lines := 0
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "atom_http_request") {
			continue
		}
		lines++
		for _, m := range label.FindAllStringSubmatch(line, -1) {
			switch m[1] {
			case "method":
				if !methods[m[2]] {
					t.Errorf("method label %q: %s", m[2], line)
				}
			case "route":
				if !routes[m[2]] {
					t.Errorf("route label %q is no route: %s", m[2], line)
				}
			case "status":
				if n, err := strconv.Atoi(m[2]); err != nil || n < 100 || n > 599 {
					t.Errorf("status label %q: %s", m[2], line)
				}
			}
		}
	}
	if lines == 0 {
		t.Fatal("no HTTP metrics")
	}
}

// TestRequestIDFromClient: a client's X-Request-Id is kept only when it
// looks like an id; anything else is replaced before it reaches a log
// line or an error body.
func TestRequestIDFromClient(t *testing.T) {
	h := fullHost(t)
	for _, tc := range []struct {
		sent string
		keep bool
	}{
		{"trace-0123456789abcdef", true},
		{"abc", false},
		{strings.Repeat("a", 65), false},
		{"evil\" msg=forged", false},
		{"<script>alert(1)</script>", false},
	} {
		_, hdr, b := do(t, h, "GET", "/api/v1/me", "", nil, map[string]string{"X-Request-Id": tc.sent})
		got := hdr.Get("X-Request-Id")
		var e struct {
			Error struct {
				RequestID string `json:"request_id"`
			} `json:"error"`
		}
		json.Unmarshal(b, &e)
		if e.Error.RequestID != got || got == "" {
			t.Errorf("%q: header %q, body %q", tc.sent, got, e.Error.RequestID)
		}
		if (got == tc.sent) != tc.keep {
			t.Errorf("%q: answered with id %q", tc.sent, got)
		}
	}
}

// TestRefusedBodyAnswerArrives: a client still writing a body the host
// refused unread gets the refusal, not a connection reset.
func TestRefusedBodyAnswerArrives(t *testing.T) {
	h := fullHost(t)
	addr := listen(t, h)
	_, key := newTenant(t, h, "reset")
	body := bytes.Repeat([]byte("a"), 2<<20)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	for i := 0; i < 10; i++ {
		// A kept-alive connection first, as a client that made other calls.
		if resp, err := client.Get("http://" + addr + "/healthz"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		for _, tc := range []struct {
			path, key string
			want      int
		}{{"/api/v1/tenants", "", 401}, {"/api/v1/users", key, 413}, {"/api/v1/nothing", "", 404}} {
			req, _ := http.NewRequest("POST", "http://"+addr+tc.path, bytes.NewReader(body))
			if tc.key != "" {
				req.Header.Set("Authorization", "Bearer "+tc.key)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s: no answer: %v", tc.path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s: %d, want %d", tc.path, resp.StatusCode, tc.want)
			}
		}
	}
}

// TestUploadLimitOnlyOnUpload: a body over ATOM_BODY_LIMIT but within
// ATOM_PLUGIN_UPLOAD_LIMIT reaches the upload handler with the admin key,
// and is refused everywhere else; over the upload limit it is refused
// there too.
func TestUploadLimitOnlyOnUpload(t *testing.T) {
	h := fullHostWith(t, map[string]string{"ATOM_PLUGIN_UPLOAD_LIMIT": strconv.Itoa(3 << 20)})
	_, key := newTenant(t, h, "up")
	mid := bytes.Repeat([]byte("a"), 2<<20)
	big := bytes.Repeat([]byte("a"), 3<<20+1)
	for _, tc := range []struct {
		name, method, path, key string
		body                    []byte
		want                    int
	}{
		{"upload within its limit", "PUT", "/api/v1/admin/plugins/junk", testAdminKey, mid, 422},
		{"upload over its limit", "PUT", "/api/v1/admin/plugins/junk", testAdminKey, big, 413},
		{"upload with a tenant key", "PUT", "/api/v1/admin/plugins/junk", key, mid, 401},
		{"other admin route", "POST", "/api/v1/tenants", testAdminKey, mid, 413},
		{"tenant route", "POST", "/api/v1/users", key, mid, 413},
	} {
		st, _, b := do(t, h, tc.method, tc.path, tc.key, tc.body, nil)
		if st != tc.want {
			t.Errorf("%s: %d, want %d: %.200s", tc.name, st, tc.want, b)
		}
		if st == 413 && !strings.Contains(string(b), "ATOM_") {
			t.Errorf("%s: the 413 does not name the setting: %s", tc.name, b)
		}
	}
}

// TestUnknownMethod: a method the transport does not know is refused with
// 405 in the JSON error shape, and the connection is not left half-read.
func TestUnknownMethod(t *testing.T) {
	h := fullHost(t)
	addr := listen(t, h)
	for _, m := range []string{"FOO", "GETT", "PROPFIND", "get"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "%s /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", m)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		b, _ := io.ReadAll(resp.Body)
		conn.Close()
		if resp.StatusCode != 405 || errCode(b) != "method_not_allowed" {
			t.Errorf("%s: %d %s", m, resp.StatusCode, b)
		}
	}
}
