package square_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/atomhq/atom/plugins/native/square/square"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const token = "EAAAEOuLQ0000000000000000000000000000000000000000000000000000000"

func sqError(w http.ResponseWriter, status int, category, code, detail, field string) {
	e := map[string]string{"category": category, "code": code, "detail": detail}
	if field != "" {
		e["field"] = field
	}
	providertest.WriteJSON(w, status, map[string]any{"errors": []any{e}})
}

// newFake behaves like connect.squareup.com/v2: Bearer auth, a required
// Square-Version, cursor paging, idempotency keys and Square's errors[].
func newFake(t testing.TB) *providertest.Recorder {
	return providertest.NewRecorder(t, []string{"Authorization", "Square-Version", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			sqError(w, 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", "This request could not be authorized.", "")
			return
		}
		if r.Header.Get("Square-Version") == "" {
			sqError(w, 400, "INVALID_REQUEST_ERROR", "INVALID_SQUARE_VERSION_FORMAT", "Square-Version is missing", "")
			return
		}
		q := r.URL.Query()
		switch {
		case r.Method == "GET" && r.URL.Path == "/v2/merchants/me":
			providertest.WriteJSON(w, 200, map[string]any{"merchant": map[string]any{"id": "DM7VKY8Q63GNP", "business_name": "Apple A Day", "country": "US", "language_code": "en-US", "currency": "USD", "status": "ACTIVE", "main_location_id": "9A65CGC72ZQG1"}})
		case r.Method == "GET" && r.URL.Path == "/v2/locations":
			providertest.WriteJSON(w, 200, map[string]any{"locations": []any{map[string]any{"id": "9A65CGC72ZQG1", "name": "Main", "status": "ACTIVE", "currency": "USD"}}})
		case r.Method == "GET" && r.URL.Path == "/v2/customers":
			if q.Get("cursor") == "" {
				providertest.WriteJSON(w, 200, map[string]any{"customers": []any{map[string]any{"id": "JDKYHBWT1D4F8MFH63DBMEN8Y4", "given_name": "Amelia"}, map[string]any{"id": "A9641GZW2H7Z56YYSD41Q12HDW", "given_name": "Bob"}}, "cursor": "Q3VzdG9tZXJDdXJzb3I6Mg=="})
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{"customers": []any{map[string]any{"id": "Z57QXKM2FGXEQDV42W8RBZY7BR", "given_name": "Carol"}}})
		case r.Method == "POST" && r.URL.Path == "/v2/customers":
			var in map[string]any
			_ = json.Unmarshal(body, &in)
			if in["email_address"] == "nope" {
				sqError(w, 400, "INVALID_REQUEST_ERROR", "INVALID_EMAIL_ADDRESS", "Expected email_address to be a valid email address", "email_address")
				return
			}
			in["id"] = "JDKYHBWT1D4F8MFH63DBMEN8Y4"
			delete(in, "idempotency_key")
			providertest.WriteJSON(w, 200, map[string]any{"customer": in})
		case r.Method == "GET" && r.URL.Path == "/v2/payments":
			providertest.WriteJSON(w, 200, map[string]any{"payments": []any{map[string]any{"id": "bP9mAsEMYPUGjjGNaNO5ZDVyLhSZY", "status": "COMPLETED", "amount_money": map[string]any{"amount": 1000, "currency": "USD"}}}})
		case r.Method == "POST" && r.URL.Path == "/v2/payments":
			var in map[string]any
			_ = json.Unmarshal(body, &in)
			if in["source_id"] == "cnon:card-nonce-declined" {
				sqError(w, 402, "PAYMENT_METHOD_ERROR", "CARD_DECLINED", "Authorization error: 'CARD_DECLINED'", "")
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{"payment": map[string]any{"id": "R2B3Z8WMVt3EAmzYWLZvz7Y69EbZY", "status": "COMPLETED", "amount_money": in["amount_money"], "location_id": in["location_id"]}})
		default:
			sqError(w, 404, "INVALID_REQUEST_ERROR", "NOT_FOUND", "Resource not found.", "")
		}
	}, providertest.RecordBody(providertest.CanonicalBody))
}

// suite runs each case in-process and over gRPC against a fresh fake,
// with the golden files in the provider's testdata/.
var suite = providertest.Suite{
	New:  func() provider.Provider { return square.New() },
	Fake: newFake,
	Dir:  "../testdata",
	GRPC: true,
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token}
	providertest.RunCases(t, suite, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "revoked"}, Failed: true},
		{Name: "list_locations", Action: "list_locations", Input: `{}`, Creds: creds},
		{Name: "list_customers_page1", Action: "list_customers", Input: `{"limit":2,"sort_field":"CREATED_AT"}`, Creds: creds},
		{Name: "list_customers_page2", Action: "list_customers", Input: `{"limit":2,"cursor":"Q3VzdG9tZXJDdXJzb3I6Mg=="}`, Creds: creds},
		{Name: "create_customer", Action: "create_customer", Input: `{"given_name":"Amelia","family_name":"Earhart","email_address":"amelia@example.com"}`, Creds: creds},
		{Name: "create_customer_bad_email", Action: "create_customer", Input: `{"email_address":"nope"}`, Creds: creds, Failed: true},
		{Name: "list_payments", Action: "list_payments", Input: `{"begin_time":"2024-05-01T00:00:00Z","location_id":"9A65CGC72ZQG1"}`, Creds: creds},
		{Name: "create_payment", Action: "create_payment", Input: `{"source_id":"cnon:card-nonce-ok","amount":1000,"currency":"usd","location_id":"9A65CGC72ZQG1"}`, Creds: creds},
		{Name: "create_payment_declined", Action: "create_payment", Input: `{"source_id":"cnon:card-nonce-declined","amount":1000,"currency":"USD"}`, Creds: creds, Failed: true},
	})
}

func TestErrorNamesField(t *testing.T) {
	fake := newFake(t)
	resp := providertest.Run(t, square.New(), "create_customer", `{"email_address":"nope"}`, provider.Credentials{Type: "oauth2", AccessToken: token}, providertest.BaseURL(fake.URL))
	if d := resp.Diagnostics[0]; d.Field != "email_address" || d.Status != 400 {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	m := square.New().Manifest()
	if m.ID != "square" || m.Version != "1.0.0" || len(m.Actions) < 5 {
		t.Fatalf("manifest %+v", m)
	}
	providertest.ClosedInputs(t, m, "test_connection")
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", m)
}
