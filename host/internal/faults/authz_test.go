package faults

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// pathVariant is one way of spelling a route's path that Fiber might route
// differently from the canonical one.
type pathVariant struct {
	name string
	path string
}

var routeParam = regexp.MustCompile(`^:[A-Za-z0-9_]+$`)

// pathVariants spells pattern (a route path with its params filled from
// fill) as is and in every variant a router or a guard could disagree on:
// upper and mixed case of each literal segment, a percent-encoded letter in
// each literal segment, a doubled slash at each separator, a trailing
// slash, dot segments and an encoded slash.
func pathVariants(pattern string, fill func(param string) string) []pathVariant {
	segs := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	literal := make([]bool, len(segs))
	for i, s := range segs {
		if routeParam.MatchString(s) {
			segs[i] = fill(s[1:])
		} else {
			literal[i] = true
		}
	}
	join := func(s []string) string { return "/" + strings.Join(s, "/") }
	with := func(i int, v string) string {
		cp := append([]string{}, segs...)
		cp[i] = v
		return join(cp)
	}
	out := []pathVariant{{"as is", join(segs)}}
	for i, s := range segs {
		if !literal[i] || strings.ToUpper(s) == s {
			continue
		}
		out = append(out,
			pathVariant{"upper " + s, with(i, strings.ToUpper(s))},
			pathVariant{"title " + s, with(i, strings.ToUpper(s[:1])+s[1:])},
			pathVariant{"percent-encoded " + s, with(i, fmt.Sprintf("%%%02x", s[0])+s[1:])},
			pathVariant{"percent-encoded last letter " + s, with(i, s[:len(s)-1]+fmt.Sprintf("%%%02X", s[len(s)-1]))},
		)
	}
	mixed := []byte(join(segs))
	for i := range mixed {
		if i%2 == 1 && mixed[i] >= 'a' && mixed[i] <= 'z' {
			mixed[i] -= 'a' - 'A'
		}
	}
	out = append(out, pathVariant{"mixed case", string(mixed)})
	for i := range segs {
		cp := append([]string{}, segs...)
		cp[i] = "/" + cp[i]
		out = append(out, pathVariant{fmt.Sprintf("double slash before segment %d", i), join(cp)})
	}
	last := len(segs) - 1
	out = append(out,
		pathVariant{"trailing slash", join(segs) + "/"},
		pathVariant{"dot segment", join(append(append(append([]string{}, segs[:last]...), "x", ".."), segs[last:]...))},
		pathVariant{"dot-dot from a sibling", join(append(append([]string{}, segs[:1]...), append([]string{"zz", ".."}, segs[1:]...)...))},
		pathVariant{"single dot", join(append(append(append([]string{}, segs[:last]...), "."), segs[last:]...))},
		pathVariant{"encoded dot segment", join(append(append(append([]string{}, segs[:last]...), "x", "%2e%2e"), segs[last:]...))},
		pathVariant{"encoded slash", "/" + strings.Join(segs, "%2F")},
		pathVariant{"trailing dot", join(segs) + "/."},
		pathVariant{"semicolon", join(segs) + ";x=1"},
	)
	return out
}

// authzCred is a credential an attacker holds.
type authzCred struct {
	name string
	key  string
	hdr  map[string]string
}

// bodyFor is a request body that would succeed on the route with the
// right credential.
func bodyFor(method, pattern string) any {
	switch {
	case method == http.MethodPut && strings.Contains(pattern, "/admin/plugins/"):
		return []byte("#!/bin/sh\necho owned > owned.txt\n")
	case pattern == "/api/v1/tenants":
		return map[string]any{"name": "authz-pwn", "id": "authz-pwn"}
	case method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch:
		return map[string]any{"name": "authz-pwn"}
	}
	return nil
}

// routesOf lists the host's routes with the given guard (no HEAD: every
// GET has one), sorted.
func routesOf(h *host, g api.Guard) [][2]string {
	var out [][2]string
	for k, v := range h.App.Server.RouteGuards() {
		m, p, _ := strings.Cut(k, " ")
		if v == g && m != http.MethodHead {
			out = append(out, [2]string{m, p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][1]+out[i][0] < out[j][1]+out[j][0] })
	return out
}

// TestAttackAdminRoutes tries every admin route with every credential a
// tenant or an outsider can hold, under every path variant, on both
// backends: nothing answers 2xx or 5xx, no tenant or API key is created or
// revoked and no plugin file is written.
func TestAttackAdminRoutes(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			h := startHost(t, hosttest.Options{Backend: backend})
			a := h.NewTenant("authz-victim")
			b := h.NewTenant("authz-attacker")
			bCookie, bCSRF := h.session(b)
			var keys struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			}
			h.Must(h.Call("GET", "/api/v1/tenants/"+a.ID+"/api-keys", adminKey, nil, nil), 200, &keys)
			if len(keys.Items) != 1 {
				t.Fatalf("victim keys: %+v", keys)
			}
			aKeyID := keys.Items[0].ID
			pluginsBefore := dirList(t, h.Plugins)
			creds := []authzCred{
				{name: "no credential"},
				{name: "tenant key", key: b.Key},
				{name: "victim's tenant key", key: a.Key},
				{name: "page cookie and CSRF", hdr: map[string]string{"Cookie": "atom_session=" + bCookie, "X-CSRF-Token": bCSRF}},
				{name: "page cookie", hdr: map[string]string{"Cookie": "atom_session=" + bCookie}},
				{name: "wrong admin key", key: adminKey + "x"},
				{name: "admin key prefix", key: adminKey[:len(adminKey)-1]},
				{name: "admin key in upper case", key: strings.ToUpper(adminKey)},
			}
			fill := func(pattern string) func(string) string {
				return func(p string) string {
					switch {
					case p == "keyId":
						return aKeyID
					case strings.Contains(pattern, "/admin/plugins/"):
						return "owned"
					}
					return a.ID
				}
			}
			routes := routesOf(h, api.GuardAdmin)
			if len(routes) < 6 {
				t.Fatalf("admin routes: %v", routes)
			}
			cases, succeeded := 0, 0
			for _, r := range routes {
				method, pattern := r[0], r[1]
				for _, v := range pathVariants(pattern, fill(pattern)) {
					for _, c := range creds {
						res, err := h.Try(method, v.path, c.key, bodyFor(method, pattern), c.hdr)
						cases++
						switch {
						case err != nil:
							t.Errorf("%s %s (%s, %s): %v", method, v.path, v.name, c.name, err)
						case res.Status < 300 || res.Status >= 500:
							succeeded++
							t.Errorf("%s %s (%s, %s): %d %s", method, v.path, v.name, c.name, res.Status, res.Body)
						}
					}
				}
			}
			// Nothing was written.
			h.Must(h.Call("GET", "/api/v1/tenants/authz-pwn/api-keys", adminKey, nil, nil), 404, nil)
			h.Must(h.Call("GET", "/api/v1/tenants/"+a.ID+"/api-keys", adminKey, nil, nil), 200, &keys)
			if len(keys.Items) != 1 {
				t.Errorf("the victim has %d API keys after the attacks", len(keys.Items))
			}
			h.Must(h.Call("GET", "/api/v1/me", a.Key, nil, nil), 200, nil)
			if after := dirList(t, h.Plugins); after != pluginsBefore {
				t.Errorf("the plugin directory changed: %q → %q", pluginsBefore, after)
			}
			t.Logf("attack authz-admin: %d cases on %s, %d succeeded", cases, backend, succeeded)
		})
	}
}

// TestAttackTenantRouteVariants sends every tenant route, spelt in every
// non-canonical variant and with the other tenant's ids in its params,
// with an attacker's key, session or nothing: no variant reaches a
// handler (nothing answers 2xx or 5xx) and the victim's connection stays.
func TestAttackTenantRouteVariants(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			h := startHost(t, hosttest.Options{Backend: backend})
			a := h.NewTenant("variant-victim")
			b := h.NewTenant("variant-attacker")
			h.Must(h.Call("POST", "/api/v1/connections/fakekey", a.Key, map[string]any{"api_key": "sk_variant_victim"}, nil), 201, nil)
			var conns struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			}
			h.Must(h.Call("GET", "/api/v1/connections", a.Key, nil, nil), 200, &conns)
			bCookie, bCSRF := h.session(b)
			creds := []authzCred{
				{name: "no credential"},
				{name: "attacker key", key: b.Key},
				{name: "attacker page cookie and CSRF", hdr: map[string]string{"Cookie": "atom_session=" + bCookie, "X-CSRF-Token": bCSRF}},
			}
			fill := func(p string) string {
				switch p {
				case "provider", "pieceId":
					return "fakekey"
				case "id":
					return conns.Items[0].ID
				case "action":
					return "custom_api_call"
				}
				return a.ID
			}
			cases, succeeded := 0, 0
			for _, r := range routesOf(h, api.GuardTenant) {
				method, pattern := r[0], r[1]
				for _, v := range pathVariants(pattern, fill)[1:] {
					for _, c := range creds {
						res, err := h.Try(method, v.path, c.key, bodyFor(method, pattern), c.hdr)
						cases++
						switch {
						case err != nil:
							t.Errorf("%s %s (%s, %s): %v", method, v.path, v.name, c.name, err)
						case res.Status < 300 || res.Status >= 500:
							succeeded++
							t.Errorf("%s %s (%s, %s): %d %s", method, v.path, v.name, c.name, res.Status, res.Body)
						}
					}
				}
			}
			var st struct {
				Connected bool `json:"connected"`
			}
			h.Must(h.Call("GET", "/api/integrations/fakekey?action=status", a.Key, nil, nil), 200, &st)
			if !st.Connected {
				t.Error("the victim's connection is gone")
			}
			t.Logf("attack authz-tenant-variants: %d cases on %s, %d succeeded", cases, backend, succeeded)
		})
	}
}

// TestAttackCookieOnlyStateChange plays a cross-site page that makes the
// victim's browser send its session cookie without the CSRF token: every
// state-changing request, including the spec's GET ?action=connect and
// ?action=disconnect, is refused and the victim's connections stay.
func TestAttackCookieOnlyStateChange(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			h := startHost(t, hosttest.Options{Backend: backend})
			a := h.NewTenant("csrf-victim")
			h.connectOAuth(a, "fakeoauth")
			h.Must(h.Call("POST", "/api/v1/connections/fakekey", a.Key, map[string]any{"api_key": "sk_csrf_victim"}, nil), 201, nil)
			h.Must(h.Call("POST", "/api/v1/connections/fakebasic", a.Key, map[string]any{"username": "u", "password": "p"}, nil), 201, nil)
			cookie, csrf := h.session(a)
			cookieOnly := map[string]string{"Cookie": "atom_session=" + cookie}
			wrongToken := map[string]string{"Cookie": "atom_session=" + cookie, "X-CSRF-Token": csrf[:len(csrf)-2] + "xx"}
			cases, succeeded := 0, 0
			refuse := func(method, path string, body any, hdr map[string]string) {
				t.Helper()
				res := h.Call(method, path, "", body, hdr)
				cases++
				if res.Status != 401 && res.Status != 403 {
					succeeded++
					t.Errorf("%s %s: %d %s", method, path, res.Status, res.Body)
				}
			}
			for _, hdr := range []map[string]string{cookieOnly, wrongToken} {
				for _, p := range []string{"fakeoauth", "fakekey", "fakebasic", "fakeother", "fakecustom"} {
					for _, q := range []string{"?action=disconnect", "?action=connect", "?action=connect&return_to=%2Fintegrations", "?action=disconnect&x=1"} {
						refuse("GET", "/api/integrations/"+p+q, nil, hdr)
					}
				}
				for _, r := range routesOf(h, api.GuardTenant) {
					if r[0] == http.MethodGet {
						continue
					}
					path := strings.NewReplacer(":provider", "fakekey", ":pieceId", "fakekey", ":action", "custom_api_call", ":id", "x").Replace(r[1])
					refuse(r[0], path, bodyFor(r[0], r[1]), hdr)
				}
			}
			var list struct {
				Items []map[string]any `json:"items"`
			}
			h.Must(h.Call("GET", "/api/v1/connections", a.Key, nil, nil), 200, &list)
			if len(list.Items) != 3 {
				t.Errorf("the victim has %d connections after the attacks, want 3", len(list.Items))
			}
			// The same page requests with the token work.
			h.Must(h.Call("GET", "/api/integrations/fakekey?action=disconnect", "", nil,
				map[string]string{"Cookie": "atom_session=" + cookie, "X-CSRF-Token": csrf}), 200, nil)
			t.Logf("attack authz-csrf: %d cases on %s, %d succeeded", cases, backend, succeeded)
		})
	}
}

// TestAttackNoServerError sends every method to every route in the
// host's route table, with params filled with junk, without a credential
// and with a tenant key, on both backends: nothing answers 5xx.
func TestAttackNoServerError(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			h := startHost(t, hosttest.Options{Backend: backend, Quiet: true})
			tn := h.NewTenant("sweep")
			junk := []string{"callback", "status", "%2e%2e", strings.Repeat("z", 300), url.PathEscape("é☃"), "-"}
			queries := []string{"", "?action=status", "?action=disconnect", "?action=connect", "?state=x&code=y&limit=0&cursor=%zz&async=2"}
			param := regexp.MustCompile(`:[A-Za-z0-9_]+|\*`)
			seen := map[string]bool{}
			cases, failed := 0, 0
			for k := range h.App.Server.RouteGuards() {
				_, p, _ := strings.Cut(k, " ")
				if seen[p] {
					continue
				}
				seen[p] = true
				for _, j := range junk {
					for _, q := range queries {
						path := param.ReplaceAllString(p, j) + q
						for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
							for _, key := range []string{"", tn.Key} {
								res, err := h.Try(m, path, key, bodyFor(m, p), nil)
								cases++
								if err != nil || res.Status >= 500 {
									failed++
									t.Errorf("%s %s (key %v): %v %d %s", m, path, key != "", err, res.Status, res.Body)
								}
							}
						}
					}
				}
			}
			t.Logf("attack no-5xx: %d cases on %s, %d succeeded", cases, backend, failed)
		})
	}
}

// dirList names the files in dir, hidden ones included.
func dirList(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}

// TestAttackInboundLimits floods the host as one tenant (over its rate)
// and sends 120 MB bodies, declared and chunked, to every admin and tenant
// route with every credential, on both backends: the flood gets 429 with
// Retry-After while another tenant is served, and each body is refused
// while most of it is still unsent.
func TestAttackInboundLimits(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			const burst = 5
			h := startHost(t, hosttest.Options{Backend: backend, Configure: func(c *config.Config) {
				// One token per 1000 s: nothing refills during the test.
				c.TenantRateLimit, c.TenantRateBurst = 0.001, burst
				c.PluginUploadLimit = 4 << 20
			}})
			a := h.NewTenant("limits-victim")
			b := h.NewTenant("limits-flooder")
			bCookie, bCSRF := h.session(b)

			cases, succeeded := 0, 0
			paths := []string{"/api/v1/me", "/api/v1/catalog", "/api/v1/connections", "/api/v1/executions", "/api/integrations/status", "/api/integrations/fakekey?action=status"}
			served := 0
			for i := 0; i < 60; i++ {
				var r hosttest.Response
				if i%3 == 2 {
					r = h.Call("GET", paths[i%len(paths)], "", nil, map[string]string{"Cookie": "atom_session=" + bCookie, "X-CSRF-Token": bCSRF})
				} else {
					r = h.Call("GET", paths[i%len(paths)], b.Key, nil, nil)
				}
				cases++
				switch {
				case r.Status == 200:
					served++
				case r.Status == 429 && r.Header.Get("Retry-After") != "":
					if code, _ := r.ErrorCode(); code != "rate_limited" {
						t.Errorf("429 with code %q", code)
					}
				default:
					t.Errorf("flood request %d: %d %s", i, r.Status, r.Body)
				}
			}
			if served > burst {
				succeeded += served - burst
				t.Errorf("the flooder was served %d requests with a burst of %d", served, burst)
			}
			for _, p := range paths[:burst] {
				h.Must(h.Call("GET", p, a.Key, nil, nil), 200, nil)
			}
			t.Logf("attack tenant-rate: %d cases on %s, %d succeeded", cases, backend, succeeded)

			// Bodies go to a host without a rate limit, so the tenant key
			// reaches the body limit.
			h = startHost(t, hosttest.Options{Backend: backend, Configure: func(c *config.Config) { c.PluginUploadLimit = 4 << 20 }})
			a = h.NewTenant("limits-body")
			cases, succeeded = 0, 0
			const size = 120 << 20
			creds := []string{"", a.Key, adminKey}
			for _, g := range []api.Guard{api.GuardAdmin, api.GuardTenant} {
				for _, r := range routesOf(h, g) {
					if r[0] == http.MethodGet || r[0] == http.MethodDelete {
						continue
					}
					path := strings.NewReplacer(":provider", "fakekey", ":pieceId", "fakekey", ":action", "custom_api_call", ":id", a.ID, ":keyId", "k").Replace(r[1])
					for _, key := range creds {
						for _, chunked := range []bool{false, true} {
							st, sent, err := sendHuge(h.URL+path, r[0], key, size, chunked)
							cases++
							if err != nil || (st != 401 && st != 413) || sent >= size/2 {
								succeeded++
								t.Errorf("%s %s (key %v, chunked %v): %d after %d MB sent, %v", r[0], path, key != "", chunked, st, sent>>20, err)
							}
						}
					}
				}
			}
			t.Logf("attack body-size: %d cases on %s, %d succeeded", cases, backend, succeeded)
		})
	}
}

// countingZeros is a body of zeros that counts what the client sent.
type countingZeros struct {
	left, sent int64
}

func (z *countingZeros) Read(p []byte) (int, error) {
	if z.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.left {
		p = p[:z.left]
	}
	clear(p)
	z.left -= int64(len(p))
	z.sent += int64(len(p))
	return len(p), nil
}

// sendHuge sends a body of size bytes, with its length declared or
// chunked, and returns the status and how much of the body the client had
// sent when the answer came.
func sendHuge(url, method, key string, size int64, chunked bool) (int, int64, error) {
	body := &countingZeros{left: size}
	req, err := http.NewRequest(method, url, io.NopCloser(body))
	if err != nil {
		return 0, 0, err
	}
	req.ContentLength = size
	if chunked {
		req.ContentLength = -1
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, body.sent, err
	}
	defer resp.Body.Close()
	sent := body.sent
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, sent, nil
}
