// Package shopify is the Shopify provider: shop, products, orders and
// customers over the Admin REST API (https://shopify.dev/docs/api/admin-rest),
// built only on the public SDK.
//
// Every shop has its own host, https://{shop}.myshopify.com, from the
// connection's "shop" parameter (or the custom credential field
// shopName); the host normally resolves it. Access tokens travel in
// X-Shopify-Access-Token, never as Bearer: OAuth tokens are moved there
// per request (so a refreshed expiring token is too), and custom-app admin
// tokens (field adminToken) are sent there directly. Lists page with the
// Link header's page_info cursor. Shopify's {"errors": ...} bodies (a
// string, or a map of field to messages) become diagnostics naming the
// field, and its fractional Retry-After ("2.0") is honoured.
package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// APIVersion is the Admin API version every path is pinned to.
const APIVersion = "2024-07"

const apiPath = "/admin/api/" + APIVersion

var options = provider.HTTPOptions{
	UserAgent:   "atom-provider-shopify/" + Version,
	Client:      provider.TokenHeader("X-Shopify-Access-Token", "", nil),
	DecodeError: DecodeError,
}

// New returns the Shopify provider.
func New() *provider.Builder {
	return withTriggers(provider.New(provider.Manifest{
		ID:           "shopify",
		Name:         "Shopify",
		Version:      Version,
		Description:  "Commerce: shop, products, orders and customers of a Shopify store.",
		Categories:   []string{"commerce"},
		AllowedHosts: []string{"*.myshopify.com"},
	}).
		HTTP(options).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the connection by reading the shop.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"shop":{"type":"object"},"call_limit":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_products",
			DisplayName: "List products",
			Description: "Lists products one page at a time; pass next_page_info back as page_info.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"limit":{"type":"integer","minimum":1,"maximum":250},
				"page_info":{"type":"string"},
				"status":{"type":"string","enum":["active","archived","draft"]},
				"vendor":{"type":"string"},
				"fields":{"type":"array","items":{"type":"string"}}}}`),
			Output: pageSchema("products"),
			Handle: provider.Typed(listProducts),
		}).
		Action(provider.ActionDef{
			Name:        "get_product",
			DisplayName: "Get product",
			Description: "Reads one product with its variants and images.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["id"],"properties":{"id":{"type":"integer","minimum":1}}}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"integer"},"title":{"type":"string"},"variants":{"type":"array"}}}`),
			Handle:      provider.Typed(getProduct),
		}).
		Action(provider.ActionDef{
			Name:        "create_product",
			DisplayName: "Create product",
			Description: "Creates a product, optionally with variants.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["title"],"properties":{
				"title":{"type":"string","minLength":1},
				"body_html":{"type":"string"},
				"vendor":{"type":"string"},
				"product_type":{"type":"string"},
				"status":{"type":"string","enum":["active","archived","draft"]},
				"tags":{"type":"array","items":{"type":"string"}},
				"variants":{"type":"array","items":{"type":"object","additionalProperties":false,"properties":{
					"option1":{"type":"string"},"price":{"type":"string"},"sku":{"type":"string"},"inventory_quantity":{"type":"integer"}}}}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"integer"},"title":{"type":"string"}}}`),
			Handle: provider.Typed(createProduct),
		}).
		Action(provider.ActionDef{
			Name:        "list_orders",
			DisplayName: "List orders",
			Description: "Lists orders (any status unless filtered), one page at a time.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"limit":{"type":"integer","minimum":1,"maximum":250},
				"page_info":{"type":"string"},
				"status":{"type":"string","enum":["open","closed","cancelled","any"]},
				"financial_status":{"type":"string"},
				"created_at_min":{"type":"string","format":"date-time"}}}`),
			Output: pageSchema("orders"),
			Handle: provider.Typed(listOrders),
		}).
		Action(provider.ActionDef{
			Name:        "create_customer",
			DisplayName: "Create customer",
			Description: "Creates a customer.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"email":{"type":"string"},
				"first_name":{"type":"string"},
				"last_name":{"type":"string"},
				"phone":{"type":"string"},
				"tags":{"type":"array","items":{"type":"string"}},
				"note":{"type":"string"},
				"verified_email":{"type":"boolean"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"integer"},"email":{"type":["string","null"]}}}`),
			Handle: provider.Typed(createCustomer),
		}))
}

func pageSchema(key string) json.RawMessage {
	return provider.SortedSchema(`{"type":"object","required":["` + key + `"],"properties":{
		"` + key + `":{"type":"array","items":{"type":"object"}},
		"next_page_info":{"type":"string"},
		"previous_page_info":{"type":"string"},
		"call_limit":{"type":"string"}}}`)
}

var shopRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ShopURL returns https://{shop}.myshopify.com for a shop name or
// domain ("acme", "acme.myshopify.com", "https://acme.myshopify.com/").
func ShopURL(shop string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(shop))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s = strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".myshopify.com")
	if !shopRe.MatchString(s) {
		return "", provider.Errorf("the connection's shop %q is not a Shopify shop name", shop)
	}
	return "https://" + s + ".myshopify.com", nil
}

// client returns the HTTP client for the shop.
func client(ctx context.Context, c *provider.Call) (*provider.HTTPClient, error) {
	return clientFor(ctx, c.Credentials())
}

// clientFor returns the HTTP client for the shop of creds.
func clientFor(ctx context.Context, creds provider.Credentials) (*provider.HTTPClient, error) {
	hc, err := provider.ClientWithBase(ctx, options, func() (string, error) {
		shop := creds.Params["shop"]
		if shop == "" {
			shop = creds.Fields["shopName"]
		}
		return ShopURL(shop)
	})
	if err != nil {
		return nil, err
	}
	if creds.Type == "custom" {
		tok := creds.Fields["adminToken"]
		if tok == "" {
			return nil, provider.Errorf("the connection has no adminToken")
		}
		hc = hc.WithHeader("X-Shopify-Access-Token", tok)
	}
	return hc, nil
}

// DecodeError reads Shopify's error bodies into e: {"errors":"Not Found"},
// {"errors":{"email":["has already been taken"]}} (Field is the first
// field, sorted) and {"error":"...","error_description":"..."}.
func DecodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Errors      json.RawMessage `json:"errors"`
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	if json.Unmarshal(body, &v) != nil {
		e.Message = provider.ErrorText(body)
		return
	}
	var str string
	var byField map[string][]string
	var list []string
	switch {
	case json.Unmarshal(v.Errors, &str) == nil:
		e.Message = str
	case json.Unmarshal(v.Errors, &byField) == nil && len(byField) > 0:
		fields := make([]string, 0, len(byField))
		for f := range byField {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		var parts []string
		for _, f := range fields {
			for _, m := range byField[f] {
				if f == "base" {
					parts = append(parts, m)
				} else {
					parts = append(parts, f+" "+m)
				}
			}
		}
		e.Message = strings.Join(parts, "; ")
		if fields[0] != "base" {
			e.Field = fields[0]
		}
	case json.Unmarshal(v.Errors, &list) == nil && len(list) > 0:
		e.Message = strings.Join(list, "; ")
	default:
		e.Message, e.Code = v.Description, v.Error
		if e.Message == "" {
			e.Message = v.Error
		}
	}
}

// exchange sends a request and applies Shopify's fractional Retry-After
// to a 429.
func exchange(ctx context.Context, hc *provider.HTTPClient, method, path string, q url.Values, body any, out any) (http.Header, error) {
	var b []byte
	ct := ""
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return nil, err
		}
		ct = "application/json"
	}
	h, err := hc.Exchange(ctx, method, apiPath+path, q, ct, b, out)
	var he *provider.HTTPError
	if errors.As(err, &he) && he.RetryAfter == 0 && h != nil {
		if f, perr := strconv.ParseFloat(h.Get("Retry-After"), 64); perr == nil && f > 0 {
			he.RetryAfter = time.Duration(f * float64(time.Second))
		}
	}
	return h, err
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	var out struct {
		Shop map[string]any `json:"shop"`
	}
	h, err := exchange(ctx, hc, http.MethodGet, "/shop.json", nil, nil, &out)
	if err != nil {
		return nil, err
	}
	shop := map[string]any{}
	for _, k := range []string{"id", "name", "email", "domain", "myshopify_domain", "plan_name", "currency", "iana_timezone"} {
		if v, ok := out.Shop[k]; ok {
			shop[k] = v
		}
	}
	return map[string]any{"ok": true, "shop": shop, "call_limit": h.Get("X-Shopify-Shop-Api-Call-Limit")}, nil
}

type listIn struct {
	Limit           int      `json:"limit"`
	PageInfo        string   `json:"page_info"`
	Status          string   `json:"status"`
	Vendor          string   `json:"vendor"`
	Fields          []string `json:"fields"`
	FinancialStatus string   `json:"financial_status"`
	CreatedAtMin    string   `json:"created_at_min"`
}

// list fetches one page of key from path. With page_info Shopify accepts
// only limit and fields: the filters are fixed by the first page.
func list(ctx context.Context, c *provider.Call, path, key string, in listIn, filters map[string]string) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if in.Limit != 0 {
		q.Set("limit", strconv.Itoa(in.Limit))
	}
	if len(in.Fields) > 0 {
		q.Set("fields", strings.Join(in.Fields, ","))
	}
	if in.PageInfo != "" {
		for name, v := range filters {
			if v != "" {
				return nil, provider.UserError(name, "cannot be combined with page_info: filters are fixed by the first page")
			}
		}
		q.Set("page_info", in.PageInfo)
	} else {
		for name, v := range filters {
			if v != "" {
				q.Set(name, v)
			}
		}
	}
	var raw map[string][]json.RawMessage
	h, err := exchange(ctx, hc, http.MethodGet, path, q, nil, &raw)
	if err != nil {
		return nil, err
	}
	out := provider.ListOutput(key, raw[key])
	if cl := h.Get("X-Shopify-Shop-Api-Call-Limit"); cl != "" {
		out["call_limit"] = cl
	}
	for rel, name := range map[string]string{"next": "next_page_info", "previous": "previous_page_info"} {
		if link, ok := provider.LinkHeader(h)[rel]; ok {
			if u, err := url.Parse(link); err == nil && u.Query().Get("page_info") != "" {
				out[name] = u.Query().Get("page_info")
			}
		}
	}
	return out, nil
}

func listProducts(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	return list(ctx, c, "/products.json", "products", in, map[string]string{"status": in.Status, "vendor": in.Vendor})
}

func listOrders(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	status := in.Status
	if status == "" && in.PageInfo == "" {
		status = "any"
	}
	return list(ctx, c, "/orders.json", "orders", in, map[string]string{"status": status,
		"financial_status": in.FinancialStatus, "created_at_min": in.CreatedAtMin})
}

func getProduct(ctx context.Context, c *provider.Call, in struct {
	ID int64 `json:"id"`
}) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	var out struct {
		Product json.RawMessage `json:"product"`
	}
	if _, err := exchange(ctx, hc, http.MethodGet, "/products/"+strconv.FormatInt(in.ID, 10)+".json", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Product, nil
}

type productIn struct {
	Title       string           `json:"title"`
	BodyHTML    string           `json:"body_html,omitempty"`
	Vendor      string           `json:"vendor,omitempty"`
	ProductType string           `json:"product_type,omitempty"`
	Status      string           `json:"status,omitempty"`
	Tags        []string         `json:"tags,omitempty"`
	Variants    []map[string]any `json:"variants,omitempty"`
}

func createProduct(ctx context.Context, c *provider.Call, in productIn) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	p := map[string]any{"title": in.Title}
	for k, v := range map[string]string{"body_html": in.BodyHTML, "vendor": in.Vendor, "product_type": in.ProductType, "status": in.Status} {
		if v != "" {
			p[k] = v
		}
	}
	if len(in.Tags) > 0 {
		p["tags"] = strings.Join(in.Tags, ", ")
	}
	if len(in.Variants) > 0 {
		p["variants"] = in.Variants
	}
	var out struct {
		Product json.RawMessage `json:"product"`
	}
	if _, err := exchange(ctx, hc, http.MethodPost, "/products.json", nil, map[string]any{"product": p}, &out); err != nil {
		return nil, err
	}
	return out.Product, nil
}

type customerIn struct {
	Email         string   `json:"email,omitempty"`
	FirstName     string   `json:"first_name,omitempty"`
	LastName      string   `json:"last_name,omitempty"`
	Phone         string   `json:"phone,omitempty"`
	Tags          []string `json:"tags,omitempty"`
	Note          string   `json:"note,omitempty"`
	VerifiedEmail *bool    `json:"verified_email,omitempty"`
}

func createCustomer(ctx context.Context, c *provider.Call, in customerIn) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	if in.Email == "" && in.Phone == "" && in.FirstName == "" && in.LastName == "" {
		return nil, provider.UserError("", "a customer needs at least an email, a phone or a name")
	}
	cu := map[string]any{}
	b, _ := json.Marshal(in)
	_ = json.Unmarshal(b, &cu)
	if len(in.Tags) > 0 {
		cu["tags"] = strings.Join(in.Tags, ", ")
	}
	var out struct {
		Customer json.RawMessage `json:"customer"`
	}
	if _, err := exchange(ctx, hc, http.MethodPost, "/customers.json", nil, map[string]any{"customer": cu}, &out); err != nil {
		return nil, err
	}
	return out.Customer, nil
}
