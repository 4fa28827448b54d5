package stripe_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/atomhq/atom/plugins/native/stripe/stripe"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const testKey = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}

func pretty(t *testing.T, resp provider.Response) []byte {
	t.Helper()
	var v any
	if len(resp.Output) > 0 {
		if err := json.Unmarshal(resp.Output, &v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.MarshalIndent(map[string]any{"output": v, "diagnostics": resp.Diagnostics}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestActions(t *testing.T) {
	apiKey := provider.Credentials{Type: "api_key", APIKey: testKey}
	connect := provider.Credentials{Type: "oauth2", AccessToken: "sk_test_connected_acct", TokenType: "bearer"}
	cases := []struct {
		name   string
		action string
		input  string
		creds  provider.Credentials
		failed bool
	}{
		{"test_connection", "test_connection", `{}`, apiKey, false},
		{"test_connection_bad_key", "test_connection", `{}`, provider.Credentials{Type: "api_key", APIKey: "sk_test_wrong0000"}, true},
		{"get_balance_oauth", "get_balance", `{}`, connect, false},
		{"list_customers_page1", "list_customers", `{"limit":2}`, apiKey, false},
		{"list_customers_page2", "list_customers", `{"limit":2,"starting_after":"cus_0004"}`, apiKey, false},
		{"list_customers_last_page", "list_customers", `{"limit":2,"starting_after":"cus_0002"}`, apiKey, false},
		{"list_customers_email", "list_customers", `{"email":"user3@example.com"}`, apiKey, false},
		{"list_customers_missing_cursor", "list_customers", `{"starting_after":"cus_nope"}`, apiKey, true},
		{"list_customers_bad_limit", "list_customers", `{"limit":500}`, apiKey, true},
		{"create_customer", "create_customer", `{"email":"new@example.com","name":"New Person","metadata":{"plan":"pro","tenant":"t1"}}`, apiKey, false},
		{"create_customer_bad_email", "create_customer", `{"email":"not-an-email"}`, apiKey, true},
		{"list_charges_customer", "list_charges", `{"customer":"cus_0002"}`, apiKey, false},
		{"rate_limited", "get_balance", `{}`, provider.Credentials{Type: "api_key", APIKey: "sk_test_ratelimited"}, true},
	}
	for _, transport := range []string{"direct", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			var via []providertest.Option
			if transport == "grpc" {
				via = append(via, providertest.Using(providertest.Serve(t, stripe.New())))
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fake := newFakeStripe(t, testKey, "sk_test_connected_acct")
					opts := append([]providertest.Option{providertest.BaseURL(fake.URL)}, via...)
					resp := providertest.Run(t, stripe.New(), tc.action, tc.input, tc.creds, opts...)
					if resp.Failed() != tc.failed {
						t.Fatalf("failed = %v, want %v: %+v", resp.Failed(), tc.failed, resp.Diagnostics)
					}
					golden(t, tc.name+".request.golden", []byte(fake.takeRequests()))
					golden(t, tc.name+".response.golden", pretty(t, resp))
				})
			}
		})
	}
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
	host := providertest.NewHost()
	host.RefreshCredentials = provider.Credentials{Type: "oauth2", AccessToken: "sk_test_rotated"}
	resp := providertest.Run(t, stripe.New(), "test_connection", nil,
		provider.Credentials{Type: "oauth2", AccessToken: "sk_test_revoked"},
		providertest.BaseURL(fake.URL), providertest.WithHost(host), providertest.OverGRPC())
	var out map[string]bool
	providertest.Output(t, resp, &out)
	if !out["ok"] || host.Refreshes() != 1 {
		t.Fatalf("out %v refreshes %d", out, host.Refreshes())
	}
}

func TestManifest(t *testing.T) {
	m := stripe.New().Manifest()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}
