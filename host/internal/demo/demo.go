// Package demo is a built-in OAuth 2.0 authorization server and a tiny API,
// so the embedded development setup can connect an integration and run an
// action without an account anywhere.
//
// A Demo is an http.Handler for paths under /demo/ (mount it there, the
// paths keep their prefix):
//
//	GET  /demo/oauth/authorize   consent page (PKCE S256 required)
//	POST /demo/oauth/authorize   the page's Approve/Deny form
//	POST /demo/oauth/token       authorization_code and refresh_token grants
//	POST /demo/oauth/revoke      RFC 7009 revocation
//	GET  /demo/api/me            the connected demo user
//	GET  /demo/api/items         a paginated list (?page=, ?per_page=)
//	POST /demo/api/echo          echoes the JSON body
//	GET  /demo/api/key-check     API-key variant: accepts APIKey
//
// Clients authenticate at the token endpoint with client_id and
// client_secret in the form body. Access tokens last an hour; refresh
// tokens rotate on every use. State lives in memory with expiry and is safe
// for concurrent use. The API routes accept an access token or the demo API
// key.
package demo

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fixed facts of the demo provider.
const (
	// APIKey is the one key the API-key variant accepts.
	APIKey = "demo-key-123"
	// CallbackPath is the redirect path registered for the demo client,
	// relative to Config.BaseURL.
	CallbackPath = "/api/integrations/demo/callback"
	// AccessTokenTTL is the lifetime of access tokens (expires_in 3600).
	AccessTokenTTL = time.Hour
	// RefreshTokenTTL is the lifetime of a refresh token that is not used.
	RefreshTokenTTL = 30 * 24 * time.Hour

	requestTTL = 10 * time.Minute
	codeTTL    = 10 * time.Minute
	// maxEntries bounds each in-memory table.
	maxEntries = 100000
	sweepEvery = time.Minute
)

// Scopes are the scopes the demo grants, with what they allow.
var Scopes = map[string]string{
	"profile":    "See your demo profile",
	"items:read": "Read your demo items",
	"echo":       "Send data to the echo endpoint",
}

// Errors of token handling.
var (
	errFull = errors.New("demo: too many pending entries")
)

// Config configures a Demo.
type Config struct {
	// ClientID and ClientSecret are the demo client's credentials.
	ClientID     string
	ClientSecret string
	// BaseURL is where Atom is reached, e.g. "http://localhost:3000". The
	// only registered redirect URI is BaseURL + CallbackPath.
	BaseURL string
}

// Demo is the demo provider. It is safe for concurrent use.
type Demo struct {
	cfg         Config
	redirectURI string
	now         func() time.Time

	mu        sync.Mutex
	requests  map[string]*authRequest
	codes     map[string]*authCode
	access    map[string]*grantToken
	refresh   map[string]*grantToken
	lastSweep time.Time
}

type authRequest struct {
	state, scope, challenge string
	expiresAt               time.Time
}

type authCode struct {
	scope, challenge string
	expiresAt        time.Time
}

type grantToken struct {
	grant     string
	scope     string
	expiresAt time.Time
}

var _ http.Handler = (*Demo)(nil)

// New returns a Demo for cfg.
func New(cfg Config) *Demo {
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Demo{
		cfg:         cfg,
		redirectURI: cfg.BaseURL + CallbackPath,
		now:         time.Now,
		requests:    map[string]*authRequest{},
		codes:       map[string]*authCode{},
		access:      map[string]*grantToken{},
		refresh:     map[string]*grantToken{},
	}
}

// RedirectURI returns the one redirect URI the demo client may use.
func (d *Demo) RedirectURI() string { return d.redirectURI }

// ServeHTTP serves the demo routes.
func (d *Demo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method + " " + r.URL.Path {
	case "GET /demo/oauth/authorize":
		d.authorize(w, r)
	case "POST /demo/oauth/authorize":
		d.decide(w, r)
	case "POST /demo/oauth/token":
		d.token(w, r)
	case "POST /demo/oauth/revoke":
		d.revoke(w, r)
	case "GET /demo/api/me":
		d.me(w, r)
	case "GET /demo/api/items":
		d.items(w, r)
	case "POST /demo/api/echo":
		d.echo(w, r)
	case "GET /demo/api/key-check":
		d.keyCheck(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found"})
	}
}

func (d *Demo) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !equal(q.Get("client_id"), d.cfg.ClientID) {
		d.page(w, http.StatusBadRequest, pageData{Error: "Unknown client_id."})
		return
	}
	if q.Get("redirect_uri") != d.redirectURI {
		d.page(w, http.StatusBadRequest, pageData{Error: "redirect_uri does not match the registered " + d.redirectURI + "."})
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) {
		redirect(w, r, d.redirectURI, url.Values{"error": {code}, "error_description": {desc}, "state": {state}})
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "response_type must be code")
		return
	}
	challenge := q.Get("code_challenge")
	if challenge == "" || q.Get("code_challenge_method") != "S256" || len(challenge) != 43 {
		fail("invalid_request", "PKCE with code_challenge_method S256 is required")
		return
	}
	scope := strings.Join(strings.Fields(q.Get("scope")), " ")
	var scopes []scopeItem
	for _, sc := range strings.Fields(scope) {
		desc, ok := Scopes[sc]
		if !ok {
			fail("invalid_scope", "unknown scope "+sc)
			return
		}
		scopes = append(scopes, scopeItem{Name: sc, Description: desc})
	}
	id := randomToken()
	if err := d.put(func() error {
		if len(d.requests) >= maxEntries {
			return errFull
		}
		d.requests[id] = &authRequest{state: state, scope: scope, challenge: challenge, expiresAt: d.now().Add(requestTTL)}
		return nil
	}); err != nil {
		d.page(w, http.StatusServiceUnavailable, pageData{Error: "Too many pending requests; try again later."})
		return
	}
	d.page(w, http.StatusOK, pageData{Request: id, Scopes: scopes})
}

func (d *Demo) decide(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		d.page(w, http.StatusBadRequest, pageData{Error: "Bad form."})
		return
	}
	id := r.PostForm.Get("request")
	d.mu.Lock()
	req, ok := d.requests[id]
	delete(d.requests, id)
	d.mu.Unlock()
	if !ok || d.now().After(req.expiresAt) {
		d.page(w, http.StatusBadRequest, pageData{Error: "This authorization request expired or was already answered. Start again from Atom."})
		return
	}
	if r.PostForm.Get("decision") != "approve" {
		redirect(w, r, d.redirectURI, url.Values{"error": {"access_denied"}, "error_description": {"The user denied access."}, "state": {req.state}})
		return
	}
	code := randomToken()
	if err := d.put(func() error {
		if len(d.codes) >= maxEntries {
			return errFull
		}
		d.codes[code] = &authCode{scope: req.scope, challenge: req.challenge, expiresAt: d.now().Add(codeTTL)}
		return nil
	}); err != nil {
		redirect(w, r, d.redirectURI, url.Values{"error": {"temporarily_unavailable"}, "state": {req.state}})
		return
	}
	redirect(w, r, d.redirectURI, url.Values{"code": {code}, "state": {req.state}})
}

// clientForm reads a form body and checks client_secret_post
// authentication. It writes the error response itself.
func (d *Demo) clientForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "body must be application/x-www-form-urlencoded")
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form body")
		return nil, false
	}
	if _, _, basic := r.BasicAuth(); basic {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "send client_id and client_secret in the body (client_secret_post)")
		return nil, false
	}
	f := r.PostForm
	if !equal(f.Get("client_id"), d.cfg.ClientID) || !equal(f.Get("client_secret"), d.cfg.ClientSecret) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return nil, false
	}
	return f, true
}

func (d *Demo) token(w http.ResponseWriter, r *http.Request) {
	f, ok := d.clientForm(w, r)
	if !ok {
		return
	}
	switch f.Get("grant_type") {
	case "authorization_code":
		d.mu.Lock()
		c, ok := d.codes[f.Get("code")]
		delete(d.codes, f.Get("code"))
		d.mu.Unlock()
		switch {
		case !ok || d.now().After(c.expiresAt):
			oauthError(w, http.StatusBadRequest, "invalid_grant", "authorization code is invalid, expired or already used")
			return
		case f.Get("redirect_uri") != d.redirectURI:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match")
			return
		}
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if f.Get("code_verifier") == "" || !equal(base64.RawURLEncoding.EncodeToString(sum[:]), c.challenge) {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match code_challenge")
			return
		}
		d.issue(w, randomToken(), c.scope)
	case "refresh_token":
		d.mu.Lock()
		old, ok := d.refresh[f.Get("refresh_token")]
		delete(d.refresh, f.Get("refresh_token"))
		d.mu.Unlock()
		if !ok || d.now().After(old.expiresAt) {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "refresh token is invalid, expired, revoked or already used")
			return
		}
		d.issue(w, old.grant, old.scope)
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "missing grant_type")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
	}
}

// issue mints an access token and a refresh token for a grant and writes
// the token response.
func (d *Demo) issue(w http.ResponseWriter, grant, scope string) {
	at, rt := randomToken(), randomToken()
	now := d.now()
	if err := d.put(func() error {
		if len(d.access) >= maxEntries || len(d.refresh) >= maxEntries {
			return errFull
		}
		d.access[at] = &grantToken{grant: grant, scope: scope, expiresAt: now.Add(AccessTokenTTL)}
		d.refresh[rt] = &grantToken{grant: grant, scope: scope, expiresAt: now.Add(RefreshTokenTTL)}
		return nil
	}); err != nil {
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "too many tokens; try again later")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  at,
		"token_type":    "Bearer",
		"expires_in":    int(AccessTokenTTL / time.Second),
		"refresh_token": rt,
		"scope":         scope,
	})
}

func (d *Demo) revoke(w http.ResponseWriter, r *http.Request) {
	f, ok := d.clientForm(w, r)
	if !ok {
		return
	}
	tok := f.Get("token")
	if tok == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "missing token")
		return
	}
	d.mu.Lock()
	if t, ok := d.refresh[tok]; ok {
		// Revoking a refresh token ends its whole grant.
		for k, a := range d.access {
			if a.grant == t.grant {
				delete(d.access, k)
			}
		}
		delete(d.refresh, tok)
	}
	delete(d.access, tok)
	d.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// caller authenticates an API call: an access token, or the API key as a
// bearer token or X-API-Key header.
func (d *Demo) caller(r *http.Request) (auth, scope string, ok bool) {
	key := r.Header.Get("X-API-Key")
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		key = strings.TrimSpace(h[7:])
	}
	if key == "" {
		return "", "", false
	}
	if equal(key, APIKey) {
		return "api_key", "", true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.access[key]
	if !ok || !d.now().Before(t.expiresAt) {
		return "", "", false
	}
	return "oauth2", t.scope, true
}

func (d *Demo) authed(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	auth, scope, ok := d.caller(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="demo", error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "access token is missing, expired or revoked"})
	}
	return auth, scope, ok
}

func (d *Demo) me(w http.ResponseWriter, r *http.Request) {
	auth, scope, ok := d.authed(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"id": "demo-user", "name": "Demo User", "email": "demo@example.com", "auth": auth, "scope": scope,
	})
}

// itemsTotal is how many items the demo list holds.
const itemsTotal = 25

func (d *Demo) items(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := d.authed(w, r); !ok {
		return
	}
	page, err1 := intParam(r, "page", 1)
	per, err2 := intParam(r, "per_page", 10)
	if err1 != nil || err2 != nil || per > 100 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "page and per_page must be positive integers, per_page at most 100"})
		return
	}
	items := []map[string]any{}
	for i := (page-1)*per + 1; i <= page*per && i <= itemsTotal; i++ {
		items = append(items, map[string]any{"id": fmt.Sprintf("item_%d", i), "name": fmt.Sprintf("Demo item %d", i), "done": i%3 == 0})
	}
	var next any
	if page*per < itemsTotal {
		next = page + 1
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "page": page, "per_page": per, "total": itemsTotal, "next_page": next})
}

func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1<<20 {
		return 0, fmt.Errorf("bad %s", name)
	}
	return n, nil
}

func (d *Demo) echo(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := d.authed(w, r); !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil || !json.Valid(body) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_json", "error_description": "body must be JSON, at most 1 MiB"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func (d *Demo) keyCheck(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("X-API-Key")
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		key = strings.TrimSpace(h[7:])
	}
	if !equal(key, APIKey) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Invalid API key: use " + APIKey})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "user": "demo-user"})
}

// put runs fn under the lock after sweeping expired entries, at most once a
// sweepEvery.
func (d *Demo) put(fn func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if now.Sub(d.lastSweep) >= sweepEvery {
		d.sweepLocked(now)
	}
	return fn()
}

func (d *Demo) sweepLocked(now time.Time) {
	d.lastSweep = now
	for k, v := range d.requests {
		if now.After(v.expiresAt) {
			delete(d.requests, k)
		}
	}
	for k, v := range d.codes {
		if now.After(v.expiresAt) {
			delete(d.codes, k)
		}
	}
	for _, m := range []map[string]*grantToken{d.access, d.refresh} {
		for k, v := range m {
			if now.After(v.expiresAt) {
				delete(m, k)
			}
		}
	}
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// redirect sends the browser to target with the non-empty params added.
func redirect(w http.ResponseWriter, r *http.Request, target string, params url.Values) {
	u, err := url.Parse(target)
	if err != nil {
		http.Error(w, "bad redirect URI", http.StatusInternalServerError)
		return
	}
	q := u.Query()
	for k, vs := range params {
		if len(vs) > 0 && vs[0] != "" {
			q.Set(k, vs[0])
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// randomToken returns 256 random bits, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
