// Package stripe is the Stripe provider: balance, customers, payment
// intents, charges, refunds, invoices, subscriptions, products, prices,
// checkout sessions and events over Stripe's REST API
// (https://docs.stripe.com/api), built only on the public SDK. Both API-key connections (a secret key, sk_...) and OAuth
// (Stripe Connect; its access token is a secret key too) are sent as
// "Authorization: Bearer <key>". Stripe's error body
// {"error":{"type","code","message","param"}} becomes a diagnostic whose
// Field is the offending param.
package stripe

import (
	"context"
	"encoding/json"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.1.0"

// APIVersion is the Stripe API version requests are pinned to.
const APIVersion = "2024-06-20"

// BaseURL is Stripe's API base URL, used when the host supplies none.
const BaseURL = "https://api.stripe.com"

var httpOptions = provider.HTTPOptions{
	BaseURL:   BaseURL,
	APIKey:    provider.APIKeyHeader("Authorization", "Bearer "),
	Header:    map[string][]string{"Stripe-Version": {APIVersion}},
	UserAgent: "atom-provider-stripe/" + Version,
}

// New returns the Stripe provider.
func New() *provider.Builder {
	b := provider.New(provider.Manifest{
		ID:           "stripe",
		Name:         "Stripe",
		Version:      Version,
		Description:  "Payments and billing: customers, payment intents, charges, refunds, invoices, subscriptions, products, prices, checkout sessions and events.",
		Categories:   []string{"e-commerce", "payments"},
		AllowedHosts: []string{"api.stripe.com", "files.stripe.com"},
	}).
		HTTP(httpOptions).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the credentials by reading the account balance.",
			Output:      provider.SortedSchema(`{"type":"object","properties":{"ok":{"type":"boolean"},"livemode":{"type":"boolean"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "get_balance",
			DisplayName: "Get balance",
			Description: "Returns the account's available and pending balance per currency.",
			Output:      provider.SortedSchema(`{"type":"object","properties":{"available":{"type":"array"},"pending":{"type":"array"},"livemode":{"type":"boolean"}}}`),
			Handle:      getBalance,
		})
	for _, o := range ops {
		b.Action(o.action())
	}
	return b.Trigger(eventTrigger())
}

// Balance is Stripe's balance object.
type Balance struct {
	Available []Money `json:"available"`
	Pending   []Money `json:"pending"`
	Livemode  bool    `json:"livemode"`
}

// Money is an amount in a currency's smallest unit.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

func fetchBalance(ctx context.Context, c *provider.Call) (Balance, error) {
	var b Balance
	err := c.HTTP().GetJSON(ctx, "/v1/balance", nil, &b)
	return b, err
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	b, err := fetchBalance(ctx, c)
	if err != nil {
		return nil, err
	}
	return map[string]bool{"ok": true, "livemode": b.Livemode}, nil
}

// getBalance returns Stripe's balance object as it comes (object,
// available, pending, livemode and the per-source breakdowns).
func getBalance(ctx context.Context, c *provider.Call) (any, error) {
	var out json.RawMessage
	if err := c.HTTP().GetJSON(ctx, "/v1/balance", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}
