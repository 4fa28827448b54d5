package fakeprovider

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// oauth1Skew is how far an OAuth 1.0a timestamp may be from the clock.
const oauth1Skew = 10 * time.Minute

// oauth1State is the OAuth 1.0a part of a Server, guarded by Server.mu.
type oauth1State struct {
	requests map[string]*o1Request
	tokens   map[string]*o1Token
	nonces   map[string]time.Time
}

type o1Request struct {
	secret   string
	callback string
	verifier string
	used     bool
}

type o1Token struct {
	secret  string
	subject string
	revoked bool
}

func newOAuth1State() oauth1State {
	return oauth1State{
		requests: map[string]*o1Request{},
		tokens:   map[string]*o1Token{},
		nonces:   map[string]time.Time{},
	}
}

func (o *oauth1State) revokeAll() {
	for _, t := range o.tokens {
		t.revoked = true
	}
}

// Errors of OAuth 1.0a verification; their texts are what the endpoints
// answer, as Trello does.
var (
	errO1Missing   = errors.New("missing oauth parameters")
	errO1Key       = errors.New("invalid key")
	errO1Method    = errors.New("unsupported signature method")
	errO1Timestamp = errors.New("invalid timestamp")
	errO1Nonce     = errors.New("nonce already used")
	errO1Token     = errors.New("invalid token")
	errO1Signature = errors.New("invalid signature")
)

// o1Params are the parameters of a signed request.
type o1Params struct {
	all   [][2]string
	oauth map[string]string
}

// readOAuth1 collects the parameters of r per RFC 5849 section 3.4.1.3:
// the Authorization header's oauth_* parameters, the query and a
// form-encoded body. It reads the body.
func readOAuth1(r *http.Request) (o1Params, error) {
	p := o1Params{oauth: map[string]string{}}
	add := func(k, v string) {
		if k == "oauth_signature" || k == "realm" {
			if k == "oauth_signature" {
				p.oauth[k] = v
			}
			return
		}
		p.all = append(p.all, [2]string{k, v})
		if strings.HasPrefix(k, "oauth_") {
			p.oauth[k] = v
		}
	}
	if h := r.Header.Get("Authorization"); len(h) > 6 && strings.EqualFold(h[:6], "OAuth ") {
		for _, part := range strings.Split(h[6:], ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				continue
			}
			v = strings.Trim(v, `"`)
			dk, err1 := url.PathUnescape(k)
			dv, err2 := url.PathUnescape(v)
			if err1 != nil || err2 != nil {
				return p, errO1Missing
			}
			if dk == "realm" {
				continue
			}
			add(dk, dv)
		}
	}
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			add(k, v)
		}
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" && r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return p, errO1Missing
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return p, errO1Missing
		}
		for k, vs := range form {
			for _, v := range vs {
				add(k, v)
			}
		}
	}
	return p, nil
}

// o1Encode percent-encodes s per RFC 5849 section 3.6.
func o1Encode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

// o1BaseString builds the signature base string (RFC 5849 section 3.4.1).
func o1BaseString(method, scheme, host, path string, params [][2]string) string {
	scheme = strings.ToLower(scheme)
	host = strings.ToLower(host)
	if h, port, ok := strings.Cut(host, ":"); ok && (scheme == "http" && port == "80" || scheme == "https" && port == "443") {
		host = h
	}
	if path == "" {
		path = "/"
	}
	enc := make([]string, len(params))
	pairs := make([][2]string, len(params))
	for i, kv := range params {
		pairs[i] = [2]string{o1Encode(kv[0]), o1Encode(kv[1])}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i][0] != pairs[j][0] {
			return pairs[i][0] < pairs[j][0]
		}
		return pairs[i][1] < pairs[j][1]
	})
	for i, kv := range pairs {
		enc[i] = kv[0] + "=" + kv[1]
	}
	return strings.ToUpper(method) + "&" + o1Encode(scheme+"://"+host+path) + "&" + o1Encode(strings.Join(enc, "&"))
}

// o1Sign computes the HMAC-SHA1 signature of base.
func o1Sign(base, consumerSecret, tokenSecret string) string {
	mac := hmac.New(sha1.New, []byte(o1Encode(consumerSecret)+"&"+o1Encode(tokenSecret)))
	mac.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// verifyOAuth1 checks a signed request. secretFor returns the secret of
// oauth_token (called with s.mu held); an empty token means no token.
func (s *Server) verifyOAuth1(r *http.Request, p o1Params, secretFor func(token string) (string, bool)) error {
	o := p.oauth
	if o["oauth_consumer_key"] == "" || o["oauth_signature"] == "" || o["oauth_nonce"] == "" || o["oauth_timestamp"] == "" {
		return errO1Missing
	}
	if !equal(o["oauth_consumer_key"], s.ClientID) {
		return errO1Key
	}
	if o["oauth_signature_method"] != "HMAC-SHA1" {
		return errO1Method
	}
	if v, ok := o["oauth_version"]; ok && v != "1.0" {
		return errO1Missing
	}
	ts, err := strconv.ParseInt(o["oauth_timestamp"], 10, 64)
	if err != nil {
		return errO1Timestamp
	}
	now := time.Now()
	if d := now.Sub(time.Unix(ts, 0)); d > oauth1Skew || d < -oauth1Skew {
		return errO1Timestamp
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := o1BaseString(r.Method, scheme, r.Host, pathOf(r).rawPath, p.all)

	s.mu.Lock()
	defer s.mu.Unlock()
	tokenSecret, ok := secretFor(o["oauth_token"])
	if !ok {
		return errO1Token
	}
	if !equal(o1Sign(base, s.ClientSecret, tokenSecret), o["oauth_signature"]) {
		return errO1Signature
	}
	nonceKey := o["oauth_token"] + "\x00" + o["oauth_timestamp"] + "\x00" + o["oauth_nonce"]
	if _, seen := s.o1.nonces[nonceKey]; seen {
		return errO1Nonce
	}
	for k, t := range s.o1.nonces {
		if now.Sub(t) > 2*oauth1Skew {
			delete(s.o1.nonces, k)
		}
	}
	s.o1.nonces[nonceKey] = now
	return nil
}

func o1Error(w http.ResponseWriter, err error) {
	status := http.StatusUnauthorized
	if errors.Is(err, errO1Missing) {
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, err.Error())
}

func writeForm(w http.ResponseWriter, v url.Values) {
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
	io.WriteString(w, v.Encode())
}

func (s *Server) handleRequestToken(w http.ResponseWriter, r *http.Request) {
	p, err := readOAuth1(r)
	if err == nil {
		err = s.verifyOAuth1(r, p, func(tok string) (string, bool) { return "", tok == "" })
	}
	if err != nil {
		o1Error(w, err)
		return
	}
	cb := p.oauth["oauth_callback"]
	if cb == "" {
		o1Error(w, errO1Missing)
		return
	}
	tok, secret := randomString(16), randomString(24)
	s.mu.Lock()
	s.o1.requests[tok] = &o1Request{secret: secret, callback: cb}
	s.mu.Unlock()
	writeForm(w, url.Values{"oauth_token": {tok}, "oauth_token_secret": {secret}, "oauth_callback_confirmed": {"true"}})
}

func (s *Server) handleOAuth1Authorize(w http.ResponseWriter, r *http.Request) {
	params := r.URL.Query()
	tok := params.Get("oauth_token")
	s.mu.Lock()
	req, ok := s.o1.requests[tok]
	if !ok || req.used {
		s.mu.Unlock()
		errorPage(w, http.StatusBadRequest, "invalid_request", "Unknown or used request token.")
		return
	}
	scopes := strings.Split(params.Get("scope"), ",")
	if params.Get("scope") == "" {
		scopes = nil
	}
	s.auths = append(s.auths, Authorization{
		ClientID: s.ClientID, RedirectURI: req.callback, Scope: params.Get("scope"), Scopes: scopes, Params: params,
		PathParam: pathOf(r).param,
	})
	consent := s.q.Consent
	callback := req.callback
	if consent {
		id := randomString(24)
		s.pending[id] = &pendingAuth{redirectURI: callback, oauth1Token: tok}
		s.mu.Unlock()
		consentPage(w, "/oauth1/authorize", id, scopes)
		return
	}
	s.mu.Unlock()
	verifier := s.approveOAuth1(tok)
	if callback == "oob" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, verifier)
		return
	}
	redirect(w, r, callback, url.Values{"oauth_token": {tok}, "oauth_verifier": {verifier}})
}

// approveOAuth1 records approval of a request token and returns its
// verifier.
func (s *Server) approveOAuth1(tok string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	req, ok := s.o1.requests[tok]
	if !ok {
		return ""
	}
	req.verifier = randomString(16)
	return req.verifier
}

func (s *Server) handleAccessToken(w http.ResponseWriter, r *http.Request) {
	p, err := readOAuth1(r)
	if err == nil {
		err = s.verifyOAuth1(r, p, func(tok string) (string, bool) {
			req, ok := s.o1.requests[tok]
			if !ok || req.used || req.verifier == "" {
				return "", false
			}
			return req.secret, true
		})
	}
	if err != nil {
		o1Error(w, err)
		return
	}
	s.mu.Lock()
	req := s.o1.requests[p.oauth["oauth_token"]]
	if req.used || !equal(p.oauth["oauth_verifier"], req.verifier) {
		s.mu.Unlock()
		o1Error(w, errors.New("invalid verifier"))
		return
	}
	req.used = true
	tok, secret := randomString(32), randomString(32)
	s.o1.tokens[tok] = &o1Token{secret: secret, subject: s.newSubjectLocked()}
	s.mu.Unlock()
	writeForm(w, url.Values{"oauth_token": {tok}, "oauth_token_secret": {secret}})
}

// o1AccessSecret is the secretFor of API calls.
func (s *Server) o1AccessSecret(tok string) (string, bool) {
	t, ok := s.o1.tokens[tok]
	if !ok || t.revoked {
		return "", false
	}
	return t.secret, true
}
