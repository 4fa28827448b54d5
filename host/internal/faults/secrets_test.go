package faults

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// listener is a second HTTP server acting as the attacker: it records
// every request that reaches it and answers like a token endpoint, so a
// flow that sends it anything would also "succeed".
type listener struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newListener(t *testing.T) *listener {
	l := &listener{}
	l.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var hdr strings.Builder
		for k, v := range r.Header {
			hdr.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
		l.mu.Lock()
		l.seen = append(l.seen, r.Method+" "+r.URL.String()+"\n"+hdr.String()+string(body))
		l.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"attacker","refresh_token":"attacker","expires_in":3600}`)
	}))
	t.Cleanup(l.Close)
	return l
}

// received returns how many requests arrived, and how many carried one of
// secrets (in the URL, a header or the body; also URL-encoded).
func (l *listener) received(secrets ...string) (all, leaked int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.seen {
		for _, sec := range secrets {
			if strings.Contains(s, sec) || strings.Contains(s, url.QueryEscape(sec)) {
				leaked++
				break
			}
		}
	}
	return len(l.seen), leaked
}

// redirector answers every request with a redirect it is told.
type redirector struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	to     string
}

func (r *redirector) set(status int, to string) {
	r.mu.Lock()
	r.status, r.to = status, to
	r.mu.Unlock()
}

// secretsHost is a host whose catalog holds descriptors with templated,
// secret-bearing URLs, modelled on Zoho (data centre from a listed
// parameter or a callback field), Salesforce (optional hostname, then a
// fixed login host; instance_url from the token response), Shopify (shop
// subdomain) and templated API-key base URLs, all served by a local fake
// provider, with the operator's OAuth client and API keys in the
// environment.
type secretsHost struct {
	*hosttest.Host
	fake       *fakeprovider.Server
	evil       *listener
	redirect   *redirector
	fakeHost   string // 127.0.0.1:port of the fake
	evilHost   string // 127.0.0.1:port of the attacker
	operKey    string // {PROVIDER}_API_KEY of the keyed descriptors
	operSecret string
}

func startSecretsHost(t *testing.T, backend string) *secretsHost {
	t.Helper()
	fp := fakeprovider.New(t, fakeprovider.Quirks{})
	evil := newListener(t)
	fakeHost := strings.TrimPrefix(fp.URL, "http://")
	// A token endpoint on a fixed host that redirects where it is told:
	// an open redirect on the provider's domain.
	rd := &redirector{}
	rd.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd.mu.Lock()
		status, to := rd.status, rd.to
		rd.mu.Unlock()
		w.Header().Set("Location", to)
		w.WriteHeader(status)
	}))
	t.Cleanup(rd.Close)
	oauth := func(id, tokenURL, extra string) string {
		return `{"id":"` + id + `","name":"` + id + `","categories":["crm"],
 "auth":{"kind":"oauth2","authorization_url":"` + fp.URL + `/oauth/authorize","token_url":"` + tokenURL + `",
  "refresh_url":"` + tokenURL + `","revocation_url":"` + tokenURL + `"` + extra + `},
 "api":{"base_url":"` + fp.URL + `/api"},"implementations":["generic"],"connectable":true}`
	}
	keyed := func(id, base, extra string) string {
		return `{"id":"` + id + `","name":"` + id + `","categories":["development"],
 "auth":{"kind":"api_key","credential_fields":["apiKey"],"api_key_in":"header","api_key_name":"Authorization","api_key_prefix":"Bearer "` + extra + `},
 "api":{"base_url":"` + base + `"},"implementations":["generic"],"connectable":true}`
	}
	cat := map[string]string{
		"zoholike.json": oauth("zoholike", "http://{{connection.dc}}/oauth/token || {{metadata.accounts-server}}/oauth/token",
			`,"connection_params":["dc"],"optional_connection_params":["dc"],"connection_param_options":{"dc":["`+fakeHost+`"]},
  "redirect_metadata":["accounts-server"],"metadata_options":{"accounts-server":["`+fp.URL+`"]}`),
		"sflike.json": oauth("sflike", "http://{{connection.hostname}}/oauth/token || "+fp.URL+"/oauth/token",
			`,"connection_params":["hostname"],"optional_connection_params":["hostname"],"token_metadata":["instance_url"],"tenant_chosen_hosts":["connection.hostname"]`),
		// One label under the provider's own domain: the operator's
		// client goes there when the value is a single DNS label.
		"shoplike.json": oauth("shoplike", "https://{{connection.shop}}.myshop.test/admin/oauth/access_token",
			`,"connection_params":["shop"]`),
		"prefixlike.json": oauth("prefixlike", "https://{{metadata.domain_prefix}}.retail.myshop.test/api/1.0/token",
			`,"redirect_metadata":["domain_prefix"]`),
		"redirlike.json": oauth("redirlike", rd.URL+"/oauth/token", ""),
		"keyfixed.json":  keyed("keyfixed", fp.URL+"/api", ""),
		"keyhost.json":   keyed("keyhost", "http://{{connection.host}}/api", `,"connection_params":["host"],"tenant_chosen_hosts":["connection.host"]`),
		"keydomain.json": keyed("keydomain", "http://{{credentials.domain}}/api", `,"tenant_chosen_hosts":["credentials.domain"]`),
		"keylabel.json":  keyed("keylabel", "http://{{connection.sub}}.keylabel.test/api", `,"connection_params":["sub"]`),
		"keyregion.json": keyed("keyregion", "http://{{connection.region}}/api",
			`,"connection_params":["region"],"connection_param_options":{"region":["`+fakeHost+`"]}`),
	}
	operKey := "operator-api-key-" + strings.Repeat("k", 12)
	env := map[string]string{}
	for _, p := range []string{"ZOHOLIKE", "SFLIKE", "SHOPLIKE", "PREFIXLIKE", "REDIRLIKE"} {
		env[p+"_CLIENT_ID"], env[p+"_CLIENT_SECRET"] = fp.ClientID, fp.ClientSecret
	}
	for _, p := range []string{"KEYHOST", "KEYDOMAIN", "KEYREGION", "KEYFIXED", "KEYLABEL"} {
		env[p+"_API_KEY"] = operKey
	}
	h := hosttest.Start(t, hosttest.Options{Backend: backend, AdminKey: adminKey, Catalog: cat, Env: env, LogLevel: "error", Quiet: true})
	return &secretsHost{Host: h, fake: fp, evil: evil, redirect: rd, fakeHost: fakeHost,
		evilHost: strings.TrimPrefix(evil.URL, "http://"), operKey: operKey, operSecret: fp.ClientSecret}
}

// hostSpellings are ways a tenant may spell a host of its choosing: the
// attacker's listener itself, and attempts to break out of a template
// or past an allowed-values check (user info, fragment, path, port,
// percent-encoding, dot segments, IDNA look-alikes, IP literals, suffixes
// and prefixes of the legitimate host).
func (s *secretsHost) hostSpellings() []string {
	ev, fh := s.evilHost, s.fakeHost
	port := ev[strings.LastIndex(ev, ":")+1:]
	return []string{
		ev, ev + "#", ev + "/", ev + "/..", ev + "?", "x@" + ev, fh + "@" + ev, ev + "#" + fh, ev + "/" + fh,
		"127.0.0.1%3a" + port, "127.0.0.1%3A" + port, "localhost:" + port, "[::ffff:127.0.0.1]:" + port, "2130706433:" + port,
		"0x7f000001:" + port, "127.1:" + port, "127.0.0.1", "evil.com", "evil.com#", "x@evil", "evil.com:443", "evil.com.",
		"%2e%2e", "%2e", "..", "évil.com", "\u0435vil.com", "xn--vil-bma.com", "accounts.zoho.eu.evil.com",
		fh + ".evil.com", "evil.com\\@" + fh, " evil.com", "EVIL.COM", "a.b.evil.com", "evil.com%00", "evil.com\t",
	}
}

// labelSpellings are values a tenant may give where a template puts one
// DNS label under the provider's domain ({{connection.shop}}.myshop.test),
// trying to break out of the label: dots, user info, port, path, query,
// fragment, percent-encoding, backslashes, whitespace, non-ASCII
// look-alikes, IP literals, the attacker's address, labels too long or
// with a hyphen at an end, and hosts under or around the parent domain.
func (s *secretsHost) labelSpellings() []string {
	ev := s.evilHost
	port := ev[strings.LastIndex(ev, ":")+1:]
	return []string{
		"evil.com#", "x.evil", "a@b", "a:1", "%2e", "..", ".", "\u0435vil", "évil", "ｅvil", "evil\u200b", strings.Repeat("a", 64), "-a", "a-", "-",
		ev, ev + "#", ev + "/", "x@" + ev, "a:" + port, "localhost:" + port, "localhost#", "localhost/", "localhost?", "127.0.0.1", "[::1]",
		"2130706433:" + port, "evil.com%23", "evil.com%2f", "x%40evil.com", "%2e%2e", "a\\b", "evil.com\\@a", "a b", "a\tb",
		"evil.com.", ".evil.com", "evil.com?", "evil.com/x", "a_b", "acme.myshop.test", "myshop.test.evil.com", "acme.myshop.test@evil.com",
		"xn--80ak6aa92e.com", "a\r\nHost: evil.com",
	}
}

// attackCase is one attempt; it returns the final answer of the host.
type attackCase struct {
	name string
	run  func() hosttest.Response
}

// runAttack runs cases and checks that each is refused with a 4xx error
// (or, for a provider's misbehaviour, 502 token_exchange_failed) whose
// code is in codes, and that the attacker received nothing.
func (s *secretsHost) runAttack(t *testing.T, class string, cases []attackCase, codes ...string) {
	t.Helper()
	succeeded := 0
	for _, c := range cases {
		before, leakedBefore := s.evil.received(s.operSecret, s.operKey)
		r := c.run()
		code, msg := r.ErrorCode()
		after, leaked := s.evil.received(s.operSecret, s.operKey)
		switch {
		case after != before:
			succeeded++
			t.Errorf("%s %q: the attacker's listener received %d requests (%d with the operator's secret)", class, c.name, after-before, leaked-leakedBefore)
		case !(r.Status >= 400 && r.Status <= 499 || r.Status == 502 && code == "token_exchange_failed") || !slices.Contains(codes, code):
			succeeded++
			t.Errorf("%s %q: %d %s, want a 4xx refusal (%v)", class, c.name, r.Status, r.Body, codes)
		case strings.Contains(msg, s.operSecret) || strings.Contains(msg, s.operKey):
			succeeded++
			t.Errorf("%s %q: the error message holds a secret", class, c.name)
		}
	}
	t.Logf("attack %s: %d cases on %s, %d succeeded", class, len(cases), s.Backend, succeeded)
}

// connect starts an OAuth connection with query parameters.
func (s *secretsHost) connect(tn hosttest.Tenant, provider string, params url.Values) hosttest.Response {
	q := url.Values{"action": {"connect"}}
	for k, v := range params {
		q[k] = v
	}
	return s.Call("GET", "/api/integrations/"+provider+"?"+q.Encode(), tn.Key, nil, nil)
}

// callbackWith starts a connection without parameters and calls its
// callback with a code and extra query parameters; when the start is
// refused its answer is returned.
func (s *secretsHost) callbackWith(tn hosttest.Tenant, provider string, params, extra url.Values) hosttest.Response {
	r := s.connect(tn, provider, params)
	if r.Status != 200 {
		return r
	}
	var res struct {
		State string `json:"state"`
	}
	r.JSON(s.T, &res)
	q := url.Values{"state": {res.State}, "code": {"code-from-the-browser"}}
	for k, v := range extra {
		q[k] = v
	}
	return s.Call("GET", "/api/integrations/"+provider+"/callback?"+q.Encode(), "", nil, map[string]string{"Accept": "application/json"})
}

func (s *secretsHost) piece(tn hosttest.Tenant, provider string, config map[string]string, path string) hosttest.Response {
	body := map[string]any{"config": config, "input": map[string]any{"method": "GET", "path": path}}
	return s.Call("POST", "/api/v1/pieces/"+provider+"/actions/custom_api_call", tn.Key, body, nil)
}

// TestAttackSecretRouting tries to steer the operator's OAuth client
// secret and API keys to a host the tenant picked, through every source
// of template values: connect parameters, callback parameters, callback
// fields (Zoho's accounts-server) and a pieces call's config, with many
// spellings of the attacker's host. The attacker's listener must receive
// nothing and every attempt must be refused with a 4xx that says why.
func TestAttackSecretRouting(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			s := startSecretsHost(t, backend)
			spellings := s.hostSpellings()
			refused := []string{"tenant_app_required", "invalid_input"}

			// The legitimate paths work, and the fake sees the operator's
			// client: the set-up can tell a delivered secret.
			t.Run("allowed values work", func(t *testing.T) {
				tn := s.NewTenant("allowed")
				r := s.connect(tn, "zoholike", nil)
				var res struct {
					AuthURL string `json:"authUrl"`
					State   string `json:"state"`
				}
				s.Must(r, 200, &res)
				resp, err := hosttest.Client.Get(res.AuthURL)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				loc, _ := url.Parse(resp.Header.Get("Location"))
				q := url.Values{"state": {res.State}, "code": {loc.Query().Get("code")}, "accounts-server": {s.fake.URL}}
				before := len(s.fake.TokenRequests())
				s.Must(s.Call("GET", "/api/integrations/zoholike/callback?"+q.Encode(), "", nil, map[string]string{"Accept": "application/json"}), 200, nil)
				if len(s.fake.TokenRequests()) != before+1 {
					t.Fatal("the listed accounts server did not receive the token request")
				}
				calls := len(s.fake.APIRequests())
				r = s.piece(tn, "keyregion", map[string]string{"region": s.fakeHost}, "/me")
				if r.Status == 400 || len(s.fake.APIRequests()) != calls+1 {
					t.Fatalf("listed region: %d %s, fake saw %d calls", r.Status, r.Body, len(s.fake.APIRequests())-calls)
				}
				if got := s.fake.APIRequests()[calls]; got.Token != s.operKey {
					t.Fatalf("the listed region did not receive the operator's key: %+v", got)
				}
			})

			var cases []attackCase
			add := func(name string, run func() hosttest.Response) { cases = append(cases, attackCase{name, run}) }

			tn := s.NewTenant("connect-params")
			for _, v := range spellings {
				for _, p := range []struct{ provider, param string }{{"sflike", "hostname"}, {"shoplike", "shop"}, {"zoholike", "dc"}} {
					add(p.provider+" "+p.param+"="+v, func() hosttest.Response {
						// Should connect pass, finish the flow: the token
						// exchange is where the secret would leave.
						return s.callbackWith(tn, p.provider, url.Values{p.param: {v}}, nil)
					})
				}
			}
			s.runAttack(t, "secret-connect-param", cases, refused...)

			cases = nil
			tn = s.NewTenant("callback-params")
			for _, v := range spellings {
				add("sflike callback hostname="+v, func() hosttest.Response {
					return s.callbackWith(tn, "sflike", nil, url.Values{"hostname": {v}})
				})
				add("zoholike callback dc="+v, func() hosttest.Response {
					return s.callbackWith(tn, "zoholike", nil, url.Values{"dc": {v}})
				})
			}
			s.runAttack(t, "secret-callback-param", cases, refused...)

			cases = nil
			tn = s.NewTenant("callback-metadata")
			servers := []string{
				s.fake.URL + "@" + s.evilHost, s.fake.URL + ".evil.com", "http://" + s.evilHost + "#" + s.fake.URL, s.fake.URL + "/../",
				s.fake.URL + "/x", s.fake.URL + "?x=1", s.fake.URL + "#", "HTTP://" + s.evilHost, "//" + s.evilHost, s.evilHost,
				"https://accounts.zoho.eu.evil.com", "https://accounts.zoho.eu@evil.com", "file:///etc/passwd", s.fake.URL + "%2f..",
			}
			for _, v := range spellings {
				servers = append(servers, "http://"+v)
			}
			for _, v := range servers {
				add("zoholike accounts-server="+v, func() hosttest.Response {
					return s.callbackWith(tn, "zoholike", nil, url.Values{"accounts-server": {v}})
				})
			}
			s.runAttack(t, "secret-callback-metadata", cases, refused...)

			cases = nil
			tn = s.NewTenant("pieces-config")
			for _, v := range spellings {
				add("keyhost config.host="+v, func() hosttest.Response {
					return s.piece(tn, "keyhost", map[string]string{"host": v}, "/me")
				})
				add("keydomain config.domain="+v, func() hosttest.Response {
					return s.piece(tn, "keydomain", map[string]string{"domain": v}, "/me")
				})
				add("keyregion config.region="+v, func() hosttest.Response {
					return s.piece(tn, "keyregion", map[string]string{"region": v}, "/me")
				})
				// A plugin or piece may build its own URL from any config
				// value: none but listed ones accompany the operator's key.
				add("keyfixed config.instanceUrl="+v, func() hosttest.Response {
					return s.piece(tn, "keyfixed", map[string]string{"instanceUrl": "http://" + v}, "/me")
				})
			}
			s.runAttack(t, "secret-pieces-config", cases, "tenant_app_required")

			// A template variable that is one label under the provider's
			// domain (a shop): the operator's client may go there, but no
			// spelling of a value leaves the label, whether it comes from
			// the connect request, the callback's query or a callback
			// field, or accompanies the operator's key in a pieces call.
			t.Run("one label works", func(t *testing.T) {
				tn := s.NewTenant("shop-label")
				for _, shop := range []string{"acme", "my-store-1", "a" + strings.Repeat("b", 62)} {
					s.Must(s.connect(tn, "shoplike", url.Values{"shop": {shop}}), 200, nil)
				}
			})
			cases = nil
			tn = s.NewTenant("shop-label")
			for _, v := range s.labelSpellings() {
				add("shoplike connect shop="+v, func() hosttest.Response {
					return s.callbackWith(tn, "shoplike", url.Values{"shop": {v}}, nil)
				})
				add("shoplike callback shop="+v, func() hosttest.Response {
					return s.callbackWith(tn, "shoplike", nil, url.Values{"shop": {v}})
				})
				add("prefixlike callback domain_prefix="+v, func() hosttest.Response {
					return s.callbackWith(tn, "prefixlike", nil, url.Values{"domain_prefix": {v}})
				})
				add("keylabel config.sub="+v, func() hosttest.Response {
					return s.piece(tn, "keylabel", map[string]string{"sub": v}, "/me")
				})
			}
			s.runAttack(t, "secret-shop-label", cases, refused...)

			// A connection's own parameters win over a call's config: the
			// tenant's stored key stays on the connection's host.
			cases = nil
			tn = s.NewTenant("config-over-connection")
			// A key the fake accepts: a key it refused (401 invalid_token)
			// would mark the connection for re-auth after the first call.
			ownKey := s.fake.IssueToken(time.Hour).AccessToken
			s.Must(s.Call("POST", "/api/v1/connections/keyregion", tn.Key,
				map[string]any{"api_key": ownKey, "params": map[string]string{"region": s.fakeHost}}, nil), 201, nil)
			overridden := 0
			for _, v := range spellings {
				before := len(s.fake.APIRequests())
				evilBefore, _ := s.evil.received()
				r := s.piece(tn, "keyregion", map[string]string{"region": v}, "/me")
				evilAfter, _ := s.evil.received()
				if r.Status >= 500 || evilAfter != evilBefore || len(s.fake.APIRequests()) != before+1 {
					overridden++
					t.Errorf("config.region=%q over a connection: %d %s; attacker saw %d requests", v, r.Status, r.Body, evilAfter-evilBefore)
				}
			}
			t.Logf("attack secret-config-over-connection: %d cases on %s, %d succeeded", len(spellings), s.Backend, overridden)

			// A token endpoint on the fixed host that redirects elsewhere
			// does not get the client secret re-sent there.
			cases = nil
			tn = s.NewTenant("token-redirect")
			for _, status := range []int{301, 302, 303, 307, 308} {
				for _, to := range []string{s.evil.URL + "/token", "//" + s.evilHost + "/token", "http://x@" + s.evilHost + "/token",
					"http://localhost:" + s.evilHost[strings.LastIndex(s.evilHost, ":")+1:] + "/token"} {
					add(fmt.Sprintf("redirlike %d to %s", status, to), func() hosttest.Response {
						s.redirect.set(status, to)
						return s.callbackWith(tn, "redirlike", nil, nil)
					})
				}
			}
			s.runAttack(t, "secret-token-redirect", cases, "token_exchange_failed")

			// With the listed region, an absolute path may not leave the
			// base URL's host either.
			cases = nil
			for _, v := range []string{"http://" + s.evilHost + "/x", "//" + s.evilHost + "/x", "http://" + s.fakeHost + "@" + s.evilHost + "/x",
				"https://" + s.evilHost + "/x", "http://evil.com/x", "/../../x"} {
				add("keyregion path="+v, func() hosttest.Response {
					return s.piece(tn, "keyregion", map[string]string{"region": s.fakeHost}, v)
				})
			}
			s.runAttack(t, "secret-generic-path", cases, "action_failed")
		})
	}
}
