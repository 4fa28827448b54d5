package connect

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/atomhq/atom/catalog"
)

// OAuth 1.0a (RFC 5849) with HMAC-SHA1, as Trello uses it. OAuth 1.0a has
// no state parameter, so the state travels in the callback URL the host
// registers with the request token.

func (s *Service) startOAuth1(ctx context.Context, provider string, a *catalog.Auth, cl client, redirect, state string, scopes []string, vars map[string]map[string]string, extra *stateExtra, sec *stateSecret) (string, error) {
	if a.RequestTokenURL == "" {
		return "", &Error{Code: CodeNotConfigured, Status: 400, Msg: "the catalog entry has no OAuth 1.0a request token URL"}
	}
	reqURL, err := secretURL(provider, "request token URL", a.RequestTokenURL, a, cl, vars)
	if err != nil {
		return "", err
	}
	authz, err := expandURL("authorization URL", a.AuthorizationURL, a, vars)
	if err != nil {
		return "", err
	}
	callback := addQuery(redirect, url.Values{"state": {state}})
	vals, err := s.oauth1Call(ctx, reqURL, cl, "", "", map[string]string{"oauth_callback": callback})
	if err != nil {
		return "", &Error{Code: CodeTokenExchangeFailed, Status: 502, Msg: "Token exchange failed: request token: " + err.Error(), Err: err}
	}
	tok, secret := vals.Get("oauth_token"), vals.Get("oauth_token_secret")
	if tok == "" || secret == "" {
		return "", &Error{Code: CodeTokenExchangeFailed, Status: 502, Msg: "Token exchange failed: request token response lacks oauth_token"}
	}
	extra.RequestToken = tok
	sec.RequestTokenSecret = secret
	q := url.Values{"oauth_token": {tok}}
	params, err := expandMap(a.AuthorizationParams, vars)
	if err != nil {
		return "", err
	}
	for k, v := range params {
		q.Set(k, v)
	}
	if len(scopes) > 0 {
		q.Set("scope", strings.Join(scopes, separator(a)))
	}
	return addQuery(authz, q), nil
}

func (s *Service) finishOAuth1(ctx context.Context, provider string, a *catalog.Auth, cl client, query url.Values, extra *stateExtra, sec *stateSecret, vars map[string]map[string]string) (*tokenResult, error) {
	tok, verifier := query.Get("oauth_token"), query.Get("oauth_verifier")
	if tok == "" || verifier == "" {
		return nil, &Error{Code: CodeInvalidCallback, Status: 400, Msg: "the callback carries no oauth_token and oauth_verifier"}
	}
	if !hmac.Equal([]byte(tok), []byte(extra.RequestToken)) {
		return nil, invalidState("oauth_token does not match the request token of this state")
	}
	endpoint, err := secretURL(provider, "token URL", a.TokenURL, a, cl, vars)
	if err != nil {
		return nil, err
	}
	vals, err := s.oauth1Call(ctx, endpoint, cl, tok, sec.RequestTokenSecret, map[string]string{"oauth_verifier": verifier})
	if err != nil {
		return nil, err
	}
	t := &tokenResult{AccessToken: vals.Get("oauth_token"), TokenSecret: vals.Get("oauth_token_secret"), TokenType: "OAuth"}
	if t.AccessToken == "" {
		return nil, &providerError{Code: "invalid_response", Description: "access token response lacks oauth_token"}
	}
	return t, nil
}

// oauth1Call posts a signed request and parses the form-encoded answer.
func (s *Service) oauth1Call(ctx context.Context, endpoint string, cl client, token, tokenSecret string, oauthExtra map[string]string) (url.Values, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", OAuth1Header(req.Method, req.URL, nil, cl.ID, cl.Secret, token, tokenSecret, oauthExtra, s.now().Unix(), randomToken(16)))
	resp, err := s.secretClient.Do(req)
	if err != nil {
		return nil, &providerError{Code: "unreachable", Description: redactURLError(err), Transient: true}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &providerError{Status: resp.StatusCode, Description: snippet(data), Transient: resp.StatusCode >= 500}
	}
	vals, err := url.ParseQuery(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, &providerError{Code: "invalid_response", Description: "response is not form-encoded"}
	}
	return vals, nil
}

// OAuth1Header returns the Authorization header of an OAuth 1.0a request
// signed with HMAC-SHA1 (RFC 5849 section 3.4.2). form holds the request's
// form-encoded body parameters, if any; oauthExtra adds protocol
// parameters such as oauth_callback or oauth_verifier.
func OAuth1Header(method string, u *url.URL, form url.Values, consumerKey, consumerSecret, token, tokenSecret string, oauthExtra map[string]string, timestamp int64, nonce string) string {
	op := map[string]string{
		"oauth_consumer_key":     consumerKey,
		"oauth_nonce":            nonce,
		"oauth_signature_method": "HMAC-SHA1",
		"oauth_timestamp":        strconv.FormatInt(timestamp, 10),
		"oauth_version":          "1.0",
	}
	if token != "" {
		op["oauth_token"] = token
	}
	for k, v := range oauthExtra {
		op[k] = v
	}
	var pairs [][2]string
	for k, v := range op {
		pairs = append(pairs, [2]string{pctEncode(k), pctEncode(v)})
	}
	for k, vs := range u.Query() {
		for _, v := range vs {
			pairs = append(pairs, [2]string{pctEncode(k), pctEncode(v)})
		}
	}
	for k, vs := range form {
		for _, v := range vs {
			pairs = append(pairs, [2]string{pctEncode(k), pctEncode(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i][0] != pairs[j][0] {
			return pairs[i][0] < pairs[j][0]
		}
		return pairs[i][1] < pairs[j][1]
	})
	norm := make([]string, len(pairs))
	for i, p := range pairs {
		norm[i] = p[0] + "=" + p[1]
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if h, port, ok := strings.Cut(host, ":"); ok && (scheme == "http" && port == "80" || scheme == "https" && port == "443") {
		host = h
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	base := strings.ToUpper(method) + "&" + pctEncode(scheme+"://"+host+path) + "&" + pctEncode(strings.Join(norm, "&"))
	mac := hmac.New(sha1.New, []byte(pctEncode(consumerSecret)+"&"+pctEncode(tokenSecret)))
	mac.Write([]byte(base))
	op["oauth_signature"] = base64.StdEncoding.EncodeToString(mac.Sum(nil))

	keys := make([]string, 0, len(op))
	for k := range op {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf(`%s="%s"`, pctEncode(k), pctEncode(op[k]))
	}
	return "OAuth " + strings.Join(parts, ", ")
}

// pctEncode percent-encodes per RFC 5849 section 3.6 (RFC 3986 unreserved
// characters stay as they are).
func pctEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func addQuery(raw string, q url.Values) string {
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	return raw + sep + q.Encode()
}
