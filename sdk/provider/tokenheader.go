package provider

import (
	"net/http"
	"strings"
)

// TokenHeader returns an *http.Client, for HTTPOptions.Client, that moves
// the OAuth access token the HTTP client sends as "Authorization: <type>
// <token>" into header name after prefix, for APIs that want the token
// elsewhere or under another scheme: Shopify's X-Shopify-Access-Token
// (name "X-Shopify-Access-Token", prefix ""), Zoho's "Authorization:
// Zoho-oauthtoken <token>" (name "Authorization", prefix "Zoho-oauthtoken ").
// Since the move happens per request, a token refreshed after a 401 is
// moved too. Requests without an Authorization header (other origins, API
// keys placed by APIKeyStyle) pass unchanged. base may be nil for
// http.DefaultClient; a base without a Transport sends through
// http.DefaultTransport as it is when each request is sent (through the
// host, in a served plugin).
func TokenHeader(name, prefix string, base *http.Client) *http.Client {
	if base == nil {
		base = http.DefaultClient
	}
	c := *base
	c.Transport = tokenHeader{name: name, prefix: prefix, next: base.Transport}
	return &c
}

type tokenHeader struct {
	name, prefix string
	next         http.RoundTripper
}

func (t tokenHeader) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	auth := req.Header.Get("Authorization")
	_, token, ok := strings.Cut(auth, " ")
	if !ok || token == "" {
		return next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Del("Authorization")
	r.Header.Set(t.name, t.prefix+token)
	return next.RoundTrip(r)
}
