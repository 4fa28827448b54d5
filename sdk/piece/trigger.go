package piece

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/atomhq/atom/sdk/internal/webhooksig"
)

// Kinds of trigger (Trigger.Kind), as in package provider.
const (
	TriggerPolling    = "polling"
	TriggerWebhook    = "webhook"
	TriggerAppWebhook = "app_webhook"
)

// Trigger is one event source of a piece. Set the functions of its kind:
// Poll for polling; Enable, Disable and Handle for webhook; Handle for
// app webhook (with Piece.Route).
type Trigger struct {
	Name        string
	DisplayName string
	Description string
	Kind        string
	Props       []Prop
	// Output is an optional JSON Schema of an event's payload; Sample an
	// example payload.
	Output json.RawMessage
	Sample json.RawMessage

	// Poll returns the items found given the state the previous poll
	// returned (nil the first time) and the state for the next poll. The
	// host deduplicates the items by id and time.
	Poll func(c *Context, state json.RawMessage) (events []Event, next json.RawMessage, err error)
	// Enable registers webhookURL with the provider and returns the
	// registration the host keeps (the provider's hook id and secret).
	Enable func(c *Context, webhookURL string) (json.RawMessage, error)
	// Disable removes the registration.
	Disable func(c *Context, registration json.RawMessage) error
	// Handle turns one provider request into events after verifying its
	// signature (VerifyStripe and the others); return an error wrapping
	// ErrInvalidSignature when it does not hold. reply, when not nil, is
	// sent back to the provider instead of 200.
	Handle func(c *Context, hook Webhook, registration json.RawMessage) (events []Event, reply *WebhookReply, err error)
}

// Event is one occurrence a trigger reports (provider.Event's JSON).
type Event struct {
	ID         string          `json:"id"`
	OccurredAt time.Time       `json:"occurred_at,omitzero"`
	Payload    json.RawMessage `json:"payload"`
}

// Webhook is one request a provider sent to the host (provider.WebhookRequest's
// JSON: body is base64 in JSON).
type Webhook struct {
	Method  string      `json:"method,omitempty"`
	Headers http.Header `json:"headers,omitempty"`
	Body    []byte      `json:"body,omitempty"`
}

// WebhookReply is an answer for the provider (provider.WebhookReply's JSON).
type WebhookReply struct {
	Status  int         `json:"status,omitempty"`
	Headers http.Header `json:"headers,omitempty"`
	Body    []byte      `json:"body,omitempty"`
}

// TriggerInput is the JSON the host passes to atom_trigger (see ABI.md).
type TriggerInput struct {
	Op           string          `json:"op"`
	ExecutionID  string          `json:"execution_id"`
	TenantID     string          `json:"tenant_id"`
	Trigger      string          `json:"trigger"`
	Input        json.RawMessage `json:"input,omitempty"`
	BaseURL      string          `json:"base_url,omitempty"`
	State        json.RawMessage `json:"state,omitempty"`
	WebhookURL   string          `json:"webhook_url,omitempty"`
	Registration json.RawMessage `json:"registration,omitempty"`
	Webhook      *Webhook        `json:"webhook,omitempty"`
}

// TriggerOutput is the JSON atom_trigger returns.
type TriggerOutput struct {
	Events       []Event         `json:"events,omitempty"`
	State        json.RawMessage `json:"state,omitempty"`
	Registration json.RawMessage `json:"registration,omitempty"`
	Route        string          `json:"route,omitempty"`
	Reply        *WebhookReply   `json:"reply,omitempty"`
	Error        *TriggerError   `json:"error,omitempty"`
}

// TriggerError is a failure of a trigger operation. Codes:
// signature_invalid, unsupported, failed.
type TriggerError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// TriggerJSON is one trigger in ManifestJSON (provider.Trigger's JSON).
type TriggerJSON struct {
	Name        string          `json:"name"`
	DisplayName string          `json:"display_name,omitempty"`
	Description string          `json:"description,omitempty"`
	Kind        string          `json:"kind"`
	Input       json.RawMessage `json:"input_schema,omitempty"`
	Output      json.RawMessage `json:"output_schema,omitempty"`
	Sample      json.RawMessage `json:"sample,omitempty"`
}

// ErrInvalidSignature is what a Handle returns (wrapped) for a request
// whose signature does not hold; the Verify functions wrap it.
var ErrInvalidSignature = webhooksig.ErrInvalidSignature

// VerifyStripe, VerifyGitHub, VerifyShopify and VerifySlack are those of
// package provider (see there), for pieces.
func VerifyStripe(h http.Header, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	return webhooksig.Stripe(h, body, secret, tolerance, now)
}

// VerifyGitHub checks X-Hub-Signature-256.
func VerifyGitHub(h http.Header, body []byte, secret string) error {
	return webhooksig.GitHub(h, body, secret)
}

// VerifyShopify checks X-Shopify-Hmac-Sha256.
func VerifyShopify(h http.Header, body []byte, secret string) error {
	return webhooksig.Shopify(h, body, secret)
}

// VerifySlack checks X-Slack-Signature with X-Slack-Request-Timestamp.
func VerifySlack(h http.Header, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	return webhooksig.Slack(h, body, secret, tolerance, now)
}

func triggerFailure(err error) TriggerOutput {
	code := "failed"
	if errors.Is(err, ErrInvalidSignature) {
		code = "signature_invalid"
	}
	return TriggerOutput{Error: &TriggerError{Code: code, Message: err.Error()}}
}

// RunTrigger runs the trigger operation in in and returns the result JSON.
// The wasm glue calls it from atom_trigger; it never panics on a bad
// request.
func (p *Piece) RunTrigger(in []byte, host Host) []byte {
	out, err := json.Marshal(p.runTrigger(in, host))
	if err != nil {
		out, _ = json.Marshal(triggerFailure(fmt.Errorf("encode trigger result: %v", err)))
	}
	return out
}

func (p *Piece) runTrigger(in []byte, host Host) TriggerOutput {
	var req TriggerInput
	if err := json.Unmarshal(in, &req); err != nil {
		return triggerFailure(fmt.Errorf("invalid trigger request: %v", err))
	}
	unsupported := TriggerOutput{Error: &TriggerError{Code: "unsupported", Message: fmt.Sprintf("piece %s: no %s for trigger %q", p.ID, req.Op, req.Trigger)}}
	hook := Webhook{}
	if req.Webhook != nil {
		hook = *req.Webhook
	}
	if req.Op == "route" {
		if p.Route == nil {
			return unsupported
		}
		id, err := p.Route(NewContext(ExecuteInput{ExecutionID: req.ExecutionID}, host), hook)
		if err != nil {
			return triggerFailure(err)
		}
		return TriggerOutput{Route: id}
	}
	var t *Trigger
	for i := range p.Triggers {
		if p.Triggers[i].Name == req.Trigger {
			t = &p.Triggers[i]
		}
	}
	if t == nil {
		return unsupported
	}
	c := NewContext(ExecuteInput{ExecutionID: req.ExecutionID, TenantID: req.TenantID, Action: req.Trigger, Input: req.Input, BaseURL: req.BaseURL}, host)
	switch {
	case req.Op == "poll" && t.Poll != nil:
		events, next, err := t.Poll(c, req.State)
		if err != nil {
			return triggerFailure(err)
		}
		return TriggerOutput{Events: events, State: next}
	case req.Op == "enable" && t.Enable != nil:
		reg, err := t.Enable(c, req.WebhookURL)
		if err != nil {
			return triggerFailure(err)
		}
		return TriggerOutput{Registration: reg}
	case req.Op == "disable" && t.Disable != nil:
		if err := t.Disable(c, req.Registration); err != nil {
			return triggerFailure(err)
		}
		return TriggerOutput{}
	case req.Op == "handle" && t.Handle != nil:
		events, reply, err := t.Handle(c, hook, req.Registration)
		if err != nil {
			return triggerFailure(err)
		}
		return TriggerOutput{Events: events, Reply: reply}
	}
	return unsupported
}
