package stripe_test

import (
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/stripe/stripe"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const testKey = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"

func TestActions(t *testing.T) {
	apiKey := provider.Credentials{Type: "api_key", APIKey: testKey}
	connect := provider.Credentials{Type: "oauth2", AccessToken: "sk_test_connected_acct", TokenType: "bearer"}
	providertest.RunCases(t, providertest.Suite{
		New: func() provider.Provider { return stripe.New() },
		Fake: func(t testing.TB) *providertest.Recorder {
			return newFakeStripe(t, testKey, "sk_test_connected_acct").Recorder
		},
		Dir:  "../testdata",
		GRPC: true,
	}, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: apiKey},
		{Name: "test_connection_bad_key", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "api_key", APIKey: "sk_test_wrong0000"}, Failed: true},
		{Name: "get_balance_oauth", Action: "get_balance", Input: `{}`, Creds: connect},
		{Name: "list_customers_page1", Action: "list_customers", Input: `{"limit":2}`, Creds: apiKey},
		{Name: "list_customers_page2", Action: "list_customers", Input: `{"limit":2,"starting_after":"cus_0004"}`, Creds: apiKey},
		{Name: "list_customers_last_page", Action: "list_customers", Input: `{"limit":2,"starting_after":"cus_0002"}`, Creds: apiKey},
		{Name: "list_customers_email", Action: "list_customers", Input: `{"email":"user3@example.com"}`, Creds: apiKey},
		{Name: "list_customers_missing_cursor", Action: "list_customers", Input: `{"starting_after":"cus_nope"}`, Creds: apiKey, Failed: true},
		{Name: "list_customers_bad_limit", Action: "list_customers", Input: `{"limit":500}`, Creds: apiKey, Failed: true},
		{Name: "create_customer", Action: "create_customer", Input: `{"email":"new@example.com","name":"New Person","metadata":{"plan":"pro","tenant":"t1"}}`, Creds: apiKey},
		{Name: "create_customer_bad_email", Action: "create_customer", Input: `{"email":"not-an-email"}`, Creds: apiKey, Failed: true},
		{Name: "list_charges_customer", Action: "list_charges", Input: `{"customer":"cus_0002"}`, Creds: apiKey},
		{Name: "list_customers_backwards", Action: "list_customers", Input: `{"limit":2,"ending_before":"cus_0001"}`, Creds: apiKey},
		{Name: "list_customers_created_expand", Action: "list_customers", Input: `{"created":{"gte":1700000002,"lt":1700000005},"expand":["data.default_source","data.test_clock"]}`, Creds: apiKey},
		{Name: "list_customers_both_cursors", Action: "list_customers", Input: `{"starting_after":"cus_0004","ending_before":"cus_0001"}`, Creds: apiKey, Failed: true},
		{Name: "create_customer_name_too_long", Action: "create_customer", Input: `{"name":"` + strings.Repeat("n", 257) + `"}`, Creds: apiKey, Failed: true},
		{Name: "create_customer_metadata_bracket", Action: "create_customer", Input: `{"metadata":{"a][amount":"1"}}`, Creds: apiKey, Failed: true},
		{Name: "update_customer_escaped_id", Action: "update_customer", Input: `{"id":"cus_1/../../v1/balance","description":"VIP","metadata":{"tier":""}}`, Creds: apiKey},
		{Name: "delete_product", Action: "delete_product", Input: `{"id":"prod_1"}`, Creds: apiKey},
		{Name: "create_subscription_items", Action: "create_subscription", Input: `{"customer":"cus_0001","items":[{"price":"price_a","quantity":2},{"price":"price_b","metadata":{"seat":"x"}}],"trial_end":"now","cancel_at_period_end":false}`, Creds: apiKey},
		{Name: "create_subscription_no_items", Action: "create_subscription", Input: `{"customer":"cus_0001","items":[]}`, Creds: apiKey, Failed: true},
		{Name: "create_payment_intent", Action: "create_payment_intent", Input: `{"amount":2000,"currency":"eur","automatic_payment_methods":{"enabled":true,"allow_redirects":"never"}}`, Creds: apiKey},
		{Name: "cancel_subscription", Action: "cancel_subscription", Input: `{"id":"sub_1","invoice_now":true,"cancellation_details":{"feedback":"unused"}}`, Creds: apiKey},
		{Name: "list_events_types", Action: "list_events", Input: `{"types":["invoice.paid","invoice.payment_failed"],"created":1700000000}`, Creds: apiKey},
		{Name: "rate_limited", Action: "get_balance", Input: `{}`, Creds: provider.Credentials{Type: "api_key", APIKey: "sk_test_ratelimited"}, Failed: true},
	})
}

func TestDiagnosticsCarryStripeError(t *testing.T) {
	fake := newFakeStripe(t, testKey)
	resp := providertest.Run(t, stripe.New(), "create_customer", `{"email":"nope"}`,
		provider.Credentials{Type: "api_key", APIKey: testKey}, providertest.BaseURL(fake.URL))
	d := resp.Diagnostics[0]
	if d.Field != "email" || d.Status != 400 || d.Summary != "Invalid email address: nope" {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestCreateCustomerIdempotentPerExecution(t *testing.T) {
	fake := newFakeStripe(t, testKey)
	p := stripe.New()
	creds := provider.Credentials{Type: "api_key", APIKey: testKey}
	var a, b map[string]any
	providertest.Output(t, providertest.Run(t, p, "create_customer", `{"email":"a@example.com"}`, creds, providertest.BaseURL(fake.URL)), &a)
	providertest.Output(t, providertest.Run(t, p, "create_customer", `{"email":"a@example.com"}`, creds, providertest.BaseURL(fake.URL)), &b)
	if a["id"] != b["id"] {
		t.Fatalf("a retried execution created a second customer: %v, %v", a["id"], b["id"])
	}
}

func TestOAuthRefreshAfter401(t *testing.T) {
	fake := newFakeStripe(t, "sk_test_rotated")
	resp := providertest.RunRefreshing(t, stripe.New(), "test_connection", nil, provider.Credentials{Type: "oauth2", AccessToken: "sk_test_revoked"}, provider.Credentials{Type: "oauth2", AccessToken: "sk_test_rotated"},
		providertest.BaseURL(fake.URL), providertest.OverGRPC())
	var out map[string]bool
	providertest.Output(t, resp, &out)
	if !out["ok"] {
		t.Fatalf("out %v", out)
	}
}

func TestManifest(t *testing.T) {
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", stripe.New().Manifest())
}
