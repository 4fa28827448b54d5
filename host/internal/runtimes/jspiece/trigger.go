package jspiece

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	hostrt "github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/triggers"
	"github.com/atomhq/atom/sdk/provider"
)

var (
	_ hostrt.Triggers = (*Piece)(nil)
	_ hostrt.Triggers = (*Handle)(nil)
)

// triggerInput is the trigger part of __atom_call's input: which hook of
// which trigger, the instance's store, and what the hook reads.
type triggerInput struct {
	Name string `json:"name"`
	// Op is the hook: "enable" (onEnable), "disable" (onDisable) or
	// "run".
	Op         string          `json:"op"`
	Store      json.RawMessage `json:"store,omitempty"`
	WebhookURL string          `json:"webhook_url,omitempty"`
	Payload    *hookPayload    `json:"payload,omitempty"`
	// Secret is the app's signing secret an app webhook request is
	// verified with (op "app").
	Secret string `json:"secret,omitempty"`
	// ReplyOnly: an app webhook request no account was routed to (no
	// instance, no connection) asks only for the piece's reply.
	ReplyOnly bool `json:"reply_only,omitempty"`
}

// appOutput is what op "app" returns: items, or the piece's reply to the
// provider (a challenge).
type appOutput struct {
	Items []json.RawMessage `json:"items"`
	Reply *struct {
		Body    json.RawMessage   `json:"body"`
		Headers map[string]string `json:"headers"`
	} `json:"reply"`
}

// routeOutput is what the piece's parseAndReply returns.
type routeOutput struct {
	Event           any `json:"event"`
	IdentifierValue any `json:"identifierValue"`
}

// hookPayload is the framework's context.payload of a webhook trigger's
// run: the request the provider sent.
type hookPayload struct {
	Body        any               `json:"body"`
	RawBody     string            `json:"rawBody"`
	Headers     map[string]string `json:"headers"`
	QueryParams map[string]string `json:"queryParams"`
}

// triggerState is what the host keeps for a JS piece's trigger instance:
// the piece's store (context.store), as the poll state of a polling
// instance and as the registration of a webhook one. Enabled is set once
// a polling trigger's onEnable ran.
type triggerState struct {
	Enabled bool            `json:"enabled,omitempty"`
	Store   json.RawMessage `json:"store,omitempty"`
	// SigningSecret is the app's signing secret the host adds to an app
	// webhook call's registration.
	SigningSecret string `json:"signing_secret,omitempty"`
}

// Trigger implements runtimes.Triggers as Activepieces' engine runs a
// trigger, on an instance of the call's tenant under the same deadline,
// memory cap and outbound policy as an action:
//
//   - poll: the first poll runs onEnable (pollingHelper seeds its dedupe
//     there) and reports nothing; every later one runs run. Its
//     context.store is the instance's poll state, returned as the next
//     state, so pollingHelper's TIMEBASED and LAST_ITEM dedupe runs on
//     state the host keeps per instance.
//   - enable: onEnable with context.webhookUrl the host's hook URL; its
//     store (where pieces keep the provider's webhook id) is the
//     registration.
//   - disable: onDisable with that store.
//   - handle: run with context.payload {body, rawBody, headers,
//     queryParams} from the provider's request.
//   - app webhooks: route runs the piece's events.parseAndReply and
//     answers its identifierValue (the account), without credentials and
//     without egress; handle runs events.verify with the app's signing
//     secret (false: provider.ErrInvalidSignature), parseAndReply (its
//     reply, a challenge, is passed back), onEnable to learn the events
//     the trigger listens to (app.createListeners), and run for a request
//     of one of them.
//
// Each item run returns is an event whose id is the SHA-256 of its JSON,
// so the engine's id dedupe never records one item twice. The result is
// checked against triggers.DefaultLimits.
func (p *Piece) Trigger(ctx context.Context, call provider.TriggerCall, host hostrt.Host) (provider.TriggerResult, error) {
	if err := triggers.Allowed(p.manifest, call); err != nil {
		return provider.TriggerResult{}, fmt.Errorf("piece %s: %v: %w", p.id, err, hostrt.ErrUnknownTrigger)
	}
	if call.Op == provider.TriggerOpRoute {
		return p.route(ctx, call)
	}
	var prev triggerState
	switch call.Op {
	case provider.TriggerOpPoll:
		if err := decodeState(call.State, &prev); err != nil {
			return provider.TriggerResult{}, fmt.Errorf("piece %s trigger %s: poll state: %w", p.id, call.Trigger, err)
		}
	case provider.TriggerOpDisable, provider.TriggerOpHandle:
		if err := decodeState(call.Registration, &prev); err != nil {
			return provider.TriggerResult{}, fmt.Errorf("piece %s trigger %s: registration: %w", p.id, call.Trigger, err)
		}
	}
	ti := &triggerInput{Name: call.Trigger, Store: prev.Store}
	switch call.Op {
	case provider.TriggerOpPoll:
		ti.Op = "run"
		if !prev.Enabled {
			ti.Op = "enable"
		}
	case provider.TriggerOpEnable:
		ti.Op, ti.WebhookURL = "enable", call.WebhookURL
	case provider.TriggerOpDisable:
		ti.Op = "disable"
	case provider.TriggerOpHandle:
		ti.Op = "run"
		if p.isApp(call.Trigger) {
			ti.Op, ti.Secret, ti.ReplyOnly = "app", prev.SigningSecret, call.TenantID == ""
		}
		if call.Webhook != nil {
			ti.Payload = payloadOf(*call.Webhook)
		}
	default:
		return provider.TriggerResult{}, fmt.Errorf("piece %s: operation %q: %w", p.id, call.Op, hostrt.ErrUnknownTrigger)
	}
	props := call.Input
	if len(props) == 0 {
		props = json.RawMessage(`{}`)
	}
	in := callInput{Auth: p.auth(call.Credentials), Props: props, ExecutionID: call.ExecutionID, TenantID: call.TenantID, Trigger: ti}
	what := "trigger " + call.Trigger + " " + call.Op
	out, err := p.invoke(ctx, call.BaseURL, host, in, what, triggers.MaxResultBytes)
	if err != nil {
		return provider.TriggerResult{}, err
	}
	if out.Error != nil {
		if out.Error.Code == "signature_invalid" {
			return provider.TriggerResult{}, fmt.Errorf("piece %s: %w (%s)", p.id, provider.ErrInvalidSignature, truncate(out.Error.Message, 200))
		}
		if out.Error.Code == "unknown_trigger" {
			return provider.TriggerResult{}, fmt.Errorf("piece %s: %s: %w", p.id, out.Error.Message, hostrt.ErrUnknownTrigger)
		}
		return provider.TriggerResult{}, fmt.Errorf("piece %s %s: %w: %s", p.id, what, hostrt.ErrTriggerFailed, truncate(out.Error.Message, 2000))
	}
	var res provider.TriggerResult
	next, err := json.Marshal(triggerState{Enabled: true, Store: emptyStore(out.Store)})
	if err != nil {
		return provider.TriggerResult{}, err
	}
	switch call.Op {
	case provider.TriggerOpPoll:
		res.State = next
	case provider.TriggerOpEnable:
		res.Registration = next
	}
	switch ti.Op {
	case "run":
		if res.Events, err = itemEvents(out.Output, triggers.DefaultLimits.MaxEvents); err != nil {
			return provider.TriggerResult{}, fmt.Errorf("piece %s %s: %w", p.id, what, err)
		}
	case "app":
		var ao appOutput
		if err := json.Unmarshal(out.Output, &ao); err != nil {
			return provider.TriggerResult{}, fmt.Errorf("piece %s %s: %w: %v", p.id, what, triggers.ErrInvalidResult, err)
		}
		if ao.Reply != nil {
			res.Reply = replyOf(ao.Reply.Body, ao.Reply.Headers)
		}
		items, _ := json.Marshal(ao.Items)
		if res.Events, err = itemEvents(items, triggers.DefaultLimits.MaxEvents); err != nil {
			return provider.TriggerResult{}, fmt.Errorf("piece %s %s: %w", p.id, what, err)
		}
	}
	if err := triggers.Check(call.Op, res, triggers.DefaultLimits); err != nil {
		return provider.TriggerResult{}, fmt.Errorf("piece %s %s: %w", p.id, what, err)
	}
	return res, nil
}

// Trigger runs a trigger operation on the current version, as Execute
// does.
func (h *Handle) Trigger(ctx context.Context, call provider.TriggerCall, host hostrt.Host) (provider.TriggerResult, error) {
	for {
		p := h.cur.Load()
		res, err := p.Trigger(ctx, call, host)
		if errors.Is(err, ErrClosed) && h.cur.Load() != p {
			continue
		}
		return res, err
	}
}

// route answers the account an app webhook request belongs to, from the
// piece's parseAndReply, run with no credentials, tenant or egress.
func (p *Piece) route(ctx context.Context, call provider.TriggerCall) (provider.TriggerResult, error) {
	ti := &triggerInput{Op: "route"}
	if call.Webhook != nil {
		ti.Payload = payloadOf(*call.Webhook)
	}
	in := callInput{Props: json.RawMessage(`{}`), Trigger: ti, noEgress: true}
	out, err := p.invoke(ctx, "", nil, in, "app webhook route", triggers.MaxResultBytes)
	if err != nil {
		return provider.TriggerResult{}, err
	}
	if out.Error != nil {
		return provider.TriggerResult{}, fmt.Errorf("piece %s app webhook route: %w: %s", p.id, hostrt.ErrTriggerFailed, truncate(out.Error.Message, 2000))
	}
	var ro routeOutput
	_ = json.Unmarshal(out.Output, &ro)
	var res provider.TriggerResult
	switch v := ro.IdentifierValue.(type) {
	case string:
		res.Route = v
	case float64:
		res.Route = strconv.FormatFloat(v, 'f', -1, 64)
	}
	if err := triggers.Check(call.Op, res, triggers.DefaultLimits); err != nil {
		return provider.TriggerResult{}, fmt.Errorf("piece %s app webhook route: %w", p.id, err)
	}
	return res, nil
}

// isApp reports whether the piece's trigger name is an app webhook one.
func (p *Piece) isApp(name string) bool {
	for _, t := range p.manifest.Triggers {
		if t.Name == name {
			return t.Kind == provider.TriggerAppWebhook
		}
	}
	return false
}

// replyOf is the answer to the provider a piece's parseAndReply asked
// for: a string body as it is (Slack's challenge), anything else as JSON.
func replyOf(body json.RawMessage, headers map[string]string) *provider.WebhookReply {
	r := &provider.WebhookReply{Status: 200, Headers: http.Header{}}
	var s string
	if json.Unmarshal(body, &s) == nil {
		r.Body = []byte(s)
		r.Headers.Set("Content-Type", "text/plain; charset=utf-8")
	} else if len(body) > 0 && string(body) != "null" {
		r.Body = body
		r.Headers.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		r.Headers.Set(k, v)
	}
	return r
}

// decodeState reads a state or registration the host kept: empty for
// none; an object that is no triggerState (the host hands app secrets in
// as registration fields) keeps only what it knows.
func decodeState(raw json.RawMessage, st *triggerState) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return json.Unmarshal(raw, st)
}

func emptyStore(s json.RawMessage) json.RawMessage {
	if len(s) == 0 || string(s) == "null" || string(s) == "{}" {
		return nil
	}
	return s
}

// itemEvents turns the items a trigger's run returned into events; more
// than max items is an invalid result, as the host's limits say.
func itemEvents(output json.RawMessage, max int) ([]provider.Event, error) {
	if len(output) == 0 || string(output) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(output, &items); err != nil {
		return nil, fmt.Errorf("%w: run returned no list of items", triggers.ErrInvalidResult)
	}
	if len(items) > max {
		return nil, fmt.Errorf("%w: %d items, more than %d", triggers.ErrInvalidResult, len(items), max)
	}
	out := make([]provider.Event, 0, len(items))
	for _, it := range items {
		sum := sha256.Sum256(it)
		out = append(out, provider.Event{ID: "sha256:" + hex.EncodeToString(sum[:]), Payload: it})
	}
	return out, nil
}

// payloadOf is context.payload for a provider's request: a JSON body
// parsed (anything else as text), header names in lower case (the first
// value of each, as Node presents them).
func payloadOf(r provider.WebhookRequest) *hookPayload {
	pl := &hookPayload{Headers: map[string]string{}, QueryParams: map[string]string{}, RawBody: string(r.Body)}
	for k, v := range r.Headers {
		if len(v) > 0 {
			pl.Headers[strings.ToLower(k)] = v[0]
		}
	}
	if len(r.Body) > 0 && json.Valid(r.Body) {
		pl.Body = json.RawMessage(r.Body)
	} else {
		pl.Body = string(r.Body)
	}
	return pl
}
