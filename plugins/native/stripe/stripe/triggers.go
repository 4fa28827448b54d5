package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// eventTrigger is the webhook trigger on Stripe events by type. Enable
// creates a webhook endpoint (POST /v1/webhook_endpoints) listening to the
// chosen types and keeps its id and signing secret (whsec_…, shown by
// Stripe only at creation); Handle checks the Stripe-Signature header over
// the raw body with a five-minute tolerance and reports the event under its
// evt_… id, which Stripe keeps across retries; Disable deletes the
// endpoint.
func eventTrigger() provider.TriggerDef {
	return provider.TriggerDef{
		Name:        "event",
		DisplayName: "Stripe event",
		Description: "A Stripe event of one of the chosen types (payment_intent.succeeded, customer.created, invoice.paid, ... or * for all).",
		Kind:        provider.TriggerWebhook,
		Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["events"],"properties":{
			"events":{"type":"array","minItems":1,"maxItems":100,"uniqueItems":true,"description":"Event types, e.g. payment_intent.succeeded; * for every type.",
				"items":{"type":"string","pattern":"^(\\*|[a-z0-9_]+(\\.[a-z0-9_]+)+)$"}},
			"description":{"type":"string","maxLength":200}}}`),
		Output: provider.SortedSchema(`{"type":"object","required":["id","type","created","data"],"properties":{
			"id":{"type":"string"},"object":{"const":"event"},"type":{"type":"string"},"created":{"type":"integer"},
			"livemode":{"type":"boolean"},"api_version":{"type":"string"},
			"data":{"type":"object","properties":{"object":{"type":"object"},"previous_attributes":{"type":"object"}}}}}`),
		Sample:  json.RawMessage(`{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"payment_intent.succeeded","created":1686089970,"livemode":false,"api_version":"2024-06-20","data":{"object":{"id":"pi_3NG8Du2eZvKYlo2C0","object":"payment_intent","amount":2000,"currency":"usd","status":"succeeded"}}}`),
		Enable:  enableEvents,
		Disable: disableEvents,
		Handle:  handleEvent,
	}
}

type eventInput struct {
	Events      []string `json:"events"`
	Description string   `json:"description"`
}

// registration is what Enable returns and the host keeps.
type registration struct {
	ID     string   `json:"id"`
	Secret string   `json:"secret"`
	Events []string `json:"events"`
}

func enableEvents(ctx context.Context, req provider.TriggerRequest, webhookURL string) (json.RawMessage, error) {
	var in eventInput
	if err := json.Unmarshal(req.Input, &in); err != nil || len(in.Events) == 0 {
		return nil, provider.UserError("events", "list at least one event type")
	}
	form := url.Values{"url": {webhookURL}, "api_version": {APIVersion}}
	for _, e := range in.Events {
		form.Add("enabled_events[]", e)
	}
	desc := in.Description
	if desc == "" {
		desc = "Atom trigger"
	}
	form.Set("description", desc)
	var ep struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if err := provider.Client(ctx, httpOptions).PostForm(ctx, "/v1/webhook_endpoints", form, &ep); err != nil {
		return nil, err
	}
	if ep.ID == "" || ep.Secret == "" {
		return nil, errors.New("stripe: the webhook endpoint was created without an id or secret")
	}
	return json.Marshal(registration{ID: ep.ID, Secret: ep.Secret, Events: in.Events})
}

func disableEvents(ctx context.Context, req provider.TriggerRequest, raw json.RawMessage) error {
	var reg registration
	if err := json.Unmarshal(raw, &reg); err != nil || reg.ID == "" {
		return errors.New("stripe: the registration names no webhook endpoint")
	}
	err := provider.Client(ctx, httpOptions).Send(ctx, http.MethodDelete, "/v1/webhook_endpoints/"+url.PathEscape(reg.ID), nil, "", nil, nil)
	var he *provider.HTTPError
	if errors.As(err, &he) && he.Status == http.StatusNotFound {
		return nil // already gone
	}
	return err
}

func handleEvent(_ context.Context, _ provider.TriggerRequest, hook provider.WebhookRequest, raw json.RawMessage) (provider.HandleResult, error) {
	var reg registration
	if err := json.Unmarshal(raw, &reg); err != nil || reg.Secret == "" {
		return provider.HandleResult{}, errors.New("stripe: the registration has no signing secret")
	}
	if err := provider.VerifyStripe(hook.Headers, hook.Body, reg.Secret, 0, time.Time{}); err != nil {
		return provider.HandleResult{}, err
	}
	var ev struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Type    string `json:"type"`
		Created int64  `json:"created"`
	}
	if err := json.Unmarshal(hook.Body, &ev); err != nil || ev.ID == "" || ev.Type == "" {
		return provider.HandleResult{}, fmt.Errorf("stripe: the webhook body is not an event")
	}
	if !slices.Contains(reg.Events, "*") && !slices.Contains(reg.Events, ev.Type) {
		// Stripe filters by enabled_events; an endpoint edited at Stripe
		// may still send others, which this trigger did not ask for.
		return provider.HandleResult{}, nil
	}
	return provider.HandleResult{Events: []provider.Event{{ID: ev.ID, OccurredAt: time.Unix(ev.Created, 0).UTC(), Payload: hook.Body}}}, nil
}
