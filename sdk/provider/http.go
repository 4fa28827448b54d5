package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HTTPOptions configure the HTTP client of a provider.
type HTTPOptions struct {
	// BaseURL is used when the request carries no BaseURL.
	BaseURL string
	// APIKey says how api_key credentials are sent; the zero value sends
	// "Authorization: Bearer <key>".
	APIKey APIKeyStyle
	// Header holds headers added to every request (e.g. an API version).
	Header http.Header
	// UserAgent is sent as User-Agent when set.
	UserAgent string
	// Client is the underlying client; http.DefaultClient when nil.
	Client *http.Client
	// DecodeError reads a provider's error body into an *HTTPError whose
	// Status, Method, Path and RetryAfter are already set. When nil, the
	// common shapes ({"error":{"message"}}, {"error","error_description"},
	// {"message"}, {"errors":[{"message"}]}) are understood.
	DecodeError func(e *HTTPError, body []byte)
}

// APIKeyStyle says where an API key goes: in header Header (after Prefix)
// or, when Query is set, in that query parameter.
type APIKeyStyle struct {
	Header string
	Prefix string
	Query  string
}

// APIKeyHeader sends the API key in header name after prefix
// (e.g. APIKeyHeader("Authorization", "Bearer ") or APIKeyHeader("X-Api-Key", "")).
func APIKeyHeader(name, prefix string) APIKeyStyle {
	return APIKeyStyle{Header: name, Prefix: prefix}
}

// APIKeyQuery sends the API key as query parameter name.
func APIKeyQuery(name string) APIKeyStyle { return APIKeyStyle{Query: name} }

// HTTPClient calls a provider's API for one execution: it resolves paths
// against the base URL, applies the execution's credentials, and after a
// 401 asks the host once to refresh the connection and retries with the
// new credentials. Credentials are sent only to the base URL's origin.
// An HTTPClient is safe for concurrent use within its execution.
type HTTPClient struct {
	ctx  context.Context
	opts HTTPOptions
	base *url.URL
}

// Client returns an HTTP client for the execution ctx belongs to. The
// request's BaseURL takes precedence over opts.BaseURL.
func Client(ctx context.Context, opts HTTPOptions) *HTTPClient {
	c := &HTTPClient{ctx: ctx, opts: opts}
	base := opts.BaseURL
	if req, ok := RequestFrom(ctx); ok && req.BaseURL != "" {
		base = req.BaseURL
	}
	if base != "" {
		if u, err := url.Parse(base); err == nil && u.Scheme != "" && u.Host != "" {
			c.base = u
		}
	}
	return c
}

// WithHeader returns a copy of c that also sends header key with value
// (e.g. an idempotency key for one request).
func (c *HTTPClient) WithHeader(key, value string) *HTTPClient {
	cp := *c
	cp.opts.Header = c.opts.Header.Clone()
	if cp.opts.Header == nil {
		cp.opts.Header = http.Header{}
	}
	cp.opts.Header.Set(key, value)
	return &cp
}

// URL resolves path (with an optional query) against the base URL. An
// absolute URL is returned as is.
func (c *HTTPClient) URL(path string, query url.Values) (string, error) {
	var u *url.URL
	if p, err := url.Parse(path); err == nil && p.Scheme != "" {
		u = p
	} else {
		if c.base == nil {
			return "", errors.New("provider: no base URL to resolve " + path)
		}
		ref, err := url.Parse(strings.TrimLeft(path, "/"))
		if err != nil {
			return "", fmt.Errorf("provider: bad path %q: %w", path, err)
		}
		b := *c.base
		if !strings.HasSuffix(b.Path, "/") {
			b.Path += "/"
		}
		b.RawPath = ""
		u = b.ResolveReference(ref)
	}
	if len(query) > 0 {
		q := u.Query()
		for k, vs := range query {
			for _, v := range vs {
				q.Add(k, v)
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// Do sends req with the execution's credentials and returns the response
// whatever its status, except that a 401 is retried once after a host
// refresh. req.Body, if any, must be replayable (GetBody set, as
// http.NewRequest does for in-memory bodies).
func (c *HTTPClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.send(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !c.sameOrigin(req.URL) {
		return resp, err
	}
	creds, _ := CredentialsFrom(c.ctx)
	if creds.Type == "" || creds.Type == "none" {
		return resp, nil
	}
	if req.Body != nil && req.GetBody == nil {
		return resp, nil
	}
	if _, rerr := Refresh(c.ctx); rerr != nil {
		return resp, nil
	}
	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		body, berr := req.GetBody()
		if berr != nil {
			return resp, nil
		}
		retry.Body = body
	}
	drain(resp)
	return c.send(retry)
}

func (c *HTTPClient) send(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	for k, vs := range c.opts.Header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if c.opts.UserAgent != "" {
		r.Header.Set("User-Agent", c.opts.UserAgent)
	}
	if c.sameOrigin(r.URL) {
		creds, _ := CredentialsFrom(c.ctx)
		c.authorize(r, creds)
	}
	hc := c.opts.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	return hc.Do(r)
}

func (c *HTTPClient) sameOrigin(u *url.URL) bool {
	return c.base != nil && strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host)
}

func (c *HTTPClient) authorize(r *http.Request, creds Credentials) {
	switch creds.Type {
	case "oauth2", "oauth2_cc":
		tt := creds.TokenType
		if tt == "" || strings.EqualFold(tt, "bearer") {
			tt = "Bearer"
		}
		r.Header.Set("Authorization", tt+" "+creds.AccessToken)
	case "api_key":
		st := c.opts.APIKey
		switch {
		case st.Query != "":
			q := r.URL.Query()
			q.Set(st.Query, creds.APIKey)
			r.URL.RawQuery = q.Encode()
		case st.Header != "":
			r.Header.Set(st.Header, st.Prefix+creds.APIKey)
		default:
			r.Header.Set("Authorization", "Bearer "+creds.APIKey)
		}
	case "basic":
		r.SetBasicAuth(creds.Username, creds.Password)
	}
}

// Send builds a request for method and path with body of content type
// contentType (both may be empty), sends it with Do, and decodes a 2xx
// JSON response into out (ignored when nil). A non-2xx response is
// returned as an *HTTPError.
func (c *HTTPClient) Send(ctx context.Context, method, path string, query url.Values, contentType string, body []byte, out any) error {
	u, err := c.URL(path, query)
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("provider: build request: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, req.URL.Path, scrubURLError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("%s %s: read body: %w", method, req.URL.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.httpError(req, resp, data)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, req.URL.Path, err)
	}
	return nil
}

// GetJSON sends a GET with query and decodes the JSON response into out.
func (c *HTTPClient) GetJSON(ctx context.Context, path string, query url.Values, out any) error {
	return c.Send(ctx, http.MethodGet, path, query, "", nil, out)
}

// PostJSON sends in as a JSON body and decodes the JSON response into out.
func (c *HTTPClient) PostJSON(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("provider: encode body: %w", err)
	}
	return c.Send(ctx, http.MethodPost, path, nil, "application/json", body, out)
}

// PostForm sends form as an application/x-www-form-urlencoded body and
// decodes the JSON response into out.
func (c *HTTPClient) PostForm(ctx context.Context, path string, form url.Values, out any) error {
	return c.Send(ctx, http.MethodPost, path, nil, "application/x-www-form-urlencoded", []byte(form.Encode()), out)
}

const maxBody = 32 << 20

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// scrubURLError drops the URL (whose query may hold an API key) from a
// transport error.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// HTTPError is a non-2xx response from a provider's API.
type HTTPError struct {
	// Status is the HTTP status code.
	Status int
	// Method and Path identify the request (the path has no query).
	Method string
	Path   string
	// Message is the provider's error message, if one was found.
	Message string
	// Code and Type are the provider's error code and type, if any.
	Code string
	Type string
	// Field is the input parameter the provider blames, if any.
	Field string
	// RetryAfter is the delay the provider asked for (Retry-After), or 0.
	RetryAfter time.Duration
	// Body is the start of the response body.
	Body []byte
}

// Error describes the failure without the request's query or headers.
func (e *HTTPError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, msg)
}

// Diagnostic returns the error diagnostic the failure becomes.
func (e *HTTPError) Diagnostic() Diagnostic {
	summary := e.Message
	if summary == "" {
		summary = fmt.Sprintf("provider returned HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	detail := fmt.Sprintf("%s %s returned HTTP %d", e.Method, e.Path, e.Status)
	if e.Type != "" {
		detail += "; type " + e.Type
	}
	if e.Code != "" {
		detail += "; code " + e.Code
	}
	if e.RetryAfter > 0 {
		detail += "; retry after " + e.RetryAfter.String()
	}
	return Diagnostic{Severity: SeverityError, Summary: summary, Detail: detail, Field: e.Field, Status: e.Status}
}

func (c *HTTPClient) httpError(req *http.Request, resp *http.Response, body []byte) *HTTPError {
	e := &HTTPError{
		Status:     resp.StatusCode,
		Method:     req.Method,
		Path:       req.URL.Path,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After")),
	}
	if len(body) > 4096 {
		e.Body = body[:4096]
	} else {
		e.Body = body
	}
	if c.opts.DecodeError != nil {
		c.opts.DecodeError(e, body)
		return e
	}
	decodeCommonError(e, body)
	return e
}

// decodeCommonError reads the error shapes most APIs use.
func decodeCommonError(e *HTTPError, body []byte) {
	var v struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
		Message          string          `json:"message"`
		Detail           string          `json:"detail"`
		Title            string          `json:"title"`
		Code             json.RawMessage `json:"code"`
		Errors           []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &v) != nil {
		if text := strings.TrimSpace(string(body)); text != "" && !strings.HasPrefix(text, "<") {
			if len(text) > 300 {
				text = text[:300]
			}
			e.Message = text
		}
		return
	}
	var obj struct {
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
		Param   string          `json:"param"`
	}
	var str string
	switch {
	case len(v.Error) > 0 && json.Unmarshal(v.Error, &obj) == nil:
		e.Message, e.Type, e.Field, e.Code = obj.Message, obj.Type, obj.Param, rawString(obj.Code)
	case len(v.Error) > 0 && json.Unmarshal(v.Error, &str) == nil:
		e.Code = str
		e.Message = v.ErrorDescription
		if e.Message == "" {
			e.Message = str
		}
	}
	if e.Message == "" {
		switch {
		case v.Message != "":
			e.Message = v.Message
		case v.Detail != "":
			e.Message = v.Detail
		case len(v.Errors) > 0:
			e.Message = v.Errors[0].Message
		case v.Title != "":
			e.Message = v.Title
		}
	}
	if e.Code == "" {
		e.Code = rawString(v.Code)
	}
}

func rawString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}
