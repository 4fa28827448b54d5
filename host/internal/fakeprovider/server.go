package fakeprovider

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// Quirks chooses how a Server behaves. The zero value is a plain OAuth 2.0
// provider: either client authentication style, form request bodies, JSON
// responses, tokens valid for an hour, a stable refresh token, no PKCE
// requirement, auto-approval.
type Quirks struct {
	// ClientID and ClientSecret are the registered client (also the OAuth
	// 1.0a consumer key and secret); random when empty. They are fixed when
	// the server starts: SetQuirks does not change them.
	ClientID     string
	ClientSecret string
	// RedirectURI, when set, is the one registered redirect URI: authorize
	// and token requests must carry exactly this value.
	RedirectURI string
	// RequirePKCE rejects authorization requests without an S256
	// code_challenge. A challenge sent without it is still verified.
	RequirePKCE bool
	// Consent shows an HTML approve/deny page instead of approving at once.
	Consent bool
	// ScopeSeparator splits the requested scope for Authorizations; a
	// space when empty.
	ScopeSeparator string

	// TokenAuth is the client authentication the token and revocation
	// endpoints accept: "basic" (HTTP Basic only), "body" (client_id and
	// client_secret in the body only) or "" (either).
	TokenAuth string
	// RequestJSON makes the token endpoint accept JSON bodies only; by
	// default it accepts form bodies only.
	RequestJSON bool
	// ResponseForm answers token requests form-encoded, like GitHub's
	// legacy endpoint, instead of JSON.
	ResponseForm bool
	// NestedPath puts the user's access_token, refresh_token, scope and
	// expires_in inside an object of that name, with a bot token at the top
	// level, like Slack's oauth.v2.access ("authed_user"). Refresh
	// responses have the same shape.
	NestedPath string
	// Metadata fields are added at the top level of every token response
	// (Salesforce: "instance_url").
	Metadata map[string]string
	// ExpiresIn is the access-token lifetime in seconds; 3600 when zero.
	ExpiresIn int
	// NoExpiresIn omits expires_in from token responses; such tokens never
	// expire on the fake's side.
	NoExpiresIn bool
	// NoRefreshToken issues no refresh token at all.
	NoRefreshToken bool
	// RotateRefresh issues a new refresh token on every refresh and
	// invalidates the old one; reusing it gives invalid_grant.
	RotateRefresh bool
	// OmitRefreshOnRefresh leaves refresh_token out of refresh responses:
	// the client must keep the one it has, which stays valid (it takes
	// precedence over RotateRefresh for refreshes).
	OmitRefreshOnRefresh bool
	// SlowToken delays every token-endpoint response.
	SlowToken time.Duration
	// ErrorsWithOK answers token-endpoint errors with HTTP 200, like Slack
	// ({"ok":false,"error":...}) and GitHub's legacy endpoint.
	ErrorsWithOK bool

	// APIKey is the key /api/key-check accepts; random when empty. Fixed
	// when the server starts.
	APIKey string
	// APIKeyHeader is the header carrying the API key. When empty the key
	// is expected as "Authorization: Bearer <key>"; otherwise the header
	// holds the bare key (e.g. "X-API-Key").
	APIKeyHeader string
	// APIKeyQuery, when set, also accepts the key as that query parameter.
	APIKeyQuery string
	// PageSize and Items shape /api/items: 2 items a page, 5 in all when
	// zero.
	PageSize int
	Items    int
	// PathParams, when set, are the only values accepted as a connection
	// parameter in the path prefix "/p/{value}/" (an unknown Shopify shop
	// or Zoho region gets 404). Any value is accepted when empty.
	PathParams []string
}

// TokenRequest is one request the token endpoint received, as seen on the
// wire.
type TokenRequest struct {
	// GrantType is the grant_type field.
	GrantType string
	// AuthStyle is how the client authenticated: "basic", "body", "both"
	// or "none".
	AuthStyle string
	// ContentType is the request's media type, without parameters.
	ContentType string
	// Fields are the body fields (form or JSON, values as strings).
	Fields map[string]string
	// BasicUser is the client id from the HTTP Basic header, if any.
	BasicUser string
	// Accept is the request's Accept header.
	Accept string
	// Status is the HTTP status the fake answered with.
	Status int
	// Error is the OAuth error code answered, if any.
	Error string
	// PathParam is the connection parameter from the "/p/{value}/" path
	// prefix, if the request used one.
	PathParam string
}

// Authorization is one authorization request the fake accepted for
// processing.
type Authorization struct {
	ClientID            string
	RedirectURI         string
	Scope               string
	Scopes              []string
	State               string
	CodeChallenge       string
	CodeChallengeMethod string
	// Params are all query parameters, for extra provider parameters such
	// as access_type=offline.
	Params map[string][]string
	// PathParam is the connection parameter from the path prefix, if any.
	PathParam string
}

// Revocation is one token revoked through /oauth/revoke.
type Revocation struct {
	Token         string
	TokenTypeHint string
}

// APIRequest is one call to the protected API.
type APIRequest struct {
	Method string
	Path   string
	// Auth is how the call authenticated: "bearer", "oauth1", "trello",
	// "api_key" or "" when it was rejected.
	Auth string
	// Token is the credential used (access token, OAuth 1.0a token or API
	// key).
	Token  string
	Status int
	// PathParam is the connection parameter from the path prefix, if any.
	PathParam string
}

// Token is a token pair minted by IssueToken or returned by the fake.
type Token struct {
	AccessToken  string
	RefreshToken string
	// ExpiresAt is zero for tokens that never expire.
	ExpiresAt time.Time
	// Subject is the user id /api/me reports for the token.
	Subject string
}

// Server is a running fake provider. Its exported fields are fixed after
// start; its methods are safe for concurrent use. Close stops it.
type Server struct {
	// URL is the base URL, e.g. "http://127.0.0.1:41234".
	URL string
	// ClientID and ClientSecret are the registered OAuth client (and OAuth
	// 1.0a consumer key and secret).
	ClientID     string
	ClientSecret string
	// APIKey is the key /api/key-check accepts.
	APIKey string

	ts        *httptest.Server
	done      chan struct{}
	closeOnce sync.Once

	mu          sync.Mutex
	q           Quirks
	codes       map[string]*authCode
	pending     map[string]*pendingAuth
	access      map[string]*accessToken
	refresh     map[string]*refreshToken
	lastRefresh string
	grants      int
	refreshes   int
	// inFlight counts token requests being answered.
	inFlight atomic.Int64
	// reused counts refresh requests presenting a refresh token that
	// rotation had already replaced.
	reused        int
	failNext      string
	failTransient int
	tokenReqs     []TokenRequest
	auths         []Authorization
	revocations   []Revocation
	apiReqs       []APIRequest
	o1            oauth1State
}

type authCode struct {
	clientID    string
	redirectURI string
	scope       string
	challenge   string
	expiresAt   time.Time
	used        bool
}

type pendingAuth struct {
	redirectURI string
	state       string
	code        *authCode
	oauth1Token string
}

type accessToken struct {
	kind      string
	subject   string
	scope     string
	expiresAt time.Time
	revoked   bool
}

type refreshToken struct {
	subject string
	scope   string
	valid   bool
	// rotated is set when a refresh replaced the token (RotateRefresh):
	// it is invalid from then on, as with providers that rotate.
	rotated bool
}

// New starts a Server for a test and closes it when the test ends.
func New(t testing.TB, q Quirks) *Server {
	t.Helper()
	s := Start(q)
	t.Cleanup(s.Close)
	return s
}

// Start starts a Server on a loopback port. It panics if no port can be
// had, like httptest.NewServer. The caller must Close it.
func Start(q Quirks) *Server {
	s, err := Listen("127.0.0.1:0", q)
	if err != nil {
		panic(fmt.Sprintf("fakeprovider: %v", err))
	}
	return s
}

// Listen starts a Server on addr ("host:port"). The caller must Close it.
func Listen(addr string, q Quirks) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	s := newServer(q)
	ts := httptest.NewUnstartedServer(s.withPathParam(s.routes()))
	ts.Listener.Close()
	ts.Listener = l
	ts.Start()
	s.ts = ts
	s.URL = ts.URL
	return s, nil
}

func newServer(q Quirks) *Server {
	if q.ClientID == "" {
		q.ClientID = "client_" + randomString(12)
	}
	if q.ClientSecret == "" {
		q.ClientSecret = "secret_" + randomString(24)
	}
	if q.APIKey == "" {
		q.APIKey = "key_" + randomString(24)
	}
	return &Server{
		ClientID:     q.ClientID,
		ClientSecret: q.ClientSecret,
		APIKey:       q.APIKey,
		q:            q,
		codes:        map[string]*authCode{},
		pending:      map[string]*pendingAuth{},
		access:       map[string]*accessToken{},
		refresh:      map[string]*refreshToken{},
		o1:           newOAuth1State(),
		done:         make(chan struct{}),
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /oauth/authorize", s.handleConsentDecision)
	mux.HandleFunc("POST /oauth/token", s.handleToken)
	mux.HandleFunc("POST /oauth/revoke", s.handleRevoke)
	mux.HandleFunc("POST /oauth1/request_token", s.handleRequestToken)
	mux.HandleFunc("GET /oauth1/authorize", s.handleOAuth1Authorize)
	mux.HandleFunc("POST /oauth1/authorize", s.handleConsentDecision)
	mux.HandleFunc("POST /oauth1/access_token", s.handleAccessToken)
	mux.HandleFunc("GET /api/me", s.handleMe)
	mux.HandleFunc("GET /api/items", s.handleItems)
	mux.HandleFunc("POST /api/echo", s.handleEcho)
	mux.HandleFunc("GET /api/key-check", s.handleKeyCheck)
	mux.HandleFunc("GET /_fake/stats", s.handleStats)
	mux.HandleFunc("POST /_fake/fail-next-refresh", s.handleControl)
	mux.HandleFunc("POST /_fake/fail-refresh-transient", s.handleControl)
	mux.HandleFunc("POST /_fake/revoke-all", s.handleControl)
	mux.HandleFunc("POST /_fake/expire-access-tokens", s.handleControl)
	return mux
}

// Close stops the server and blocks until its requests have finished.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	if s.ts != nil {
		s.ts.Close()
	}
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Endpoint returns the OAuth 2.0 endpoints for golang.org/x/oauth2, with the
// auth style matching Quirks.TokenAuth at the time of the call.
func (s *Server) Endpoint() oauth2.Endpoint {
	style := oauth2.AuthStyleAutoDetect
	switch s.Quirks().TokenAuth {
	case "basic":
		style = oauth2.AuthStyleInHeader
	case "body":
		style = oauth2.AuthStyleInParams
	}
	return oauth2.Endpoint{
		AuthURL:   s.URL + "/oauth/authorize",
		TokenURL:  s.URL + "/oauth/token",
		AuthStyle: style,
	}
}

// Quirks returns the quirks in force.
func (s *Server) Quirks() Quirks {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.q
}

// SetQuirks replaces the quirks in force, keeping the client credentials
// and API key the server started with.
func (s *Server) SetQuirks(q Quirks) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q.ClientID, q.ClientSecret, q.APIKey = s.ClientID, s.ClientSecret, s.APIKey
	s.q = q
}

// UpdateQuirks changes the quirks in force through fn, atomically.
func (s *Server) UpdateQuirks(fn func(*Quirks)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.q
	fn(&q)
	q.ClientID, q.ClientSecret, q.APIKey = s.ClientID, s.ClientSecret, s.APIKey
	s.q = q
}

// Refreshes returns how many refresh_token grant requests passed client
// authentication, including those that then failed (injected failures,
// invalid refresh tokens).
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// TokenRequestsInFlight counts token-endpoint requests received and not
// answered yet (held by SlowToken, say).
func (s *Server) TokenRequestsInFlight() int { return int(s.inFlight.Load()) }

// ReusedRefreshTokens counts refresh requests refused because they sent a
// refresh token a rotation had already replaced: a client that lost the
// token it was issued.
func (s *Server) ReusedRefreshTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reused
}

// TokenRequests returns every token-endpoint request received so far, in
// order.
func (s *Server) TokenRequests() []TokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TokenRequest, len(s.tokenReqs))
	copy(out, s.tokenReqs)
	return out
}

// Authorizations returns every authorization request that passed client
// and redirect URI checks, in order.
func (s *Server) Authorizations() []Authorization {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Authorization, len(s.auths))
	copy(out, s.auths)
	return out
}

// Revoked returns the tokens revoked through /oauth/revoke, in order.
func (s *Server) Revoked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.revocations))
	for i, r := range s.revocations {
		out[i] = r.Token
	}
	return out
}

// Revocations returns the revocation requests received, with their hints.
func (s *Server) Revocations() []Revocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Revocation, len(s.revocations))
	copy(out, s.revocations)
	return out
}

// APIRequests returns every call to the protected API, in order.
func (s *Server) APIRequests() []APIRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]APIRequest, len(s.apiReqs))
	copy(out, s.apiReqs)
	return out
}

// CurrentRefreshToken returns the refresh token issued last that is still
// valid, or "" if there is none.
func (s *Server) CurrentRefreshToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt, ok := s.refresh[s.lastRefresh]; ok && rt.valid {
		return s.lastRefresh
	}
	return ""
}

// IssueToken mints a user token pair as if a tenant had just connected,
// for tests that start from an existing connection. A non-positive
// expiresIn gives an access token that is already expired. The refresh
// token follows Quirks.NoRefreshToken.
func (s *Server) IssueToken(expiresIn time.Duration) Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	subject := s.newSubjectLocked()
	exp := time.Now().Add(expiresIn)
	if expiresIn <= 0 {
		exp = time.Now().Add(-time.Second)
	}
	tok := Token{AccessToken: s.newAccessLocked("user", subject, "", exp), Subject: subject, ExpiresAt: exp}
	if !s.q.NoRefreshToken {
		tok.RefreshToken = s.newRefreshLocked(subject, "")
	}
	return tok
}

// FailNextRefresh makes the next refresh_token grant fail with HTTP 400 and
// the OAuth error code given (e.g. "invalid_grant"), with an
// error_description. The refresh token itself stays as it was.
func (s *Server) FailNextRefresh(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = code
}

// FailRefreshTransient makes the next n refresh_token grants fail with
// HTTP 503 temporarily_unavailable.
func (s *Server) FailRefreshTransient(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failTransient = n
}

// RevokeAll revokes every access and refresh token issued so far, as when
// a user removes the app at the provider.
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.access {
		a.revoked = true
	}
	for _, r := range s.refresh {
		r.valid = false
	}
	s.o1.revokeAll()
}

// ExpireAccessTokens makes every access token issued so far expired, so the
// next API call with one gets 401 without waiting.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for _, a := range s.access {
		a.expiresAt = past
	}
}

func (s *Server) newSubjectLocked() string {
	s.grants++
	return "usr_" + strconv.Itoa(s.grants)
}

func (s *Server) newAccessLocked(kind, subject, scope string, exp time.Time) string {
	prefix := "at_"
	switch kind {
	case "bot":
		prefix = "xoxb-"
	case "client":
		prefix = "cc_"
	}
	tok := prefix + randomString(24)
	s.access[tok] = &accessToken{kind: kind, subject: subject, scope: scope, expiresAt: exp}
	return tok
}

func (s *Server) newRefreshLocked(subject, scope string) string {
	tok := "rt_" + randomString(24)
	s.refresh[tok] = &refreshToken{subject: subject, scope: scope, valid: true}
	s.lastRefresh = tok
	return tok
}

func (s *Server) expiryLocked() time.Time {
	if s.q.NoExpiresIn {
		return time.Time{}
	}
	return time.Now().Add(time.Duration(s.expiresInLocked()) * time.Second)
}

func (s *Server) expiresInLocked() int {
	if s.q.ExpiresIn > 0 {
		return s.q.ExpiresIn
	}
	return 3600
}

// randomString returns n random bytes, base64url-encoded without padding.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
