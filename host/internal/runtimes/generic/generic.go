// Package generic is the implementation behind every connectable catalog
// entry: one action, custom_api_call, that sends an authenticated HTTP
// request to the provider's API as the descriptor says (base URL template,
// credential placement, default headers), through the host's outbound
// client. It refreshes the connection once after a 401.
package generic

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/provider"
)

// ActionName is the generic action.
const ActionName = "custom_api_call"

// Version is the generic implementation's manifest version.
const Version = "1.0.0"

// DefaultMaxBody bounds the response body read from the provider when
// Config.MaxBody is zero.
const DefaultMaxBody = 8 << 20

// InputSchema is the JSON Schema of custom_api_call's input.
var InputSchema = json.RawMessage(`{"type":"object","additionalProperties":false,"required":["method","path"],"properties":{` +
	`"method":{"type":"string","enum":["GET","POST","PUT","PATCH","DELETE","HEAD","OPTIONS"]},` +
	`"path":{"type":"string","minLength":1,"description":"path relative to the provider's base URL (an absolute URL must be on the base URL's host)"},` +
	`"query":{"type":"object","additionalProperties":{"type":["string","number","boolean","array"]}},` +
	`"headers":{"type":"object","additionalProperties":{"type":"string"}},` +
	`"body":{"description":"JSON value sent as application/json, or a string sent as is"}}}`)

// OutputSchema is the JSON Schema of custom_api_call's output.
var OutputSchema = json.RawMessage(`{"type":"object","required":["status","headers"],"properties":{` +
	`"status":{"type":"integer"},"headers":{"type":"object"},"body":{},"body_base64":{"type":"string"}}}`)

// Config configures a Runtime.
type Config struct {
	// Catalog returns the current catalog snapshot (it may change).
	Catalog func() *catalog.Catalog
	// Client sends the requests; New(outbound.Config{}) when nil.
	Client *outbound.Client
	// Env reads {PROVIDER}_API_BASE_URL overrides; none when nil.
	Env func(string) string
	// MaxBody caps a provider's reply body in bytes
	// (ATOM_MAX_UPSTREAM_BODY; DefaultMaxBody when zero). A larger reply
	// fails the call with a *TooLargeError; no more than MaxBody+1 bytes
	// are read.
	MaxBody int64
}

// Runtime serves the generic action for the catalog's connectable entries.
// It satisfies registry.Generic.
type Runtime struct {
	cfg Config
}

// New returns a Runtime.
func New(cfg Config) *Runtime {
	if cfg.Client == nil {
		cfg.Client = outbound.New(outbound.Config{})
	}
	if cfg.Env == nil {
		cfg.Env = func(string) string { return "" }
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	return &Runtime{cfg: cfg}
}

// For returns the generic implementation of id when the catalog has a
// connectable entry with that id.
func (r *Runtime) For(id string) (runtimes.Implementation, bool) {
	d, ok := r.cfg.Catalog().Get(id)
	if !ok || !d.Connectable {
		return nil, false
	}
	return &Impl{r: r, id: id}, true
}

// Manifest returns the generic manifest of descriptor d.
func Manifest(d *catalog.Descriptor) provider.Manifest {
	return provider.Manifest{
		ID: d.ID, Name: d.Name, Version: Version, Categories: d.Categories,
		Description: "Authenticated calls to the " + d.Name + " API.",
		Actions:     []provider.Action{Action(d.Name)},
	}
}

// Action returns the custom_api_call action for a provider's display name.
func Action(name string) provider.Action {
	return provider.Action{
		Name: ActionName, DisplayName: "Custom API call",
		Description: "Sends an authenticated HTTP request to the " + name + " API and returns its status, headers and body.",
		Input:       InputSchema, Output: OutputSchema,
	}
}

// Impl is the generic implementation of one provider. It reads the
// provider's descriptor from the current catalog at each call.
type Impl struct {
	r  *Runtime
	id string
}

var _ runtimes.Implementation = (*Impl)(nil)

// Kind returns runtimes.KindGeneric.
func (i *Impl) Kind() string { return runtimes.KindGeneric }

// Manifest returns the generic manifest of the provider.
func (i *Impl) Manifest() provider.Manifest {
	d, ok := i.r.cfg.Catalog().Get(i.id)
	if !ok {
		return provider.Manifest{ID: i.id, Version: Version, Actions: []provider.Action{Action(i.id)}}
	}
	return Manifest(d)
}

// Input is custom_api_call's input.
type Input struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]any    `json:"query,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// Output is custom_api_call's output.
type Output struct {
	Status     int               `json:"status"`
	Headers    map[string]string `json:"headers"`
	Body       json.RawMessage   `json:"body,omitempty"`
	BodyBase64 string            `json:"body_base64,omitempty"`
}

func fail(field, summary string) provider.Response {
	return provider.Response{Diagnostics: []provider.Diagnostic{{Severity: provider.SeverityError, Summary: summary, Field: field}}}
}

// Execute runs custom_api_call. Problems with the input or the upstream
// answer are error diagnostics; a rate-limit refusal and a cancelled
// context are errors.
func (i *Impl) Execute(ctx context.Context, req provider.Request, host runtimes.Host) (provider.Response, error) {
	if req.Action != ActionName {
		return fail("", fmt.Sprintf("unknown action %q: the generic implementation offers only %s", req.Action, ActionName)), nil
	}
	d, ok := i.r.cfg.Catalog().Get(i.id)
	if !ok {
		return provider.Response{}, fmt.Errorf("provider %s left the catalog: %w", i.id, runtimes.ErrUnavailable)
	}
	var in Input
	dec := json.NewDecoder(bytes.NewReader(req.Input))
	if err := dec.Decode(&in); err != nil {
		return fail("", "input is not a custom_api_call object: "+err.Error()), nil
	}
	base := req.BaseURL
	if base == "" {
		var err error
		if base, err = resolveBaseURL(d, req.Credentials, i.r.cfg.Env, runtimes.OperatorKey(ctx)); runtimes.Refused(err) {
			return provider.Response{}, err
		} else if err != nil {
			return fail("", err.Error()), nil
		}
	}
	runtimes.NoteBaseURL(ctx, base)
	target, err := Target(base, in.Path, in.Query)
	if err != nil {
		return fail("/path", err.Error()), nil
	}
	if field, err := checkHeaders(in.Headers); err != nil {
		return fail(field, err.Error()), nil
	}
	body, ctype, err := encodeBody(in.Body)
	if err != nil {
		return fail("/body", err.Error()), nil
	}
	method := strings.ToUpper(in.Method)
	creds := req.Credentials
	ctx = outbound.Scope(ctx, req.TenantID, i.id)
	resp, err := i.send(ctx, d, method, target, in.Headers, body, ctype, creds)
	if err == nil && resp.StatusCode == http.StatusUnauthorized && host != nil && refreshable(creds.Type) {
		if fresh, rerr := host.Refresh(ctx); rerr == nil {
			drain(resp)
			resp, err = i.send(ctx, d, method, target, in.Headers, body, ctype, fresh)
		}
	}
	if err != nil {
		return transportFailure(err)
	}
	defer resp.Body.Close()
	return readResponse(d, resp, i.r.cfg.MaxBody)
}

func refreshable(kind string) bool {
	return kind == catalog.AuthOAuth2 || kind == catalog.AuthOAuth2CC
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// transportFailure turns a send error into the execution's result. The
// message names the host, never the URL.
func transportFailure(err error) (provider.Response, error) {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, outbound.ErrRateLimited):
		return provider.Response{}, err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return provider.Response{}, err
	case errors.Is(err, outbound.ErrForbiddenAddress):
		// Detail carries the code, as a piece's refused host call does.
		r := fail("/path", err.Error())
		r.Diagnostics[0].Detail = provider.EgressAddressForbidden
		return r, nil
	}
	return fail("", "the provider could not be reached: "+outbound.Redact(err.Error())), nil
}

func (i *Impl) send(ctx context.Context, d *catalog.Descriptor, method, target string, headers map[string]string, body []byte, ctype string, creds provider.Credentials) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", "atom-generic/"+Version)
	if ctype != "" {
		hr.Header.Set("Content-Type", ctype)
	}
	for k, v := range headers {
		hr.Header.Set(k, v)
	}
	if err := authenticate(hr, d, creds); err != nil {
		return nil, err
	}
	return i.r.cfg.Client.Do(ctx, hr)
}

// authenticate applies the credentials as the descriptor's auth of the
// connection's kind says.
func authenticate(hr *http.Request, d *catalog.Descriptor, creds provider.Credentials) error {
	dd := *d
	if creds.Type != "" && creds.Type != d.Auth.Kind {
		for _, alt := range d.AuthAlternatives {
			if alt.Kind == creds.Type {
				dd.Auth = alt
				break
			}
		}
	}
	vars := Vars(creds)
	apiKey := creds.APIKey
	if apiKey == "" {
		apiKey = firstField(creds.Fields, "apiKey", "api_key", "token")
	}
	if err := connect.ApplyCredentials(hr, &dd, vars, apiKey, creds.Username, creds.Password); err != nil {
		return fmt.Errorf("apply credentials: %w", err)
	}
	switch creds.Type {
	case catalog.AuthOAuth2, catalog.AuthOAuth2CC:
		if len(dd.API.Headers) == 0 && hr.Header.Get("Authorization") == "" && creds.AccessToken != "" {
			hr.Header.Set("Authorization", "Bearer "+creds.AccessToken)
		}
	case catalog.AuthOAuth1:
		return errors.New("OAuth 1.0a connections are not supported by custom_api_call")
	}
	return nil
}

func firstField(m map[string]string, names ...string) string {
	for _, n := range names {
		if v := m[n]; v != "" {
			return v
		}
	}
	return ""
}

// Vars returns the template variables of a connection's credentials:
// connection parameters, credential fields and tokens, metadata.
func Vars(c provider.Credentials) map[string]map[string]string { return connect.TemplateVars(c) }

// EnvName returns the {PROVIDER}_API_BASE_URL variable of a provider.
func EnvName(id string) string { return connect.EnvName(id) + "_API_BASE_URL" }

// BaseURL resolves a provider's API base URL for credentials that belong
// to the tenant: {PROVIDER}_API_BASE_URL when set, else the descriptor's
// template filled with the connection's parameters and metadata.
func BaseURL(d *catalog.Descriptor, creds provider.Credentials, env func(string) string) (string, error) {
	return baseURL(d, creds, env, false)
}

// BaseURLs returns the host's runtimes.BaseURLFunc over the current
// catalog: BaseURL, or OperatorBaseURL for the operator's key; for an id
// the catalog does not describe (a piece of its own), only
// {PROVIDER}_API_BASE_URL.
func BaseURLs(cat func() *catalog.Catalog, env func(string) string) runtimes.BaseURLFunc {
	if env == nil {
		env = func(string) string { return "" }
	}
	return func(id string, creds provider.Credentials, operatorKey bool) (string, error) {
		d, ok := cat().Get(id)
		if !ok {
			if v := strings.TrimSpace(env(EnvName(id))); v != "" {
				return strings.TrimRight(v, "/"), nil
			}
			return "", fmt.Errorf("%s is not in the catalog and %s is not set", id, EnvName(id))
		}
		return resolveBaseURL(d, creds, env, operatorKey)
	}
}

func resolveBaseURL(d *catalog.Descriptor, creds provider.Credentials, env func(string) string, operatorKey bool) (string, error) {
	if operatorKey {
		return OperatorBaseURL(d, creds, env)
	}
	return BaseURL(d, creds, env)
}

// OperatorBaseURL resolves the base URL of a call that carries a host-wide
// secret ({PROVIDER}_API_KEY, used when the tenant has no connection):
// like BaseURL, but a value (a connection parameter, a credential field,
// a pieces call's config) may only choose the host when the descriptor
// lists it among the allowed values, or the template puts it as one DNS
// label under a domain it names (then a value that is not a single label
// gives an error wrapping catalog.ErrNotLabel). Otherwise the error wraps
// catalog.ErrTenantChosenHost and says how to use the tenant's own key.
func OperatorBaseURL(d *catalog.Descriptor, creds provider.Credentials, env func(string) string) (string, error) {
	return baseURL(d, creds, env, true)
}

func baseURL(d *catalog.Descriptor, creds provider.Credentials, env func(string) string, hostWide bool) (string, error) {
	if env != nil {
		if v := strings.TrimSpace(env(EnvName(d.ID))); v != "" {
			return strings.TrimRight(v, "/"), nil
		}
	}
	if d.API.BaseURL == "" {
		return "", fmt.Errorf("%s has no API base URL in the catalog; set %s", d.ID, EnvName(d.ID))
	}
	var u string
	var err error
	if hostWide {
		u, err = catalog.ExpandSecretURL(d.API.BaseURL, Vars(creds), d.Auth.AllowedValues)
	} else {
		u, err = catalog.ExpandURLWith(d.API.BaseURL, Vars(creds), d.Auth.AllowedValues)
	}
	var he *catalog.HostError
	if errors.As(err, &he) {
		return "", fmt.Errorf("the %s API base URL takes its host from %s, which the caller chooses; the operator's key (%s_API_KEY) is only sent to hosts the catalog fixes: "+
			"pass your own key as config.api_key, or connect %s with your own key (POST /api/v1/connections/%s): %w",
			d.ID, he.Var, connect.EnvName(d.ID), d.ID, d.ID, catalog.ErrTenantChosenHost)
	}
	if errors.Is(err, catalog.ErrNotLabel) {
		return "", fmt.Errorf("cannot build the %s API base URL for the operator's key (%s_API_KEY): %w", d.ID, connect.EnvName(d.ID), err)
	}
	if err != nil {
		return "", fmt.Errorf("cannot build the %s API base URL: %v", d.ID, err)
	}
	return strings.TrimRight(u, "/"), nil
}

// Target joins path (and query) to base. An absolute path must be on
// base's scheme and host.
func Target(base, path string, query map[string]any) (string, error) {
	b, err := url.Parse(base)
	if err != nil || b.Host == "" {
		return "", errors.New("the provider's base URL is not an absolute URL")
	}
	for _, r := range path {
		if r < 0x20 || r == 0x7f {
			return "", errors.New("path contains control characters")
		}
	}
	var u *url.URL
	switch {
	case strings.HasPrefix(path, "//"):
		return "", errors.New("path must be relative to the base URL or an absolute URL on its host")
	case strings.Contains(path, "://"):
		u, err = url.Parse(path)
		if err != nil {
			return "", fmt.Errorf("path is not a URL: %v", err)
		}
		if !strings.EqualFold(u.Scheme, b.Scheme) || !strings.EqualFold(u.Host, b.Host) || u.User != nil {
			return "", fmt.Errorf("absolute URLs must be on %s://%s", b.Scheme, b.Host)
		}
	default:
		rel, err := url.Parse("/" + strings.TrimLeft(path, "/"))
		if err != nil {
			return "", fmt.Errorf("path: %v", err)
		}
		for _, seg := range strings.Split(rel.Path, "/") {
			if seg == ".." {
				return "", errors.New("path must not contain .. segments")
			}
		}
		u = &url.URL{Scheme: b.Scheme, Host: b.Host, Path: strings.TrimRight(b.Path, "/") + rel.Path, RawQuery: rel.RawQuery}
		if b.RawQuery != "" {
			u.RawQuery = joinQuery(b.RawQuery, rel.RawQuery)
		}
	}
	if len(query) > 0 {
		q := u.Query()
		names := make([]string, 0, len(query))
		for k := range query {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			switch v := query[k].(type) {
			case []any:
				for _, x := range v {
					q.Add(k, connect.Scalar(x))
				}
			default:
				q.Set(k, connect.Scalar(v))
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

func joinQuery(a, b string) string {
	if b == "" {
		return a
	}
	return a + "&" + b
}

// refusedHeaders may not be set by the caller: hop-by-hop headers and
// those carrying identity.
var refusedHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Host": true,
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true, "Proxy-Connection": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Content-Length": true,
}

func checkHeaders(h map[string]string) (string, error) {
	for k, v := range h {
		ck := http.CanonicalHeaderKey(k)
		if refusedHeaders[ck] {
			return "/headers/" + k, fmt.Errorf("header %s cannot be set: the host manages it", ck)
		}
		if k == "" || strings.ContainsAny(k, " \t\r\n:") || strings.ContainsAny(v, "\r\n") {
			return "/headers/" + k, fmt.Errorf("header %q is not a valid header", k)
		}
	}
	return "", nil
}

func encodeBody(raw json.RawMessage) ([]byte, string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, "", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, "", err
		}
		return []byte(s), "text/plain; charset=utf-8", nil
	}
	if !json.Valid(raw) {
		return nil, "", errors.New("body is not valid JSON")
	}
	return raw, "application/json", nil
}

// safeHeader reports whether a response header may be returned.
func safeHeader(k string) bool {
	switch strings.ToLower(k) {
	case "content-type", "content-length", "content-language", "etag", "last-modified", "link",
		"location", "retry-after", "date", "cache-control", "x-request-id", "request-id", "x-total-count",
		"x-next-page", "x-page", "x-per-page":
		return true
	}
	lk := strings.ToLower(k)
	return strings.HasPrefix(lk, "x-ratelimit-") || strings.HasPrefix(lk, "ratelimit") || strings.HasPrefix(lk, "x-rate-limit-")
}

// TooLargeError is the runtimes' error for a reply or result over the
// host's cap.
type TooLargeError = runtimes.TooLargeError

// Error codes of TooLargeError.
const (
	CodeUpstreamTooLarge = runtimes.CodeUpstreamTooLarge
	CodeResultTooLarge   = runtimes.CodeResultTooLarge
)

// maxMessageParse bounds the error body parsed for the provider's message.
const maxMessageParse = 64 << 10

// readResponse reads at most the cap (plus one byte, to tell a reply
// that is exactly the cap from a larger one) and encodes the answer.
func readResponse(d *catalog.Descriptor, resp *http.Response, limit int64) (provider.Response, error) {
	if resp.ContentLength > limit {
		return provider.Response{}, &TooLargeError{Code: CodeUpstreamTooLarge, What: d.Name + "'s reply", Limit: limit}
	}
	data, err := readCapped(resp.Body, resp.ContentLength, limit)
	if err != nil {
		return fail("", "reading the provider's answer failed: "+err.Error()), nil
	}
	if int64(len(data)) > limit {
		return provider.Response{}, &TooLargeError{Code: CodeUpstreamTooLarge, What: d.Name + "'s reply", Limit: limit}
	}
	headers := map[string]string{}
	for k, v := range resp.Header {
		if safeHeader(k) && len(v) > 0 {
			headers[strings.ToLower(k)] = strings.Join(v, ", ")
		}
	}
	out, kind := EncodeOutput(resp.StatusCode, headers, resp.Header.Get("Content-Type"), data)
	r := provider.Response{Output: out}
	if resp.StatusCode >= 400 {
		var parsed any
		if kind == BodyJSON && len(data) <= maxMessageParse {
			_ = json.Unmarshal(data, &parsed)
		}
		msg := ""
		if kind != BodyBase64 {
			msg = ProviderMessage(parsed, clipBytes(data, maxMessageParse))
		}
		summary := fmt.Sprintf("%s answered HTTP %d", d.Name, resp.StatusCode)
		if msg != "" {
			summary += ": " + msg
		}
		r.Diagnostics = []provider.Diagnostic{{Severity: provider.SeverityError, Summary: summary, Status: resp.StatusCode,
			Field: ProviderField(parsed)}}
	}
	return r, nil
}

// readCapped reads at most limit+1 bytes of r into one buffer sized by the
// announced length (or grown by doubling, up to limit+1, when there is
// none), so a reply costs its own size, not a doubled buffer.
func readCapped(r io.Reader, contentLength, limit int64) ([]byte, error) {
	size := int64(4 << 10)
	if contentLength >= 0 {
		size = min(contentLength+1, limit+1)
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf, nil
			}
			grown := make([]byte, len(buf), min(int64(2*cap(buf)), limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func clipBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// How EncodeOutput returned a body.
const (
	BodyNone   = ""
	BodyJSON   = "json"
	BodyText   = "text"
	BodyBase64 = "base64"
)

// EncodeOutput builds custom_api_call's output document
//
//	{"status":200,"headers":{…},"body":<JSON value or string>}
//	{"status":200,"headers":{…},"body_base64":"<standard base64>"}
//
// A JSON reply is returned as its JSON value; UTF-8 text without control
// characters (tab, CR and LF aside) as a JSON string; anything else —
// binary, another encoding, text with NULs or other control characters —
// as body_base64, with the reply's content-type in headers; so is text
// whose escaped form (quotes, backslashes, tab, CR, LF; nothing is
// HTML-escaped) would be longer than its base64. The output is therefore
// at most 4/3 of the reply plus the headers, never the six bytes per byte
// of \u00XX escapes. It returns the body's kind.
func EncodeOutput(status int, headers map[string]string, contentType string, data []byte) (json.RawMessage, string) {
	var hb bytes.Buffer
	enc := json.NewEncoder(&hb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(headers) // a map of strings always encodes
	hj := bytes.TrimRight(hb.Bytes(), "\n")
	kind := BodyNone
	switch {
	case len(data) == 0:
	case isJSON(contentType, data) && json.Valid(data):
		kind = BodyJSON
	default:
		// Text whose escapes would make it larger than its base64 (all
		// quotes and backslashes) goes as base64 too.
		kind = BodyBase64
		if escapes, ok := plainText(data); ok && len(data)+escapes <= base64.StdEncoding.EncodedLen(len(data)) {
			kind = BodyText
		}
	}
	size := 64 + len(hj)
	switch kind {
	case BodyJSON:
		size += len(data)
	case BodyText:
		size += base64.StdEncoding.EncodedLen(len(data)) + 2
	case BodyBase64:
		size += base64.StdEncoding.EncodedLen(len(data))
	}
	b := make([]byte, 0, size)
	b = append(b, `{"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"headers":`...)
	b = append(b, hj...)
	switch kind {
	case BodyJSON:
		b = append(b, `,"body":`...)
		b = append(b, bytes.TrimSpace(data)...)
	case BodyText:
		b = append(b, `,"body":`...)
		b = appendJSONString(b, data)
	case BodyBase64:
		b = append(b, `,"body_base64":"`...)
		n := len(b)
		b = b[:n+base64.StdEncoding.EncodedLen(len(data))]
		base64.StdEncoding.Encode(b[n:], data)
		b = append(b, '"')
	}
	b = append(b, '}')
	return b, kind
}

// plainText reports whether data is valid UTF-8 without control
// characters other than tab, CR and LF, and how many bytes its JSON
// string escapes add.
func plainText(data []byte) (escapes int, ok bool) {
	for _, c := range data {
		switch {
		case c == '"' || c == '\\' || c == '\t' || c == '\n' || c == '\r':
			escapes++
		case c < 0x20 || c == 0x7f:
			return 0, false
		}
	}
	return escapes, utf8.Valid(data)
}

// appendJSONString appends data (plain text) as a JSON string, escaping
// only quotes, backslashes, tab, CR and LF.
func appendJSONString(b, data []byte) []byte {
	b = append(b, '"')
	start := 0
	for i, c := range data {
		var esc string
		switch c {
		case '"':
			esc = `\"`
		case '\\':
			esc = `\\`
		case '\n':
			esc = `\n`
		case '\r':
			esc = `\r`
		case '\t':
			esc = `\t`
		default:
			continue
		}
		b = append(b, data[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	b = append(b, data[start:]...)
	return append(b, '"')
}

func isJSON(ctype string, data []byte) bool {
	mt, _, _ := mime.ParseMediaType(ctype)
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		return true
	}
	t := bytes.TrimSpace(data)
	return mt == "" && len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// ProviderMessage extracts a provider's error message from a parsed JSON
// body (message, error, error_description, errors[0].message, detail,
// title), or the start of a text body.
func ProviderMessage(parsed any, raw []byte) string {
	if m, ok := parsed.(map[string]any); ok {
		if s := messageOf(m); s != "" {
			return clip(s)
		}
	}
	if parsed == nil && utf8.Valid(raw) {
		return clip(strings.TrimSpace(string(raw)))
	}
	return ""
}

// ProviderField returns the parameter a provider's JSON error names
// ("param" as Stripe says, "field", in the object, its "error" or its
// first "errors" entry), or "".
func ProviderField(parsed any) string {
	m, ok := parsed.(map[string]any)
	if !ok {
		return ""
	}
	for _, k := range []string{"param", "field"} {
		if s, ok := m[k].(string); ok && s != "" {
			return clip(s)
		}
	}
	if e, ok := m["error"].(map[string]any); ok {
		return ProviderField(e)
	}
	if errs, ok := m["errors"].([]any); ok && len(errs) > 0 {
		return ProviderField(errs[0])
	}
	return ""
}

func messageOf(m map[string]any) string {
	for _, k := range []string{"message", "error_description", "error_message", "detail", "title", "msg"} {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	switch e := m["error"].(type) {
	case string:
		return e
	case map[string]any:
		return messageOf(e)
	}
	if errs, ok := m["errors"].([]any); ok && len(errs) > 0 {
		switch e := errs[0].(type) {
		case string:
			return e
		case map[string]any:
			return messageOf(e)
		}
	}
	return ""
}

func clip(s string) string {
	const max = 300
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
