package fakeprovider

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// codeTTL is how long an authorization code stays valid.
const codeTTL = 10 * time.Minute

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := s.Quirks()
	params := r.URL.Query()
	// Errors about the client or the redirect URI must not redirect
	// (RFC 6749 section 4.1.2.1).
	if params.Get("client_id") != s.ClientID {
		errorPage(w, http.StatusBadRequest, "invalid_client", "Unknown client_id.")
		return
	}
	redirectURI := params.Get("redirect_uri")
	switch {
	case q.RedirectURI != "" && redirectURI == "":
		redirectURI = q.RedirectURI
	case q.RedirectURI != "" && redirectURI != q.RedirectURI:
		errorPage(w, http.StatusBadRequest, "invalid_request", "redirect_uri does not match the registered redirect URI.")
		return
	case redirectURI == "":
		errorPage(w, http.StatusBadRequest, "invalid_request", "Missing redirect_uri.")
		return
	}
	if u, err := url.Parse(redirectURI); err != nil || !u.IsAbs() || u.Fragment != "" {
		errorPage(w, http.StatusBadRequest, "invalid_request", "redirect_uri must be an absolute URL without fragment.")
		return
	}
	state := params.Get("state")
	fail := func(code, desc string) {
		redirect(w, r, redirectURI, url.Values{"error": {code}, "error_description": {desc}, "state": {state}})
	}
	if params.Get("response_type") != "code" {
		fail("unsupported_response_type", "response_type must be code")
		return
	}
	challenge, method := params.Get("code_challenge"), params.Get("code_challenge_method")
	switch {
	case challenge == "" && q.RequirePKCE:
		fail("invalid_request", "code_challenge required (PKCE)")
		return
	case challenge != "" && method != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
		return
	case challenge != "" && len(challenge) != 43:
		fail("invalid_request", "code_challenge must be 43 base64url characters")
		return
	}
	scope := params.Get("scope")
	sep := q.ScopeSeparator
	if sep == "" {
		sep = " "
	}
	var scopes []string
	for _, sc := range strings.Split(scope, sep) {
		if sc != "" {
			scopes = append(scopes, sc)
		}
	}
	code := &authCode{
		clientID:    s.ClientID,
		redirectURI: redirectURI,
		scope:       scope,
		challenge:   challenge,
		expiresAt:   time.Now().Add(codeTTL),
	}
	s.mu.Lock()
	s.auths = append(s.auths, Authorization{
		ClientID: s.ClientID, RedirectURI: redirectURI, Scope: scope, Scopes: scopes, State: state,
		CodeChallenge: challenge, CodeChallengeMethod: method, Params: params, PathParam: pathOf(r).param,
	})
	if q.Consent {
		id := randomString(24)
		s.pending[id] = &pendingAuth{redirectURI: redirectURI, state: state, code: code}
		s.mu.Unlock()
		consentPage(w, "/oauth/authorize", id, scopes)
		return
	}
	c := randomString(24)
	s.codes[c] = code
	s.mu.Unlock()
	redirect(w, r, redirectURI, url.Values{"code": {c}, "state": {state}})
}

// handleConsentDecision serves the consent form of both OAuth versions.
func (s *Server) handleConsentDecision(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		errorPage(w, http.StatusBadRequest, "invalid_request", "Bad form.")
		return
	}
	id := r.PostForm.Get("request")
	s.mu.Lock()
	p, ok := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	if !ok {
		errorPage(w, http.StatusBadRequest, "invalid_request", "Unknown or already decided authorization request.")
		return
	}
	approve := r.PostForm.Get("decision") == "approve"
	if p.oauth1Token != "" {
		if !approve {
			redirect(w, r, p.redirectURI, url.Values{"denied": {p.oauth1Token}})
			return
		}
		verifier := s.approveOAuth1(p.oauth1Token)
		redirect(w, r, p.redirectURI, url.Values{"oauth_token": {p.oauth1Token}, "oauth_verifier": {verifier}})
		return
	}
	if !approve {
		redirect(w, r, p.redirectURI, url.Values{"error": {"access_denied"}, "error_description": {"The user denied the request."}, "state": {p.state}})
		return
	}
	c := randomString(24)
	s.mu.Lock()
	s.codes[c] = p.code
	s.mu.Unlock()
	redirect(w, r, p.redirectURI, url.Values{"code": {c}, "state": {p.state}})
}

// tokenResult is what the token endpoint answers.
type tokenResult struct {
	status int
	body   map[string]any
	// errCode is set for OAuth errors.
	errCode string
	// basicChallenge adds WWW-Authenticate: Basic to a 401.
	basicChallenge bool
}

func oauthError(status int, code, desc string) tokenResult {
	return tokenResult{status: status, errCode: code, body: map[string]any{"error": code, "error_description": desc}}
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	q := s.Quirks()
	// The body is read first so that the server notices a client that
	// gives up while the response is delayed.
	ct, fields, err := readFields(r)
	if q.SlowToken > 0 {
		t := time.NewTimer(q.SlowToken)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-s.done:
			t.Stop()
			return
		}
	}
	tr := TokenRequest{Accept: r.Header.Get("Accept"), ContentType: ct, Fields: fields, PathParam: pathOf(r).param}
	res := s.token(r, q, &tr, err)
	tr.Status, tr.Error = res.status, res.errCode
	if res.errCode != "" && q.ErrorsWithOK {
		tr.Status = http.StatusOK
	}
	s.mu.Lock()
	s.tokenReqs = append(s.tokenReqs, tr)
	s.mu.Unlock()
	writeTokenResult(w, q, res)
}

func writeTokenResult(w http.ResponseWriter, q Quirks, res tokenResult) {
	w.Header().Set("Cache-Control", "no-store")
	if res.basicChallenge && res.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="fakeprovider"`)
	}
	status := res.status
	if res.errCode != "" && q.ErrorsWithOK {
		status = http.StatusOK
		res.body["ok"] = false
	}
	if q.ResponseForm {
		v := url.Values{}
		for k, val := range res.body {
			switch val := val.(type) {
			case string:
				v.Set(k, val)
			case int:
				v.Set(k, strconv.Itoa(val))
			}
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		w.WriteHeader(status)
		io.WriteString(w, v.Encode())
		return
	}
	writeJSON(w, status, res.body)
}

func (s *Server) token(r *http.Request, q Quirks, tr *TokenRequest, err error) tokenResult {
	ct, fields := tr.ContentType, tr.Fields
	if err != nil {
		return oauthError(http.StatusBadRequest, "invalid_request", err.Error())
	}
	tr.GrantType = fields["grant_type"]
	wantCT := "application/x-www-form-urlencoded"
	if q.RequestJSON {
		wantCT = "application/json"
	}
	if ct != wantCT {
		return oauthError(http.StatusBadRequest, "invalid_request", "request body must be "+wantCT)
	}
	if res, ok := s.authenticateClient(r, q, fields, tr); !ok {
		return res
	}
	switch tr.GrantType {
	case "authorization_code":
		return s.grantCode(q, fields)
	case "refresh_token":
		return s.grantRefresh(q, fields)
	case "client_credentials":
		s.mu.Lock()
		defer s.mu.Unlock()
		subject := s.newSubjectLocked()
		body := map[string]any{
			"access_token": s.newAccessLocked("client", subject, fields["scope"], s.expiryLocked()),
			"token_type":   "Bearer",
		}
		if !q.NoExpiresIn {
			body["expires_in"] = s.expiresInLocked()
		}
		if fields["scope"] != "" {
			body["scope"] = fields["scope"]
		}
		for k, v := range q.Metadata {
			body[k] = v
		}
		return tokenResult{status: http.StatusOK, body: body}
	case "":
		return oauthError(http.StatusBadRequest, "invalid_request", "missing grant_type")
	default:
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "grant_type "+tr.GrantType+" is not supported")
	}
}

// authenticateClient checks client authentication per Quirks.TokenAuth.
func (s *Server) authenticateClient(r *http.Request, q Quirks, fields map[string]string, tr *TokenRequest) (tokenResult, bool) {
	user, pass, hasBasic := r.BasicAuth()
	if hasBasic {
		// RFC 6749 section 2.3.1: the credentials are form-encoded first.
		if u, err := url.QueryUnescape(user); err == nil {
			user = u
		}
		if p, err := url.QueryUnescape(pass); err == nil {
			pass = p
		}
		tr.BasicUser = user
	}
	_, hasBodySecret := fields["client_secret"]
	switch {
	case hasBasic && hasBodySecret:
		tr.AuthStyle = "both"
	case hasBasic:
		tr.AuthStyle = "basic"
	case hasBodySecret:
		tr.AuthStyle = "body"
	default:
		tr.AuthStyle = "none"
	}
	invalid := func(desc string) (tokenResult, bool) {
		res := oauthError(http.StatusUnauthorized, "invalid_client", desc)
		res.basicChallenge = hasBasic
		return res, false
	}
	switch {
	case tr.AuthStyle == "both":
		return oauthError(http.StatusBadRequest, "invalid_request", "use one client authentication method, not two"), false
	case tr.AuthStyle == "none":
		return invalid("client authentication required")
	case q.TokenAuth == "basic" && !hasBasic:
		return invalid("client authentication must use HTTP Basic")
	case q.TokenAuth == "body" && hasBasic:
		return invalid("client credentials must be sent in the request body")
	}
	id, secret := fields["client_id"], fields["client_secret"]
	if hasBasic {
		if id != "" && id != user {
			return invalid("client_id does not match the authenticated client")
		}
		id, secret = user, pass
	}
	if !equal(id, s.ClientID) || !equal(secret, s.ClientSecret) {
		return invalid("client authentication failed")
	}
	return tokenResult{}, true
}

func (s *Server) grantCode(q Quirks, fields map[string]string) tokenResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[fields["code"]]
	switch {
	case !ok || c.used:
		return oauthError(http.StatusBadRequest, "invalid_grant", "authorization code is invalid or was already used")
	case time.Now().After(c.expiresAt):
		return oauthError(http.StatusBadRequest, "invalid_grant", "authorization code expired")
	case fields["redirect_uri"] != c.redirectURI:
		return oauthError(http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
	}
	if c.challenge != "" {
		v := fields["code_verifier"]
		if v == "" {
			return oauthError(http.StatusBadRequest, "invalid_grant", "code_verifier required")
		}
		sum := sha256.Sum256([]byte(v))
		if !equal(base64.RawURLEncoding.EncodeToString(sum[:]), c.challenge) {
			return oauthError(http.StatusBadRequest, "invalid_grant", "code_verifier does not match code_challenge")
		}
	}
	c.used = true
	subject := s.newSubjectLocked()
	return tokenResult{status: http.StatusOK, body: s.issueLocked(q, subject, c.scope, "", true)}
}

func (s *Server) grantRefresh(q Quirks, fields map[string]string) tokenResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshes++
	if s.failTransient > 0 {
		s.failTransient--
		return oauthError(http.StatusServiceUnavailable, "temporarily_unavailable", "the token service is temporarily unavailable")
	}
	if code := s.failNext; code != "" {
		s.failNext = ""
		return oauthError(http.StatusBadRequest, code, failDescription(code))
	}
	old := fields["refresh_token"]
	rt, ok := s.refresh[old]
	if ok && rt.rotated {
		s.reused++
	}
	if !ok || !rt.valid {
		return oauthError(http.StatusBadRequest, "invalid_grant", "refresh token is invalid, expired or revoked")
	}
	scope := rt.scope
	if fields["scope"] != "" {
		scope = fields["scope"]
	}
	return tokenResult{status: http.StatusOK, body: s.issueLocked(q, rt.subject, scope, old, !q.OmitRefreshOnRefresh)}
}

func failDescription(code string) string {
	switch code {
	case "invalid_grant":
		return "Token has been expired or revoked."
	case "invalid_client":
		return "The OAuth client was not found."
	case "unauthorized_client":
		return "The client is not authorized to use this grant."
	case "invalid_scope":
		return "The requested scope is invalid."
	}
	return "The request failed: " + code + "."
}

// issueLocked mints tokens and builds a token response. oldRefresh is the
// refresh token being used, if any; withRefresh says whether the response
// carries a refresh token.
func (s *Server) issueLocked(q Quirks, subject, scope, oldRefresh string, withRefresh bool) map[string]any {
	exp := s.expiryLocked()
	user := map[string]any{
		"access_token": s.newAccessLocked("user", subject, scope, exp),
		"token_type":   "Bearer",
		"scope":        scope,
	}
	if !q.NoExpiresIn {
		user["expires_in"] = s.expiresInLocked()
	}
	if !q.NoRefreshToken {
		refresh := oldRefresh
		if refresh == "" || (q.RotateRefresh && withRefresh) {
			if oldRefresh != "" {
				s.refresh[oldRefresh].valid = false
				s.refresh[oldRefresh].rotated = true
			}
			refresh = s.newRefreshLocked(subject, scope)
		}
		if withRefresh {
			user["refresh_token"] = refresh
		}
	}
	body := user
	if q.NestedPath != "" && !q.ResponseForm {
		user["token_type"] = "user"
		user["id"] = subject
		body = map[string]any{
			"ok":           true,
			"access_token": s.newAccessLocked("bot", subject, "bot", time.Time{}),
			"token_type":   "bot",
			"scope":        "bot",
			"bot_user_id":  "B" + subject,
			"app_id":       "A0FAKE",
			"team":         map[string]any{"id": "T0FAKE", "name": "Fake Team"},
		}
		parts := strings.Split(q.NestedPath, ".")
		obj := body
		for _, p := range parts[:len(parts)-1] {
			next := map[string]any{}
			obj[p] = next
			obj = next
		}
		obj[parts[len(parts)-1]] = user
	}
	for k, v := range q.Metadata {
		body[k] = v
	}
	return body
}

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	q := s.Quirks()
	_, fields, err := readFields(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": err.Error()})
		return
	}
	var tr TokenRequest
	if res, ok := s.authenticateClient(r, q, fields, &tr); !ok {
		q.ErrorsWithOK, q.ResponseForm = false, false
		writeTokenResult(w, q, res)
		return
	}
	tok := fields["token"]
	if tok == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "missing token"})
		return
	}
	s.mu.Lock()
	s.revocations = append(s.revocations, Revocation{Token: tok, TokenTypeHint: fields["token_type_hint"]})
	if a, ok := s.access[tok]; ok {
		a.revoked = true
	}
	if rt, ok := s.refresh[tok]; ok {
		// Revoking a refresh token ends the whole grant (RFC 7009 section 2.1).
		rt.valid = false
		for _, a := range s.access {
			if a.subject == rt.subject {
				a.revoked = true
			}
		}
	}
	s.mu.Unlock()
	// Unknown tokens get 200 too (RFC 7009 section 2.2).
	w.WriteHeader(http.StatusOK)
}

// readFields reads a form or JSON body into string fields.
func readFields(r *http.Request) (string, map[string]string, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return ct, nil, fmt.Errorf("read body: %w", err)
	}
	fields := map[string]string{}
	switch ct {
	case "application/json":
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return ct, fields, fmt.Errorf("body is not a JSON object")
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				fields[k] = v
			case float64:
				fields[k] = strconv.FormatFloat(v, 'f', -1, 64)
			default:
				b, _ := json.Marshal(v)
				fields[k] = string(b)
			}
		}
	case "application/x-www-form-urlencoded", "":
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return ct, fields, fmt.Errorf("body is not form-encoded")
		}
		for k := range v {
			fields[k] = v.Get(k)
		}
	}
	return ct, fields, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// redirect sends the user agent to target with params added to its query,
// leaving out empty values.
func redirect(w http.ResponseWriter, r *http.Request, target string, params url.Values) {
	u, err := url.Parse(target)
	if err != nil {
		errorPage(w, http.StatusBadRequest, "invalid_request", "Bad redirect URI.")
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

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><main>
<h1>{{.Title}}</h1>
{{if .Error}}<p role="alert">{{.Error}}</p>{{else}}
<p>Fake App wants to access your Fake Provider account.</p>
{{if .Scopes}}<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="request" value="{{.Request}}">
<button type="submit" id="approve" name="decision" value="approve">Approve</button>
<button type="submit" id="deny" name="decision" value="deny">Deny</button>
</form>{{end}}
</main></body></html>
`))

type pageData struct {
	Title   string
	Error   string
	Action  string
	Request string
	Scopes  []string
}

func consentPage(w http.ResponseWriter, action, id string, scopes []string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	pageTmpl.Execute(w, pageData{Title: "Authorize Fake App", Action: action, Request: id, Scopes: scopes})
}

func errorPage(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	pageTmpl.Execute(w, pageData{Title: "Authorization error: " + code, Error: msg})
}
