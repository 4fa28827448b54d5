package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// The order trigger subscribes the shop's webhooks
// (POST /admin/api/{version}/webhooks.json) to one orders topic and removes
// the subscription on Disable. Shopify signs each delivery with the app's
// client secret (X-Shopify-Hmac-Sha256, base64), a secret the connection
// does not carry: the host passes it in the registration as
// "signing_secret", as for app webhooks. A delivery's id is
// X-Shopify-Event-Id when present (the same for every retry and
// subscription of one event), else X-Shopify-Webhook-Id.
func withTriggers(b *provider.Builder) *provider.Builder {
	return b.Trigger(provider.TriggerDef{
		Name:        "order",
		DisplayName: "Order event",
		Description: "An order was created (orders/create), updated, paid, fulfilled or cancelled in the shop.",
		Kind:        provider.TriggerWebhook,
		Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
			"topic":{"type":"string","enum":["orders/create","orders/updated","orders/paid","orders/fulfilled","orders/partially_fulfilled","orders/cancelled","orders/delete"],"default":"orders/create"}}}`),
		Output: provider.SortedSchema(`{"type":"object","required":["topic","shop_domain","order"],"properties":{
			"topic":{"type":"string"},"shop_domain":{"type":"string"},"webhook_id":{"type":"string"},
			"triggered_at":{"type":"string"},"order":{"type":"object"}}}`),
		Sample:  json.RawMessage(`{"topic":"orders/create","shop_domain":"acme.myshopify.com","webhook_id":"b54557e4-bdd9-4b37-8a5f-bf7d70bcd043","triggered_at":"2026-01-02T03:04:05.000Z","order":{"id":820982911946154508,"name":"#1001","email":"jon@example.com","total_price":"199.00","currency":"USD","financial_status":"paid","created_at":"2026-01-02T03:04:05-05:00"}}`),
		Enable:  enableOrders,
		Disable: disableOrders,
		Handle:  handleOrder,
	})
}

type orderInput struct {
	Topic string `json:"topic"`
}

// orderRegistration is what Enable returns; the host adds SigningSecret.
type orderRegistration struct {
	ID            int64  `json:"id"`
	Topic         string `json:"topic"`
	SigningSecret string `json:"signing_secret,omitempty"`
}

func enableOrders(ctx context.Context, req provider.TriggerRequest, webhookURL string) (json.RawMessage, error) {
	var in orderInput
	_ = json.Unmarshal(req.Input, &in)
	if in.Topic == "" {
		in.Topic = "orders/create"
	}
	hc, err := clientFor(ctx, req.Credentials)
	if err != nil {
		return nil, err
	}
	var out struct {
		Webhook struct {
			ID int64 `json:"id"`
		} `json:"webhook"`
	}
	body := map[string]any{"webhook": map[string]any{"topic": in.Topic, "address": webhookURL, "format": "json"}}
	if _, err := exchange(ctx, hc, http.MethodPost, "/webhooks.json", nil, body, &out); err != nil {
		return nil, err
	}
	if out.Webhook.ID == 0 {
		return nil, errors.New("shopify: the webhook was created without an id")
	}
	return json.Marshal(orderRegistration{ID: out.Webhook.ID, Topic: in.Topic})
}

func disableOrders(ctx context.Context, req provider.TriggerRequest, raw json.RawMessage) error {
	var reg orderRegistration
	if err := json.Unmarshal(raw, &reg); err != nil || reg.ID == 0 {
		return errors.New("shopify: the registration names no webhook")
	}
	hc, err := clientFor(ctx, req.Credentials)
	if err != nil {
		return err
	}
	_, err = exchange(ctx, hc, http.MethodDelete, "/webhooks/"+strconv.FormatInt(reg.ID, 10)+".json", nil, nil, nil)
	var he *provider.HTTPError
	if errors.As(err, &he) && he.Status == http.StatusNotFound {
		return nil // already removed
	}
	return err
}

func handleOrder(_ context.Context, _ provider.TriggerRequest, hook provider.WebhookRequest, raw json.RawMessage) (provider.HandleResult, error) {
	var reg orderRegistration
	if err := json.Unmarshal(raw, &reg); err != nil || reg.SigningSecret == "" {
		return provider.HandleResult{}, errors.New("shopify: no signing secret for the app (registration signing_secret)")
	}
	if err := provider.VerifyShopify(hook.Headers, hook.Body, reg.SigningSecret); err != nil {
		return provider.HandleResult{}, err
	}
	topic := hook.Headers.Get("X-Shopify-Topic")
	if reg.Topic != "" && topic != reg.Topic {
		return provider.HandleResult{}, nil
	}
	id := hook.Headers.Get("X-Shopify-Event-Id")
	if id == "" {
		id = hook.Headers.Get("X-Shopify-Webhook-Id")
	}
	if id == "" {
		return provider.HandleResult{}, errors.New("shopify: the delivery has no X-Shopify-Webhook-Id")
	}
	var order struct {
		ID        int64  `json:"id"`
		UpdatedAt string `json:"updated_at"`
	}
	if err := json.Unmarshal(hook.Body, &order); err != nil || order.ID == 0 {
		return provider.HandleResult{}, fmt.Errorf("shopify: the %s payload is not an order", topic)
	}
	at, _ := time.Parse(time.RFC3339, hook.Headers.Get("X-Shopify-Triggered-At"))
	if at.IsZero() {
		at, _ = time.Parse(time.RFC3339, order.UpdatedAt)
	}
	payload, err := json.Marshal(map[string]any{"topic": topic, "shop_domain": hook.Headers.Get("X-Shopify-Shop-Domain"),
		"webhook_id": hook.Headers.Get("X-Shopify-Webhook-Id"), "triggered_at": hook.Headers.Get("X-Shopify-Triggered-At"),
		"order": json.RawMessage(hook.Body)})
	if err != nil {
		return provider.HandleResult{}, err
	}
	return provider.HandleResult{Events: []provider.Event{{ID: id, OccurredAt: at.UTC(), Payload: payload}}}, nil
}
