package piece

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Piece defines one piece: the provider it serves, how tenants connect and
// the actions it offers. A piece's main package registers one Piece in an
// init function (see Register).
type Piece struct {
	// ID is the catalog id the piece serves (e.g. "discord").
	ID          string
	Name        string
	Version     string
	Description string
	// Categories are catalog category ids (e.g. "communication").
	Categories []string
	Auth       AuthSpec
	// Hosts lists the hosts the piece may call through the host, exact
	// ("api.telegram.org") or with one leading wildcard ("*.example.com").
	Hosts   []string
	Limits  Limits
	Actions []Action
	// Triggers are the piece's event sources (optional; see Trigger).
	Triggers []Trigger
	// Route names the account an app webhook request belongs to (pieces
	// with an app webhook trigger only). It runs with no tenant and no
	// credentials, and the host refuses its requests.
	Route func(c *Context, hook Webhook) (string, error)
}

// Action is one operation of a piece.
type Action struct {
	Name        string
	DisplayName string
	Description string
	Props       []Prop
	// Output is an optional JSON Schema of the output.
	Output json.RawMessage
	// Idempotent declares that running the action twice with the same
	// props has the effect of running it once (see provider.Action).
	Idempotent bool
	// Run performs the action. Its result is marshalled to JSON as the
	// output; a returned error becomes an error diagnostic (use *Error to
	// set the field or upstream status).
	Run func(c *Context) (any, error)
}

// Error is an error a piece reports to the user as a diagnostic.
type Error struct {
	Summary string
	Detail  string
	Field   string
	Status  int
}

// Error returns the summary and the detail.
func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Summary
	}
	return e.Summary + ": " + e.Detail
}

// Errorf returns an *Error whose summary is formatted.
func Errorf(format string, args ...any) *Error {
	return &Error{Summary: fmt.Sprintf(format, args...)}
}

// FieldError returns an *Error about the named input field.
func FieldError(field, summary string) *Error {
	return &Error{Summary: summary, Field: field}
}

// Manifest returns the manifest JSON of p as atom_manifest reports it.
func (p *Piece) Manifest() ManifestJSON {
	m := ManifestJSON{
		ID: p.ID, Name: p.Name, Version: p.Version, Description: p.Description,
		Categories: p.Categories, ABI: ABIVersion, Hosts: p.Hosts, Auth: p.Auth, Limits: p.Limits,
	}
	if m.Hosts == nil {
		m.Hosts = []string{}
	}
	for _, a := range p.Actions {
		m.Actions = append(m.Actions, ActionJSON{
			Name: a.Name, DisplayName: a.DisplayName, Description: a.Description,
			Input: InputSchema(a.Props), Output: a.Output, Idempotent: a.Idempotent,
		})
	}
	for _, t := range p.Triggers {
		m.Triggers = append(m.Triggers, TriggerJSON{
			Name: t.Name, DisplayName: t.DisplayName, Description: t.Description, Kind: t.Kind,
			Input: InputSchema(t.Props), Output: t.Output, Sample: t.Sample,
		})
	}
	return m
}

// Host is the set of host functions a running piece uses. Inside a wasm
// module it is the atom import module; tests may supply their own.
type Host interface {
	// HTTP sends req and returns the response.
	HTTP(req HTTPRequest) (*HTTPResponse, error)
	// Credentials returns the execution's credentials.
	Credentials() (Credentials, error)
	// Refresh forces a refresh of the execution's connection.
	Refresh() (Credentials, error)
	// StoreGet reads a key of the tenant's store for this piece.
	StoreGet(key string) ([]byte, bool, error)
	// StorePut writes a key of the tenant's store for this piece.
	StorePut(key string, value []byte) error
	// Log records a line in the host's log.
	Log(level int, msg string)
}

// Context is what an action's Run receives: the execution's input and
// access to the host. It is valid only during that Run.
type Context struct {
	ExecutionID string
	TenantID    string
	Action      string
	// Input is the validated input object.
	Input json.RawMessage
	// BaseURL is the provider API base URL chosen by the host, or "".
	BaseURL string
	host    Host
	fields  map[string]json.RawMessage
}

// NewContext returns a Context for in, served by host. The wasm glue uses
// it; tests use it to run an action outside wasm.
func NewContext(in ExecuteInput, host Host) *Context {
	return &Context{
		ExecutionID: in.ExecutionID, TenantID: in.TenantID, Action: in.Action,
		Input: in.Input, BaseURL: in.BaseURL, host: host,
	}
}

// Bind decodes the input into v.
func (c *Context) Bind(v any) error {
	if len(c.Input) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.Input, v); err != nil {
		return &Error{Summary: "invalid input", Detail: err.Error()}
	}
	return nil
}

func (c *Context) field(name string) json.RawMessage {
	if c.fields == nil {
		c.fields = map[string]json.RawMessage{}
		if !decodeFields(c.Input, c.fields) {
			clear(c.fields)
			_ = json.Unmarshal(c.Input, &c.fields)
		}
	}
	return c.fields[name]
}

// String returns the named string input, or "" when absent or not a string.
func (c *Context) String(name string) string {
	return stringValue(c.field(name))
}

// Has reports whether the input holds the named field with a non-null value.
func (c *Context) Has(name string) bool {
	f := c.field(name)
	return len(f) > 0 && string(f) != "null"
}

// Raw returns the named input field's JSON, or nil.
func (c *Context) Raw(name string) json.RawMessage { return c.field(name) }

// Require returns the named string input or a field error when it is empty.
func (c *Context) Require(name string) (string, error) {
	s := c.String(name)
	if s == "" {
		return "", FieldError(name, name+" is required")
	}
	return s, nil
}

// Credentials returns the execution's credentials.
func (c *Context) Credentials() (Credentials, error) { return c.host.Credentials() }

// Refresh forces a refresh of the connection (after a 401) and returns the
// new credentials.
func (c *Context) Refresh() (Credentials, error) { return c.host.Refresh() }

// StoreGet reads key from the tenant's store for this piece.
func (c *Context) StoreGet(key string) ([]byte, bool, error) { return c.host.StoreGet(key) }

// StorePut writes key to the tenant's store for this piece.
func (c *Context) StorePut(key string, value []byte) error { return c.host.StorePut(key, value) }

// Logf records a formatted line in the host's log at level.
func (c *Context) Logf(level int, format string, args ...any) {
	c.host.Log(level, fmt.Sprintf(format, args...))
}

// Do sends req through the host.
func (c *Context) Do(req HTTPRequest) (*HTTPResponse, error) { return c.host.HTTP(req) }

// JSON sends a request with a JSON body (when body is not nil) and the
// given headers, and returns the response. Header values may be empty to
// leave them out.
func (c *Context) JSON(method, rawURL string, headers map[string]string, body any) (*HTTPResponse, error) {
	req := HTTPRequest{Method: method, URL: rawURL, Headers: map[string][]string{"Accept": {"application/json"}}}
	for k, v := range headers {
		if v != "" {
			req.Headers[k] = []string{v}
		}
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request body: %w", err)
		}
		req.Body = string(b)
		req.Headers["Content-Type"] = []string{"application/json"}
	}
	return c.host.HTTP(req)
}

// URL joins base and a path and sets query parameters; empty values are
// left out.
func URL(base, path string, query map[string]string) string {
	u := strings.TrimRight(base, "/") + path
	q := url.Values{}
	for k, v := range query {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// Bytes returns the response body.
func (r *HTTPResponse) Bytes() []byte {
	if r.BodyBase64 != "" {
		b, _ := base64.StdEncoding.DecodeString(r.BodyBase64)
		return b
	}
	return []byte(r.Body)
}

// Header returns the first value of the named response header.
func (r *HTTPResponse) Header(name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// OK reports whether the status is 2xx.
func (r *HTTPResponse) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Decode decodes a JSON body into v.
func (r *HTTPResponse) Decode(v any) error {
	if err := json.Unmarshal(r.Bytes(), v); err != nil {
		return &Error{Summary: "unexpected response from provider", Detail: err.Error(), Status: r.Status}
	}
	return nil
}

// Output returns the JSON body as an output value; an empty body gives nil.
func (r *HTTPResponse) Output() (any, error) {
	b := r.Bytes()
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, nil
	}
	if !json.Valid(b) {
		return map[string]any{"status": r.Status, "body": string(b)}, nil
	}
	return json.RawMessage(b), nil
}

// Fail returns an *Error describing a non-2xx response, with up to 1 KiB of
// its body as the detail.
func (r *HTTPResponse) Fail(summary string) *Error {
	detail := string(r.Bytes())
	if len(detail) > 1024 {
		detail = detail[:1024]
	}
	return &Error{Summary: fmt.Sprintf("%s (HTTP %d)", summary, r.Status), Detail: detail, Status: r.Status}
}

// Execute runs the action named in in and returns the response JSON. The
// wasm glue calls it from atom_execute; it never panics on a bad request.
func (p *Piece) Execute(in []byte, host Host) []byte {
	return p.appendExecute(nil, in, host)
}

// appendExecute runs the action named in in and appends the response JSON
// to dst.
func (p *Piece) appendExecute(dst, in []byte, host Host) []byte {
	var req ExecuteInput
	if !decodeExecuteInput(in, &req) {
		req = ExecuteInput{}
		if err := json.Unmarshal(in, &req); err != nil {
			return appendFailure(dst, diagnostic(&Error{Summary: "invalid execute request", Detail: err.Error()}))
		}
	}
	for i := range p.Actions {
		a := &p.Actions[i]
		if a.Name != req.Action {
			continue
		}
		out, err := a.Run(NewContext(req, host))
		if err != nil {
			return appendFailure(dst, diagnostic(err))
		}
		// The envelope is written by hand around the output, whose JSON
		// is json.Marshal's (or the same bytes from the fast path), so it
		// needs no second validation pass.
		start := len(dst)
		dst = append(dst, `{"output":`...)
		dst, err = appendOutput(dst, out)
		if err != nil {
			return appendFailure(dst[:start], diagnostic(&Error{Summary: "encode output", Detail: err.Error()}))
		}
		return append(dst, '}')
	}
	return appendFailure(dst, diagnostic(&Error{Summary: fmt.Sprintf("unknown action %q", req.Action)}))
}

func failure(err error) []byte { return appendFailure(nil, diagnostic(err)) }

// diagnostic returns the error diagnostic reporting err.
func diagnostic(err error) Diagnostic {
	d := Diagnostic{Severity: "error", Summary: err.Error()}
	var pe *Error
	if errors.As(err, &pe) {
		d.Summary, d.Detail, d.Field, d.Status = pe.Summary, pe.Detail, pe.Field, pe.Status
	}
	return d
}

var registered *Piece

// Register makes p the piece this module serves. Call it once from an init
// function of the piece's main package.
func Register(p *Piece) {
	if registered != nil {
		panic("piece: Register called twice")
	}
	registered = p
}

// Define validates p and returns it, ready for Register. It panics on a
// piece without an id or with duplicate or empty action names, so that a
// broken piece fails at start-up rather than at its first call.
func Define(p Piece) *Piece {
	if p.ID == "" {
		panic("piece: Define without ID")
	}
	seen := map[string]bool{}
	for _, a := range p.Actions {
		if a.Name == "" || seen[a.Name] || a.Run == nil {
			panic(fmt.Sprintf("piece %s: action %q is empty, duplicated or has no Run", p.ID, a.Name))
		}
		seen[a.Name] = true
	}
	if p.Version == "" {
		p.Version = "0.1.0"
	}
	return &p
}
