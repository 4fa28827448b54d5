package generic

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/sdk/provider"
)

var testCatalog = func() *catalog.Catalog {
	c, err := catalog.Load(catalog.Options{})
	if err != nil {
		panic(err)
	}
	return c
}()

// refreshHost counts refreshes and hands out a fresh token.
type refreshHost struct{ n atomic.Int32 }

func (h *refreshHost) Refresh(context.Context) (provider.Credentials, error) {
	h.n.Add(1)
	return provider.Credentials{Type: "oauth2", AccessToken: "fresh"}, nil
}
func (h *refreshHost) StoreGet(context.Context, string) ([]byte, bool, error) { return nil, false, nil }
func (h *refreshHost) StorePut(context.Context, string, []byte) error         { return nil }
func (h *refreshHost) Log(context.Context, string, string)                    {}

func newRuntime(t *testing.T, upstream string, allow ...string) *Runtime {
	t.Helper()
	env := map[string]string{"STRIPE_API_BASE_URL": upstream + "/stripe", "SHOPIFY_API_BASE_URL": upstream}
	return New(Config{
		Catalog: func() *catalog.Catalog { return testCatalog },
		Client:  outbound.New(outbound.Config{AllowPrivateHosts: allow}),
		Env:     func(k string) string { return env[k] },
	})
}

func run(t *testing.T, r *Runtime, id string, creds provider.Credentials, input string, host *refreshHost) provider.Response {
	t.Helper()
	impl, ok := r.For(id)
	if !ok {
		t.Fatalf("no generic implementation for %s", id)
	}
	var h interface {
		Refresh(context.Context) (provider.Credentials, error)
		StoreGet(context.Context, string) ([]byte, bool, error)
		StorePut(context.Context, string, []byte) error
		Log(context.Context, string, string)
	}
	if host != nil {
		h = host
	}
	resp, err := impl.Execute(context.Background(), provider.Request{TenantID: "t1", Action: ActionName, Input: json.RawMessage(input), Credentials: creds}, h)
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	return resp
}

func output(t *testing.T, r provider.Response) Output {
	t.Helper()
	var o Output
	if err := json.Unmarshal(r.Output, &o); err != nil {
		t.Fatalf("output %s: %v", r.Output, err)
	}
	return o
}

func TestCustomAPICall(t *testing.T) {
	var seen atomic.Pointer[http.Request]
	var seenBody atomic.Value
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen.Store(r.Clone(context.Background()))
		seenBody.Store(string(b))
		switch {
		case r.URL.Path == "/stripe/v1/customers" && r.Method == "POST":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Set-Cookie", "session=abc")
			w.Header().Set("Request-Id", "req_1")
			io.WriteString(w, `{"id":"cus_1","object":"customer"}`)
		case r.URL.Path == "/stripe/v1/missing":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"No such customer: 'cus_x'"}}`)
		case r.URL.Path == "/stripe/v1/text":
			io.WriteString(w, "plain words")
		case r.URL.Path == "/admin/api/2024-01/shop.json":
			io.WriteString(w, `{"shop":{"name":"s"}}`)
		default:
			w.WriteHeader(418)
		}
	}))
	defer fake.Close()
	u, _ := url.Parse(fake.URL)
	r := newRuntime(t, fake.URL, u.Host)

	t.Run("api key, json body and query", func(t *testing.T) {
		resp := run(t, r, "stripe", provider.Credentials{Type: "api_key", APIKey: "sk_test_1"},
			`{"method":"POST","path":"/v1/customers","query":{"expand":["a","b"],"limit":3},"headers":{"Idempotency-Key":"k1"},"body":{"email":"a@example.com"}}`, nil)
		if resp.Failed() {
			t.Fatalf("diagnostics %+v", resp.Diagnostics)
		}
		o := output(t, resp)
		if o.Status != 200 || string(o.Body) != `{"id":"cus_1","object":"customer"}` {
			t.Fatalf("output %+v", o)
		}
		if _, ok := o.Headers["set-cookie"]; ok || o.Headers["request-id"] != "req_1" {
			t.Fatalf("headers %v: want safe subset", o.Headers)
		}
		req := seen.Load()
		if req.Header.Get("Authorization") != "Bearer sk_test_1" || req.Header.Get("Idempotency-Key") != "k1" ||
			req.Header.Get("Content-Type") != "application/json" || req.URL.RawQuery != "expand=a&expand=b&limit=3" {
			t.Fatalf("upstream saw %v %q", req.Header, req.URL.RawQuery)
		}
		if seenBody.Load() != `{"email":"a@example.com"}` {
			t.Fatalf("body %q", seenBody.Load())
		}
	})

	t.Run("provider error becomes a diagnostic with the body", func(t *testing.T) {
		resp := run(t, r, "stripe", provider.Credentials{Type: "api_key", APIKey: "sk"}, `{"method":"GET","path":"v1/missing"}`, nil)
		if !resp.Failed() || resp.Diagnostics[0].Status != 404 || !strings.Contains(resp.Diagnostics[0].Summary, "No such customer") {
			t.Fatalf("diagnostics %+v", resp.Diagnostics)
		}
		if o := output(t, resp); o.Status != 404 || !strings.Contains(string(o.Body), "invalid_request_error") {
			t.Fatalf("output %+v", o)
		}
	})

	t.Run("text body", func(t *testing.T) {
		o := output(t, run(t, r, "stripe", provider.Credentials{Type: "api_key", APIKey: "sk"}, `{"method":"GET","path":"/v1/text"}`, nil))
		if string(o.Body) != `"plain words"` {
			t.Fatalf("body %s", o.Body)
		}
	})

	t.Run("descriptor header template", func(t *testing.T) {
		resp := run(t, r, "shopify", provider.Credentials{Type: "oauth2", AccessToken: "shpat_1", Params: map[string]string{"shop": "s"}},
			`{"method":"GET","path":"/admin/api/2024-01/shop.json"}`, nil)
		if resp.Failed() {
			t.Fatalf("diagnostics %+v", resp.Diagnostics)
		}
		if got := seen.Load().Header.Get("X-Shopify-Access-Token"); got != "shpat_1" {
			t.Fatalf("x-shopify-access-token = %q", got)
		}
	})

	refused := []struct{ name, input, field string }{
		{"authorization override", `{"method":"GET","path":"/x","headers":{"authorization":"Bearer mine"}}`, "/headers/authorization"},
		{"cookie", `{"method":"GET","path":"/x","headers":{"Cookie":"a=b"}}`, "/headers/Cookie"},
		{"hop-by-hop", `{"method":"GET","path":"/x","headers":{"Transfer-Encoding":"chunked"}}`, "/headers/Transfer-Encoding"},
		{"other host", `{"method":"GET","path":"https://evil.example.com/steal"}`, "/path"},
		{"scheme-relative", `{"method":"GET","path":"//evil.example.com/steal"}`, "/path"},
		{"dot-dot", `{"method":"GET","path":"/../../etc"}`, "/path"},
	}
	for _, tc := range refused {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			before := seen.Load()
			resp := run(t, r, "stripe", provider.Credentials{Type: "api_key", APIKey: "sk"}, tc.input, nil)
			if !resp.Failed() || resp.Diagnostics[0].Field != tc.field {
				t.Fatalf("diagnostics %+v, want a refusal on %s", resp.Diagnostics, tc.field)
			}
			if seen.Load() != before {
				t.Fatal("the request was sent")
			}
		})
	}
}

func TestRefreshOnceAfter401(t *testing.T) {
	var calls atomic.Int32
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer fresh" {
			w.WriteHeader(401)
			io.WriteString(w, `{"error":"invalid_token"}`)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	defer fake.Close()
	u, _ := url.Parse(fake.URL)
	r := newRuntime(t, fake.URL, u.Host)
	h := &refreshHost{}
	resp := run(t, r, "stripe", provider.Credentials{Type: "oauth2", AccessToken: "stale"}, `{"method":"GET","path":"/v1/balance"}`, h)
	if resp.Failed() || h.n.Load() != 1 || calls.Load() != 2 {
		t.Fatalf("diagnostics %+v, refreshes %d, calls %d", resp.Diagnostics, h.n.Load(), calls.Load())
	}
	// An API key cannot be refreshed: the 401 is reported.
	h2 := &refreshHost{}
	resp = run(t, r, "stripe", provider.Credentials{Type: "api_key", APIKey: "bad"}, `{"method":"GET","path":"/v1/balance"}`, h2)
	if !resp.Failed() || resp.Diagnostics[0].Status != 401 || h2.n.Load() != 0 {
		t.Fatalf("diagnostics %+v refreshes %d", resp.Diagnostics, h2.n.Load())
	}
}

func TestSSRFRefusedUnlessAllowed(t *testing.T) {
	var calls atomic.Int32
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer fake.Close()
	r := newRuntime(t, fake.URL) // nothing allowed
	resp := run(t, r, "stripe", provider.Credentials{Type: "api_key", APIKey: "sk"}, `{"method":"GET","path":"/v1/balance"}`, nil)
	if !resp.Failed() || !strings.Contains(resp.Diagnostics[0].Summary, "ATOM_ALLOW_PRIVATE_HOSTS") || calls.Load() != 0 {
		t.Fatalf("diagnostics %+v calls %d", resp.Diagnostics, calls.Load())
	}
}

func TestRateLimitIsAnError(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer fake.Close()
	u, _ := url.Parse(fake.URL)
	r := New(Config{
		Catalog: func() *catalog.Catalog { return testCatalog },
		Client:  outbound.New(outbound.Config{AllowPrivateHosts: []string{u.Host}, Rate: 0.001, Burst: 1}),
		Env:     func(k string) string { return fake.URL },
	})
	impl, _ := r.For("stripe")
	req := provider.Request{TenantID: "t", Action: ActionName, Input: json.RawMessage(`{"method":"GET","path":"/"}`), Credentials: provider.Credentials{Type: "api_key", APIKey: "k"}}
	if _, err := impl.Execute(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := impl.Execute(context.Background(), req, nil); !errors.Is(err, outbound.ErrRateLimited) {
		t.Fatalf("second call err = %v, want ErrRateLimited", err)
	}
}

func TestBaseURL(t *testing.T) {
	shopify, _ := testCatalog.Get("shopify")
	sf, _ := testCatalog.Get("salesforce")
	cases := []struct {
		name  string
		d     *catalog.Descriptor
		creds provider.Credentials
		env   map[string]string
		want  string
		err   string
	}{
		{"connection param", shopify, provider.Credentials{Params: map[string]string{"shop": "acme"}}, nil, "https://acme.myshopify.com", ""},
		{"metadata", sf, provider.Credentials{Metadata: map[string]string{"instance_url": "https://na1.salesforce.com"}}, nil, "https://na1.salesforce.com", ""},
		{"env override", shopify, provider.Credentials{}, map[string]string{"SHOPIFY_API_BASE_URL": "http://127.0.0.1:9/"}, "http://127.0.0.1:9", ""},
		{"missing param", shopify, provider.Credentials{}, nil, "", "shop"},
		{"refuses host injection", shopify, provider.Credentials{Params: map[string]string{"shop": "evil.com/x?"}}, nil, "", "cannot build"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BaseURL(tc.d, tc.creds, func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("BaseURL = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestOperatorBaseURL: a base URL that will carry {PROVIDER}_API_KEY takes
// its host from the descriptor or an allowed value only, whatever fills
// the template (parameters, credential fields, a pieces call's config).
func TestOperatorBaseURL(t *testing.T) {
	keyed := &catalog.Descriptor{ID: "keyed", Auth: catalog.Auth{Kind: catalog.AuthAPIKey,
		ConnectionParamOptions: map[string][]string{"region": {"eu", "us"}}},
		API: catalog.API{BaseURL: "https://api.{{connection.region}}.keyed.example/{{connection.account}} || https://{{credentials.domain}}/api"}}
	freshteam, _ := testCatalog.Get("freshteam")
	okta, _ := testCatalog.Get("okta-api-key")
	cases := []struct {
		name  string
		d     *catalog.Descriptor
		creds provider.Credentials
		env   map[string]string
		want  string
		err   error // with want "": ErrTenantChosenHost unless set
	}{
		{"allowed value", keyed, provider.Credentials{Params: map[string]string{"region": "eu", "account": "a/b"}}, nil, "https://api.eu.keyed.example/a%2Fb", nil},
		{"env override", freshteam, provider.Credentials{Params: map[string]string{"accountName": "x"}}, map[string]string{"FRESHTEAM_API_BASE_URL": "https://api.example.com"}, "https://api.example.com", nil},
		{"unlisted value", keyed, provider.Credentials{Params: map[string]string{"region": "evil.com", "account": "a"}}, nil, "", nil},
		{"unlisted spelling", keyed, provider.Credentials{Params: map[string]string{"region": "eu.evil.com", "account": "a"}}, nil, "", nil},
		{"credential field", keyed, provider.Credentials{Fields: map[string]string{"domain": "evil.com"}}, nil, "", nil},
		{"shipped whole host", okta, provider.Credentials{Params: map[string]string{"hostname": "acme.okta.com"}}, nil, "", nil},
		// One label under the provider's domain stays under it.
		{"shipped subdomain label", freshteam, provider.Credentials{Params: map[string]string{"accountName": "acme"}}, nil, "https://acme.freshteam.com", nil},
	}
	for _, v := range []string{"evil.com#", "x.evil", "a@b", "a:1", "%2e", "..", "\u0435vil", strings.Repeat("a", 64), "-a", "acme.freshteam.com"} {
		cases = append(cases, struct {
			name  string
			d     *catalog.Descriptor
			creds provider.Credentials
			env   map[string]string
			want  string
			err   error
		}{"shipped subdomain " + v, freshteam, provider.Credentials{Params: map[string]string{"accountName": v}}, nil, "", catalog.ErrNotLabel})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := OperatorBaseURL(tc.d, tc.creds, func(k string) string { return tc.env[k] })
			if tc.want == "" && tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), "single DNS label") || strings.Contains(err.Error(), "evil") {
					t.Fatalf("OperatorBaseURL = %q, %v; want %v saying what a label is", got, err, tc.err)
				}
				return
			}
			if tc.want == "" {
				if !errors.Is(err, catalog.ErrTenantChosenHost) || !strings.Contains(err.Error(), "config.api_key") || strings.Contains(err.Error(), "evil") {
					t.Fatalf("OperatorBaseURL = %q, %v; want a refusal naming the remedy", got, err)
				}
				// With the tenant's own key the same values are fine.
				if _, err := BaseURL(tc.d, tc.creds, nil); errors.Is(err, catalog.ErrTenantChosenHost) {
					t.Fatalf("BaseURL refused the tenant's own key: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("OperatorBaseURL = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
