package native

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/net/publicsuffix"

	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/pluginhost"
	"github.com/atomhq/atom/sdk/provider"
)

// A native plugin's only way out is the host. The SDK sends every request
// a plugin makes within an execution to the host, on the plugin's Session
// stream (or, from a plugin of an older SDK, as a Host.HTTP call); the
// host answers it here with the same outbound client pieces and the
// generic runtime use:
//
//   - the URL's host must be one the manifest declares (AllowedHosts,
//     "*.domain" for hosts that depend on the connection) or the host of
//     the execution's base URL, which the host itself resolved;
//   - the outbound client refuses non-public addresses after DNS, applies
//     the rate limit of the (tenant, provider) pair and Retry-After;
//   - request and answer bodies are capped (pluginhost, rpc.MaxHTTPBody);
//   - unless the manifest sets RawCredentials, the plugin holds opaque
//     placeholders instead of the connection's secrets
//     ("atom-cred-<execution nonce>-<slot>"): the host puts the secrets in
//     their place in the URL, headers (also inside Authorization: Basic)
//     and body of the requests of that execution only, refuses a request
//     carrying a placeholder of any other execution, and puts the
//     placeholders back where an answer echoes a secret.

// defaultOutbound guards the requests of plugins run by a Manager whose
// Config names no Outbound.
var defaultOutbound = sync.OnceValue(func() *outbound.Client { return outbound.New(outbound.Config{}) })

// placeholderPrefix starts a credential placeholder of any execution:
// atom-cred-<32 lowercase hex: nonce>-<4 lowercase hex: slot>.
const placeholderPrefix = "atom-cred-"

// placeholderLen is the length of a whole placeholder.
const placeholderLen = len(placeholderPrefix) + 32 + 1 + 4

// placeholderAt reports whether s starts with a whole placeholder, and
// its nonce and slot.
func placeholderAt(s string) (nonce string, slot uint64, ok bool) {
	if len(s) < placeholderLen || !strings.HasPrefix(s, placeholderPrefix) {
		return "", 0, false
	}
	p := s[len(placeholderPrefix):placeholderLen]
	if p[32] != '-' || !lowerHex(p[:32]) || !lowerHex(p[33:]) {
		return "", 0, false
	}
	slot, _ = strconv.ParseUint(p[33:], 16, 32)
	return p[:32], slot, true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// replacePlaceholders replaces every placeholder in s, leftmost first and
// without overlaps, by what with returns for it.
func replacePlaceholders(s string, with func(whole, nonce string, slot uint64) string) string {
	var b strings.Builder
	done := 0 // s[:done] is in b
	for i := 0; ; {
		j := strings.Index(s[i:], placeholderPrefix)
		if j < 0 {
			break
		}
		i += j
		nonce, slot, ok := placeholderAt(s[i:])
		if !ok {
			i++
			continue
		}
		b.WriteString(s[done:i])
		b.WriteString(with(s[i:i+placeholderLen], nonce, slot))
		i += placeholderLen
		done = i
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// egressCall is the host side of one execution in a plugin process: the
// Host its callbacks reach (provider.Host and provider.Egress).
type egressCall struct {
	p        *Plugin
	host     runtimes.Host
	tenant   string
	baseHost string
	client   *outbound.Client
	raw      bool
	nonce    string

	mu      sync.RWMutex
	slots   map[string]int // secret name → slot
	secrets []string       // by slot
	// encoded maps an Authorization: Basic value the host filled to the
	// plugin's own, for answers that echo it.
	encoded map[string]string

	limited atomic.Pointer[outbound.RateLimitError]
	// seen records the class of the execution's last request for the
	// engine's failure table (the plugin's requests arrive on the
	// Session stream's context, not the execution's).
	seen *outbound.Record
}

var (
	_ provider.Host   = (*egressCall)(nil)
	_ provider.Egress = (*egressCall)(nil)
)

// execute runs req in client with the host side of the call: the
// credentials it hands over are placeholders unless the manifest asks for
// raw ones, and its requests go out through the host. An execution that
// failed after the rate limit refused one of its requests returns the
// *outbound.RateLimitError.
func (p *Plugin) execute(ctx context.Context, client *pluginhost.Client, req provider.Request, host runtimes.Host) (provider.Response, error) {
	c := p.newCall(req, host)
	c.seen = outbound.RecordOf(ctx)
	if c.raw && !slices.Contains(p.m.cfg.RawCredentials, p.id) {
		return provider.Response{}, fmt.Errorf("%w: plugin %s declares raw_credentials; list it in ATOM_PLUGIN_RAW_CREDENTIALS to hand it connections' secrets", runtimes.ErrUnavailable, p.id)
	}
	if !c.raw {
		req.Credentials = c.mask(req.Credentials)
	}
	resp, err := client.Execute(ctx, req, c)
	if err == nil && resp.Failed() {
		if rl := c.limited.Load(); rl != nil {
			return provider.Response{}, rl
		}
	}
	return resp, err
}

func (p *Plugin) newCall(req provider.Request, host runtimes.Host) *egressCall {
	var n [16]byte
	_, _ = rand.Read(n[:])
	c := &egressCall{p: p, host: host, tenant: req.TenantID, client: p.m.cfg.Outbound,
		raw: p.Manifest().RawCredentials, nonce: hex.EncodeToString(n[:]), slots: map[string]int{}}
	if c.client == nil {
		c.client = defaultOutbound()
	}
	if u, err := url.Parse(req.BaseURL); err == nil {
		c.baseHost = strings.ToLower(u.Hostname())
	}
	return c
}

// mask returns creds with every secret replaced by its placeholder and
// records the secrets. A refresh masks the new credentials into the same
// slots, so placeholders the plugin kept stay valid.
func (c *egressCall) mask(creds provider.Credentials) provider.Credentials {
	c.mu.Lock()
	defer c.mu.Unlock()
	hide := func(name, v string) string {
		if v == "" {
			return v
		}
		slot, ok := c.slots[name]
		if !ok {
			if len(c.secrets) >= 0xffff {
				return ""
			}
			slot = len(c.secrets)
			c.slots[name] = slot
			c.secrets = append(c.secrets, "")
		}
		c.secrets[slot] = v
		return fmt.Sprintf("atom-cred-%s-%04x", c.nonce, slot)
	}
	creds.AccessToken = hide("access_token", creds.AccessToken)
	creds.TokenSecret = hide("token_secret", creds.TokenSecret)
	creds.APIKey = hide("api_key", creds.APIKey)
	creds.Password = hide("password", creds.Password)
	maskMap := func(prefix string, m map[string]string) map[string]string {
		if len(m) == 0 {
			return m
		}
		out := make(map[string]string, len(m))
		for k, v := range m {
			if secretName(k) {
				v = hide(prefix+k, v)
			}
			out[k] = v
		}
		return out
	}
	creds.Fields = maskMap("fields.", creds.Fields)
	creds.Metadata = maskMap("metadata.", creds.Metadata)
	return creds
}

// secretName reports whether a credential field or metadata key names a
// secret (a token, a secret, a password, a key); other fields (an account
// id, a shop name, a region) reach the plugin as they are.
func secretName(k string) bool {
	k = strings.NewReplacer("_", "", "-", "", ".", "").Replace(strings.ToLower(k))
	for _, w := range []string{"token", "secret", "password", "passwd", "credential"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return strings.HasSuffix(k, "key")
}

// Refresh refreshes the connection through the execution's host and
// returns the new credentials, masked like the first ones.
func (c *egressCall) Refresh(ctx context.Context) (provider.Credentials, error) {
	if c.host == nil {
		return provider.Credentials{}, provider.ErrNoHost
	}
	creds, err := c.host.Refresh(ctx)
	if err != nil || c.raw {
		return creds, err
	}
	return c.mask(creds), nil
}

func (c *egressCall) StoreGet(ctx context.Context, key string) ([]byte, bool, error) {
	if c.host == nil {
		return nil, false, provider.ErrNoHost
	}
	return c.host.StoreGet(ctx, key)
}

func (c *egressCall) StorePut(ctx context.Context, key string, value []byte) error {
	if c.host == nil {
		return provider.ErrNoHost
	}
	return c.host.StorePut(ctx, key, value)
}

func (c *egressCall) Log(ctx context.Context, level, msg string) {
	if c.host != nil {
		c.host.Log(ctx, level, msg)
	}
}

func refuse(code, format string, args ...any) *provider.EgressError {
	return &provider.EgressError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// RoundTrip checks req against the plugin's declared hosts, puts the
// execution's secrets in place of their placeholders and sends it through
// the outbound client, without following redirects.
func (c *egressCall) RoundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	u := req.URL
	if u == nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return nil, refuse(provider.EgressInvalidRequest, "the URL must be absolute http(s) without user info")
	}
	host := strings.ToLower(u.Hostname())
	if !c.allowed(host) {
		return nil, refuse(provider.EgressHostNotAllowed, "host %q is not declared in the allowed_hosts of plugin %s", host, c.p.id)
	}
	credOK := c.raw || c.credentialHost(host)
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxEgressBody+1))
		_ = req.Body.Close()
		if err != nil {
			return nil, refuse(provider.EgressInvalidRequest, "reading the request body failed")
		}
		if len(b) > maxEgressBody {
			return nil, refuse(provider.EgressTooLarge, "the request body exceeds %d bytes", maxEgressBody)
		}
		body = b
	}
	if !credOK && carriesPlaceholder(u, req.Header, body) {
		return nil, refuse(provider.EgressCredentialHost, "host %q may not receive the connection's credentials: only %q and hosts of its registrable domain do", host, c.baseHost)
	}
	path, err := c.fill(u.EscapedPath(), url.PathEscape)
	if err != nil {
		return nil, err
	}
	query, err := c.fill(u.RawQuery, url.QueryEscape)
	if err != nil {
		return nil, err
	}
	target := u.Scheme + "://" + u.Host + path
	if query != "" {
		target += "?" + query
	}
	header := make(http.Header, len(req.Header))
	for k, vs := range req.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection":
			continue
		}
		for _, v := range vs {
			v, err := c.fillHeader(k, v)
			if err != nil {
				return nil, err
			}
			header.Add(k, v)
		}
	}
	if body != nil {
		esc := func(s string) string { return s }
		switch ct := strings.ToLower(header.Get("Content-Type")); {
		case strings.Contains(ct, "json"):
			esc = jsonEscape
		case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
			esc = url.QueryEscape
		}
		s, err := c.fill(string(body), esc)
		if err != nil {
			return nil, err
		}
		body = []byte(s)
	}
	out, err := http.NewRequestWithContext(ctx, req.Method, target, bytes.NewReader(body))
	if err != nil {
		return nil, refuse(provider.EgressInvalidRequest, "%v", err)
	}
	if body == nil {
		out.Body, out.GetBody, out.ContentLength = http.NoBody, nil, 0
	}
	out.Header = header
	resp, err := c.client.Do(outbound.WithRecord(outbound.Scope(ctx, c.tenant, c.p.id), c.seen), out)
	if err != nil {
		var rl *outbound.RateLimitError
		var ae *outbound.AddressError
		switch {
		case errors.As(err, &rl):
			c.limited.Store(rl)
			return nil, &provider.EgressError{Code: provider.EgressRateLimited, Message: rl.Error(), RetryAfter: rl.RetryAfter}
		case errors.As(err, &ae):
			return nil, refuse(provider.EgressAddressForbidden, "%s", ae.Error())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may hold a secret
		}
		return nil, refuse(provider.EgressTransport, "request to %s failed: %s", host, c.redact(err.Error()))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxEgressBody+1))
	if err != nil {
		return nil, refuse(provider.EgressTransport, "reading the answer of %s failed", host)
	}
	if len(data) > maxEgressBody {
		return nil, refuse(provider.EgressTooLarge, "the answer of %s exceeds %d bytes", host, maxEgressBody)
	}
	back := &http.Response{
		Status: resp.Status, StatusCode: resp.StatusCode, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
		Header: make(http.Header, len(resp.Header)), Body: io.NopCloser(bytes.NewReader([]byte(c.redact(string(data))))),
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			back.Header.Add(k, c.redact(v))
		}
	}
	return back, nil
}

// maxEgressBody caps request and answer bodies: what the Host service
// carries.
const maxEgressBody = 32 << 20

// allowed reports whether host may be reached: the base URL's host or a
// declared one.
func (c *egressCall) allowed(host string) bool {
	if host == "" {
		return false
	}
	if host == c.baseHost {
		return true
	}
	for _, pat := range c.p.Manifest().AllowedHosts {
		if runtimes.MatchHost(strings.ToLower(strings.TrimSpace(pat)), host) {
			return true
		}
	}
	return false
}

// credentialHost reports whether a request to host may carry the
// connection's credentials. The plugin's own allowed_hosts say where it may
// send requests, but a plugin author chooses them; the credentials only go
// to the execution's base URL host, which the host resolved from the
// operator's descriptor, or to hosts of the same registrable domain
// (api.box.com and upload.box.com; api.atlassian.com and
// auth.atlassian.com). Without a base URL they go nowhere.
func (c *egressCall) credentialHost(host string) bool {
	if host == "" || c.baseHost == "" {
		return false
	}
	if host == c.baseHost {
		return true
	}
	if net.ParseIP(host) != nil || net.ParseIP(c.baseHost) != nil {
		return false
	}
	a, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return false
	}
	b, err := publicsuffix.EffectiveTLDPlusOne(c.baseHost)
	return err == nil && a == b
}

// carriesPlaceholder reports whether any part of a request holds a
// credential placeholder (also inside Authorization: Basic).
func carriesPlaceholder(u *url.URL, h http.Header, body []byte) bool {
	const mark = "atom-cred-"
	if strings.Contains(u.EscapedPath(), mark) || strings.Contains(u.RawQuery, mark) || bytes.Contains(body, []byte(mark)) {
		return true
	}
	for k, vs := range h {
		for _, v := range vs {
			if strings.Contains(v, mark) {
				return true
			}
			if strings.EqualFold(k, "Authorization") || strings.EqualFold(k, "Proxy-Authorization") {
				if scheme, enc, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Basic") {
					if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc)); err == nil && bytes.Contains(dec, []byte(mark)) {
						return true
					}
				}
			}
		}
	}
	return false
}

func validHost(h string) bool {
	return h != "" && !strings.ContainsAny(h, "*/:@ []\\")
}

// fill replaces the placeholders of this execution in s by their secrets
// escaped with esc, and refuses a placeholder of any other execution.
func (c *egressCall) fill(s string, esc func(string) string) (string, error) {
	if !strings.Contains(s, placeholderPrefix) {
		return s, nil
	}
	var bad error
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := replacePlaceholders(s, func(m, nonce string, slot uint64) string {
		if nonce != c.nonce || c.raw || slot >= uint64(len(c.secrets)) {
			bad = refuse(provider.EgressForeignCredential, "the request carries a credential placeholder that does not belong to this execution")
			return m
		}
		return esc(c.secrets[slot])
	})
	return out, bad
}

// fillHeader fills a header value, also inside Authorization: Basic.
func (c *egressCall) fillHeader(name, v string) (string, error) {
	if strings.EqualFold(name, "Authorization") || strings.EqualFold(name, "Proxy-Authorization") {
		if scheme, enc, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Basic") {
			if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc)); err == nil {
				filled, err := c.fill(string(dec), func(s string) string { return s })
				if err != nil {
					return "", err
				}
				if filled != string(dec) {
					out := base64.StdEncoding.EncodeToString([]byte(filled))
					c.mu.Lock()
					if c.encoded == nil {
						c.encoded = map[string]string{}
					}
					c.encoded[out] = strings.TrimSpace(enc)
					c.mu.Unlock()
					v = scheme + " " + out
				}
			}
		}
	}
	v, err := c.fill(v, func(s string) string { return s })
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(v, "\r\n") {
		return "", refuse(provider.EgressInvalidRequest, "header %s holds a line break", name)
	}
	return v, nil
}

// redact puts the placeholders back where s holds a secret of this
// execution (an answer that echoes the token it was sent).
func (c *egressCall) redact(s string) string {
	if c.raw {
		return s
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for filled, own := range c.encoded {
		s = strings.ReplaceAll(s, filled, own)
	}
	for slot, sec := range c.secrets {
		if len(sec) >= 6 && strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, fmt.Sprintf("atom-cred-%s-%04x", c.nonce, slot))
		}
	}
	return s
}

func jsonEscape(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}
