package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/atomhq/atom/sdk/internal/webhooksig"
)

// Kinds of trigger (Trigger.Kind).
const (
	// TriggerPolling: the host calls Poll on a schedule with the state the
	// previous poll returned, and deduplicates the events by id and by
	// time watermark.
	TriggerPolling = "polling"
	// TriggerWebhook: the host calls Enable once with a URL of its own to
	// register with the provider, Handle for every request the provider
	// sends to that URL, and Disable when the trigger is removed.
	TriggerWebhook = "webhook"
	// TriggerAppWebhook: the provider sends the events of every account
	// to one URL per provider (the operator's app, e.g. Slack's Events
	// API); the host asks Route which account a request belongs to, then
	// calls Handle for the trigger instances of that account.
	TriggerAppWebhook = "app_webhook"
)

// Trigger is one event source of a provider, declared in the manifest.
type Trigger struct {
	// Name is the trigger's identifier (snake_case).
	Name string `json:"name"`
	// DisplayName is a human title; Name is used when empty.
	DisplayName string `json:"display_name,omitempty"`
	// Description says which events the trigger emits.
	Description string `json:"description,omitempty"`
	// Kind is TriggerPolling, TriggerWebhook or TriggerAppWebhook.
	Kind string `json:"kind"`
	// Input is the JSON Schema of the trigger's input object (a folder,
	// a query, event types).
	Input json.RawMessage `json:"input_schema,omitempty"`
	// Output is the JSON Schema of one event's payload.
	Output json.RawMessage `json:"output_schema,omitempty"`
	// Sample is an example event payload.
	Sample json.RawMessage `json:"sample,omitempty"`
}

// Event is one occurrence a trigger reports.
type Event struct {
	// ID is the provider's id of the item or event: stable across polls
	// and webhook retries, it is what the host deduplicates on.
	ID string `json:"id"`
	// OccurredAt is when the item was created or changed at the provider
	// (zero when unknown); polling deduplication keeps a watermark of it.
	OccurredAt time.Time `json:"occurred_at,omitzero"`
	// Payload is the event's JSON.
	Payload json.RawMessage `json:"payload"`
}

// TriggerRequest is what every trigger call carries: which trigger, for
// which tenant and connection, with which input. Within a call the
// context also carries it as a Request (RequestFrom, CredentialsFrom, with
// Action set to the trigger's name) and the call's Host (HostFrom): the
// provider's requests go out through the host as for an action.
type TriggerRequest struct {
	// ExecutionID identifies the call in the host's records.
	ExecutionID string `json:"execution_id"`
	// TenantID is the tenant the trigger instance belongs to.
	TenantID string `json:"tenant_id"`
	// Trigger is the trigger's name.
	Trigger string `json:"trigger"`
	// Input is the trigger instance's validated input object.
	Input json.RawMessage `json:"input,omitempty"`
	// Credentials are the connection's credentials (placeholders unless
	// the manifest sets RawCredentials, as for actions).
	Credentials Credentials `json:"credentials"`
	// BaseURL is the provider API's base URL resolved by the host.
	BaseURL string `json:"base_url,omitempty"`
}

// WebhookRequest is one request a provider sent to a webhook URL of the
// host, as received: its headers and its raw body (verify a signature
// over these bytes, not over re-encoded JSON).
type WebhookRequest struct {
	Method  string      `json:"method,omitempty"`
	Headers http.Header `json:"headers,omitempty"`
	Body    []byte      `json:"body,omitempty"`
}

// WebhookReply is an answer a trigger asks the host to send back to the
// provider instead of the default 200 (Slack's url_verification
// challenge, for example).
type WebhookReply struct {
	Status  int         `json:"status,omitempty"`
	Headers http.Header `json:"headers,omitempty"`
	Body    []byte      `json:"body,omitempty"`
}

// PollResult is the answer of a poll: the items found (the host drops
// those it has already seen) and the state to pass to the next poll.
type PollResult struct {
	Events []Event         `json:"events,omitempty"`
	State  json.RawMessage `json:"state,omitempty"`
}

// HandleResult is the answer to one webhook request.
type HandleResult struct {
	Events []Event       `json:"events,omitempty"`
	Reply  *WebhookReply `json:"reply,omitempty"`
}

// ErrInvalidSignature is returned (wrapped) by Handle when the request's
// signature is missing, forged or stale. The host answers the provider
// 401, records no event and counts the refusal.
var ErrInvalidSignature = webhooksig.ErrInvalidSignature

// Poller is implemented by a Provider with polling triggers. Poll is
// called with the state the previous poll returned (nil the first time)
// and must be idempotent for a given state: the host may call it again
// with the same state after a failure.
type Poller interface {
	Poll(ctx context.Context, req TriggerRequest, state json.RawMessage) (PollResult, error)
}

// WebhookTriggers is implemented by a Provider with webhook or app webhook
// triggers.
//
// Enable registers webhookURL with the provider for req's trigger and
// returns the registration (opaque JSON the host keeps: the provider's
// hook id, the signing secret the provider issued). Disable removes it.
// Handle turns one request the provider sent into events, verifying its
// signature first (see VerifyStripe and the other Verify functions) and
// returning ErrInvalidSignature when it does not hold. App webhook
// triggers are not enabled per instance: Enable and Disable are not
// called for them.
type WebhookTriggers interface {
	Enable(ctx context.Context, req TriggerRequest, webhookURL string) (json.RawMessage, error)
	Disable(ctx context.Context, req TriggerRequest, registration json.RawMessage) error
	Handle(ctx context.Context, req TriggerRequest, hook WebhookRequest, registration json.RawMessage) (HandleResult, error)
}

// AppWebhookRouter is implemented by a Provider with app webhook triggers:
// Route names the account (team, workspace, shop) a request sent to the
// provider's one URL belongs to, which the host matches against the
// connections' account ids. It runs with no tenant, no credentials and no
// way out: it reads the request alone. A request Route cannot place
// returns an error and is dropped.
type AppWebhookRouter interface {
	Route(ctx context.Context, hook WebhookRequest) (string, error)
}

// Trigger operations as the host names them (TriggerCall.Op).
const (
	TriggerOpPoll    = "poll"
	TriggerOpEnable  = "enable"
	TriggerOpDisable = "disable"
	TriggerOpHandle  = "handle"
	TriggerOpRoute   = "route"
)

// TriggerCall is one trigger call as the host sends it over a transport
// (the plugin protocol, the piece ABI): the request and the arguments of
// its operation. Provider authors implement Poller, WebhookTriggers and
// AppWebhookRouter instead.
type TriggerCall struct {
	Op string `json:"op"`
	TriggerRequest
	// State is Poll's state.
	State json.RawMessage `json:"state,omitempty"`
	// WebhookURL is Enable's URL.
	WebhookURL string `json:"webhook_url,omitempty"`
	// Registration is what Enable returned (Disable, Handle).
	Registration json.RawMessage `json:"registration,omitempty"`
	// Webhook is the request Handle and Route read.
	Webhook *WebhookRequest `json:"webhook,omitempty"`
}

// TriggerResult is the answer to a TriggerCall; which fields are set
// depends on its Op.
type TriggerResult struct {
	Events       []Event         `json:"events,omitempty"`
	State        json.RawMessage `json:"state,omitempty"`
	Registration json.RawMessage `json:"registration,omitempty"`
	Route        string          `json:"route,omitempty"`
	Reply        *WebhookReply   `json:"reply,omitempty"`
}

// ErrTriggerUnsupported is returned by DispatchTrigger when the provider
// does not implement the operation asked.
var ErrTriggerUnsupported = errors.New("provider does not implement this trigger operation")

// DispatchTrigger runs call on p through the optional interface of its
// operation, with ctx carrying the call as a Request. Transports call it;
// so do tests that run a provider in-process.
func DispatchTrigger(ctx context.Context, p Provider, call TriggerCall) (TriggerResult, error) {
	req := call.TriggerRequest
	if call.Op != TriggerOpRoute {
		ctx = WithRequest(ctx, Request{ExecutionID: req.ExecutionID, TenantID: req.TenantID, Action: req.Trigger,
			Input: req.Input, Credentials: req.Credentials, BaseURL: req.BaseURL})
	}
	hook := WebhookRequest{}
	if call.Webhook != nil {
		hook = *call.Webhook
	}
	switch call.Op {
	case TriggerOpPoll:
		pl, ok := p.(Poller)
		if !ok {
			return TriggerResult{}, ErrTriggerUnsupported
		}
		r, err := pl.Poll(ctx, req, call.State)
		return TriggerResult{Events: r.Events, State: r.State}, err
	case TriggerOpEnable:
		w, ok := p.(WebhookTriggers)
		if !ok {
			return TriggerResult{}, ErrTriggerUnsupported
		}
		reg, err := w.Enable(ctx, req, call.WebhookURL)
		return TriggerResult{Registration: reg}, err
	case TriggerOpDisable:
		w, ok := p.(WebhookTriggers)
		if !ok {
			return TriggerResult{}, ErrTriggerUnsupported
		}
		return TriggerResult{}, w.Disable(ctx, req, call.Registration)
	case TriggerOpHandle:
		w, ok := p.(WebhookTriggers)
		if !ok {
			return TriggerResult{}, ErrTriggerUnsupported
		}
		r, err := w.Handle(ctx, req, hook, call.Registration)
		return TriggerResult{Events: r.Events, Reply: r.Reply}, err
	case TriggerOpRoute:
		rt, ok := p.(AppWebhookRouter)
		if !ok {
			return TriggerResult{}, ErrTriggerUnsupported
		}
		id, err := rt.Route(ctx, hook)
		return TriggerResult{Route: id}, err
	}
	return TriggerResult{}, ErrTriggerUnsupported
}
