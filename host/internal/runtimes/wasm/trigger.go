package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/atomhq/atom/host/internal/outbound"
	hostrt "github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/triggers"
	"github.com/atomhq/atom/sdk/piece"
	"github.com/atomhq/atom/sdk/provider"
)

var _ hostrt.Triggers = (*Piece)(nil)

// triggerCallInput is the atom_trigger request: a provider.TriggerCall
// without credentials, which reach the guest only through the
// credentials host function, as for atom_execute.
type triggerCallInput struct {
	Op           string                   `json:"op"`
	ExecutionID  string                   `json:"execution_id"`
	TenantID     string                   `json:"tenant_id"`
	Trigger      string                   `json:"trigger"`
	Input        json.RawMessage          `json:"input,omitempty"`
	BaseURL      string                   `json:"base_url,omitempty"`
	State        json.RawMessage          `json:"state,omitempty"`
	WebhookURL   string                   `json:"webhook_url,omitempty"`
	Registration json.RawMessage          `json:"registration,omitempty"`
	Webhook      *provider.WebhookRequest `json:"webhook,omitempty"`
}

// triggerCallOutput is the atom_trigger result.
type triggerCallOutput struct {
	provider.TriggerResult
	Error *piece.TriggerError `json:"error,omitempty"`
}

// Trigger runs one trigger operation on a pooled instance through the
// module's atom_trigger export, with the same deadline, tenant pool,
// outbound scope and host functions as Execute (a route call gets no
// credentials and may send no request). The result is read only up to
// triggers.MaxResultBytes and checked against triggers.DefaultLimits; an
// instance whose answer is not valid JSON is discarded.
func (p *Piece) Trigger(ctx context.Context, call provider.TriggerCall, host hostrt.Host) (provider.TriggerResult, error) {
	if err := triggers.Allowed(p.manifest, call); err != nil {
		return provider.TriggerResult{}, fmt.Errorf("piece %s: %v: %w", p.spec.ID, err, hostrt.ErrUnknownTrigger)
	}
	route := call.Op == provider.TriggerOpRoute
	if route {
		call.TriggerRequest, host = provider.TriggerRequest{}, nil
	}
	in, err := json.Marshal(triggerCallInput{
		Op: call.Op, ExecutionID: call.ExecutionID, TenantID: call.TenantID, Trigger: call.Trigger,
		Input: call.Input, BaseURL: call.BaseURL, State: call.State, WebhookURL: call.WebhookURL,
		Registration: call.Registration, Webhook: call.Webhook,
	})
	if err != nil {
		return provider.TriggerResult{}, fmt.Errorf("encode trigger request: %w", err)
	}
	ctx = outbound.Scope(ctx, call.TenantID, p.spec.ID)
	inst, err := p.acquire(ctx, call.TenantID)
	if err != nil {
		return provider.TriggerResult{}, err
	}
	ok := false
	defer func() { p.releaseInstance(inst, ok) }()
	fn := inst.mod.ExportedFunction("atom_trigger")
	if fn == nil {
		ok = true
		return provider.TriggerResult{}, fmt.Errorf("piece %s lists triggers but exports no atom_trigger: %w", p.spec.ID, hostrt.ErrUnknownTrigger)
	}

	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	stop := context.AfterFunc(p.ctx, cancel)
	defer stop()
	req := provider.Request{ExecutionID: call.ExecutionID, TenantID: call.TenantID, Action: call.Trigger,
		Input: call.Input, Credentials: call.Credentials, BaseURL: call.BaseURL}
	st := &callState{piece: p, req: &req, host: host, noEgress: route}
	if req.BaseURL != "" {
		st.baseHost = hostOf(req.BaseURL)
	}
	what := "trigger " + call.Trigger + " " + call.Op
	out, err := inst.trigger(context.WithValue(ctx, callKey{}, st), fn, in, triggers.MaxResultBytes)
	st.finish(inst)
	if errors.Is(err, ErrOutputLimit) {
		return provider.TriggerResult{}, fmt.Errorf("piece %s %s: %w: %w", p.spec.ID, what, triggers.ErrInvalidResult, err)
	}
	if err != nil {
		return provider.TriggerResult{}, p.callError(ctx, what, inst, err)
	}
	var res triggerCallOutput
	if err := json.Unmarshal(out, &res); err != nil {
		return provider.TriggerResult{}, fmt.Errorf("piece %s %s: %w: invalid response: %v", p.spec.ID, what, ErrTrap, err)
	}
	// As in Execute: a deadline passing as the call ended may have the
	// watcher close the module, so the instance is not reused then.
	ok = ctx.Err() == nil
	if e := res.Error; e != nil {
		switch e.Code {
		case "signature_invalid":
			return provider.TriggerResult{}, fmt.Errorf("piece %s: %w (%s)", p.spec.ID, provider.ErrInvalidSignature, e.Message)
		case "unsupported":
			return provider.TriggerResult{}, fmt.Errorf("piece %s: %s: %w", p.spec.ID, e.Message, hostrt.ErrUnknownTrigger)
		}
		return provider.TriggerResult{}, fmt.Errorf("piece %s: %w: %s", p.spec.ID, hostrt.ErrTriggerFailed, e.Message)
	}
	if err := triggers.Check(call.Op, res.TriggerResult, triggers.DefaultLimits); err != nil {
		return provider.TriggerResult{}, fmt.Errorf("piece %s: %w", p.spec.ID, err)
	}
	return res.TriggerResult, nil
}

// trigger calls atom_trigger as execute calls atom_execute.
func (inst *instance) trigger(ctx context.Context, fn interface {
	CallWithStack(context.Context, []uint64) error
}, in []byte, limit int) ([]byte, error) {
	inst.stderr.Reset()
	inst.stack[0] = uint64(len(in))
	if err := inst.alloc.CallWithStack(ctx, inst.stack[:]); err != nil {
		return nil, err
	}
	ptr := uint32(inst.stack[0])
	if !inst.mod.Memory().Write(ptr, in) {
		return nil, fmt.Errorf("atom_alloc returned %d, outside guest memory", ptr)
	}
	inst.stack[0], inst.stack[1] = uint64(ptr), uint64(len(in))
	if err := fn.CallWithStack(ctx, inst.stack[:]); err != nil {
		return nil, err
	}
	return inst.result(inst.stack[0], limit, ErrOutputLimit)
}
