// Package apiclient is a Go client of Atom's REST API, generated from the
// OpenAPI document host/internal/api/openapi.yaml (served at
// GET /openapi.json). client.gen.go holds one method per operationId and
// one type per schema; this file holds the transport they share.
//
// A method takes its path parameters in path order, then a *XxxParams of
// query and header parameters when the operation has any (nil sends
// none), then the request body when it takes one, then per-call Options.
// It returns the decoded body of its success status (when it is JSON),
// the *Response, and an *APIError for any non-2xx status:
//
//	admin := &apiclient.Client{BaseURL: "http://localhost:8080", Token: adminKey}
//	t, _, err := admin.CreateTenant(ctx, apiclient.CreateTenantRequest{Name: "Acme"})
//	k, _, err := admin.CreateAPIKey(ctx, t.ID, nil)
//	c := &apiclient.Client{BaseURL: "http://localhost:8080", Token: k.Key}
//	res, _, err := c.ExecuteAction(ctx, "stripe", "get_balance", nil, &apiclient.ExecuteRequest{})
//	var ae *apiclient.APIError
//	if errors.As(err, &ae) && ae.Code == "provider_not_connected" { … }
//
// Regenerate after changing the document with
// `go generate ./host/internal/apiclient` (or `make openapi`).
package apiclient

//go:generate go run ./gen -spec ../api/openapi.yaml -out client.gen.go

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Doer sends an HTTP request; *http.Client is one.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Client calls one Atom host. Its fields are read on every call; set them
// before sharing the Client between goroutines.
type Client struct {
	// BaseURL is the host's root URL, e.g. http://localhost:8080.
	BaseURL string
	// Token is sent as "Authorization: Bearer <Token>" when set: a
	// tenant API key or, for admin operations, ATOM_ADMIN_KEY.
	Token string
	// HTTP sends the requests; http.DefaultClient when nil.
	HTTP Doer
	// Strict makes decoding fail on any response field the document does
	// not declare, so a test notices the server and the document
	// drifting apart.
	Strict bool
}

// Option adjusts one request before it is sent.
type Option func(*http.Request) error

// WithToken sends token instead of the Client's Token ("" sends no
// Authorization header).
func WithToken(token string) Option {
	return func(r *http.Request) error {
		if token == "" {
			r.Header.Del("Authorization")
			return nil
		}
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

// WithHeader sets a request header.
func WithHeader(key, value string) Option {
	return func(r *http.Request) error {
		r.Header.Set(key, value)
		return nil
	}
}

// WithQuery sets a query parameter, overriding the typed parameters
// (tests send values the typed parameters leave out, such as limit=0).
func WithQuery(key, value string) Option {
	return func(r *http.Request) error {
		q := r.URL.Query()
		q.Set(key, value)
		r.URL.RawQuery = q.Encode()
		return nil
	}
}

// WithRawBody replaces the request body with b sent as contentType (tests
// send bodies the typed request cannot express, such as unknown fields).
func WithRawBody(contentType string, b []byte) Option {
	return func(r *http.Request) error {
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		r.Header.Set("Content-Type", contentType)
		return nil
	}
}

// Response is a received response with its whole body.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// Decode unmarshals the body into v.
func (r *Response) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// APIError is a non-2xx response in the API's error shape
// {"error":{"code","message","request_id"}}.
type APIError struct {
	StatusCode int
	Code       string
	Message    string
	RequestID  string
	// Field is the input field at fault of an invalid_input error (a JSON
	// pointer into the input), when the host names one.
	Field string
	// ExecutionID is set when an execution route recorded the failed
	// execution.
	ExecutionID string
	Header      http.Header
	// Body is the whole response body (execution errors also carry
	// diagnostics and output).
	Body []byte
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("atom api: %d", e.StatusCode)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// Decode unmarshals the error body into v (for example an
// ExecutionError).
func (e *APIError) Decode(v any) error { return json.Unmarshal(e.Body, v) }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// do sends one request and reads the whole response. A non-2xx status is
// an *APIError returned with the Response.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, header http.Header, body io.Reader, opts []Option) (*Response, error) {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for _, o := range opts {
		if err := o(req); err != nil {
			return nil, err
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	hr, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer hr.Body.Close()
	b, err := io.ReadAll(hr.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	resp := &Response{StatusCode: hr.StatusCode, Header: hr.Header, Body: b}
	if hr.StatusCode >= 200 && hr.StatusCode < 300 {
		return resp, nil
	}
	ae := &APIError{StatusCode: hr.StatusCode, Header: hr.Header, Body: b}
	var shape struct {
		Error *struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
			Field     string `json:"field"`
		} `json:"error"`
		ExecutionID string `json:"execution_id"`
	}
	if json.Unmarshal(b, &shape) == nil && shape.Error != nil {
		ae.Code, ae.Message, ae.RequestID, ae.ExecutionID = shape.Error.Code, shape.Error.Message, shape.Error.RequestID, shape.ExecutionID
		ae.Field = shape.Error.Field
	} else {
		ae.Message = strings.TrimSpace(string(b))
		if len(ae.Message) > 200 {
			ae.Message = ae.Message[:200] + "…"
		}
	}
	return resp, ae
}

// decode unmarshals a success body into v, refusing undeclared fields
// when the Client is Strict.
func (c *Client) decode(resp *Response, v any) error {
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	if c.Strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode %d response: %w", resp.StatusCode, err)
	}
	return nil
}
