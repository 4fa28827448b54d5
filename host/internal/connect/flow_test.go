package connect_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// TestOAuth2Quirks runs connect → callback → status → refresh → refresh →
// disconnect (with revocation) against the fake provider in each quirk.
func TestOAuth2Quirks(t *testing.T) {
	cases := []struct {
		name   string
		q      fakeprovider.Quirks
		mutate func(d *catalog.Descriptor, fp *fakeprovider.Server)
		// lifetime is how far to move the clock to make the token due.
		lifetime time.Duration
		check    func(t *testing.T, e *env, cb connect.CallbackResult)
	}{
		{name: "basic auth with PKCE", q: fakeprovider.Quirks{TokenAuth: "basic", RequirePKCE: true},
			mutate: func(d *catalog.Descriptor, _ *fakeprovider.Server) { d.Auth.TokenAuth, d.Auth.PKCE = "basic", true },
			check: func(t *testing.T, e *env, _ connect.CallbackResult) {
				if a := e.fp.Authorizations()[0]; a.CodeChallengeMethod != "S256" || a.CodeChallenge == "" {
					t.Fatalf("authorization without S256 challenge: %+v", a)
				}
				if tr := e.fp.TokenRequests()[0]; tr.AuthStyle != "basic" || tr.Fields["code_verifier"] == "" {
					t.Fatalf("token request auth %q, verifier %q", tr.AuthStyle, tr.Fields["code_verifier"])
				}
			}},
		{name: "body auth with JSON body", q: fakeprovider.Quirks{TokenAuth: "body", RequestJSON: true},
			mutate: func(d *catalog.Descriptor, _ *fakeprovider.Server) { d.Auth.TokenBody = "json" },
			check: func(t *testing.T, e *env, _ connect.CallbackResult) {
				if tr := e.fp.TokenRequests()[0]; tr.AuthStyle != "body" || tr.ContentType != "application/json" {
					t.Fatalf("token request %q %q", tr.AuthStyle, tr.ContentType)
				}
			}},
		{name: "form-encoded token response", q: fakeprovider.Quirks{ResponseForm: true}},
		{name: "nested token path", q: fakeprovider.Quirks{NestedPath: "authed_user"},
			mutate: func(d *catalog.Descriptor, _ *fakeprovider.Server) {
				d.Auth.TokenPath = "authed_user"
				d.Auth.ScopeSeparator = ","
			},
			check: func(t *testing.T, e *env, cb connect.CallbackResult) {
				cr, _, err := e.svc.Credentials(context.Background(), e.tenant, "", "fake")
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(cr.AccessToken, "xoxb-") {
					t.Fatalf("stored the top-level bot token instead of authed_user's")
				}
				if bot := cr.Fields[connect.RootTokenField]; !strings.HasPrefix(bot, "xoxb-") {
					t.Fatalf("the top-level bot token was not kept beside the user token: %q", bot)
				}
				if a := e.fp.Authorizations()[0]; a.Scope != "read,write" {
					t.Fatalf("scope sent as %q, want comma-separated", a.Scope)
				}
			}},
		{name: "rotating refresh tokens", q: fakeprovider.Quirks{RotateRefresh: true}},
		{name: "refresh response without refresh_token", q: fakeprovider.Quirks{OmitRefreshOnRefresh: true}},
		{name: "no expires_in", q: fakeprovider.Quirks{NoExpiresIn: true}, lifetime: 61 * time.Minute,
			check: func(t *testing.T, e *env, cb connect.CallbackResult) {
				if cb.Connection.ExpiresAt != nil {
					t.Fatalf("expires_at = %v, want none", cb.Connection.ExpiresAt)
				}
				e.clock.Advance(30 * time.Minute)
				if _, _, err := e.svc.Credentials(context.Background(), e.tenant, "", "fake"); err != nil {
					t.Fatal(err)
				}
				if n := e.fp.Refreshes(); n != 0 {
					t.Fatalf("refreshed %d times before the default lifetime", n)
				}
				e.clock.Advance(-30 * time.Minute)
			}},
		{name: "token metadata", q: fakeprovider.Quirks{Metadata: map[string]string{"instance_url": "https://na1.example.test"}},
			mutate: func(d *catalog.Descriptor, _ *fakeprovider.Server) { d.Auth.TokenMetadata = []string{"instance_url"} },
			check: func(t *testing.T, e *env, cb connect.CallbackResult) {
				if cb.Connection.InstanceURL != "https://na1.example.test" || cb.Connection.Metadata["instance_url"] != "https://na1.example.test" {
					t.Fatalf("instance_url not kept: %q %v", cb.Connection.InstanceURL, cb.Connection.Metadata)
				}
				cr, _, _ := e.svc.Credentials(context.Background(), e.tenant, "", "fake")
				if cr.Metadata["instance_url"] != "https://na1.example.test" {
					t.Fatalf("credentials metadata %v", cr.Metadata)
				}
			}},
		{name: "connection params in URLs", q: fakeprovider.Quirks{},
			mutate: func(d *catalog.Descriptor, fp *fakeprovider.Server) {
				port := fp.URL[strings.LastIndex(fp.URL, ":")+1:]
				d.Auth.AuthorizationURL = "http://{{connection.shop}}.fake.test:" + port + "/oauth/authorize"
				d.Auth.TokenURL = "http://{{connection.shop}}.fake.test:" + port + "/oauth/token"
				d.Auth.RevocationURL = "http://{{connection.shop}}.fake.test:" + port + "/oauth/revoke"
				d.Auth.ConnectionParams = []string{"shop"}
			},
			check: func(t *testing.T, e *env, cb connect.CallbackResult) {
				if !e.hosts.seen("acme.fake.test") {
					t.Fatalf("token endpoint not reached at the shop's host; saw %v", e.hosts.hosts)
				}
				st, _ := e.svc.Status(context.Background(), e.tenant, "", "fake")
				if st.Connection.Params["shop"] != "acme" {
					t.Fatalf("params %v", st.Connection.Params)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, st store.Store) {
				ctx := context.Background()
				e := newEnv(t, st, tc.q, func(d *catalog.Descriptor, fp *fakeprovider.Server) {
					if tc.mutate != nil {
						tc.mutate(d, fp)
					}
				})
				opts := connect.ConnectOptions{ReturnTo: "/integrations"}
				if tc.name == "connection params in URLs" {
					opts.Params = map[string]string{"shop": "acme"}
					// The shop chooses the token host: only the tenant's
					// own OAuth app goes there.
					if _, err := e.svc.PutOAuthApp(ctx, e.tenant, "fake", e.fp.ClientID, e.fp.ClientSecret, nil); err != nil {
						t.Fatal(err)
					}
				}
				cb := e.connect("fake", opts)
				if cb.TenantID != e.tenant || cb.ReturnTo != "/integrations" || cb.Connection == nil {
					t.Fatalf("callback result %+v", cb)
				}
				if tc.check != nil {
					tc.check(t, e, cb)
				}
				status, err := e.svc.Status(ctx, e.tenant, "", "fake")
				if err != nil || !status.Connected || status.Connection.ID != cb.Connection.ID || status.Connection.Status != store.StatusActive {
					t.Fatalf("status %+v, %v", status, err)
				}
				cr, _, err := e.svc.Credentials(ctx, e.tenant, "", "fake")
				if err != nil {
					t.Fatal(err)
				}
				if e.fp.Refreshes() != 0 || e.apiMe(cr.AccessToken) != http.StatusOK {
					t.Fatalf("fresh token: refreshes %d", e.fp.Refreshes())
				}
				life := tc.lifetime
				if life == 0 {
					life = 2 * time.Hour
				}
				tokens := []string{cr.AccessToken}
				for i := 1; i <= 2; i++ {
					e.clock.Advance(life)
					cr, _, err = e.svc.Credentials(ctx, e.tenant, "", "fake")
					if err != nil {
						t.Fatalf("refresh %d: %v", i, err)
					}
					if e.fp.Refreshes() != i || slices.Contains(tokens, cr.AccessToken) {
						t.Fatalf("refresh %d: provider saw %d refreshes, token reused %v", i, e.fp.Refreshes(), slices.Contains(tokens, cr.AccessToken))
					}
					if e.apiMe(cr.AccessToken) != http.StatusOK {
						t.Fatalf("refreshed token rejected by the API")
					}
					tokens = append(tokens, cr.AccessToken)
				}
				if tc.q.RotateRefresh && e.fp.CurrentRefreshToken() == "" {
					t.Fatalf("no valid refresh token left at the provider")
				}
				if err := e.svc.Disconnect(ctx, e.tenant, "", "fake"); err != nil {
					t.Fatal(err)
				}
				if len(e.fp.Revoked()) == 0 || e.apiMe(cr.AccessToken) != http.StatusUnauthorized {
					t.Fatalf("disconnect did not revoke: %v", e.fp.Revoked())
				}
				status, _ = e.svc.Status(ctx, e.tenant, "", "fake")
				if status.Connected || status.Connection != nil {
					t.Fatalf("still connected after disconnect: %+v", status)
				}
				if err := e.svc.Disconnect(ctx, e.tenant, "", "fake"); !errors.Is(err, connect.ErrProviderNotConnected) {
					t.Fatalf("second disconnect: %v", err)
				}
			})
		})
	}
}

func TestOAuth1Trello(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, fakeprovider.Quirks{}, func(d *catalog.Descriptor, fp *fakeprovider.Server) {
			d.Auth = catalog.Auth{Kind: catalog.AuthOAuth1,
				RequestTokenURL:     fp.URL + "/oauth1/request_token",
				AuthorizationURL:    fp.URL + "/oauth1/authorize",
				TokenURL:            fp.URL + "/oauth1/access_token",
				AuthorizationParams: map[string]string{"expiration": "never", "name": "Atom"},
				Scopes:              []string{"read", "write"}, ScopeSeparator: ","}
		})
		cb := e.connect("fake", connect.ConnectOptions{})
		cr, _, err := e.svc.Credentials(ctx, e.tenant, "", "fake")
		if err != nil || cr.AccessToken == "" || cr.TokenSecret == "" || cr.Type != catalog.AuthOAuth1 {
			t.Fatalf("credentials %+v %v", cr.Type, err)
		}
		if a := e.fp.Authorizations()[0]; a.Params["expiration"][0] != "never" || a.Scope != "read,write" {
			t.Fatalf("authorize params %+v", a.Params)
		}
		if cr.Metadata["consumer_key"] != e.fp.ClientID {
			t.Fatalf("consumer key not kept with the connection: %q", cr.Metadata["consumer_key"])
		}
		// Trello-style key+token calls work with what the plugin receives.
		resp, err := e.client.Get(e.fp.URL + "/api/me?key=" + cr.Metadata["consumer_key"] + "&token=" + cr.AccessToken)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("key+token API call: %v %v", resp.Status, err)
		}
		resp.Body.Close()
		// The token works for a signed API call.
		u, _ := url.Parse(e.fp.URL + "/api/me")
		req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
		req.Header.Set("Authorization", connect.OAuth1Header("GET", u, nil, e.fp.ClientID, e.fp.ClientSecret, cr.AccessToken, cr.TokenSecret, nil, time.Now().Unix(), "n1"))
		resp, err = e.client.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("signed API call: %v %v", resp.Status, err)
		}
		resp.Body.Close()
		if err := e.svc.Disconnect(ctx, e.tenant, "", "fake"); err != nil {
			t.Fatal(err)
		}
		_ = cb
	})
}

// TestStateRejected checks every way a state can be wrong: each gives
// "Invalid state" and stores nothing.
func TestStateRejected(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, fakeprovider.Quirks{}, nil)
		e.cat["other"] = fakeDescriptor("other", e.fp)
		e.vars["OTHER_CLIENT_ID"], e.vars["OTHER_CLIENT_SECRET"] = e.fp.ClientID, e.fp.ClientSecret
		// The fake registers one redirect URI; both entries share it.
		e.vars["OTHER_REDIRECT_URI"] = baseURL + "/api/integrations/fake/callback"
		tenantB := storetest.NewTenant(t, st)

		start := func(tenant, provider string) (connect.ConnectResult, url.Values) {
			res, err := e.svc.StartConnect(ctx, tenant, "", provider, connect.ConnectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return res, e.authorize(res.AuthURL)
		}
		expectInvalid := func(name, provider string, q url.Values) {
			t.Helper()
			_, err := e.svc.Callback(ctx, provider, q)
			ce, ok := connect.AsError(err)
			if !ok || ce.Code != connect.CodeInvalidState || ce.Message() != "Invalid state" {
				t.Fatalf("%s: got %v, want Invalid state", name, err)
			}
		}

		_, q := start(e.tenant, "fake")
		forged := url.Values{"code": q["code"], "state": {"forged-" + q.Get("state")}}
		expectInvalid("forged", "fake", forged)
		expectInvalid("missing", "fake", url.Values{"code": q["code"]})

		// Another provider's callback: tenant B's state for "other" used at "fake".
		_, qb := start(tenantB, "other")
		expectInvalid("other provider", "fake", qb)
		expectInvalid("replayed after misuse", "other", qb)

		// Replay: the first use succeeds, the second is rejected.
		if _, err := e.svc.Callback(ctx, "fake", q); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Disconnect(ctx, e.tenant, "", "fake"); err != nil {
			t.Fatal(err)
		}
		expectInvalid("replayed", "fake", q)

		// Expired.
		_, qe := start(e.tenant, "fake")
		e.clock.Advance(11 * time.Minute)
		expectInvalid("expired", "fake", qe)

		if n := e.connectionCount(); n != 0 {
			t.Fatalf("%d connections stored after rejected states", n)
		}
		err := st.InTenant(ctx, tenantB, func(tx store.Tx) error {
			cs, err := tx.ListConnections(ctx)
			if len(cs) != 0 {
				return fmt.Errorf("tenant B has %d connections", len(cs))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestCallbackErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, fakeprovider.Quirks{ErrorsWithOK: true}, nil)

		// The user declined at the provider.
		res, err := e.svc.StartConnect(ctx, e.tenant, "", "fake", connect.ConnectOptions{ReturnTo: "/back"})
		if err != nil {
			t.Fatal(err)
		}
		cb, err := e.svc.Callback(ctx, "fake", url.Values{"state": {res.State}, "error": {"access_denied"}})
		if ce, _ := connect.AsError(err); ce == nil || ce.Code != connect.CodeAccessDenied || cb.ReturnTo != "/back" {
			t.Fatalf("access denied: %v %+v", err, cb)
		}

		// A bad code: the provider's error (sent with HTTP 200) is surfaced.
		res, _ = e.svc.StartConnect(ctx, e.tenant, "", "fake", connect.ConnectOptions{})
		_, err = e.svc.Callback(ctx, "fake", url.Values{"state": {res.State}, "code": {"bogus"}})
		ce, _ := connect.AsError(err)
		if ce == nil || ce.Code != connect.CodeTokenExchangeFailed || !strings.HasPrefix(ce.Message(), "Token exchange failed: invalid_grant") {
			t.Fatalf("exchange failure: %v", err)
		}
		if strings.Contains(ce.Error(), e.fp.ClientSecret) {
			t.Fatalf("error leaks the client secret")
		}

		// A redirect URI that does not match the registered one is refused
		// by the provider (exact matching).
		e.vars["FAKE_REDIRECT_URI"] = "http://elsewhere.test/cb"
		res, _ = e.svc.StartConnect(ctx, e.tenant, "", "fake", connect.ConnectOptions{})
		resp, err := e.client.Get(res.AuthURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("mismatched redirect URI accepted: %s", resp.Status)
		}
		delete(e.vars, "FAKE_REDIRECT_URI")

		// Not configured.
		delete(e.vars, "FAKE_CLIENT_SECRET")
		_, err = e.svc.StartConnect(ctx, e.tenant, "", "fake", connect.ConnectOptions{})
		if ce, _ := connect.AsError(err); ce == nil || ce.Code != connect.CodeNotConfigured || !strings.Contains(ce.Message(), "FAKE_CLIENT_ID and FAKE_CLIENT_SECRET") {
			t.Fatalf("not configured: %v", err)
		}
		// A tenant OAuth app overrides the missing environment.
		if _, err := e.svc.PutOAuthApp(ctx, e.tenant, "fake", e.fp.ClientID, e.fp.ClientSecret, []string{"read"}); err != nil {
			t.Fatal(err)
		}
		app, err := e.svc.GetOAuthApp(ctx, e.tenant, "fake")
		if err != nil || app.ClientID != e.fp.ClientID {
			t.Fatalf("get app %+v %v", app, err)
		}
		cb2 := e.connect("fake", connect.ConnectOptions{})
		if cb2.Connection.Scope != "read" {
			t.Fatalf("scope %q, want the app's", cb2.Connection.Scope)
		}
		if err := e.svc.DeleteOAuthApp(ctx, e.tenant, "fake"); err != nil {
			t.Fatal(err)
		}

		// Open redirects are refused.
		if _, err := e.svc.StartConnect(ctx, e.tenant, "", "fake", connect.ConnectOptions{ReturnTo: "//evil.test/x"}); err == nil {
			t.Fatal("protocol-relative return_to accepted")
		}
	})
}
