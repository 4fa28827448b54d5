package jspiece

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"

	hostrt "github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/provider"
)

// Artifact is a bundled piece: what `atom pieces add` writes.
type Artifact struct {
	// ID is the Atom provider id (the package name without
	// "@activepieces/piece-").
	ID string `json:"id"`
	// Package and Version name the npm package bundled.
	Package string `json:"package"`
	Version string `json:"version"`
	// Hosts are the hosts the piece may fetch from (exact or *.domain).
	Hosts []string `json:"hosts"`
	// Source is the bundle: CommonJS that assigns module.exports.
	Source []byte `json:"-"`
}

// Piece is one loaded JS piece. It implements runtimes.Implementation.
type Piece struct {
	rt       *Runtime
	id       string
	hosts    []string
	src      []byte
	snap     []byte // linear memory with the bundle loaded
	cached   bool   // snap came from the cache directory
	spec     Spec
	manifest provider.Manifest

	sem    chan struct{} // one token per call running
	mu     sync.Mutex
	closed bool
	idle   []*instance // each bound to the tenant it served
}

// Spec is the piece as its framework object describes it.
type Spec struct {
	DisplayName string       `json:"displayName"`
	Description string       `json:"description"`
	Categories  []string     `json:"categories"`
	Auth        []AuthSpec   `json:"auth"`
	Actions     []ActionSpec `json:"actions"`
	// Triggers are the piece's triggers, run by Piece.Trigger.
	Triggers []TriggerSpec `json:"triggers"`
}

// TriggerSpec is one trigger of the piece.
type TriggerSpec struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
	// Type is the framework's TriggerStrategy: POLLING, WEBHOOK or
	// APP_WEBHOOK.
	Type       string              `json:"type"`
	Props      map[string]PropSpec `json:"props"`
	SampleData json.RawMessage     `json:"sampleData,omitempty"`
}

// AuthSpec is one PieceAuth of the piece.
type AuthSpec struct {
	Type        string              `json:"type"`
	DisplayName string              `json:"displayName,omitempty"`
	Description string              `json:"description,omitempty"`
	AuthURL     string              `json:"authUrl,omitempty"`
	TokenURL    string              `json:"tokenUrl,omitempty"`
	Scope       []string            `json:"scope,omitempty"`
	Props       map[string]PropSpec `json:"props,omitempty"`
}

// ActionSpec is one action of the piece.
type ActionSpec struct {
	Name        string              `json:"name"`
	DisplayName string              `json:"displayName"`
	Description string              `json:"description"`
	Props       map[string]PropSpec `json:"props"`
	RequireAuth bool                `json:"requireAuth"`
}

// PropSpec is one property of an action or auth.
type PropSpec struct {
	Type           string              `json:"type"`
	DisplayName    string              `json:"displayName"`
	Description    string              `json:"description"`
	Required       bool                `json:"required"`
	DefaultValue   json.RawMessage     `json:"defaultValue,omitempty"`
	Options        []DropdownOption    `json:"options,omitempty"`
	Properties     map[string]PropSpec `json:"properties,omitempty"`
	DynamicOptions bool                `json:"dynamicOptions,omitempty"`
}

// DropdownOption is one option of a static dropdown.
type DropdownOption struct {
	Label string          `json:"label"`
	Value json.RawMessage `json:"value"`
}

// wrap makes a CommonJS bundle a script that registers its exports.
func wrap(src []byte) []byte {
	var b strings.Builder
	b.WriteString("(function(){var module={exports:{}};var exports=module.exports;(function(module,exports,require){\n")
	b.Write(src)
	b.WriteString("\n})(module,exports,globalThis.require);globalThis.__atom_register(module.exports);})();")
	return []byte(b.String())
}

// Load evaluates the artifact's bundle in a first instance, reads the
// piece's description and returns the piece.
func (r *Runtime) Load(ctx context.Context, a Artifact) (*Piece, error) {
	if a.ID == "" {
		return nil, fmt.Errorf("%w: artifact without id", ErrInvalidPiece)
	}
	for _, h := range a.Hosts {
		if err := validHost(h); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidPiece, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.LoadTimeout)
	defer cancel()
	p := &Piece{rt: r, id: a.ID, hosts: a.Hosts, src: wrap(a.Source), sem: make(chan struct{}, r.cfg.MaxConcurrent)}
	cache := r.snapPath(p.src)
	if mem, raw, ok := r.readSnap(cache); ok {
		if err := json.Unmarshal(raw, &p.spec); err == nil {
			p.manifest = p.spec.manifest(a)
			p.snap = mem
			p.cached = true
			return p, nil
		}
	}
	in, err := r.newInstance(ctx, p.src)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", a.ID, err)
	}
	ctx = context.WithValue(ctx, callKey{}, &callState{})
	raw, err := in.evalResult(ctx, "__atom_describe()")
	if err != nil {
		in.close()
		return nil, fmt.Errorf("load %s: %w", a.ID, r.guestError(ctx, "describe", err))
	}
	if err := json.Unmarshal(raw, &p.spec); err != nil {
		in.close()
		return nil, fmt.Errorf("load %s: %w: description: %v", a.ID, ErrInvalidPiece, err)
	}
	p.manifest = p.spec.manifest(a)
	if err := in.settle(ctx, r.headroom()); err != nil {
		in.close()
		return nil, fmt.Errorf("load %s: %w", a.ID, r.guestError(ctx, "collect", err))
	}
	// Instances start from this one's memory: a copy, not a parse. It is
	// not kept itself: a loaded piece holds only its snapshot until calls
	// come (the first clones it in milliseconds).
	p.snap = in.snapshot()
	in.close()
	r.writeSnap(cache, p.snap, raw)
	return p, nil
}

// evalResult evaluates expr, which must yield a string, and returns it.
func (in *instance) evalResult(ctx context.Context, expr string) ([]byte, error) {
	return in.evalSrc(ctx, []byte(expr))
}

// Spec returns the piece's description.
func (p *Piece) Spec() Spec { return p.spec }

// Kind implements runtimes.Implementation.
func (p *Piece) Kind() string { return hostrt.KindPiece }

// Manifest implements runtimes.Implementation.
func (p *Piece) Manifest() provider.Manifest { return p.manifest }

// Close closes the idle instances; calls under way finish.
func (p *Piece) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, in := range idle {
		in.close()
	}
}

// take returns an idle instance that served tenant, or nil.
func (p *Piece) take(tenant string) *instance {
	p.mu.Lock()
	var found *instance
	var dead []*instance
	kept := p.idle[:0]
	for _, in := range p.idle {
		switch {
		case in.mod.IsClosed():
			// Closed since it went idle: it could only fail.
			dead = append(dead, in)
		case found == nil && in.tenant == tenant:
			found = in
		default:
			kept = append(kept, in)
		}
	}
	clear(p.idle[len(kept):])
	p.idle = kept
	p.mu.Unlock()
	for _, in := range dead {
		in.close()
	}
	return found
}

// put returns a healthy instance to the pool, bound to its tenant, unless
// its memory grew by recycleAt since the snapshot: then it is
// discarded before it needs a garbage collection.
func (p *Piece) put(in *instance) {
	p.mu.Lock()
	if p.closed || in.mod.IsClosed() || uint64(in.mod.Memory().Size()) > uint64(len(p.snap))+p.rt.recycleAt() {
		p.mu.Unlock()
		in.close()
		return
	}
	p.idle = append(p.idle, in)
	var drop *instance
	if len(p.idle) > p.rt.cfg.IdlePerPiece {
		drop = p.idle[0]
		p.idle = p.idle[1:]
	}
	p.mu.Unlock()
	if drop != nil {
		drop.close()
	}
}

// callInput is what __atom_call receives.
type callInput struct {
	Action      string          `json:"action,omitempty"`
	Auth        any             `json:"auth"`
	Props       json.RawMessage `json:"props"`
	ExecutionID string          `json:"execution_id"`
	TenantID    string          `json:"tenant_id"`
	// Options, when set, names a dropdown prop of Action: its options()
	// runs instead of the action (OptionsAction).
	Options *string `json:"options,omitempty"`
	// Trigger, when set, runs a trigger hook instead of an action.
	Trigger *triggerInput `json:"trigger,omitempty"`
	// noEgress refuses the call's fetches (an app webhook's route).
	noEgress bool
}

// callOutput is what __atom_tick returns when the call settled.
type callOutput struct {
	Output json.RawMessage `json:"output"`
	// Store is a trigger's store after the hook ran.
	Store json.RawMessage `json:"store,omitempty"`
	Error *struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"error"`
}

// Execute implements runtimes.Implementation: one action on an instance of
// the tenant's, under the call's deadline.
func (p *Piece) Execute(ctx context.Context, req provider.Request, host hostrt.Host) (provider.Response, error) {
	props := req.Input
	if len(props) == 0 {
		props = json.RawMessage(`{}`)
	}
	action, options, props, err := p.target(req.Action, props)
	if err != nil {
		return provider.Response{Diagnostics: []provider.Diagnostic{{Severity: provider.SeverityError, Summary: err.Error()}}}, nil
	}
	in := callInput{Action: action, Auth: p.auth(req.Credentials), Props: props,
		ExecutionID: req.ExecutionID, TenantID: req.TenantID, Options: options}
	out, err := p.invoke(ctx, req.BaseURL, host, in, "action "+req.Action, p.rt.cfg.MaxOutputBytes)
	if err != nil {
		return provider.Response{}, err
	}
	if out.Error != nil {
		return provider.Response{Diagnostics: []provider.Diagnostic{{Severity: provider.SeverityError,
			Summary: truncate(out.Error.Message, 2000)}}}, nil
	}
	if len(out.Output) == 0 {
		out.Output = json.RawMessage(`null`)
	}
	return provider.Response{Output: out.Output}, nil
}

// invoke runs one __atom_call on an instance of in's tenant, under the
// call's deadline: the instance goes back to the pool after a settled
// call and is discarded after anything else (a deadline, a trap, running
// out of memory, a result over maxOut bytes).
func (p *Piece) invoke(ctx context.Context, baseURL string, host hostrt.Host, in callInput, what string, maxOut int) (callOutput, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return callOutput{}, fmt.Errorf("%w: piece %s", ErrClosed, p.id)
	}
	ctx, cancel := context.WithTimeout(ctx, p.rt.cfg.CallTimeout)
	defer cancel()
	select {
	case p.sem <- struct{}{}:
		defer func() { <-p.sem }()
	case <-ctx.Done():
		return callOutput{}, fmt.Errorf("%w: %w", ErrDeadline, &hostrt.DeadlineError{What: "piece " + p.id + " waiting for a free instance", Limit: p.rt.cfg.CallTimeout})
	}
	inst := p.take(in.TenantID)
	if inst == nil {
		var err error
		if inst, err = p.rt.clone(ctx, p.snap); err != nil {
			return callOutput{}, fmt.Errorf("piece %s: %w", p.id, err)
		}
	}
	inst.tenant = in.TenantID
	st := &callState{piece: p, tenant: in.TenantID, host: host, baseHost: hostOf(baseURL), noEgress: in.noEgress}
	ctx = context.WithValue(ctx, callKey{}, st)
	b, err := json.Marshal(in)
	if err != nil {
		p.put(inst)
		return callOutput{}, fmt.Errorf("piece %s: %w", p.id, err)
	}
	raw, err := inst.run(ctx, inst.call, b)
	if st.dropped > 0 {
		p.rt.cfg.Logger.Warn("js piece log lines dropped: over the per-call limit", "piece", p.id, "execution_id", in.ExecutionID, "dropped", st.dropped)
	}
	if err != nil {
		// Whatever happened, the instance may hold a half-run call.
		inst.close()
		return callOutput{}, fmt.Errorf("piece %s %s: %w", p.id, what, p.rt.guestError(ctx, "call", err))
	}
	if len(raw) > maxOut {
		inst.close()
		return callOutput{}, fmt.Errorf("piece %s %s: %w: the result exceeds %d bytes", p.id, what, ErrTrap, maxOut)
	}
	var out callOutput
	if err := json.Unmarshal(raw, &out); err != nil {
		inst.close()
		return callOutput{}, fmt.Errorf("piece %s %s: %w: result: %v", p.id, what, ErrTrap, err)
	}
	if out.Error != nil && out.Error.Code == "out_of_memory" {
		// The engine may be left in any state: start afresh next time.
		inst.close()
		return callOutput{}, fmt.Errorf("piece %s %s: %w", p.id, what, ErrMemoryLimit)
	}
	if ctx.Err() != nil {
		// The deadline passed as the call ended: wazero's watcher may
		// close the module after it returned, so it is not reused.
		inst.close()
		return out, nil
	}
	p.put(inst)
	return out, nil
}

// auth builds the framework's context.auth from the connection's
// credentials, after the kind of the piece's first PieceAuth that fits.
func (p *Piece) auth(c provider.Credentials) any {
	switch c.Type {
	case "", "none":
		return nil
	case "oauth2", "oauth2_cc":
		data := map[string]any{}
		for k, v := range c.Metadata {
			data[k] = v
		}
		// Token metadata named by a path ("team.id") is also nested, as in
		// the provider's token response the piece reads (auth.data.team.id).
		for k, v := range c.Metadata {
			if strings.Contains(k, ".") {
				nest(data, strings.Split(k, "."), v)
			}
		}
		props := map[string]any{}
		for k, v := range c.Params {
			props[k] = v
		}
		return map[string]any{"type": "OAUTH2", "access_token": c.AccessToken, "token_type": c.TokenType, "data": data, "props": props}
	case "api_key":
		if name, ok := p.keyProp(); ok {
			// A piece asking for custom fields, one of them the key (OpenAI's
			// apiKey): an API-key connection fills that one.
			props := map[string]any{name: c.APIKey}
			for k, v := range c.Params {
				props[k] = v
			}
			return map[string]any{"type": "CUSTOM_AUTH", "props": props}
		}
		return map[string]any{"type": "SECRET_TEXT", "secret_text": c.APIKey}
	case "basic":
		return map[string]any{"type": "BASIC", "username": c.Username, "password": c.Password}
	default:
		props := map[string]any{}
		for k, v := range c.Params {
			props[k] = v
		}
		for k, v := range c.Fields {
			props[k] = v
		}
		return map[string]any{"type": "CUSTOM_AUTH", "props": props}
	}
}

// nest sets v at path in m, creating objects on the way; a path through a
// value that is not an object is left alone.
func nest(m map[string]any, path []string, v string) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p]
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		if m, ok = next.(map[string]any); !ok {
			return
		}
	}
	if _, ok := m[path[len(path)-1]]; !ok {
		m[path[len(path)-1]] = v
	}
}

// keyProp names the prop of the piece's custom auth that an API key fills,
// when the piece has no secret-text auth of its own: its only secret prop,
// or else its only prop named like a key or a token.
func (p *Piece) keyProp() (string, bool) {
	var custom *AuthSpec
	for i := range p.spec.Auth {
		switch p.spec.Auth[i].Type {
		case "SECRET_TEXT":
			return "", false
		case "CUSTOM_AUTH":
			if custom == nil {
				custom = &p.spec.Auth[i]
			}
		}
	}
	if custom == nil {
		return "", false
	}
	var secret, named []string
	for name, prop := range custom.Props {
		if prop.Type == propSecretText {
			secret = append(secret, name)
		}
		n := strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(name))
		if strings.HasSuffix(n, "key") || strings.HasSuffix(n, "token") {
			named = append(named, name)
		}
	}
	switch {
	case len(secret) == 1:
		return secret[0], true
	case len(named) == 1:
		return named[0], true
	}
	return "", false
}

func hostOf(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

func validHost(p string) error {
	h := strings.TrimPrefix(p, "*.")
	if h == "" || strings.ContainsAny(h, "*/:@ ") || !strings.Contains(h, ".") {
		return fmt.Errorf("host pattern %q must be a domain name or *.domain", p)
	}
	return nil
}

var _ hostrt.Implementation = (*Piece)(nil)
