package demo_test

import (
	"context"
	"encoding/json"
	"github.com/atomhq/atom/catalog"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/atomhq/atom/host/internal/demo"
)

const base = "http://localhost:3000"

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type env struct {
	srv *httptest.Server
	cfg *oauth2.Config
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := httptest.NewServer(demo.New(demo.Config{ClientID: "demo-client", ClientSecret: "demo-secret", BaseURL: base + "/"}))
	t.Cleanup(srv.Close)
	return &env{srv: srv, cfg: &oauth2.Config{
		ClientID: "demo-client", ClientSecret: "demo-secret",
		Endpoint: oauth2.Endpoint{
			AuthURL:   srv.URL + "/demo/oauth/authorize",
			TokenURL:  srv.URL + "/demo/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: base + demo.CallbackPath,
		Scopes:      []string{"profile", "items:read"},
	}}
}

// consent opens the consent page and answers it, returning the redirect.
func (e *env) consent(t *testing.T, authURL, decision string) *url.URL {
	t.Helper()
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("consent page: %d %s", resp.StatusCode, page)
	}
	html := string(page)
	for _, want := range []string{`<html lang="en">`, `id="approve"`, `id="deny"`, "<code>items:read</code>", "Content-Security-Policy"} {
		if want == "Content-Security-Policy" {
			if resp.Header.Get(want) == "" {
				t.Fatal("no CSP header")
			}
			continue
		}
		if !strings.Contains(html, want) {
			t.Fatalf("consent page lacks %s", want)
		}
	}
	if strings.Contains(html, "http://") || strings.Contains(html, "https://") {
		t.Fatal("consent page references external assets")
	}
	_, rest, _ := strings.Cut(html, `name="request" value="`)
	id, _, _ := strings.Cut(rest, `"`)
	resp, err = noRedirect.PostForm(e.srv.URL+"/demo/oauth/authorize", url.Values{"request": {id}, "decision": {decision}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("decision: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	return loc
}

func (e *env) call(t *testing.T, method, path, auth, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestConnectRefreshRevoke(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	verifier := oauth2.GenerateVerifier()
	loc := e.consent(t, e.cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier)), "approve")
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != base+demo.CallbackPath || loc.Query().Get("state") != "state-1" {
		t.Fatalf("redirected to %s", loc)
	}
	tok, err := e.cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if left := time.Until(tok.Expiry); left <= 59*time.Minute || left > time.Hour {
		t.Fatalf("expiry in %v, want an hour", left)
	}
	if tok.Extra("scope") != "profile items:read" {
		t.Fatalf("scope = %v", tok.Extra("scope"))
	}
	// The code is single use.
	if _, err := e.cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("code used twice")
	}
	st, body := e.call(t, "GET", "/demo/api/me", tok.AccessToken, "")
	var me map[string]string
	json.Unmarshal(body, &me)
	if st != 200 || me["id"] != "demo-user" || me["auth"] != "oauth2" {
		t.Fatalf("/me: %d %s", st, body)
	}

	// Refresh rotates the refresh token; the old one is dead.
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := e.cfg.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not rotate")
	}
	if _, err := e.cfg.TokenSource(ctx, tok).Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("reused refresh token: %v", err)
	}
	if st, _ := e.call(t, "GET", "/demo/api/me", fresh.AccessToken, ""); st != 200 {
		t.Fatalf("/me with refreshed token: %d", st)
	}

	// Revoking the refresh token ends the grant.
	resp, err := http.PostForm(e.srv.URL+"/demo/oauth/revoke", url.Values{
		"token": {fresh.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {"demo-client"}, "client_secret": {"demo-secret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if st, body := e.call(t, "GET", "/demo/api/me", fresh.AccessToken, ""); st != 401 || !strings.Contains(string(body), "invalid_token") {
		t.Fatalf("/me after revoke: %d %s", st, body)
	}
	fresh.Expiry = time.Now().Add(-time.Minute)
	if _, err := e.cfg.TokenSource(ctx, fresh).Token(); err == nil {
		t.Fatal("revoked refresh token still works")
	}
}

func TestDeny(t *testing.T) {
	e := newEnv(t)
	loc := e.consent(t, e.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), "deny")
	if loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "s" || loc.Query().Get("code") != "" {
		t.Fatalf("deny redirected to %s", loc)
	}
}

func TestAuthorizeRejections(t *testing.T) {
	e := newEnv(t)
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	build := func(mod func(url.Values)) string {
		v := url.Values{"client_id": {"demo-client"}, "redirect_uri": {base + demo.CallbackPath}, "response_type": {"code"},
			"state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "scope": {"profile"}}
		mod(v)
		return e.srv.URL + "/demo/oauth/authorize?" + v.Encode()
	}
	tests := []struct {
		name      string
		mod       func(url.Values)
		status    int
		errorCode string
	}{
		{"unknown client", func(v url.Values) { v.Set("client_id", "x") }, 400, ""},
		{"other redirect uri", func(v url.Values) { v.Set("redirect_uri", base+demo.CallbackPath+"/../x") }, 400, ""},
		{"no pkce", func(v url.Values) { v.Del("code_challenge") }, 302, "invalid_request"},
		{"plain pkce", func(v url.Values) { v.Set("code_challenge_method", "plain") }, 302, "invalid_request"},
		{"token response type", func(v url.Values) { v.Set("response_type", "token") }, 302, "unsupported_response_type"},
		{"unknown scope", func(v url.Values) { v.Set("scope", "profile admin") }, 302, "invalid_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := noRedirect.Get(build(tc.mod))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if loc.Query().Get("error") != tc.errorCode {
				t.Fatalf("location %s, want error %q", loc, tc.errorCode)
			}
		})
	}
}

func TestTokenRejections(t *testing.T) {
	e := newEnv(t)
	verifier := oauth2.GenerateVerifier()
	code := func() string {
		return e.consent(t, e.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "approve").Query().Get("code")
	}
	post := func(v url.Values, basic bool) (int, string) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/demo/oauth/token", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth("demo-client", "demo-secret")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body["error"]
	}
	good := func() url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code()}, "redirect_uri": {base + demo.CallbackPath},
			"code_verifier": {verifier}, "client_id": {"demo-client"}, "client_secret": {"demo-secret"}}
	}
	tests := []struct {
		name   string
		mod    func(url.Values)
		basic  bool
		status int
		err    string
	}{
		{"basic auth", func(v url.Values) { v.Del("client_secret") }, true, 401, "invalid_client"},
		{"wrong secret", func(v url.Values) { v.Set("client_secret", "x") }, false, 401, "invalid_client"},
		{"wrong verifier", func(v url.Values) { v.Set("code_verifier", oauth2.GenerateVerifier()) }, false, 400, "invalid_grant"},
		{"no verifier", func(v url.Values) { v.Del("code_verifier") }, false, 400, "invalid_grant"},
		{"other redirect", func(v url.Values) { v.Set("redirect_uri", base+"/x") }, false, 400, "invalid_grant"},
		{"client credentials grant", func(v url.Values) { v.Set("grant_type", "client_credentials") }, false, 400, "unsupported_grant_type"},
		{"good", func(url.Values) {}, false, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := good()
			tc.mod(v)
			if st, code := post(v, tc.basic); st != tc.status || code != tc.err {
				t.Fatalf("got %d %q, want %d %q", st, code, tc.status, tc.err)
			}
		})
	}
}

func TestAPI(t *testing.T) {
	e := newEnv(t)
	// Pagination walks all items.
	var ids []string
	for page := "1"; page != ""; {
		st, body := e.call(t, "GET", "/demo/api/items?per_page=10&page="+page, demo.APIKey, "")
		var res struct {
			Items []struct{ ID string }
			Next  *int `json:"next_page"`
			Total int
		}
		json.Unmarshal(body, &res)
		if st != 200 || res.Total != 25 {
			t.Fatalf("items: %d %s", st, body)
		}
		for _, it := range res.Items {
			ids = append(ids, it.ID)
		}
		page = ""
		if res.Next != nil {
			page = strconv.Itoa(*res.Next)
		}
	}
	if len(ids) != 25 || ids[0] != "item_1" || ids[24] != "item_25" {
		t.Fatalf("ids = %v", ids)
	}
	if st, _ := e.call(t, "GET", "/demo/api/items?page=0", demo.APIKey, ""); st != 400 {
		t.Fatalf("page=0: %d", st)
	}
	if st, body := e.call(t, "POST", "/demo/api/echo", demo.APIKey, `{"hello":["world",1]}`); st != 200 || string(body) != `{"hello":["world",1]}` {
		t.Fatalf("echo: %d %s", st, body)
	}
	if st, _ := e.call(t, "POST", "/demo/api/echo", demo.APIKey, `{"hello"`); st != 400 {
		t.Fatalf("echo of bad JSON: %d", st)
	}
	if st, _ := e.call(t, "GET", "/demo/api/me", "nope", ""); st != 401 {
		t.Fatalf("/me with a bad token: %d", st)
	}
	if st, _ := e.call(t, "GET", "/demo/nothing", "", ""); st != 404 {
		t.Fatalf("unknown route: %d", st)
	}
}

func TestKeyCheck(t *testing.T) {
	e := newEnv(t)
	if st, _ := e.call(t, "GET", "/demo/api/key-check", demo.APIKey, ""); st != 200 {
		t.Fatalf("bearer key: %d", st)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/demo/api/key-check", nil)
	req.Header.Set("X-API-Key", demo.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("X-API-Key: %d", resp.StatusCode)
	}
	for _, key := range []string{"", "demo-key-124"} {
		st, body := e.call(t, "GET", "/demo/api/key-check", key, "")
		if st != 401 || strings.TrimSpace(string(body)) != `{"message":"Invalid API key: use demo-key-123"}` {
			t.Fatalf("key %q: %d %s", key, st, body)
		}
	}
}

func TestConcurrentConnections(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			verifier := oauth2.GenerateVerifier()
			resp, err := noRedirect.Get(e.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
			if err != nil {
				t.Error(err)
				return
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			_, rest, _ := strings.Cut(string(page), `name="request" value="`)
			id, _, _ := strings.Cut(rest, `"`)
			resp, err = noRedirect.PostForm(e.srv.URL+"/demo/oauth/authorize", url.Values{"request": {id}, "decision": {"approve"}})
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			tok, err := e.cfg.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Error(err)
				return
			}
			for j := 0; j < 5; j++ {
				tok.Expiry = time.Now().Add(-time.Minute)
				if tok, err = e.cfg.TokenSource(context.Background(), tok).Token(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestDescriptor checks the catalog's demo entry matches this server.
func TestDescriptor(t *testing.T) {
	d := catalog.DemoDescriptor(base + "/")
	for _, sc := range d.Auth.Scopes {
		if _, ok := demo.Scopes[sc]; !ok {
			t.Fatalf("catalog demo scope %q is not one the demo grants", sc)
		}
	}
	if d.ID != "demo" || d.Auth.TokenURL != base+"/demo/oauth/token" || !d.Auth.PKCE || d.Auth.TokenAuth != "body" || !d.Connectable {
		t.Fatalf("descriptor = %+v", d)
	}
	if d.AuthAlternatives[0].CheckURL != base+"/demo/api/key-check" {
		t.Fatalf("api key alternative = %+v", d.AuthAlternatives[0])
	}
}
