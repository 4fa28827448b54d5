package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
)

// TriggerDef defines one trigger of a Builder: its manifest entry and the
// functions of its kind (Poll for polling; Enable, Disable and Handle for
// webhook; Handle for app webhook, with Builder.Router).
type TriggerDef struct {
	Name        string
	DisplayName string
	Description string
	// Kind is TriggerPolling, TriggerWebhook or TriggerAppWebhook.
	Kind string
	// Input and Output are JSON Schemas (Input defaults to an empty
	// object schema); Sample is an example payload.
	Input  json.RawMessage
	Output json.RawMessage
	Sample json.RawMessage

	Poll    func(ctx context.Context, req TriggerRequest, state json.RawMessage) (PollResult, error)
	Enable  func(ctx context.Context, req TriggerRequest, webhookURL string) (json.RawMessage, error)
	Disable func(ctx context.Context, req TriggerRequest, registration json.RawMessage) error
	Handle  func(ctx context.Context, req TriggerRequest, hook WebhookRequest, registration json.RawMessage) (HandleResult, error)
}

var (
	_ Poller           = (*Builder)(nil)
	_ WebhookTriggers  = (*Builder)(nil)
	_ AppWebhookRouter = (*Builder)(nil)
)

// Trigger registers a trigger. It panics on an empty or duplicate name, an
// unknown kind or a function its kind needs left nil: programming errors
// found at start-up.
func (b *Builder) Trigger(def TriggerDef) *Builder {
	if def.Name == "" {
		panic("provider: trigger without a name")
	}
	if b.triggers[def.Name] != nil {
		panic("provider: duplicate trigger " + def.Name)
	}
	switch def.Kind {
	case TriggerPolling:
		if def.Poll == nil {
			panic("provider: polling trigger " + def.Name + " has no Poll")
		}
	case TriggerWebhook:
		if def.Enable == nil || def.Disable == nil || def.Handle == nil {
			panic("provider: webhook trigger " + def.Name + " needs Enable, Disable and Handle")
		}
	case TriggerAppWebhook:
		if def.Handle == nil {
			panic("provider: app webhook trigger " + def.Name + " has no Handle")
		}
	default:
		panic(fmt.Sprintf("provider: trigger %s has unknown kind %q", def.Name, def.Kind))
	}
	if len(def.Input) == 0 {
		def.Input = json.RawMessage(`{"type":"object"}`)
	}
	if b.triggers == nil {
		b.triggers = map[string]*TriggerDef{}
	}
	b.triggers[def.Name] = &def
	b.torder = append(b.torder, def.Name)
	return b
}

// Router sets the router of the provider's app webhook triggers (see
// AppWebhookRouter).
func (b *Builder) Router(fn func(ctx context.Context, hook WebhookRequest) (string, error)) *Builder {
	b.route = fn
	return b
}

func (b *Builder) triggerManifest() []Trigger {
	if len(b.torder) == 0 {
		return nil
	}
	names := append([]string(nil), b.torder...)
	sort.Strings(names)
	out := make([]Trigger, 0, len(names))
	for _, n := range names {
		d := b.triggers[n]
		out = append(out, Trigger{Name: d.Name, DisplayName: d.DisplayName, Description: d.Description,
			Kind: d.Kind, Input: d.Input, Output: d.Output, Sample: d.Sample})
	}
	return out
}

func (b *Builder) trigger(name string) (*TriggerDef, error) {
	if d := b.triggers[name]; d != nil {
		return d, nil
	}
	return nil, fmt.Errorf("%w: unknown trigger %q", ErrTriggerUnsupported, name)
}

// Poll runs the polling trigger req names.
func (b *Builder) Poll(ctx context.Context, req TriggerRequest, state json.RawMessage) (PollResult, error) {
	d, err := b.trigger(req.Trigger)
	if err != nil || d.Poll == nil {
		return PollResult{}, unsupported(err, req.Trigger, "poll")
	}
	return d.Poll(ctx, req, state)
}

// Enable registers the webhook trigger req names.
func (b *Builder) Enable(ctx context.Context, req TriggerRequest, webhookURL string) (json.RawMessage, error) {
	d, err := b.trigger(req.Trigger)
	if err != nil || d.Enable == nil {
		return nil, unsupported(err, req.Trigger, "enable")
	}
	return d.Enable(ctx, req, webhookURL)
}

// Disable removes the registration of the webhook trigger req names.
func (b *Builder) Disable(ctx context.Context, req TriggerRequest, registration json.RawMessage) error {
	d, err := b.trigger(req.Trigger)
	if err != nil || d.Disable == nil {
		return unsupported(err, req.Trigger, "disable")
	}
	return d.Disable(ctx, req, registration)
}

// Handle handles a provider request for the trigger req names.
func (b *Builder) Handle(ctx context.Context, req TriggerRequest, hook WebhookRequest, registration json.RawMessage) (HandleResult, error) {
	d, err := b.trigger(req.Trigger)
	if err != nil || d.Handle == nil {
		return HandleResult{}, unsupported(err, req.Trigger, "handle")
	}
	return d.Handle(ctx, req, hook, registration)
}

// Route routes an app webhook request with the function set by Router.
func (b *Builder) Route(ctx context.Context, hook WebhookRequest) (string, error) {
	if b.route == nil {
		return "", fmt.Errorf("%w: no app webhook router", ErrTriggerUnsupported)
	}
	return b.route(ctx, hook)
}

func unsupported(err error, name, op string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: trigger %q has no %s", ErrTriggerUnsupported, name, op)
}
