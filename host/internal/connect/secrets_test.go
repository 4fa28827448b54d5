package connect_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// attacker is a listener standing for every *.evil.test host; it records
// what reaches it.
type attacker struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string // method, URL, headers and body of each request
}

func newAttacker(t *testing.T) *attacker {
	a := &attacker{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.seen = append(a.seen, r.Method+" "+r.URL.String()+" "+r.Header.Get("Authorization")+" "+string(body))
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"stolen","refresh_token":"stolen","expires_in":3600}`)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *attacker) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

// withAttacker routes *.fake.test to the fake provider and *.evil.test to
// the attacker, whatever the port asked for.
func withAttacker(e *env, a *attacker) {
	fpAddr := strings.TrimPrefix(e.fp.URL, "http://")
	evilAddr := strings.TrimPrefix(a.srv.URL, "http://")
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		switch {
		case strings.HasSuffix(host, ".fake.test"):
			addr = fpAddr
		case strings.HasSuffix(host, ".evil.test"):
			addr = evilAddr
		}
		return d.DialContext(ctx, network, addr)
	}}
	// The test's own client sees redirects; the service's follows them,
	// as the host's outbound client does.
	e.client = &http.Client{Timeout: 20 * time.Second, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	svc, err := connect.New(connect.Config{
		Store: e.st, Keyring: e.kr, Catalog: e.cat, BaseURL: baseURL,
		Env:        func(k string) string { return e.vars[k] },
		HTTPClient: &http.Client{Timeout: 20 * time.Second, Transport: tr}, Clock: e.clock.Now, Webhooks: e.hooks,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.svc = svc
}

func wantCode(t *testing.T, err error, codes ...string) {
	t.Helper()
	e, ok := connect.AsError(err)
	if !ok || e.Status < 400 || e.Status > 499 {
		t.Fatalf("err = %v, want a 4xx %v", err, codes)
	}
	for _, c := range codes {
		if e.Code == c {
			return
		}
	}
	t.Fatalf("err = %v, want a 4xx %v", err, codes)
}

// TestOperatorClientOnlyToFixedHosts: the operator's OAuth client never
// reaches a host that a connect parameter, a callback parameter or a
// callback field chose; a listed value or the tenant's own app works.
func TestOperatorClientOnlyToFixedHosts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, fakeprovider.Quirks{}, func(d *catalog.Descriptor, fp *fakeprovider.Server) {
			// Modelled on Zoho and QuickBooks: the data centre comes as a
			// listed connection parameter or as a callback field; a
			// tenant-chosen host as an optional parameter that the
			// callback may also bring.
			d.Auth.TokenURL = "http://{{connection.host}}/oauth/token || http://accounts.{{connection.dc}}/oauth/token || {{metadata.accounts-server}}/oauth/token"
			d.Auth.RefreshURL = d.Auth.TokenURL
			d.Auth.RevocationURL = "http://{{connection.host}}/oauth/revoke || " + fp.URL + "/oauth/revoke"
			d.Auth.ConnectionParams = []string{"host", "dc"}
			d.Auth.OptionalConnectionParams = []string{"host", "dc"}
			d.Auth.ConnectionParamOptions = map[string][]string{"dc": {"eu.fake.test", "us.fake.test"}}
			d.Auth.RedirectMetadata = []string{"accounts-server"}
			d.Auth.MetadataOptions = map[string][]string{"accounts-server": {fp.URL}}
		})
		a := newAttacker(t)
		withAttacker(e, a)
		start := func(params map[string]string) (string, error) {
			res, err := e.svc.StartConnect(ctx, e.tenant, "", "fake", connect.ConnectOptions{Params: params})
			return res.State, err
		}
		callback := func(extra url.Values) error {
			state, err := start(nil)
			if err != nil {
				t.Fatal(err)
			}
			q := url.Values{"state": {state}, "code": {"c"}}
			for k, v := range extra {
				q[k] = v
			}
			_, err = e.svc.Callback(ctx, "fake", q)
			return err
		}

		// Connect parameter choosing the token host: refused at connect,
		// whatever the spelling.
		for _, v := range []string{"x.evil.test", "evil.test", "EVIL.evil.test", "eu.fake.test.evil.test"} {
			_, err := start(map[string]string{"host": v})
			wantCode(t, err, connect.CodeTenantAppRequired)
			if !strings.Contains(err.Error(), "PUT /api/v1/oauth-apps/fake") || strings.Contains(err.Error(), v) {
				t.Fatalf("message %q: want the remedy, not the value", err)
			}
		}
		for _, v := range []string{"x@evil.test", "evil.test:80", "evil.test#", "evil.test/", "%65vil.test", "еvil.test", "127.0.0.1", "evil.test.", "[::1]"} {
			_, err := start(map[string]string{"host": v})
			wantCode(t, err, connect.CodeInvalidInput, connect.CodeTenantAppRequired)
		}
		// Listed values only.
		for _, v := range []string{"evil.test", "eu.fake.test.evil.test", "EU.fake.test", "eu.fake.test:80"} {
			_, err := start(map[string]string{"dc": v})
			wantCode(t, err, connect.CodeInvalidInput)
		}
		// The callback brings host (like QuickBooks' realmId) or a
		// data-centre server: checked the same way.
		for _, q := range []url.Values{
			{"host": {"x.evil.test"}},
			{"host": {"x@evil.test"}},
			{"dc": {"x.evil.test"}},
			{"accounts-server": {"http://x.evil.test"}},
			{"accounts-server": {e.fp.URL + ".evil.test"}},
			{"accounts-server": {e.fp.URL + "@x.evil.test"}},
			{"accounts-server": {"http://x.evil.test#" + e.fp.URL}},
			{"accounts-server": {e.fp.URL + "/../"}},
		} {
			err := callback(q)
			if e2, ok := connect.AsError(err); !ok || e2.Status < 400 || e2.Status > 499 {
				t.Fatalf("callback %v: %v, want a 4xx refusal", q, err)
			}
		}
		if got := a.requests(); len(got) != 0 {
			t.Fatalf("the attacker received %d requests: %q", len(got), got)
		}
		if n := e.connectionCount(); n != 0 {
			t.Fatalf("%d connections stored from refused flows", n)
		}

		// A listed accounts server works with the operator's client.
		res, err := e.svc.StartConnect(ctx, e.tenant, "", "fake", connect.ConnectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		q := e.authorize(res.AuthURL)
		q.Set("accounts-server", e.fp.URL)
		if _, err := e.svc.Callback(ctx, "fake", q); err != nil {
			t.Fatalf("listed accounts server: %v", err)
		}

		// The tenant's own app may go where the tenant chose; with it
		// deleted, refresh and revocation refuse the operator's client.
		if _, err := e.svc.PutOAuthApp(ctx, e.tenant, "fake", e.fp.ClientID, e.fp.ClientSecret, nil); err != nil {
			t.Fatal(err)
		}
		res, err = e.svc.StartConnect(ctx, e.tenant, "", "fake", connect.ConnectOptions{Params: map[string]string{"host": "acme.fake.test"}})
		if err != nil {
			t.Fatalf("own app, tenant-chosen host: %v", err)
		}
		exchanged := len(e.fp.TokenRequests())
		if _, err := e.svc.Callback(ctx, "fake", e.authorize(res.AuthURL)); err != nil {
			t.Fatalf("own app callback: %v", err)
		}
		if len(e.fp.TokenRequests()) != exchanged+1 {
			t.Fatalf("token endpoint not reached at the tenant's host")
		}
		if err := e.svc.DeleteOAuthApp(ctx, e.tenant, "fake"); err != nil {
			t.Fatal(err)
		}
		before := len(e.fp.TokenRequests())
		e.clock.Advance(2 * time.Hour)
		_, _, err = e.svc.Credentials(ctx, e.tenant, "", "fake")
		wantCode(t, err, connect.CodeTenantAppRequired)
		if n := len(e.fp.TokenRequests()); n != before {
			t.Fatalf("refresh sent the operator's client to the tenant's host (%d requests)", n-before)
		}
		revoked := len(e.fp.Revocations())
		if err := e.svc.Disconnect(ctx, e.tenant, "", "fake"); err != nil {
			t.Fatal(err)
		}
		if n := len(e.fp.Revocations()); n != revoked {
			t.Fatalf("revocation sent the operator's client to the tenant's host")
		}
		if got := a.requests(); len(got) != 0 {
			t.Fatalf("the attacker received %q", got)
		}
	})
}

// TestTokenMetadataChecked: a token-response field kept with the
// connection is checked like a parameter (allowed values, host syntax).
func TestTokenMetadataChecked(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		listed      []string
	}{
		{"not a URL host", "https://user@evil.test", nil},
		{"not listed", "https://eu.fake.test", []string{"https://us.fake.test"}},
		{"control characters", "https://na1.fake.test\r\nX: y", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := storetest.SQLite(t)
			e := newEnv(t, st, fakeprovider.Quirks{Metadata: map[string]string{"instance_url": tc.value}}, func(d *catalog.Descriptor, _ *fakeprovider.Server) {
				d.Auth.TokenMetadata = []string{"instance_url"}
				d.Auth.MetadataOptions = map[string][]string{"instance_url": tc.listed}
				if tc.listed == nil {
					d.Auth.MetadataOptions = nil
				}
				d.API.BaseURL = "{{metadata.instance_url}}"
			})
			res, err := e.svc.StartConnect(context.Background(), e.tenant, "", "fake", connect.ConnectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.Callback(context.Background(), "fake", e.authorize(res.AuthURL))
			if !errors.Is(err, connect.ErrTokenExchange) || strings.Contains(err.Error(), "evil") {
				t.Fatalf("err = %v, want token_exchange_failed without the value", err)
			}
			if e.connectionCount() != 0 {
				t.Fatal("connection stored")
			}
		})
	}
}

// TestTokenRedirectNotFollowedAcrossHosts: a token endpoint that redirects
// elsewhere (an open redirect on the provider's domain) does not get the
// client secret re-sent to the other host.
func TestTokenRedirectNotFollowedAcrossHosts(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		st := storetest.SQLite(t)
		var redirector *httptest.Server
		e := newEnv(t, st, fakeprovider.Quirks{}, func(d *catalog.Descriptor, fp *fakeprovider.Server) {
			redirector = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "http://steal.evil.test/token", status)
			}))
			t.Cleanup(redirector.Close)
			d.Auth.TokenURL = redirector.URL + "/oauth/token"
			d.Auth.RevocationURL = redirector.URL + "/oauth/revoke"
		})
		a := newAttacker(t)
		withAttacker(e, a)
		res, err := e.svc.StartConnect(context.Background(), e.tenant, "", "fake", connect.ConnectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Callback(context.Background(), "fake", url.Values{"state": {res.State}, "code": {"c"}})
		if !errors.Is(err, connect.ErrTokenExchange) {
			t.Fatalf("%d: err = %v, want token_exchange_failed", status, err)
		}
		if got := a.requests(); len(got) != 0 {
			t.Fatalf("%d: the attacker received %q", status, got)
		}
	}
}

// TestOperatorClientToShopLabel: a token URL that puts a connection
// parameter as one label under a domain the descriptor names (Shopify's
// {{connection.shop}}.myshopify.com) takes the operator's client when the
// value is a single DNS label, from the connect request or the callback;
// any value that is not one is refused, and nothing reaches the attacker.
func TestOperatorClientToShopLabel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, fakeprovider.Quirks{}, func(d *catalog.Descriptor, fp *fakeprovider.Server) {
			d.Auth.TokenURL = "http://{{connection.shop}}.shop.fake.test/oauth/token"
			d.Auth.RefreshURL = d.Auth.TokenURL
			d.Auth.RevocationURL = "http://{{connection.shop}}.shop.fake.test/oauth/revoke"
			d.Auth.ConnectionParams = []string{"shop"}
		})
		a := newAttacker(t)
		withAttacker(e, a)

		// A shop label connects with the operator's client: the fake
		// provider (every *.fake.test) receives the token request.
		for i, shop := range []string{"acme", "my-store-1", "X1"} {
			res, err := e.svc.StartConnect(ctx, e.tenant, "", "fake", connect.ConnectOptions{Params: map[string]string{"shop": shop}})
			if err != nil {
				t.Fatalf("shop=%q: %v", shop, err)
			}
			before := len(e.fp.TokenRequests())
			q := e.authorize(res.AuthURL)
			if _, err := e.svc.Callback(ctx, "fake", q); err != nil {
				t.Fatalf("shop=%q callback: %v", shop, err)
			}
			if got := e.fp.TokenRequests(); len(got) != before+1 || got[before].Fields["client_secret"]+got[before].BasicUser == "" {
				t.Fatalf("shop=%q: token request not received with the operator's client (%d)", shop, i)
			}
		}

		breakouts := []string{
			"evil.test#", "x.evil.test", "evil.test", "a@b", "a@x.evil.test", "a:1", "x.evil.test:80", "%2e", "%2eevil.test", "..", ".",
			"éa", "\u0435vil", "a b", strings.Repeat("a", 64), "-a", "a-", "a_b", "a/b", "a?b", "x.evil.test/", "x.evil.test#a",
			"x.evil.test\\@a", "127.0.0.1", "[::1]", "acme.shop.fake.test",
		}
		for _, v := range breakouts {
			// At connect.
			_, err := e.svc.StartConnect(ctx, e.tenant, "", "fake", connect.ConnectOptions{Params: map[string]string{"shop": v}})
			wantCode(t, err, connect.CodeInvalidInput)
			if len(v) > 2 && strings.Contains(err.Error(), v) {
				t.Fatalf("shop=%q: the message repeats the value: %v", v, err)
			}
			// In the callback, when the connect request named no shop.
			res, err := e.svc.StartConnect(ctx, e.tenant, "", "fake", connect.ConnectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.Callback(ctx, "fake", url.Values{"state": {res.State}, "code": {"c"}, "shop": {v}})
			wantCode(t, err, connect.CodeInvalidInput)
		}
		// A value with dots that stays under the domain is refused with a
		// message that says what to send.
		_, err := e.svc.StartConnect(ctx, e.tenant, "", "fake", connect.ConnectOptions{Params: map[string]string{"shop": "acme.shop.fake.test"}})
		if err == nil || !strings.Contains(err.Error(), "single DNS label") || !strings.Contains(err.Error(), "shop.fake.test") {
			t.Fatalf("message %v: want it to ask for a single label under shop.fake.test", err)
		}
		if got := a.requests(); len(got) != 0 {
			t.Fatalf("the attacker received %d requests: %q", len(got), got)
		}
	})
}
