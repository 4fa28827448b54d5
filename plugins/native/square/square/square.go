// Package square is the Square provider: merchant, locations, customers
// and payments over the Connect v2 API (https://developer.squareup.com/reference/square),
// built only on the public SDK.
//
// Requests are pinned with the Square-Version header and carry the OAuth
// token (or a personal access token) as Bearer. Lists page with an opaque
// cursor. Creations send an idempotency_key derived from the execution, so
// a retried execution does not create twice. Square's
// {"errors":[{"category","code","detail","field"}]} becomes a diagnostic.
package square

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// APIVersion is the Square-Version requests are pinned to.
const APIVersion = "2024-07-17"

// BaseURL is Square's production API host (sandbox:
// https://connect.squareupsandbox.com via SQUARE_API_BASE_URL).
const BaseURL = "https://connect.squareup.com"

// New returns the Square provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID: "square", Name: "Square", Version: Version,
		Description:  "Commerce and payments: merchant, locations, customers and payments.",
		Categories:   []string{"commerce", "payments"},
		AllowedHosts: []string{"connect.squareup.com", "connect.squareupsandbox.com"},
	}).
		HTTP(provider.HTTPOptions{
			BaseURL:     BaseURL,
			Header:      http.Header{"Square-Version": {APIVersion}},
			UserAgent:   "atom-provider-square/" + Version,
			DecodeError: DecodeError,
		}).
		Action(provider.ActionDef{
			Name: "test_connection", DisplayName: "Test connection",
			Description: "Checks the connection by reading the merchant.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"merchant":{"type":"object"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name: "list_locations", DisplayName: "List locations",
			Description: "Lists the merchant's locations.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["locations"],"properties":{"locations":{"type":"array","items":{"type":"object"}}}}`),
			Handle:      listLocations,
		}).
		Action(provider.ActionDef{
			Name: "list_customers", DisplayName: "List customers",
			Description: "Lists customers one page at a time; pass cursor back for the next page.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{"limit":{"type":"integer","minimum":1,"maximum":100},"cursor":{"type":"string"},"sort_field":{"type":"string","enum":["DEFAULT","CREATED_AT"]},"sort_order":{"type":"string","enum":["ASC","DESC"]}}}`),
			Output:      pageSchema("customers"),
			Handle:      provider.Typed(listCustomers),
		}).
		Action(provider.ActionDef{
			Name: "create_customer", DisplayName: "Create customer",
			Description: "Creates a customer profile.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"given_name":{"type":"string"},"family_name":{"type":"string"},"company_name":{"type":"string"},
				"email_address":{"type":"string"},"phone_number":{"type":"string"},"reference_id":{"type":"string"},"note":{"type":"string"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"}}}`),
			Handle: provider.Typed(createCustomer),
		}).
		Action(provider.ActionDef{
			Name: "list_payments", DisplayName: "List payments",
			Description: "Lists payments, optionally in a time range or for a location; pass cursor back for the next page.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{"begin_time":{"type":"string","format":"date-time"},"end_time":{"type":"string","format":"date-time"},"location_id":{"type":"string"},"sort_order":{"type":"string","enum":["ASC","DESC"]},"limit":{"type":"integer","minimum":1,"maximum":100},"cursor":{"type":"string"}}}`),
			Output:      pageSchema("payments"),
			Handle:      provider.Typed(listPayments),
		}).
		Action(provider.ActionDef{
			Name: "create_payment", DisplayName: "Create payment",
			Description: "Charges a payment source (card nonce, card on file id) for an amount in the currency's smallest unit.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["source_id","amount","currency"],"properties":{
				"source_id":{"type":"string"},"amount":{"type":"integer","minimum":1},"currency":{"type":"string","minLength":3,"maxLength":3},
				"location_id":{"type":"string"},"customer_id":{"type":"string"},"reference_id":{"type":"string"},"note":{"type":"string"},"autocomplete":{"type":"boolean"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id","status"],"properties":{"id":{"type":"string"},"status":{"type":"string"}}}`),
			Handle: provider.Typed(createPayment),
		})
}

func pageSchema(key string) json.RawMessage {
	return provider.SortedSchema(`{"type":"object","required":["` + key + `"],"properties":{"` + key + `":{"type":"array","items":{"type":"object"}},"cursor":{"type":"string"}}}`)
}

// DecodeError reads Square's {"errors":[{"category","code","detail",
// "field"}]} body into e.
func DecodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Errors []struct {
			Category string `json:"category"`
			Code     string `json:"code"`
			Detail   string `json:"detail"`
			Field    string `json:"field"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Errors) == 0 {
		e.Message = provider.ErrorText(body)
		return
	}
	er := v.Errors[0]
	e.Message, e.Code, e.Type, e.Field = er.Detail, er.Code, er.Category, er.Field
	if e.Message == "" {
		e.Message = er.Code
	}
}

func idempotencyKey(c *provider.Call, what string) string {
	if id := c.Request().ExecutionID; id != "" {
		return "atom-" + what + "-" + id
	}
	return ""
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var out struct {
		Merchant json.RawMessage `json:"merchant"`
	}
	if err := c.HTTP().GetJSON(ctx, "/v2/merchants/me", nil, &out); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "merchant": out.Merchant}, nil
}

func listLocations(ctx context.Context, c *provider.Call) (any, error) {
	var out struct {
		Locations []json.RawMessage `json:"locations"`
	}
	if err := c.HTTP().GetJSON(ctx, "/v2/locations", nil, &out); err != nil {
		return nil, err
	}
	return provider.ListOutput("locations", out.Locations), nil
}

type listIn struct {
	Limit      int    `json:"limit"`
	Cursor     string `json:"cursor"`
	SortField  string `json:"sort_field"`
	SortOrder  string `json:"sort_order"`
	BeginTime  string `json:"begin_time"`
	EndTime    string `json:"end_time"`
	LocationID string `json:"location_id"`
}

func list(ctx context.Context, c *provider.Call, path, key string, q url.Values, in listIn) (any, error) {
	if in.Limit != 0 {
		q.Set("limit", strconv.Itoa(in.Limit))
	}
	if in.Cursor != "" {
		q.Set("cursor", in.Cursor)
	}
	var raw map[string]json.RawMessage
	if err := c.HTTP().GetJSON(ctx, path, q, &raw); err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if len(raw[key]) > 0 {
		_ = json.Unmarshal(raw[key], &items)
	}
	out := provider.ListOutput(key, items)
	var cursor string
	if json.Unmarshal(raw["cursor"], &cursor) == nil && cursor != "" {
		out["cursor"] = cursor
	}
	return out, nil
}

func set(q url.Values, kv map[string]string) url.Values {
	for k, v := range kv {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func listCustomers(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	return list(ctx, c, "/v2/customers", "customers", set(url.Values{}, map[string]string{"sort_field": in.SortField, "sort_order": in.SortOrder}), in)
}

func listPayments(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	return list(ctx, c, "/v2/payments", "payments", set(url.Values{}, map[string]string{
		"begin_time": in.BeginTime, "end_time": in.EndTime, "location_id": in.LocationID, "sort_order": in.SortOrder}), in)
}

type customerIn struct {
	GivenName    string `json:"given_name,omitempty"`
	FamilyName   string `json:"family_name,omitempty"`
	CompanyName  string `json:"company_name,omitempty"`
	EmailAddress string `json:"email_address,omitempty"`
	PhoneNumber  string `json:"phone_number,omitempty"`
	ReferenceID  string `json:"reference_id,omitempty"`
	Note         string `json:"note,omitempty"`
}

func createCustomer(ctx context.Context, c *provider.Call, in customerIn) (any, error) {
	if in.GivenName == "" && in.FamilyName == "" && in.CompanyName == "" && in.EmailAddress == "" && in.PhoneNumber == "" {
		return nil, provider.UserError("", "one of given_name, family_name, company_name, email_address or phone_number is required")
	}
	body := map[string]any{}
	b, _ := json.Marshal(in)
	_ = json.Unmarshal(b, &body)
	if k := idempotencyKey(c, "customer"); k != "" {
		body["idempotency_key"] = k
	}
	var out struct {
		Customer json.RawMessage `json:"customer"`
	}
	if err := c.HTTP().PostJSON(ctx, "/v2/customers", body, &out); err != nil {
		return nil, err
	}
	return out.Customer, nil
}

type paymentIn struct {
	SourceID     string `json:"source_id"`
	Amount       int64  `json:"amount"`
	Currency     string `json:"currency"`
	LocationID   string `json:"location_id"`
	CustomerID   string `json:"customer_id"`
	ReferenceID  string `json:"reference_id"`
	Note         string `json:"note"`
	Autocomplete *bool  `json:"autocomplete"`
}

func createPayment(ctx context.Context, c *provider.Call, in paymentIn) (any, error) {
	key := idempotencyKey(c, "payment")
	if key == "" {
		return nil, provider.Errorf("create_payment needs an execution id for its idempotency key")
	}
	body := map[string]any{"source_id": in.SourceID, "idempotency_key": key,
		"amount_money": map[string]any{"amount": in.Amount, "currency": strings.ToUpper(in.Currency)}}
	for k, v := range map[string]string{"location_id": in.LocationID, "customer_id": in.CustomerID, "reference_id": in.ReferenceID, "note": in.Note} {
		if v != "" {
			body[k] = v
		}
	}
	if in.Autocomplete != nil {
		body["autocomplete"] = *in.Autocomplete
	}
	var out struct {
		Payment json.RawMessage `json:"payment"`
	}
	if err := c.HTTP().PostJSON(ctx, "/v2/payments", body, &out); err != nil {
		return nil, err
	}
	return out.Payment, nil
}
