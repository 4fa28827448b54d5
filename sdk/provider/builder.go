package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
)

// Builder is a Provider assembled from a manifest and typed action
// handlers. Register actions at start-up, then hand the Builder to Serve.
// A Builder is not safe for concurrent registration, but once served its
// Execute is safe for concurrent use.
type Builder struct {
	manifest Manifest
	actions  map[string]*ActionDef
	order    []string
	http     HTTPOptions

	triggers map[string]*TriggerDef
	torder   []string
	route    func(ctx context.Context, hook WebhookRequest) (string, error)
}

var _ Provider = (*Builder)(nil)

// ActionDef defines one action: its manifest entry and its handler.
type ActionDef struct {
	// Name is the action's identifier (snake_case).
	Name        string
	DisplayName string
	Description string
	// Input and Output are JSON Schemas; Input defaults to an empty object
	// schema.
	Input  json.RawMessage
	Output json.RawMessage
	// Idempotent: see Action.Idempotent.
	Idempotent bool
	// Handle runs the action. Its result is marshalled to JSON as the
	// output (a json.RawMessage or []byte is used as is). A returned error
	// becomes diagnostics, see Diagnostics.
	Handle func(ctx context.Context, call *Call) (any, error)
}

// New returns a Builder for the provider m describes. Actions and triggers
// listed in m are replaced by those registered with Action and Trigger.
func New(m Manifest) *Builder {
	m.Actions, m.Triggers = nil, nil
	return &Builder{manifest: m, actions: map[string]*ActionDef{}}
}

// Action registers an action. It panics on an empty or duplicate name or a
// nil handler: those are programming errors found at start-up.
func (b *Builder) Action(def ActionDef) *Builder {
	switch {
	case def.Name == "":
		panic("provider: action without a name")
	case def.Handle == nil:
		panic("provider: action " + def.Name + " has no handler")
	case b.actions[def.Name] != nil:
		panic("provider: duplicate action " + def.Name)
	}
	if len(def.Input) == 0 {
		def.Input = json.RawMessage(`{"type":"object"}`)
	}
	b.actions[def.Name] = &def
	b.order = append(b.order, def.Name)
	return b
}

// HTTP sets the options of the HTTP client handlers get from Call.HTTP.
func (b *Builder) HTTP(opts HTTPOptions) *Builder {
	b.http = opts
	return b
}

// Manifest returns the manifest with the registered actions, sorted by
// name.
func (b *Builder) Manifest() Manifest {
	m := b.manifest
	names := append([]string(nil), b.order...)
	sort.Strings(names)
	m.Actions = make([]Action, 0, len(names))
	for _, n := range names {
		d := b.actions[n]
		m.Actions = append(m.Actions, Action{
			Name:        d.Name,
			DisplayName: d.DisplayName,
			Description: d.Description,
			Input:       d.Input,
			Output:      d.Output,
			Idempotent:  d.Idempotent,
		})
	}
	m.Triggers = b.triggerManifest()
	return m
}

// Execute runs the action req names. It never returns an error: unknown
// actions, handler errors and panics become error diagnostics.
func (b *Builder) Execute(ctx context.Context, req Request) (resp Response, err error) {
	def := b.actions[req.Action]
	if def == nil {
		return Response{Diagnostics: []Diagnostic{{
			Severity: SeverityError,
			Summary:  fmt.Sprintf("unknown action %q", req.Action),
		}}}, nil
	}
	if _, ok := ctx.Value(callKey).(*callState); !ok {
		ctx = WithRequest(ctx, req)
	}
	call := &Call{ctx: ctx, req: req, b: b}
	defer func() {
		if r := recover(); r != nil {
			resp = Response{Diagnostics: append(call.warnings, Diagnostic{
				Severity: SeverityError,
				Summary:  fmt.Sprintf("internal error in action %s", req.Action),
				Detail:   fmt.Sprint(r),
			})}
			err = nil
		}
	}()
	out, herr := def.Handle(ctx, call)
	if herr != nil {
		return Response{Diagnostics: append(call.warnings, Diagnostics(herr)...)}, nil
	}
	raw, merr := marshalOutput(out)
	if merr != nil {
		return Response{Diagnostics: append(call.warnings, Diagnostic{
			Severity: SeverityError,
			Summary:  fmt.Sprintf("action %s returned output that is not JSON", req.Action),
			Detail:   merr.Error(),
		})}, nil
	}
	return Response{Output: raw, Diagnostics: call.warnings}, nil
}

func marshalOutput(v any) (json.RawMessage, error) {
	switch o := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return o, nil
	case []byte:
		if !json.Valid(o) {
			return nil, fmt.Errorf("invalid JSON bytes")
		}
		return o, nil
	}
	return json.Marshal(v)
}

// Call is one execution of an action as its handler sees it. It is valid
// only during the handler.
type Call struct {
	ctx      context.Context
	req      Request
	b        *Builder
	warnings []Diagnostic
}

// Request returns the execution's request.
func (c *Call) Request() Request { return c.req }

// Credentials returns the execution's current credentials.
func (c *Call) Credentials() Credentials {
	creds, _ := CredentialsFrom(c.ctx)
	return creds
}

// Decode decodes the action's input into v. On malformed input it returns
// a user error diagnostic naming the offending field when it can.
func (c *Call) Decode(v any) error {
	in := c.req.Input
	if len(bytes.TrimSpace(in)) == 0 {
		in = json.RawMessage(`{}`)
	}
	if err := json.Unmarshal(in, v); err != nil {
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			return UserError(te.Field, fmt.Sprintf("must be of type %s", te.Type))
		}
		return UserError("", "input is not valid JSON: "+err.Error())
	}
	return nil
}

// HTTP returns an HTTP client for the provider's API, set up with the
// Builder's HTTPOptions and the execution's credentials.
func (c *Call) HTTP() *HTTPClient { return Client(c.ctx, c.b.http) }

// Host returns the execution's Host.
func (c *Call) Host() Host { return HostFrom(c.ctx) }

// Log records a line in the host's log for this execution.
func (c *Call) Log(level, msg string) { HostFrom(c.ctx).Log(c.ctx, level, msg) }

// Warn adds a warning diagnostic to the response.
func (c *Call) Warn(summary string) {
	c.warnings = append(c.warnings, Diagnostic{Severity: SeverityWarning, Summary: summary})
}

// Typed adapts a handler taking its input decoded into In to
// ActionDef.Handle:
//
//	Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in Input) (any, error) { ... })
func Typed[In any](fn func(ctx context.Context, call *Call, in In) (any, error)) func(context.Context, *Call) (any, error) {
	return func(ctx context.Context, call *Call) (any, error) {
		var in In
		if err := call.Decode(&in); err != nil {
			return nil, err
		}
		return fn(ctx, call, in)
	}
}
