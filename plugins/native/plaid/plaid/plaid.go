// Package plaid is the Plaid provider: Link tokens, public-token exchange,
// accounts and transactions sync over the Plaid API
// (https://plaid.com/docs/api/), built only on the public SDK.
//
// Plaid is not OAuth: the connection holds the team's client_id and secret
// (custom fields clientId and secret) and the environment parameter picks
// the host (https://{sandbox|production}.plaid.com). Every call is a POST
// with client_id and secret in the JSON body. An end user links a bank in
// Plaid Link with a link token (create_link_token); the public token Link
// returns is exchanged (exchange_public_token) for an item access token,
// which the provider keeps in the host store under the item id and never
// returns: later actions name the item by item_id. Transactions page with
// the sync cursor (next_cursor, has_more). Plaid's error body
// {"error_type","error_code","error_message","display_message"} becomes a
// diagnostic.
package plaid

import (
	"context"
	"encoding/json"
	"regexp"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// APIVersion is the Plaid-Version requests are pinned to.
const APIVersion = "2020-09-14"

var options = provider.HTTPOptions{
	Header:      map[string][]string{"Plaid-Version": {APIVersion}},
	UserAgent:   "atom-provider-plaid/" + Version,
	DecodeError: DecodeError,
}

// New returns the Plaid provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID: "plaid", Name: "Plaid", Version: Version,
		Description:  "Banking data: link bank accounts, read accounts, balances and transactions.",
		Categories:   []string{"payments", "accounting"},
		AllowedHosts: []string{"sandbox.plaid.com", "development.plaid.com", "production.plaid.com"},
	}).
		HTTP(options).
		Action(provider.ActionDef{
			Name: "test_connection", DisplayName: "Test connection",
			Description: "Checks the client id and secret by reading one institution.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"environment":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name: "create_link_token", DisplayName: "Create Link token",
			Description: "Creates a link_token to start Plaid Link for one of your users.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["client_user_id","client_name"],"properties":{
				"client_user_id":{"type":"string","minLength":1},
				"client_name":{"type":"string","minLength":1,"maxLength":30},
				"products":{"type":"array","items":{"type":"string","enum":["auth","transactions","identity","investments","liabilities","assets"]}},
				"country_codes":{"type":"array","items":{"type":"string"}},
				"language":{"type":"string"},
				"redirect_uri":{"type":"string","format":"uri"},
				"webhook":{"type":"string","format":"uri"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["link_token","expiration"],"properties":{"link_token":{"type":"string"},"expiration":{"type":"string"},"request_id":{"type":"string"}}}`),
			Handle: provider.Typed(createLinkToken),
		}).
		Action(provider.ActionDef{
			Name: "exchange_public_token", DisplayName: "Exchange public token",
			Description: "Exchanges the public_token from Link for an item; the access token is kept by the provider, and the item_id is returned.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["public_token"],"properties":{"public_token":{"type":"string","minLength":1}}}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["item_id"],"properties":{"item_id":{"type":"string"},"request_id":{"type":"string"}}}`),
			Handle:      provider.Typed(exchangePublicToken),
		}).
		Action(provider.ActionDef{
			Name: "get_accounts", DisplayName: "Get accounts",
			Description: "Lists an item's accounts; with balances true, fetches real-time balances.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["item_id"],"properties":{"item_id":{"type":"string"},"balances":{"type":"boolean"},"account_ids":{"type":"array","items":{"type":"string"}}}}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["accounts"],"properties":{"accounts":{"type":"array","items":{"type":"object"}},"item":{"type":"object"}}}`),
			Handle:      provider.Typed(getAccounts),
		}).
		Action(provider.ActionDef{
			Name: "sync_transactions", DisplayName: "Sync transactions",
			Description: "Returns transactions added, modified and removed since cursor; pass next_cursor back while has_more.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["item_id"],"properties":{"item_id":{"type":"string"},"cursor":{"type":"string"},"count":{"type":"integer","minimum":1,"maximum":500}}}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["added","modified","removed","next_cursor","has_more"],"properties":{"added":{"type":"array"},"modified":{"type":"array"},"removed":{"type":"array"},"next_cursor":{"type":"string"},"has_more":{"type":"boolean"}}}`),
			Handle:      provider.Typed(syncTransactions),
		})
}

// DecodeError reads Plaid's error object into e.
func DecodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		ErrorType      string `json:"error_type"`
		ErrorCode      string `json:"error_code"`
		ErrorMessage   string `json:"error_message"`
		DisplayMessage string `json:"display_message"`
	}
	if json.Unmarshal(body, &v) != nil || v.ErrorCode == "" {
		e.Message = provider.ErrorText(body)
		return
	}
	e.Type, e.Code, e.Message = v.ErrorType, v.ErrorCode, v.ErrorMessage
	if v.DisplayMessage != "" {
		e.Message += " (" + v.DisplayMessage + ")"
	}
}

var envHosts = map[string]string{
	"sandbox":     "https://sandbox.plaid.com",
	"development": "https://development.plaid.com",
	"production":  "https://production.plaid.com",
}

func field(creds provider.Credentials, names ...string) string {
	for _, n := range names {
		if v := creds.Fields[n]; v != "" {
			return v
		}
	}
	return ""
}

// post sends body with the connection's client_id and secret to path.
func post(ctx context.Context, c *provider.Call, path string, body map[string]any, out any) error {
	creds := c.Credentials()
	id, secret := field(creds, "clientId", "client_id"), field(creds, "secret", "client_secret")
	if id == "" || secret == "" {
		return provider.Errorf("the Plaid connection needs the clientId and secret fields")
	}
	hc, err := provider.ClientWithBase(ctx, options, func() (string, error) {
		env := creds.Params["environment"]
		host, ok := envHosts[env]
		if !ok {
			return "", provider.Errorf("the Plaid connection's environment %q is not sandbox, development or production", env)
		}
		return host, nil
	})
	if err != nil {
		return err
	}
	body["client_id"], body["secret"] = id, secret
	return hc.PostJSON(ctx, path, body, out)
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var out json.RawMessage
	if err := post(ctx, c, "/institutions/get", map[string]any{"count": 1, "offset": 0, "country_codes": []string{"US"}}, &out); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "environment": c.Credentials().Params["environment"]}, nil
}

type linkIn struct {
	ClientUserID string   `json:"client_user_id"`
	ClientName   string   `json:"client_name"`
	Products     []string `json:"products"`
	CountryCodes []string `json:"country_codes"`
	Language     string   `json:"language"`
	RedirectURI  string   `json:"redirect_uri"`
	Webhook      string   `json:"webhook"`
}

func createLinkToken(ctx context.Context, c *provider.Call, in linkIn) (any, error) {
	body := map[string]any{"client_name": in.ClientName, "user": map[string]string{"client_user_id": in.ClientUserID},
		"language": "en", "country_codes": []string{"US"}, "products": []string{"transactions"}}
	if in.Language != "" {
		body["language"] = in.Language
	}
	if len(in.CountryCodes) > 0 {
		body["country_codes"] = in.CountryCodes
	}
	if len(in.Products) > 0 {
		body["products"] = in.Products
	}
	if in.RedirectURI != "" {
		body["redirect_uri"] = in.RedirectURI
	}
	if in.Webhook != "" {
		body["webhook"] = in.Webhook
	}
	var out struct {
		LinkToken  string `json:"link_token"`
		Expiration string `json:"expiration"`
		RequestID  string `json:"request_id"`
	}
	if err := post(ctx, c, "/link/token/create", body, &out); err != nil {
		return nil, err
	}
	return out, nil
}

var itemRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

func itemKey(itemID string) string { return "item_access_token:" + itemID }

func exchangePublicToken(ctx context.Context, c *provider.Call, in struct {
	PublicToken string `json:"public_token"`
}) (any, error) {
	var out struct {
		AccessToken string `json:"access_token"`
		ItemID      string `json:"item_id"`
		RequestID   string `json:"request_id"`
	}
	if err := post(ctx, c, "/item/public_token/exchange", map[string]any{"public_token": in.PublicToken}, &out); err != nil {
		return nil, err
	}
	if !itemRe.MatchString(out.ItemID) || out.AccessToken == "" {
		return nil, provider.Errorf("plaid returned no item")
	}
	if err := c.Host().StorePut(ctx, itemKey(out.ItemID), []byte(out.AccessToken)); err != nil {
		return nil, provider.Errorf("keep the item's access token: %v", err)
	}
	return map[string]string{"item_id": out.ItemID, "request_id": out.RequestID}, nil
}

// accessToken returns the kept access token of item_id, or the
// connection's access_token field when it holds a single item.
func accessToken(ctx context.Context, c *provider.Call, itemID string) (string, error) {
	if !itemRe.MatchString(itemID) {
		return "", provider.UserError("item_id", "is not a Plaid item id")
	}
	if v, ok, err := c.Host().StoreGet(ctx, itemKey(itemID)); err == nil && ok && len(v) > 0 {
		return string(v), nil
	}
	if t := field(c.Credentials(), "access_token", "accessToken"); t != "" {
		return t, nil
	}
	return "", provider.UserError("item_id", "unknown item: link it with create_link_token and exchange_public_token first")
}

type accountsIn struct {
	ItemID     string   `json:"item_id"`
	Balances   bool     `json:"balances"`
	AccountIDs []string `json:"account_ids"`
}

func getAccounts(ctx context.Context, c *provider.Call, in accountsIn) (any, error) {
	tok, err := accessToken(ctx, c, in.ItemID)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"access_token": tok}
	if len(in.AccountIDs) > 0 {
		body["options"] = map[string]any{"account_ids": in.AccountIDs}
	}
	path := "/accounts/get"
	if in.Balances {
		path = "/accounts/balance/get"
	}
	var out struct {
		Accounts []json.RawMessage `json:"accounts"`
		Item     json.RawMessage   `json:"item"`
	}
	if err := post(ctx, c, path, body, &out); err != nil {
		return nil, err
	}
	if out.Accounts == nil {
		out.Accounts = []json.RawMessage{}
	}
	return out, nil
}

type syncIn struct {
	ItemID string `json:"item_id"`
	Cursor string `json:"cursor"`
	Count  int    `json:"count"`
}

func syncTransactions(ctx context.Context, c *provider.Call, in syncIn) (any, error) {
	tok, err := accessToken(ctx, c, in.ItemID)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"access_token": tok}
	if in.Cursor != "" {
		body["cursor"] = in.Cursor
	}
	if in.Count != 0 {
		body["count"] = in.Count
	}
	var out struct {
		Added      []json.RawMessage `json:"added"`
		Modified   []json.RawMessage `json:"modified"`
		Removed    []json.RawMessage `json:"removed"`
		NextCursor string            `json:"next_cursor"`
		HasMore    bool              `json:"has_more"`
	}
	if err := post(ctx, c, "/transactions/sync", body, &out); err != nil {
		return nil, err
	}
	for _, l := range []*[]json.RawMessage{&out.Added, &out.Modified, &out.Removed} {
		if *l == nil {
			*l = []json.RawMessage{}
		}
	}
	return map[string]any{"added": out.Added, "modified": out.Modified, "removed": out.Removed, "next_cursor": out.NextCursor, "has_more": out.HasMore}, nil
}
