package shopify_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/shopify/shopify"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const token = "shpua_0123456789abcdef0123456789abcdef"

func product(id int) map[string]any {
	return map[string]any{"id": id, "title": fmt.Sprintf("Product %d", id), "vendor": "Acme", "status": "active",
		"variants": []any{map[string]any{"id": id * 10, "product_id": id, "price": "9.99", "sku": fmt.Sprintf("SKU-%d", id)}}}
}

// newFake behaves like {shop}.myshopify.com/admin/api/2024-07: the token
// only in X-Shopify-Access-Token, Link-header paging with page_info (and
// 400 when page_info is mixed with filters), the call-limit header, a 429
// with a fractional Retry-After, and Shopify's {"errors": ...} bodies.
func newFake(t testing.TB) *providertest.Recorder {
	var f *providertest.Recorder
	f = providertest.NewRecorder(t, []string{"X-Shopify-Access-Token", "Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "" {
			providertest.WriteJSON(w, 401, map[string]string{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
			return
		}
		switch r.Header.Get("X-Shopify-Access-Token") {
		case token, "shpat_custom_app":
		case "throttled":
			w.Header().Set("Retry-After", "2.0")
			providertest.WriteJSON(w, 429, map[string]string{"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."})
			return
		default:
			providertest.WriteJSON(w, 401, map[string]string{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
			return
		}
		w.Header().Set("X-Shopify-Shop-Api-Call-Limit", "3/40")
		const base = "/admin/api/2024-07"
		p, q := r.URL.Path, r.URL.Query()
		switch {
		case r.Method == "GET" && p == base+"/shop.json":
			providertest.WriteJSON(w, 200, map[string]any{"shop": map[string]any{"id": 548380009, "name": "John Smith Test Store", "email": "j.smith@example.com",
				"domain": "shop.apple.com", "myshopify_domain": "jsmith.myshopify.com", "plan_name": "enterprise", "currency": "USD", "iana_timezone": "America/New_York", "address1": "1 Infinite Loop"}})
		case r.Method == "GET" && p == base+"/products.json":
			link := func(pi, rel string) string {
				return fmt.Sprintf(`<%s%s/products.json?limit=2&page_info=%s>; rel="%s"`, f.URL, base, pi, rel)
			}
			switch q.Get("page_info") {
			case "":
				w.Header().Set("Link", link("eyJsYXN0X2lkIjoyfQ", "next"))
				providertest.WriteJSON(w, 200, map[string]any{"products": []any{product(1), product(2)}})
			case "eyJsYXN0X2lkIjoyfQ":
				if q.Get("status") != "" {
					providertest.WriteJSON(w, 400, map[string]string{"errors": "page_info - Invalid value."})
					return
				}
				w.Header().Set("Link", link("eyJmaXJzdF9pZCI6M30", "previous"))
				providertest.WriteJSON(w, 200, map[string]any{"products": []any{product(3)}})
			default:
				providertest.WriteJSON(w, 400, map[string]string{"errors": "page_info - Invalid value."})
			}
		case r.Method == "GET" && p == base+"/products/632910392.json":
			providertest.WriteJSON(w, 200, map[string]any{"product": product(632910392)})
		case r.Method == "POST" && p == base+"/products.json":
			var in struct {
				Product map[string]any `json:"product"`
			}
			_ = json.Unmarshal(body, &in)
			if in.Product["title"] == "" {
				providertest.WriteJSON(w, 422, map[string]any{"errors": map[string][]string{"title": {"can't be blank"}}})
				return
			}
			out := product(1072481042)
			out["title"] = in.Product["title"]
			out["tags"] = in.Product["tags"]
			providertest.WriteJSON(w, 201, map[string]any{"product": out})
		case r.Method == "GET" && p == base+"/orders.json":
			providertest.WriteJSON(w, 200, map[string]any{"orders": []any{map[string]any{"id": 450789469, "name": "#1001", "financial_status": "paid", "total_price": "598.94"}}})
		case r.Method == "POST" && p == base+"/customers.json":
			var in struct {
				Customer map[string]any `json:"customer"`
			}
			_ = json.Unmarshal(body, &in)
			if in.Customer["email"] == "bob.norman@mail.example.com" {
				providertest.WriteJSON(w, 422, map[string]any{"errors": map[string][]string{"email": {"has already been taken"}, "phone": {"has already been taken"}}})
				return
			}
			providertest.WriteJSON(w, 201, map[string]any{"customer": map[string]any{"id": 1073339467, "email": in.Customer["email"], "first_name": in.Customer["first_name"], "tags": in.Customer["tags"]}})
		default:
			providertest.WriteJSON(w, 404, map[string]string{"errors": "Not Found"})
		}
	}, providertest.RecordBody(providertest.CanonicalBody))
	return f
}

// suite runs each case in-process and over gRPC against a fresh fake,
// with the golden files in the provider's testdata/.
var suite = providertest.Suite{
	New:  func() provider.Provider { return shopify.New() },
	Fake: newFake,
	Dir:  "../testdata",
	GRPC: true,
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, Params: map[string]string{"shop": "jsmith"}}
	providertest.RunCases(t, suite, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_custom_app", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "custom", Fields: map[string]string{"shopName": "jsmith", "adminToken": "shpat_custom_app"}}},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "revoked"}, Failed: true},
		{Name: "list_products_page1", Action: "list_products", Input: `{"limit":2,"status":"active"}`, Creds: creds},
		{Name: "list_products_page2", Action: "list_products", Input: `{"limit":2,"page_info":"eyJsYXN0X2lkIjoyfQ"}`, Creds: creds},
		{Name: "list_products_page_info_with_filter", Action: "list_products", Input: `{"page_info":"eyJsYXN0X2lkIjoyfQ","vendor":"Acme"}`, Creds: creds, Failed: true},
		{Name: "list_products_throttled", Action: "list_products", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "throttled"}, Failed: true},
		{Name: "get_product", Action: "get_product", Input: `{"id":632910392}`, Creds: creds},
		{Name: "get_product_missing", Action: "get_product", Input: `{"id":1}`, Creds: creds, Failed: true},
		{Name: "create_product", Action: "create_product", Input: `{"title":"Burton Custom Freestyle 151","vendor":"Burton","tags":["Barnes & Noble","Big Air"],"variants":[{"option1":"First","price":"10.00","sku":"123"}]}`, Creds: creds},
		{Name: "create_product_blank_title", Action: "create_product", Input: `{"title":""}`, Creds: creds, Failed: true},
		{Name: "list_orders", Action: "list_orders", Input: `{"financial_status":"paid"}`, Creds: creds},
		{Name: "create_customer", Action: "create_customer", Input: `{"email":"steve.lastnameson@example.com","first_name":"Steve","tags":["vip"]}`, Creds: creds},
		{Name: "create_customer_taken", Action: "create_customer", Input: `{"email":"bob.norman@mail.example.com"}`, Creds: creds, Failed: true},
	})
}

func TestFractionalRetryAfter(t *testing.T) {
	fake := newFake(t)
	resp := providertest.Run(t, shopify.New(), "list_products", `{}`, provider.Credentials{Type: "oauth2", AccessToken: "throttled"}, providertest.BaseURL(fake.URL))
	if d := resp.Diagnostics[0]; d.Status != 429 || !strings.Contains(d.Detail, "retry after 2s") {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestFieldError(t *testing.T) {
	fake := newFake(t)
	resp := providertest.Run(t, shopify.New(), "create_customer", `{"email":"bob.norman@mail.example.com"}`, provider.Credentials{Type: "oauth2", AccessToken: token}, providertest.BaseURL(fake.URL))
	if d := resp.Diagnostics[0]; d.Field != "email" || d.Status != 422 || d.Summary != "email has already been taken; phone has already been taken" {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestShopURL(t *testing.T) {
	for in, want := range map[string]string{"acme": "https://acme.myshopify.com", "Acme.myshopify.com": "https://acme.myshopify.com", "https://acme-2.myshopify.com/": "https://acme-2.myshopify.com"} {
		if got, err := shopify.ShopURL(in); err != nil || got != want {
			t.Errorf("ShopURL(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "evil.com/x", "a.b", "acme@evil"} {
		if _, err := shopify.ShopURL(bad); err == nil {
			t.Errorf("ShopURL(%q) accepted", bad)
		}
	}
	// Without the host's base URL the shop parameter picks the host; a
	// bad one fails before any request.
	resp := providertest.Run(t, shopify.New(), "test_connection", nil, provider.Credentials{Type: "oauth2", AccessToken: token, Params: map[string]string{"shop": "evil.com/"}})
	if !resp.Failed() {
		t.Fatal("bad shop accepted")
	}
}

func TestManifest(t *testing.T) {
	m := shopify.New().Manifest()
	if m.ID != "shopify" || m.Version != "1.0.0" || len(m.Actions) < 5 {
		t.Fatalf("manifest %+v", m)
	}
	providertest.ClosedInputs(t, m, "test_connection")
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", m)
}
