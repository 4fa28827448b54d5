package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/store"
)

type resp struct {
	status  int
	header  http.Header
	body    map[string]any
	raw     string
	cookies []*http.Cookie
}

// do sends one request to the host; headers are name/value pairs.
func do(t *testing.T, method, url, body string, cookie *http.Cookie, headers ...string) resp {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if cookie != nil {
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, raw: string(raw), cookies: res.Cookies()}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func sessionCookie(t *testing.T, r resp) *http.Cookie {
	t.Helper()
	for _, c := range r.cookies {
		if c.Name == CookieName {
			return c
		}
	}
	t.Fatalf("no %s cookie in response %d %s", CookieName, r.status, r.raw)
	return nil
}

func signIn(t *testing.T, h *testHost) (*http.Cookie, string) {
	t.Helper()
	r := do(t, "POST", h.BaseURL+"/integrations/session", `{"api_key":"`+h.TenantKey+`"}`, nil)
	if r.status != 200 {
		t.Fatalf("sign in: %d %s", r.status, r.raw)
	}
	csrf, _ := r.body["csrf_token"].(string)
	if csrf == "" {
		t.Fatalf("sign in gave no csrf token: %s", r.raw)
	}
	return sessionCookie(t, r), csrf
}

func errCode(r resp) string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func TestSignInCookie(t *testing.T) {
	h := startHost(t, hostOptions{})
	r := do(t, "POST", h.BaseURL+"/integrations/session", `{"api_key":"`+h.TenantKey+`"}`, nil)
	if r.status != 200 || r.body["signed_in"] != true || r.body["tenant_id"] != h.TenantID {
		t.Fatalf("sign in: %d %s", r.status, r.raw)
	}
	c := sessionCookie(t, r)
	if !c.HttpOnly {
		t.Error("session cookie is not HttpOnly")
	}
	if c.SameSite != http.SameSiteStrictMode {
		t.Errorf("SameSite = %v, want Strict", c.SameSite)
	}
	if c.Secure {
		t.Error("Secure set on an http base URL")
	}
	if c.Path != "/" {
		t.Errorf("cookie path %q, want /", c.Path)
	}
	if c.MaxAge <= 0 || c.MaxAge > int(DefaultSessionTTL.Seconds()) {
		t.Errorf("cookie Max-Age %d", c.MaxAge)
	}
	secret := h.TenantKey[strings.LastIndex(h.TenantKey, "_")+1:]
	if strings.Contains(c.Value, secret) || strings.Contains(r.raw, secret) {
		t.Error("the API key leaks into the cookie or the response")
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}

	me := do(t, "GET", h.BaseURL+"/api/v1/me", "", c)
	if me.status != 200 || me.body["id"] != h.TenantID {
		t.Fatalf("GET /api/v1/me with the session: %d %s", me.status, me.raw)
	}
	info := do(t, "GET", h.BaseURL+"/integrations/session", "", c)
	if info.body["signed_in"] != true || info.body["csrf_token"] != r.body["csrf_token"] {
		t.Fatalf("session info: %s", info.raw)
	}

	t.Run("form post redirects to the page", func(t *testing.T) {
		req, _ := http.NewRequest("POST", h.BaseURL+"/integrations/session", strings.NewReader("api_key="+h.TenantKey))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/integrations" {
			t.Fatalf("form sign-in: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

func TestSecureCookieOnHTTPS(t *testing.T) {
	h := startHost(t, hostOptions{baseScheme: "https"})
	// The host listens on plain HTTP; its public URL says https (a proxy
	// terminates TLS), so the cookie must be Secure.
	r := do(t, "POST", strings.Replace(h.BaseURL, "https://", "http://", 1)+"/integrations/session",
		`{"api_key":"`+h.TenantKey+`"}`, nil, "Origin", h.BaseURL)
	if r.status != 200 {
		t.Fatalf("sign in: %d %s", r.status, r.raw)
	}
	if c := sessionCookie(t, r); !c.Secure {
		t.Error("cookie is not Secure on an https base URL")
	}
}

func TestSignInRefused(t *testing.T) {
	h := startHost(t, hostOptions{})
	cases := []struct {
		name    string
		body    string
		headers []string
		status  int
		code    string
	}{
		{"wrong key", `{"api_key":"atom_abcdefgh_wrongwrongwrongwrongwrongwrong"}`, nil, 401, "unauthorized"},
		{"not a key", `{"api_key":"hello"}`, nil, 401, "unauthorized"},
		{"empty", `{"api_key":""}`, nil, 400, "invalid_input"},
		{"unknown field", `{"key":"x"}`, nil, 400, ""},
		{"other origin", `{"api_key":"` + h.TenantKey + `"}`, []string{"Origin", "http://evil.example"}, 403, "cross_origin"},
		{"cross-site fetch", `{"api_key":"` + h.TenantKey + `"}`, []string{"Sec-Fetch-Site", "cross-site"}, 403, "cross_origin"},
		{"admin key", `{"api_key":"` + h.Config.AdminKey + `"}`, nil, 401, "admin_key"},
	}
	if h.Config.AdminKey == "" {
		t.Fatal("the dev host has no admin key")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "POST", h.BaseURL+"/integrations/session", tc.body, nil, tc.headers...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if tc.code != "" && errCode(r) != tc.code {
				t.Errorf("code %q, want %q: %s", errCode(r), tc.code, r.raw)
			}
			e, _ := r.body["error"].(map[string]any)
			if e["request_id"] == nil || e["message"] == "" {
				t.Errorf("error body lacks the shared shape: %s", r.raw)
			}
			if tc.code == "admin_key" {
				msg, _ := e["message"].(string)
				if !strings.Contains(msg, "you may have pasted the admin key") || strings.Contains(msg, h.Config.AdminKey) {
					t.Errorf("admin key refusal says %q", msg)
				}
			}
			for _, c := range r.cookies {
				if c.Name == CookieName && c.Value != "" {
					t.Error("a refused sign-in set a session cookie")
				}
			}
		})
	}
	t.Run("same origin accepted", func(t *testing.T) {
		r := do(t, "POST", h.BaseURL+"/integrations/session", `{"api_key":"`+h.TenantKey+`"}`, nil, "Origin", h.BaseURL, "Sec-Fetch-Site", "same-origin")
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.raw)
		}
	})
}

func TestCSRF(t *testing.T) {
	h := startHost(t, hostOptions{})
	c, csrf := signIn(t, h)
	users := h.BaseURL + "/api/v1/users"

	wrong := "x" + csrf[1:]
	if csrf[0] == 'x' { // "wrong" must differ from the real token
		wrong = "y" + csrf[1:]
	}
	for _, tc := range []struct {
		name, token string
	}{{"missing token", ""}, {"wrong token", wrong}} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.token != "" {
				hdr = []string{CSRFHeader, tc.token}
			}
			r := do(t, "POST", users, `{"id":"u-`+strings.ReplaceAll(tc.name, " ", "-")+`"}`, c, hdr...)
			if r.status != http.StatusUnauthorized && r.status != http.StatusForbidden {
				t.Fatalf("state change without the CSRF token: %d %s", r.status, r.raw)
			}
			if errCode(r) == "" {
				t.Errorf("not the JSON error shape: %s", r.raw)
			}
		})
	}
	// Nothing was written by the refused requests.
	err := h.Store.InTenant(context.Background(), h.TenantID, func(tx store.Tx) error {
		_, err := tx.GetUser(context.Background(), "u-missing-token")
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused request created a user: %v", err)
	}

	r := do(t, "POST", users, `{"id":"u-ok"}`, c, CSRFHeader, csrf)
	if r.status != http.StatusCreated {
		t.Fatalf("with the CSRF token: %d %s", r.status, r.raw)
	}
	if r := do(t, "GET", h.BaseURL+"/api/v1/connections", "", c); r.status != 200 {
		t.Fatalf("GET needs no CSRF token: %d %s", r.status, r.raw)
	}

	t.Run("a bearer key is checked instead of the cookie", func(t *testing.T) {
		r := do(t, "GET", h.BaseURL+"/api/v1/me", "", c, "Authorization", "Bearer atom_abcdefgh_notavalidkeynotavalidkey")
		if r.status != http.StatusUnauthorized {
			t.Fatalf("invalid bearer with a valid cookie: %d %s", r.status, r.raw)
		}
		r = do(t, "POST", users, `{"id":"u-bearer"}`, nil, "Authorization", "Bearer "+h.TenantKey)
		if r.status != http.StatusCreated {
			t.Fatalf("bearer request needs no CSRF token: %d %s", r.status, r.raw)
		}
	})

	t.Run("guard answers 403", func(t *testing.T) {
		u := h.web(t)
		a := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
			var ae *api.Error
			if errors.As(err, &ae) {
				return c.Status(ae.Status).JSON(fiber.Map{"error": fiber.Map{"code": ae.Code, "message": ae.Message}})
			}
			return fiber.DefaultErrorHandler(c, err)
		}})
		a.Use("/api", u.Guard)
		a.All("/api/x", func(c *fiber.Ctx) error { return c.SendString("reached") })
		send := func(method string, hdr ...string) int {
			req := httptest.NewRequest(method, "/api/x", nil)
			req.AddCookie(&http.Cookie{Name: CookieName, Value: c.Value})
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			res, err := a.Test(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		if got := send("POST"); got != 403 {
			t.Errorf("POST without token: %d, want 403", got)
		}
		if got := send("DELETE", CSRFHeader, "nope"); got != 403 {
			t.Errorf("DELETE with a wrong token: %d, want 403", got)
		}
		if got := send("POST", CSRFHeader, csrf); got != 200 {
			t.Errorf("POST with the token: %d, want 200", got)
		}
		if got := send("GET"); got != 200 {
			t.Errorf("GET: %d, want 200", got)
		}
		if got := send("POST", "Authorization", "Bearer k"); got != 200 {
			t.Errorf("bearer request: %d, want 200 (left to the key check)", got)
		}
	})
}

// web returns a UI sharing the host's key ring, so it opens the host's
// cookies.
func (h *testHost) web(t *testing.T) *UI {
	u, err := New(Config{Store: h.Store, Keyring: h.Keyring, BaseURL: h.BaseURL})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSignOut(t *testing.T) {
	h := startHost(t, hostOptions{})
	c, csrf := signIn(t, h)
	if r := do(t, "DELETE", h.BaseURL+"/integrations/session", "", c); r.status != http.StatusForbidden || errCode(r) != "csrf_failed" {
		t.Fatalf("sign-out without the CSRF token: %d %s", r.status, r.raw)
	}
	if r := do(t, "GET", h.BaseURL+"/api/v1/me", "", c); r.status != 200 {
		t.Fatalf("a refused sign-out ended the session: %d", r.status)
	}
	r := do(t, "DELETE", h.BaseURL+"/integrations/session", "", c, CSRFHeader, csrf)
	if r.status != http.StatusNoContent {
		t.Fatalf("sign-out: %d %s", r.status, r.raw)
	}
	cleared := sessionCookie(t, r)
	if cleared.Value != "" || !cleared.HttpOnly || cleared.SameSite != http.SameSiteStrictMode {
		t.Errorf("sign-out cookie %+v", cleared)
	}
	if !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), ";"), "1970") {
		t.Errorf("sign-out does not expire the cookie: %v", r.header.Values("Set-Cookie"))
	}
	// The old cookie, replayed, no longer works.
	if r := do(t, "GET", h.BaseURL+"/api/v1/me", "", c); r.status != http.StatusUnauthorized {
		t.Fatalf("signed-out cookie still authenticates: %d %s", r.status, r.raw)
	}
	if r := do(t, "GET", h.BaseURL+"/integrations/session", "", c); r.body["signed_in"] != false {
		t.Fatalf("session info after sign-out: %s", r.raw)
	}
}

func TestSessionEnds(t *testing.T) {
	t.Run("revoked key", func(t *testing.T) {
		h := startHost(t, hostOptions{})
		c, _ := signIn(t, h)
		err := h.Store.InTenant(context.Background(), h.TenantID, func(tx store.Tx) error {
			return tx.RevokeAPIKey(context.Background(), h.KeyID, time.Now())
		})
		if err != nil {
			t.Fatal(err)
		}
		if r := do(t, "GET", h.BaseURL+"/api/v1/me", "", c); r.status != http.StatusUnauthorized {
			t.Fatalf("session of a revoked key: %d %s", r.status, r.raw)
		}
	})
	t.Run("tampered cookie", func(t *testing.T) {
		h := startHost(t, hostOptions{})
		c, _ := signIn(t, h)
		b := []byte(c.Value)
		i := len(b) / 2
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		bad := &http.Cookie{Name: CookieName, Value: string(b)}
		if r := do(t, "GET", h.BaseURL+"/api/v1/me", "", bad); r.status != http.StatusUnauthorized {
			t.Fatalf("tampered cookie: %d %s", r.status, r.raw)
		}
	})
	t.Run("expired", func(t *testing.T) {
		now := time.Now()
		clock := func() time.Time { return now }
		ui := func(h *app.Host) (api.WebUI, error) {
			u, err := New(Config{Store: h.Store, Keyring: h.Keyring, BaseURL: h.Config.BaseURL, SessionTTL: time.Hour, Now: func() time.Time { return clock() }})
			if err != nil {
				return nil, err
			}
			return u, nil
		}
		h := startHost(t, hostOptions{web: ui})
		c, _ := signIn(t, h)
		if r := do(t, "GET", h.BaseURL+"/api/v1/me", "", c); r.status != 200 {
			t.Fatalf("fresh session: %d", r.status)
		}
		later := now.Add(time.Hour + time.Second)
		clock = func() time.Time { return later }
		if r := do(t, "GET", h.BaseURL+"/api/v1/me", "", c); r.status != http.StatusUnauthorized {
			t.Fatalf("expired session: %d %s", r.status, r.raw)
		}
	})
	t.Run("other tenant's key ring", func(t *testing.T) {
		a := startHost(t, hostOptions{})
		b := startHost(t, hostOptions{})
		c, _ := signIn(t, a)
		if r := do(t, "GET", b.BaseURL+"/api/v1/me", "", c); r.status != http.StatusUnauthorized {
			t.Fatalf("a cookie sealed by another host's keys: %d %s", r.status, r.raw)
		}
	})
}

func TestPageServed(t *testing.T) {
	h := startHost(t, hostOptions{})
	for _, tc := range []struct {
		path, ctype, contains string
	}{
		{"/integrations", "text/html", `id="catalog"`},
		{"/integrations/popup-done", "text/html", "popup.js"},
		{"/integrations/assets/app.js", "javascript", "atomPerf"},
		{"/integrations/assets/style.css", "text/css", ":focus-visible"},
		{"/integrations/assets/favicon.svg", "image/svg+xml", "<svg"},
		{"/favicon.ico", "image/svg+xml", "<svg"},
	} {
		r := do(t, "GET", h.BaseURL+tc.path, "", nil)
		if r.status != 200 || !strings.Contains(r.header.Get("Content-Type"), tc.ctype) || !strings.Contains(r.raw, tc.contains) {
			t.Errorf("GET %s: %d %q", tc.path, r.status, r.header.Get("Content-Type"))
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: CSP %q", tc.path, csp)
		}
	}
	if r := do(t, "GET", h.BaseURL+"/integrations/assets/nope.js", "", nil); r.status != 404 || errCode(r) != "not_found" {
		t.Errorf("missing asset: %d %s", r.status, r.raw)
	}
	if r := do(t, "GET", h.BaseURL+"/integrations/session", "", nil); r.status != 200 || r.body["signed_in"] != false {
		t.Errorf("session info signed out: %d %s", r.status, r.raw)
	}
}
