package plaid_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/plaid/plaid"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const (
	clientID = "5f1b2c3d4e5f6a7b8c9d0e1f"
	secret   = "0123456789abcdef0123456789abcd"
	access   = "access-sandbox-de3ce8ef-33f8-452c-a685-8671031fc0f6"
	itemID   = "M5eVJqLnv3tbzdngLDp9FL5OlDNxlNhlE55op"
)

func plaidError(w http.ResponseWriter, status int, typ, code, msg string) {
	providertest.WriteJSON(w, status, map[string]any{"error_type": typ, "error_code": code, "error_message": msg, "display_message": nil, "request_id": "HNTDNrA8F1shFEW"})
}

// newFake behaves like {env}.plaid.com: POST-only JSON with client_id and
// secret in the body, link-token creation, public-token exchange, item
// access tokens, sync cursors and Plaid's error object.
func newFake(t testing.TB) *providertest.Recorder {
	return providertest.NewRecorder(t, []string{"Content-Type", "Plaid-Version", "Authorization"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		var in map[string]any
		if r.Method != "POST" || json.Unmarshal(body, &in) != nil {
			plaidError(w, 400, "INVALID_REQUEST", "INVALID_BODY", "body could not be parsed as JSON")
			return
		}
		if in["client_id"] != clientID || in["secret"] != secret {
			plaidError(w, 400, "INVALID_INPUT", "INVALID_API_KEYS", "invalid client_id or secret provided")
			return
		}
		needItem := func() bool {
			if in["access_token"] != access {
				plaidError(w, 400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN", "provided access token is in an invalid format. expected format: access-<environment>-<identifier>")
				return false
			}
			return true
		}
		account := map[string]any{"account_id": "BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp", "name": "Plaid Checking", "type": "depository", "subtype": "checking", "mask": "0000",
			"balances": map[string]any{"available": 100, "current": 110, "iso_currency_code": "USD"}}
		switch r.URL.Path {
		case "/institutions/get":
			providertest.WriteJSON(w, 200, map[string]any{"institutions": []any{map[string]any{"institution_id": "ins_109508", "name": "First Platypus Bank"}}, "total": 11000, "request_id": "a"})
		case "/link/token/create":
			providertest.WriteJSON(w, 200, map[string]any{"link_token": "link-sandbox-af1a0311-da53-4636-b754-dd15cc058176", "expiration": "2024-05-01T14:00:00Z", "request_id": "XQVgFigpGHXkb0b"})
		case "/item/public_token/exchange":
			if in["public_token"] != "public-sandbox-b0e2c4ee-a763-4df5-bfe9-46a46bce993d" {
				plaidError(w, 400, "INVALID_INPUT", "INVALID_PUBLIC_TOKEN", "provided public token is expired. Public tokens expire 30 minutes after creation at which point they can no longer be exchanged")
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{"access_token": access, "item_id": itemID, "request_id": "Aim3b"})
		case "/accounts/get", "/accounts/balance/get":
			if needItem() {
				providertest.WriteJSON(w, 200, map[string]any{"accounts": []any{account}, "item": map[string]any{"item_id": itemID, "institution_id": "ins_109508"}, "request_id": "b"})
			}
		case "/transactions/sync":
			if !needItem() {
				return
			}
			if in["cursor"] == nil {
				providertest.WriteJSON(w, 200, map[string]any{"added": []any{map[string]any{"transaction_id": "lPNjeW1nR6CDn5okmGQ6hEpMo4lLNoSrzqDje", "amount": 2307.21, "name": "Apple Store", "date": "2024-04-28"}},
					"modified": []any{}, "removed": []any{}, "next_cursor": "tVUUL15lYQN5rBnfDIc1I8xudpGdIlw9nsgeXWvhOfkECvUeR663i3Dt1uf/94S8ASkitgLcIiOSqNwzzp+bh89kirazha5vuZHBb2ZA5NtCDkkV", "has_more": true, "request_id": "c"})
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{"added": []any{}, "modified": []any{}, "removed": []any{map[string]any{"transaction_id": "CmdQTNgems8BT1B7ibkoUXVPyAeehT3Tmzk0l"}},
				"next_cursor": "tVUUL15lYQN5rBnfDIc1I8xudpGdIlw9nsgeXWvhOfkECvUeR663i3Dt1uf/94S8ASkitgLcIiOSqNwzzp+bh89kirazha5vuZHBb2ZA5NtCDkkW", "has_more": false, "request_id": "d"})
		default:
			plaidError(w, 404, "INVALID_REQUEST", "NOT_FOUND", "not found")
		}
	}, providertest.RecordBody(providertest.CanonicalBody))
}

func linkedHost() *providertest.Host {
	h := providertest.NewHost()
	_ = h.StorePut(context.Background(), "item_access_token:"+itemID, []byte(access))
	return h
}

// suite runs each case in-process and over gRPC against a fresh fake,
// with the golden files in the provider's testdata/.
var suite = providertest.Suite{
	New:  func() provider.Provider { return plaid.New() },
	Fake: newFake,
	Dir:  "../testdata",
	GRPC: true,
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "custom", Fields: map[string]string{"clientId": clientID, "secret": secret}, Params: map[string]string{"environment": "sandbox"}}
	linked := []providertest.Option{providertest.WithHost(linkedHost())}
	providertest.RunCases(t, suite, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_bad_keys", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "custom", Fields: map[string]string{"clientId": clientID, "secret": "wrong"}}, Failed: true},
		{Name: "create_link_token", Action: "create_link_token", Input: `{"client_user_id":"user-42","client_name":"Acme Books","products":["transactions"],"country_codes":["US","CA"],"redirect_uri":"https://app.example/plaid-oauth"}`, Creds: creds},
		{Name: "exchange_public_token", Action: "exchange_public_token", Input: `{"public_token":"public-sandbox-b0e2c4ee-a763-4df5-bfe9-46a46bce993d"}`, Creds: creds, Options: []providertest.Option{providertest.WithHost(providertest.NewHost())}},
		{Name: "exchange_expired_public_token", Action: "exchange_public_token", Input: `{"public_token":"public-sandbox-expired"}`, Creds: creds, Failed: true, Options: []providertest.Option{providertest.WithHost(providertest.NewHost())}},
		{Name: "get_accounts", Action: "get_accounts", Input: `{"item_id":"` + itemID + `"}`, Creds: creds, Options: linked},
		{Name: "get_balances", Action: "get_accounts", Input: `{"item_id":"` + itemID + `","balances":true,"account_ids":["BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp"]}`, Creds: creds, Options: linked},
		{Name: "get_accounts_unknown_item", Action: "get_accounts", Input: `{"item_id":"unknown"}`, Creds: creds, Failed: true, Options: []providertest.Option{providertest.WithHost(providertest.NewHost())}},
		{Name: "sync_transactions_page1", Action: "sync_transactions", Input: `{"item_id":"` + itemID + `","count":1}`, Creds: creds, Options: linked},
		{Name: "sync_transactions_page2", Action: "sync_transactions", Input: `{"item_id":"` + itemID + `","count":1,"cursor":"tVUUL15lYQN5rBnfDIc1I8xudpGdIlw9nsgeXWvhOfkECvUeR663i3Dt1uf/94S8ASkitgLcIiOSqNwzzp+bh89kirazha5vuZHBb2ZA5NtCDkkV"}`, Creds: creds, Options: linked},
	})
}

// The exchanged access token stays in the host store: the output carries
// only the item id, and later calls find the token by it.
func TestExchangeKeepsAccessTokenPrivate(t *testing.T) {
	fake := newFake(t)
	host := providertest.NewHost()
	creds := provider.Credentials{Type: "custom", Fields: map[string]string{"clientId": clientID, "secret": secret}}
	resp := providertest.Run(t, plaid.New(), "exchange_public_token", `{"public_token":"public-sandbox-b0e2c4ee-a763-4df5-bfe9-46a46bce993d"}`, creds,
		providertest.BaseURL(fake.URL), providertest.WithHost(host), providertest.OverGRPC())
	if resp.Failed() || strings.Contains(string(resp.Output), "access-") {
		t.Fatalf("resp %+v", resp)
	}
	resp = providertest.Run(t, plaid.New(), "get_accounts", `{"item_id":"`+itemID+`"}`, creds, providertest.BaseURL(fake.URL), providertest.WithHost(host))
	if resp.Failed() {
		t.Fatal(resp.Diagnostics)
	}
}

func TestManifest(t *testing.T) {
	m := plaid.New().Manifest()
	if m.ID != "plaid" || m.Version != "1.0.0" || len(m.Actions) < 5 {
		t.Fatalf("manifest %+v", m)
	}
	providertest.ClosedInputs(t, m, "test_connection")
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", m)
}
