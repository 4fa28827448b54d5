// Package stripe is the Stripe provider: balance, customers and charges
// over Stripe's REST API (https://docs.stripe.com/api), built only on the
// public SDK. Both API-key connections (a secret key, sk_...) and OAuth
// (Stripe Connect; its access token is a secret key too) are sent as
// "Authorization: Bearer <key>". Stripe's error body
// {"error":{"type","code","message","param"}} becomes a diagnostic whose
// Field is the offending param.
package stripe

import (
	"context"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// APIVersion is the Stripe API version requests are pinned to.
const APIVersion = "2024-06-20"

// BaseURL is Stripe's API base URL, used when the host supplies none.
const BaseURL = "https://api.stripe.com"

// New returns the Stripe provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "stripe",
		Name:         "Stripe",
		Version:      Version,
		Description:  "Payments: balance, customers and charges.",
		Categories:   []string{"e-commerce", "payments"},
		AllowedHosts: []string{"api.stripe.com", "files.stripe.com"},
	}).
		HTTP(provider.HTTPOptions{
			BaseURL:   BaseURL,
			APIKey:    provider.APIKeyHeader("Authorization", "Bearer "),
			Header:    map[string][]string{"Stripe-Version": {APIVersion}},
			UserAgent: "atom-provider-stripe/" + Version,
		}).
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
		}).
		Action(provider.ActionDef{
			Name:        "list_customers",
			DisplayName: "List customers",
			Description: "Lists customers, newest first, one page at a time.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"limit":{"type":"integer","minimum":1,"maximum":100},
				"starting_after":{"type":"string"},
				"email":{"type":"string"}}}`),
			Output: listSchema,
			Handle: provider.Typed(listCustomers),
		}).
		Action(provider.ActionDef{
			Name:        "create_customer",
			DisplayName: "Create customer",
			Description: "Creates a customer. Retrying the same execution does not create a second one.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"email":{"type":"string"},
				"name":{"type":"string"},
				"description":{"type":"string"},
				"phone":{"type":"string"},
				"metadata":{"type":"object","additionalProperties":{"type":"string"}}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"}}}`),
			Handle: provider.Typed(createCustomer),
		}).
		Action(provider.ActionDef{
			Name:        "list_charges",
			DisplayName: "List charges",
			Description: "Lists charges, newest first, optionally for one customer.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"limit":{"type":"integer","minimum":1,"maximum":100},
				"starting_after":{"type":"string"},
				"customer":{"type":"string"}}}`),
			Output: listSchema,
			Handle: provider.Typed(listCharges),
		})
}

var listSchema = provider.SortedSchema(`{"type":"object","required":["data","has_more"],"properties":{
	"data":{"type":"array","items":{"type":"object"}},
	"has_more":{"type":"boolean"},
	"next_starting_after":{"type":"string"}}}`)

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

func getBalance(ctx context.Context, c *provider.Call) (any, error) {
	return fetchBalance(ctx, c)
}

// Page is one page of a Stripe list.
type Page struct {
	Data    []json.RawMessage `json:"data"`
	HasMore bool              `json:"has_more"`
	// NextStartingAfter is the starting_after of the next page, set when
	// HasMore.
	NextStartingAfter string `json:"next_starting_after,omitempty"`
}

type listIn struct {
	Limit         int    `json:"limit"`
	StartingAfter string `json:"starting_after"`
	Email         string `json:"email"`
	Customer      string `json:"customer"`
}

func (in listIn) query() (url.Values, error) {
	q := url.Values{}
	if in.Limit != 0 {
		if in.Limit < 1 || in.Limit > 100 {
			return nil, provider.UserError("limit", "must be between 1 and 100")
		}
		q.Set("limit", strconv.Itoa(in.Limit))
	}
	if in.StartingAfter != "" {
		q.Set("starting_after", in.StartingAfter)
	}
	if in.Email != "" {
		q.Set("email", in.Email)
	}
	if in.Customer != "" {
		q.Set("customer", in.Customer)
	}
	return q, nil
}

func list(ctx context.Context, c *provider.Call, path string, in listIn) (any, error) {
	q, err := in.query()
	if err != nil {
		return nil, err
	}
	var page Page
	if err := c.HTTP().GetJSON(ctx, path, q, &page); err != nil {
		return nil, err
	}
	if page.Data == nil {
		page.Data = []json.RawMessage{}
	}
	if page.HasMore && len(page.Data) > 0 {
		var last struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(page.Data[len(page.Data)-1], &last) == nil {
			page.NextStartingAfter = last.ID
		}
	}
	return page, nil
}

func listCustomers(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	in.Customer = ""
	return list(ctx, c, "/v1/customers", in)
}

func listCharges(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	in.Email = ""
	return list(ctx, c, "/v1/charges", in)
}

type customerIn struct {
	Email       string            `json:"email"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Phone       string            `json:"phone"`
	Metadata    map[string]string `json:"metadata"`
}

func createCustomer(ctx context.Context, c *provider.Call, in customerIn) (any, error) {
	form := url.Values{}
	for k, v := range map[string]string{"email": in.Email, "name": in.Name, "description": in.Description, "phone": in.Phone} {
		if v != "" {
			form.Set(k, v)
		}
	}
	keys := make([]string, 0, len(in.Metadata))
	for k := range in.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		form.Set("metadata["+k+"]", in.Metadata[k])
	}
	client := c.HTTP()
	if id := c.Request().ExecutionID; id != "" {
		client = client.WithHeader("Idempotency-Key", "atom-"+id)
	}
	var out json.RawMessage
	if err := client.PostForm(ctx, "/v1/customers", form, &out); err != nil {
		return nil, err
	}
	return out, nil
}
