package fakeprovider_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/atomhq/atom/host/internal/fakeprovider"
)

const callback = "http://127.0.0.1:9/api/integrations/fake/callback"

// noRedirect is a client that returns redirects instead of following them,
// as a browser's address bar would show them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize runs the authorization step and returns the redirect target.
func authorize(t *testing.T, authURL string) *url.URL {
	t.Helper()
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("authorize: status %d: %s", resp.StatusCode, b)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// me calls /api/me with a bearer token and returns status and body.
func me(t *testing.T, s *fakeprovider.Server, token string) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// postToken sends a raw token request and returns status and decoded JSON.
func postToken(t *testing.T, s *fakeprovider.Server, contentType, body string, basic bool) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if basic {
		req.SetBasicAuth(s.ClientID, s.ClientSecret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestOAuth2FlowsWithXOAuth2(t *testing.T) {
	tests := []struct {
		name   string
		q      fakeprovider.Quirks
		pkce   bool
		check  func(t *testing.T, s *fakeprovider.Server, tok *oauth2.Token)
		rotate bool
	}{
		{name: "defaults"},
		{name: "basic auth with pkce and registered redirect", q: fakeprovider.Quirks{TokenAuth: "basic", RequirePKCE: true, RedirectURI: callback}, pkce: true,
			check: func(t *testing.T, s *fakeprovider.Server, _ *oauth2.Token) {
				tr := s.TokenRequests()[0]
				if tr.AuthStyle != "basic" || tr.Fields["code_verifier"] == "" || tr.ContentType != "application/x-www-form-urlencoded" {
					t.Errorf("token request = %+v", tr)
				}
			}},
		{name: "body auth", q: fakeprovider.Quirks{TokenAuth: "body"},
			check: func(t *testing.T, s *fakeprovider.Server, _ *oauth2.Token) {
				tr := s.TokenRequests()[0]
				if tr.AuthStyle != "body" || tr.Fields["client_secret"] != s.ClientSecret {
					t.Errorf("token request = %+v", tr)
				}
			}},
		{name: "form response", q: fakeprovider.Quirks{ResponseForm: true},
			check: func(t *testing.T, _ *fakeprovider.Server, tok *oauth2.Token) {
				if tok.Expiry.IsZero() || tok.RefreshToken == "" {
					t.Errorf("form token parsed as %+v", tok)
				}
			}},
		{name: "metadata", q: fakeprovider.Quirks{Metadata: map[string]string{"instance_url": "https://na1.example.test"}},
			check: func(t *testing.T, _ *fakeprovider.Server, tok *oauth2.Token) {
				if got := tok.Extra("instance_url"); got != "https://na1.example.test" {
					t.Errorf("instance_url = %v", got)
				}
			}},
		{name: "no expires_in", q: fakeprovider.Quirks{NoExpiresIn: true},
			check: func(t *testing.T, _ *fakeprovider.Server, tok *oauth2.Token) {
				if !tok.Expiry.IsZero() {
					t.Errorf("expiry = %v, want none", tok.Expiry)
				}
			}},
		{name: "short expiry", q: fakeprovider.Quirks{ExpiresIn: 60},
			check: func(t *testing.T, _ *fakeprovider.Server, tok *oauth2.Token) {
				if left := time.Until(tok.Expiry); left > time.Minute || left <= 0 {
					t.Errorf("expiry in %v, want within a minute", left)
				}
			}},
		{name: "rotating refresh", q: fakeprovider.Quirks{RotateRefresh: true}, rotate: true},
		{name: "refresh response without refresh token", q: fakeprovider.Quirks{OmitRefreshOnRefresh: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := fakeprovider.New(t, tc.q)
			ctx := context.Background()
			cfg := &oauth2.Config{
				ClientID: s.ClientID, ClientSecret: s.ClientSecret, Endpoint: s.Endpoint(),
				RedirectURL: callback, Scopes: []string{"read", "write"},
			}
			verifier := oauth2.GenerateVerifier()
			var opts []oauth2.AuthCodeOption
			if tc.pkce {
				opts = append(opts, oauth2.S256ChallengeOption(verifier))
			}
			loc := authorize(t, cfg.AuthCodeURL("st-1", opts...))
			if got := loc.Query().Get("state"); got != "st-1" {
				t.Fatalf("state = %q", got)
			}
			if a := s.Authorizations(); len(a) != 1 || a[0].Scope != "read write" || len(a[0].Scopes) != 2 {
				t.Fatalf("authorizations = %+v", a)
			}
			var exOpts []oauth2.AuthCodeOption
			if tc.pkce {
				exOpts = append(exOpts, oauth2.VerifierOption(verifier))
			}
			tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), exOpts...)
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if st, body := me(t, s, tok.AccessToken); st != 200 || body["token_kind"] != "user" || body["id"] == "" {
				t.Fatalf("/api/me = %d %v", st, body)
			}
			if tc.check != nil {
				tc.check(t, s, tok)
			}

			// Refresh through the library, as a client does when expired.
			oldRefresh := tok.RefreshToken
			tok.Expiry = time.Now().Add(-time.Minute)
			fresh, err := cfg.TokenSource(ctx, tok).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if fresh.AccessToken == tok.AccessToken {
				t.Fatal("refresh returned the same access token")
			}
			if st, _ := me(t, s, fresh.AccessToken); st != 200 {
				t.Fatalf("/api/me with refreshed token = %d", st)
			}
			if s.Refreshes() != 1 {
				t.Fatalf("Refreshes = %d", s.Refreshes())
			}
			if fresh.RefreshToken != s.CurrentRefreshToken() {
				t.Fatalf("client keeps %q, current is %q", fresh.RefreshToken, s.CurrentRefreshToken())
			}
			if tc.rotate {
				if fresh.RefreshToken == oldRefresh {
					t.Fatal("refresh token did not rotate")
				}
				st, body := postToken(t, s, "application/x-www-form-urlencoded",
					url.Values{"grant_type": {"refresh_token"}, "refresh_token": {oldRefresh}}.Encode(), true)
				if st != 400 || body["error"] != "invalid_grant" {
					t.Fatalf("reuse of rotated token = %d %v", st, body)
				}
				if n := s.ReusedRefreshTokens(); n != 1 || s.Stats().ReusedRefreshTokens != 1 {
					t.Fatalf("ReusedRefreshTokens = %d, want 1", n)
				}
			} else if s.ReusedRefreshTokens() != 0 {
				t.Fatalf("ReusedRefreshTokens = %d without rotation", s.ReusedRefreshTokens())
			} else if fresh.RefreshToken != oldRefresh {
				t.Fatalf("refresh token changed without rotation")
			}
		})
	}
}

func TestTokenEndpointRejections(t *testing.T) {
	form := func(s *fakeprovider.Server, extra url.Values) string {
		v := url.Values{"grant_type": {"client_credentials"}}
		for k, vs := range extra {
			v[k] = vs
		}
		return v.Encode()
	}
	bodyCreds := func(s *fakeprovider.Server) url.Values {
		return url.Values{"client_id": {s.ClientID}, "client_secret": {s.ClientSecret}}
	}
	tests := []struct {
		name      string
		q         fakeprovider.Quirks
		do        func(t *testing.T, s *fakeprovider.Server) (int, map[string]any)
		status    int
		errorCode string
	}{
		{"basic required, body sent", fakeprovider.Quirks{TokenAuth: "basic"}, func(t *testing.T, s *fakeprovider.Server) (int, map[string]any) {
			return postToken(t, s, "application/x-www-form-urlencoded", form(s, bodyCreds(s)), false)
		}, 401, "invalid_client"},
		{"body required, basic sent", fakeprovider.Quirks{TokenAuth: "body"}, func(t *testing.T, s *fakeprovider.Server) (int, map[string]any) {
			return postToken(t, s, "application/x-www-form-urlencoded", form(s, nil), true)
		}, 401, "invalid_client"},
		{"both styles at once", fakeprovider.Quirks{}, func(t *testing.T, s *fakeprovider.Server) (int, map[string]any) {
			return postToken(t, s, "application/x-www-form-urlencoded", form(s, bodyCreds(s)), true)
		}, 400, "invalid_request"},
		{"no client auth", fakeprovider.Quirks{}, func(t *testing.T, s *fakeprovider.Server) (int, map[string]any) {
			return postToken(t, s, "application/x-www-form-urlencoded", form(s, nil), false)
		}, 401, "invalid_client"},
		{"wrong secret", fakeprovider.Quirks{}, func(t *testing.T, s *fakeprovider.Server) (int, map[string]any) {
			return postToken(t, s, "application/x-www-form-urlencoded", form(s, url.Values{"client_id": {s.ClientID}, "client_secret": {"nope"}}), false)
		}, 401, "invalid_client"},
		{"json sent to form endpoint", fakeprovider.Quirks{}, func(t *testing.T, s *fakeprovider.Server) (int, map[string]any) {
			return postToken(t, s, "application/json", `{"grant_type":"client_credentials"}`, true)
		}, 400, "invalid_request"},
		{"form sent to json endpoint", fakeprovider.Quirks{RequestJSON: true}, func(t *testing.T, s *fakeprovider.Server) (int, map[string]any) {
			return postToken(t, s, "application/x-www-form-urlencoded", form(s, nil), true)
		}, 400, "invalid_request"},
		{"json accepted when quirk says json", fakeprovider.Quirks{RequestJSON: true, TokenAuth: "body"}, func(t *testing.T, s *fakeprovider.Server) (int, map[string]any) {
			b, _ := json.Marshal(map[string]string{"grant_type": "client_credentials", "client_id": s.ClientID, "client_secret": s.ClientSecret, "scope": "a b"})
			return postToken(t, s, "application/json", string(b), false)
		}, 200, ""},
		{"unknown grant", fakeprovider.Quirks{}, func(t *testing.T, s *fakeprovider.Server) (int, map[string]any) {
			return postToken(t, s, "application/x-www-form-urlencoded", "grant_type=password", true)
		}, 400, "unsupported_grant_type"},
		{"unknown code", fakeprovider.Quirks{}, func(t *testing.T, s *fakeprovider.Server) (int, map[string]any) {
			return postToken(t, s, "application/x-www-form-urlencoded", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {callback}}.Encode(), true)
		}, 400, "invalid_grant"},
		{"error with HTTP 200, Slack style", fakeprovider.Quirks{ErrorsWithOK: true}, func(t *testing.T, s *fakeprovider.Server) (int, map[string]any) {
			return postToken(t, s, "application/x-www-form-urlencoded", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}.Encode(), true)
		}, 200, "invalid_grant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := fakeprovider.New(t, tc.q)
			st, body := tc.do(t, s)
			if st != tc.status {
				t.Fatalf("status = %d, want %d (%v)", st, tc.status, body)
			}
			if tc.errorCode == "" {
				if body["access_token"] == nil || body["error"] != nil {
					t.Fatalf("body = %v", body)
				}
				return
			}
			if body["error"] != tc.errorCode || body["error_description"] == "" {
				t.Fatalf("body = %v, want error %s", body, tc.errorCode)
			}
			if reqs := s.TokenRequests(); len(reqs) != 1 || reqs[0].Status != tc.status || reqs[0].Error != tc.errorCode {
				t.Fatalf("recorded %+v", reqs)
			}
		})
	}
}

func TestAuthorizeChecks(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{RequirePKCE: true, RedirectURI: callback})
	base := url.Values{"client_id": {s.ClientID}, "redirect_uri": {callback}, "response_type": {"code"}, "state": {"s"}}
	with := func(kv ...string) string {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return s.URL + "/oauth/authorize?" + v.Encode()
	}
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())

	// Client and redirect URI errors must not redirect.
	for _, u := range []string{with("client_id", "other"), with("redirect_uri", callback+"/x")} {
		resp, err := noRedirect.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
			t.Errorf("%s: status %d location %q", u, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// Other errors redirect back with error and state.
	for u, want := range map[string]string{
		with(): "invalid_request",
		with("code_challenge", challenge, "code_challenge_method", "plain"):                          "invalid_request",
		with("response_type", "token", "code_challenge", challenge, "code_challenge_method", "S256"): "unsupported_response_type",
	} {
		loc := authorize(t, u)
		if loc.Query().Get("error") != want || loc.Query().Get("state") != "s" {
			t.Errorf("%s: redirected to %s, want error %s", u, loc, want)
		}
	}
	if n := len(s.Authorizations()); n != 0 {
		t.Fatalf("failed authorizations recorded: %d", n)
	}
}

func TestPKCEAndRedirectAtToken(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{})
	verifier := oauth2.GenerateVerifier()
	cfg := &oauth2.Config{ClientID: s.ClientID, ClientSecret: s.ClientSecret, Endpoint: s.Endpoint(), RedirectURL: callback}
	newCode := func() string {
		return authorize(t, cfg.AuthCodeURL("x", oauth2.S256ChallengeOption(verifier))).Query().Get("code")
	}
	exchange := func(code, redirectURI, verifier string) (int, map[string]any) {
		return postToken(t, s, "application/x-www-form-urlencoded", url.Values{
			"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier},
		}.Encode(), true)
	}
	if st, body := exchange(newCode(), callback, oauth2.GenerateVerifier()); st != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("wrong verifier: %d %v", st, body)
	}
	if st, body := exchange(newCode(), callback+"?x=1", verifier); st != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("other redirect_uri: %d %v", st, body)
	}
	code := newCode()
	if st, body := exchange(code, callback, verifier); st != 200 {
		t.Fatalf("good exchange: %d %v", st, body)
	}
	if st, body := exchange(code, callback, verifier); st != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("code reuse: %d %v", st, body)
	}
}

func TestNestedTokenPath(t *testing.T) {
	for _, path := range []string{"authed_user", "data.token"} {
		t.Run(path, func(t *testing.T) {
			s := fakeprovider.New(t, fakeprovider.Quirks{NestedPath: path, RotateRefresh: true, Metadata: map[string]string{"team_domain": "fake"}})
			cfg := &oauth2.Config{ClientID: s.ClientID, ClientSecret: s.ClientSecret, Endpoint: s.Endpoint(), RedirectURL: callback}
			code := authorize(t, cfg.AuthCodeURL("x")).Query().Get("code")
			st, body := postToken(t, s, "application/x-www-form-urlencoded",
				url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}}.Encode(), true)
			if st != 200 || body["ok"] != true || body["team_domain"] != "fake" {
				t.Fatalf("%d %v", st, body)
			}
			obj := body
			for _, p := range strings.Split(path, ".") {
				obj, _ = obj[p].(map[string]any)
			}
			if obj == nil || obj["access_token"] == nil || obj["refresh_token"] == nil || obj["expires_in"] == nil {
				t.Fatalf("no token at %s: %v", path, body)
			}
			if _, ok := body["refresh_token"]; ok {
				t.Fatal("refresh token at the top level")
			}
			if _, b := me(t, s, body["access_token"].(string)); b["token_kind"] != "bot" {
				t.Fatalf("top-level token kind = %v", b)
			}
			if _, b := me(t, s, obj["access_token"].(string)); b["token_kind"] != "user" {
				t.Fatalf("nested token kind = %v", b)
			}
			st, body = postToken(t, s, "application/x-www-form-urlencoded",
				url.Values{"grant_type": {"refresh_token"}, "refresh_token": {obj["refresh_token"].(string)}}.Encode(), true)
			obj = body
			for _, p := range strings.Split(path, ".") {
				obj, _ = obj[p].(map[string]any)
			}
			if st != 200 || obj == nil || obj["refresh_token"] != s.CurrentRefreshToken() {
				t.Fatalf("refresh: %d %v", st, body)
			}
		})
	}
}

func TestRefreshFailureSwitches(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{})
	tok := s.IssueToken(time.Hour)
	refresh := func() (int, map[string]any) {
		return postToken(t, s, "application/x-www-form-urlencoded",
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}.Encode(), true)
	}
	s.FailRefreshTransient(2)
	for i := 0; i < 2; i++ {
		if st, body := refresh(); st != 503 || body["error"] != "temporarily_unavailable" {
			t.Fatalf("transient %d: %d %v", i, st, body)
		}
	}
	if st, _ := refresh(); st != 200 {
		t.Fatalf("after transient failures: %d", st)
	}
	s.FailNextRefresh("invalid_grant")
	if st, body := refresh(); st != 400 || body["error"] != "invalid_grant" || body["error_description"] == "" {
		t.Fatalf("fail next: %d %v", st, body)
	}
	if st, _ := refresh(); st != 200 {
		t.Fatalf("switch not one-shot: %d", st)
	}
	if s.Refreshes() != 5 {
		t.Fatalf("Refreshes = %d, want 5", s.Refreshes())
	}
	s.RevokeAll()
	if st, body := refresh(); st != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("after RevokeAll: %d %v", st, body)
	}
	if st, body := me(t, s, tok.AccessToken); st != 401 || body["error"] != "invalid_token" {
		t.Fatalf("/api/me after RevokeAll: %d %v", st, body)
	}
}

func TestExpiryAndIssueToken(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{})
	live, dead := s.IssueToken(time.Hour), s.IssueToken(0)
	if st, b := me(t, s, live.AccessToken); st != 200 || b["id"] != live.Subject {
		t.Fatalf("live: %d %v", st, b)
	}
	if st, _ := me(t, s, dead.AccessToken); st != 401 {
		t.Fatalf("expired token accepted: %d", st)
	}
	if st, _ := me(t, s, "made-up"); st != 401 {
		t.Fatalf("unknown token accepted: %d", st)
	}
	s.ExpireAccessTokens()
	if st, _ := me(t, s, live.AccessToken); st != 401 {
		t.Fatalf("token accepted after ExpireAccessTokens: %d", st)
	}
	if s.CurrentRefreshToken() != dead.RefreshToken {
		t.Fatal("CurrentRefreshToken is not the last issued")
	}
	if reqs := s.APIRequests(); len(reqs) != 4 || reqs[0].Auth != "bearer" || reqs[1].Status != 401 {
		t.Fatalf("api requests = %+v", reqs)
	}
}

func TestRevocationEndpoint(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{TokenAuth: "basic"})
	tok := s.IssueToken(time.Hour)
	revoke := func(basic bool, v url.Values) int {
		req, _ := http.NewRequest("POST", s.URL+"/oauth/revoke", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(s.ClientID, s.ClientSecret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := revoke(false, url.Values{"token": {tok.RefreshToken}, "client_id": {s.ClientID}, "client_secret": {s.ClientSecret}}); st != 401 {
		t.Fatalf("revoke with wrong auth style: %d", st)
	}
	if st := revoke(true, url.Values{"token": {"unknown"}}); st != 200 {
		t.Fatalf("unknown token: %d, want 200 per RFC 7009", st)
	}
	if st := revoke(true, url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	if st, _ := me(t, s, tok.AccessToken); st != 401 {
		t.Fatal("access token of a revoked grant still works")
	}
	if got := s.Revoked(); len(got) != 2 || got[1] != tok.RefreshToken {
		t.Fatalf("Revoked = %v", got)
	}
	if r := s.Revocations(); r[1].TokenTypeHint != "refresh_token" {
		t.Fatalf("Revocations = %+v", r)
	}
}

func TestConsentPage(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{Consent: true})
	cfg := &oauth2.Config{ClientID: s.ClientID, ClientSecret: s.ClientSecret, Endpoint: s.Endpoint(), RedirectURL: callback, Scopes: []string{"read"}}
	decide := func(decision string) *url.URL {
		resp, err := noRedirect.Get(cfg.AuthCodeURL("st"))
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		html := string(page)
		for _, want := range []string{`id="approve"`, `id="deny"`, ">Approve</button>", ">Deny</button>", "<li>read</li>"} {
			if !strings.Contains(html, want) {
				t.Fatalf("consent page lacks %s:\n%s", want, html)
			}
		}
		_, rest, _ := strings.Cut(html, `name="request" value="`)
		id, _, _ := strings.Cut(rest, `"`)
		resp, err = noRedirect.PostForm(s.URL+"/oauth/authorize", url.Values{"request": {id}, "decision": {decision}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		// A decision is single use.
		resp, _ = noRedirect.PostForm(s.URL+"/oauth/authorize", url.Values{"request": {id}, "decision": {decision}})
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("second decision: %d", resp.StatusCode)
		}
		return loc
	}
	if loc := decide("deny"); loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "st" {
		t.Fatalf("deny redirected to %s", loc)
	}
	loc := decide("approve")
	if _, err := cfg.Exchange(context.Background(), loc.Query().Get("code")); err != nil {
		t.Fatalf("exchange after approval: %v", err)
	}
}

func TestClientCredentials(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{TokenAuth: "basic"})
	st, body := postToken(t, s, "application/x-www-form-urlencoded", "grant_type=client_credentials&scope=read", true)
	if st != 200 || body["refresh_token"] != nil || body["scope"] != "read" {
		t.Fatalf("%d %v", st, body)
	}
	if _, b := me(t, s, body["access_token"].(string)); b["token_kind"] != "client" {
		t.Fatalf("/api/me = %v", b)
	}
}

func TestFormResponseRaw(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{ResponseForm: true, ErrorsWithOK: true})
	req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader("grant_type=authorization_code&code=bad"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.ClientID, s.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	v, err := url.ParseQuery(string(b))
	if err != nil || resp.StatusCode != 200 || v.Get("error") != "invalid_grant" || resp.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}

func TestBasicCredentialsAreFormDecoded(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{ClientID: "id with space", ClientSecret: "s&c/r=t"})
	req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(s.ClientID)+":"+url.QueryEscape(s.ClientSecret))))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestSlowTokenHonoursClientDeadline(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{SlowToken: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	cfg := clientcredentialsConfig(s)
	_, err := cfg.Exchange(ctx, "code")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func clientcredentialsConfig(s *fakeprovider.Server) *oauth2.Config {
	return &oauth2.Config{ClientID: s.ClientID, ClientSecret: s.ClientSecret, Endpoint: s.Endpoint(), RedirectURL: callback}
}

func TestConcurrentRefreshesAreSafe(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{RotateRefresh: true})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := s.IssueToken(time.Hour)
			for j := 0; j < 5; j++ {
				st, body := postToken(t, s, "application/x-www-form-urlencoded",
					url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}.Encode(), true)
				if st != 200 {
					t.Errorf("refresh: %d %v", st, body)
					return
				}
				tok.RefreshToken = body["refresh_token"].(string)
			}
			_ = s.Stats()
		}()
	}
	wg.Wait()
	if s.Refreshes() != 40 || len(s.TokenRequests()) != 40 {
		t.Fatalf("Refreshes = %d", s.Refreshes())
	}
}

func TestControlEndpoints(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{})
	tok := s.IssueToken(time.Hour)
	post := func(path string) {
		resp, err := http.Post(s.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	post("/_fake/fail-next-refresh?error=invalid_client")
	st, body := postToken(t, s, "application/x-www-form-urlencoded", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}.Encode(), true)
	if st != 400 || body["error"] != "invalid_client" {
		t.Fatalf("%d %v", st, body)
	}
	post("/_fake/expire-access-tokens")
	if st, _ := me(t, s, tok.AccessToken); st != 401 {
		t.Fatal("expire-access-tokens had no effect")
	}
	resp, err := http.Get(s.URL + "/_fake/stats")
	if err != nil {
		t.Fatal(err)
	}
	var stats fakeprovider.Stats
	json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	if stats.Refreshes != 1 || stats.TokenRequests != 1 || stats.APIRequests != 1 || stats.CurrentRefreshToken != tok.RefreshToken {
		t.Fatalf("stats = %+v", stats)
	}
}
