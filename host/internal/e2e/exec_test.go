package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// stripeDescriptor replaces the catalog's Stripe entry with an API-key
// connection (Stripe secret keys are bearer tokens).
const stripeDescriptor = `{"id":"stripe","name":"Stripe","categories":["payments"],
 "auth":{"kind":"api_key","credential_fields":["apiKey"],"api_key_in":"header","api_key_name":"Authorization","api_key_prefix":"Bearer "},
 "api":{"base_url":"https://api.stripe.com"},"implementations":["native","generic"],"connectable":true}`

// fakeAPIDescriptor is a provider whose API is a local fake.
const fakeAPIDescriptor = `{"id":"fakeapi","name":"Fake API","categories":["development"],
 "auth":{"kind":"api_key","credential_fields":["apiKey"],"api_key_in":"header","api_key_name":"X-Api-Key"},
 "api":{"base_url":"https://api.fakeapi.example"},"implementations":["generic"],"connectable":true}`

// fakeStripe behaves like Stripe's API for the calls the plugin makes:
// bearer secret keys, form bodies, Stripe's error shape.
type fakeStripe struct {
	*httptest.Server
	calls     atomic.Int64
	customers atomic.Int64
}

func newFakeStripe(t testing.TB) *fakeStripe {
	f := &fakeStripe{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", fmt.Sprintf("req_%d", f.calls.Load()))
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sk_test_") {
			w.WriteHeader(401)
			io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided."}}`)
			return
		}
		switch {
		case r.Method == "GET" && r.URL.Path == "/v1/balance":
			io.WriteString(w, `{"object":"balance","available":[{"amount":1000,"currency":"usd"}],"pending":[{"amount":0,"currency":"usd"}],"livemode":false}`)
		case r.Method == "POST" && r.URL.Path == "/v1/customers":
			_ = r.ParseForm()
			n := f.customers.Add(1)
			fmt.Fprintf(w, `{"id":"cus_%d","object":"customer","email":%q}`, n, r.PostForm.Get("email"))
		case r.Method == "GET" && r.URL.Path == "/v1/customers":
			io.WriteString(w, `{"object":"list","data":[{"id":"cus_1","object":"customer"}],"has_more":false,"url":"/v1/customers"}`)
		default:
			w.WriteHeader(404)
			io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"Unrecognized request URL."}}`)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func stripeHost(t *testing.T, backend string) (*host, *fakeStripe) {
	fake := newFakeStripe(t)
	h := startHost(t, hostOpts{
		backend: backend,
		env:     map[string]string{"STRIPE_API_BASE_URL": fake.URL},
		catalog: map[string]string{"stripe.json": stripeDescriptor},
		prepare: func(dir string) { install(t, stripeBinary(t), dir, "atom-provider-stripe", 0o755) },
	})
	if _, err := h.h.Connect.ConnectCredentials(context.Background(), h.tenant, "", "stripe", connect.CredentialsInput{APIKey: "sk_test_123"}); err != nil {
		t.Fatal(err)
	}
	return h, fake
}

func TestRESTToNativePlugin(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			h, fake := stripeHost(t, backend)

			var acts struct {
				Provider       string `json:"provider"`
				Implementation string `json:"implementation"`
				Actions        []struct {
					Name        string          `json:"name"`
					InputSchema json.RawMessage `json:"input_schema"`
				} `json:"actions"`
			}
			h.must(h.call("GET", "/api/v1/integrations/stripe/actions", h.key, nil, nil), 200, &acts)
			if acts.Implementation != "native" || len(acts.Actions) != 5 {
				t.Fatalf("actions %+v", acts)
			}

			var ok struct {
				Output      map[string]any `json:"output"`
				ExecutionID string         `json:"execution_id"`
			}
			h.must(h.exec("stripe", "get_balance", map[string]any{}, nil), 200, &ok)
			if !strings.HasPrefix(ok.ExecutionID, "exe_") || ok.Output["livemode"] != false {
				t.Fatalf("get_balance %+v", ok)
			}

			// Input validated before anything runs.
			before := fake.calls.Load()
			r := h.exec("stripe", "list_customers", map[string]any{"limit": 500}, nil)
			var bad struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			h.must(r, 400, &bad)
			if bad.Error.Code != "invalid_input" || !strings.Contains(bad.Error.Message, "/limit") {
				t.Fatalf("validation error %+v", bad.Error)
			}
			h.must(h.exec("stripe", "list_customers", map[string]any{"colour": "red"}, nil), 400, nil)
			if fake.calls.Load() != before {
				t.Fatal("invalid input reached the provider")
			}

			// Unknown provider and action name themselves.
			r = h.exec("nope-provider", "x", map[string]any{}, nil)
			if r.status != 404 || !strings.Contains(string(r.body), "nope-provider") {
				t.Fatalf("unknown provider: %d %s", r.status, r.body)
			}
			r = h.exec("stripe", "refund_everything", map[string]any{}, nil)
			if r.status != 404 || !strings.Contains(string(r.body), "refund_everything") {
				t.Fatalf("unknown action: %d %s", r.status, r.body)
			}

			// Not connected: the spec's message.
			other, otherKey := h.newTenant("other")
			_ = other
			r = h.call("POST", "/api/v1/integrations/stripe/actions/get_balance", otherKey, map[string]any{"input": map[string]any{}}, nil)
			if r.status != 404 || !strings.Contains(string(r.body), "Provider not connected") {
				t.Fatalf("not connected: %d %s", r.status, r.body)
			}

			// The execution is recorded and private to the tenant.
			var x struct {
				ID, Provider, Action, Implementation, Status string
				Output                                       map[string]any `json:"output"`
			}
			h.must(h.call("GET", "/api/v1/executions/"+ok.ExecutionID, h.key, nil, nil), 200, &x)
			if x.Status != "succeeded" || x.Implementation != "native" || x.Action != "get_balance" || x.Output["livemode"] != false {
				t.Fatalf("execution %+v", x)
			}
			h.must(h.call("GET", "/api/v1/executions/"+ok.ExecutionID, otherKey, nil, nil), 404, nil)
			var list struct {
				Executions []struct{ ID, Status string } `json:"executions"`
			}
			h.must(h.call("GET", "/api/v1/executions?provider=stripe&status=succeeded&limit=10", h.key, nil, nil), 200, &list)
			if len(list.Executions) != 1 || list.Executions[0].ID != ok.ExecutionID {
				t.Fatalf("list %+v", list)
			}
			h.must(h.call("GET", "/api/v1/executions?limit=10", otherKey, nil, nil), 200, &list)
			for _, e := range list.Executions {
				if e.ID == ok.ExecutionID {
					t.Fatal("another tenant lists the execution")
				}
			}

			// The provider's test_connection action is the health check.
			var health struct {
				Output      map[string]any `json:"output"`
				ExecutionID string         `json:"execution_id"`
			}
			h.must(h.call("POST", "/api/v1/connections/stripe/test", h.key, nil, nil), 200, &health)
			if health.Output["ok"] != true || health.ExecutionID == "" {
				t.Fatalf("health check %+v", health)
			}
			r = h.call("POST", "/api/v1/connections/stripe/test", otherKey, nil, nil)
			if r.status != 404 || !strings.Contains(string(r.body), "Provider not connected") {
				t.Fatalf("health check without a connection: %d %s", r.status, r.body)
			}
		})
	}
}

func TestIdempotency(t *testing.T) {
	h, fake := stripeHost(t, "sqlite")
	in := map[string]any{"email": "a@example.com"}
	key := map[string]string{"Idempotency-Key": "create-a"}

	var first, again struct {
		Output      map[string]any `json:"output"`
		ExecutionID string         `json:"execution_id"`
	}
	h.must(h.exec("stripe", "create_customer", in, key), 200, &first)
	r := h.exec("stripe", "create_customer", in, key)
	h.must(r, 200, &again)
	if again.ExecutionID != first.ExecutionID || again.Output["id"] != first.Output["id"] || r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %+v vs %+v (%v)", again, first, r.header)
	}
	if fake.customers.Load() != 1 {
		t.Fatalf("customers created %d, want 1", fake.customers.Load())
	}
	r = h.exec("stripe", "create_customer", map[string]any{"email": "b@example.com"}, key)
	if r.status != 409 || !strings.Contains(string(r.body), "idempotency_conflict") {
		t.Fatalf("different body: %d %s", r.status, r.body)
	}

	// Concurrent duplicates run once.
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := h.try("POST", "/api/v1/integrations/stripe/actions/create_customer", h.key,
				map[string]any{"input": map[string]any{"email": "c@example.com"}}, map[string]string{"Idempotency-Key": "create-c"})
			if err != nil || r.status != 200 {
				t.Errorf("concurrent duplicate: %v %d %s", err, r.status, r.body)
				return
			}
			var v struct {
				ExecutionID string `json:"execution_id"`
			}
			r.json(t, &v)
			ids[i] = v.ExecutionID
		}(i)
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("execution ids differ: %v", ids)
		}
	}
	if fake.customers.Load() != 2 {
		t.Fatalf("customers created %d, want 2", fake.customers.Load())
	}
}

func TestAsyncExecution(t *testing.T) {
	h, _ := stripeHost(t, "sqlite")
	var acc struct {
		ExecutionID string `json:"execution_id"`
		Status      string `json:"status"`
	}
	h.must(h.call("POST", "/api/v1/integrations/stripe/actions/get_balance?async=true", h.key, map[string]any{"input": map[string]any{}}, nil), 202, &acc)
	if acc.Status != "pending" || acc.ExecutionID == "" {
		t.Fatalf("accepted %+v", acc)
	}
	var x struct {
		Status string         `json:"status"`
		Output map[string]any `json:"output"`
	}
	waitFor(t, 30*time.Second, "the async execution", func() bool {
		h.must(h.call("GET", "/api/v1/executions/"+acc.ExecutionID, h.key, nil, nil), 200, &x)
		return x.Status == "succeeded" || x.Status == "failed"
	})
	if x.Status != "succeeded" || x.Output["livemode"] != false {
		t.Fatalf("async execution %+v", x)
	}
}

func TestCustomAPICallSSRF(t *testing.T) {
	var hits atomic.Int32
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("X-Api-Key") != "k_1" {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"path":"`+r.URL.Path+`"}`)
	}))
	defer fake.Close()
	for _, allowed := range []bool{false, true} {
		t.Run(fmt.Sprintf("allowed=%v", allowed), func(t *testing.T) {
			h := startHost(t, hostOpts{
				env:       map[string]string{"FAKEAPI_API_BASE_URL": fake.URL},
				catalog:   map[string]string{"fakeapi.json": fakeAPIDescriptor},
				noPrivate: !allowed,
			})
			if _, err := h.h.Connect.ConnectCredentials(context.Background(), h.tenant, "", "fakeapi", connect.CredentialsInput{APIKey: "k_1"}); err != nil {
				t.Fatal(err)
			}
			before := hits.Load()
			r := h.exec("fakeapi", "custom_api_call", map[string]any{"method": "GET", "path": "/v1/things"}, nil)
			if !allowed {
				var v struct {
					Error       struct{ Code, Message string }    `json:"error"`
					Diagnostics []struct{ Summary, Field string } `json:"diagnostics"`
				}
				h.must(r, 422, &v)
				if v.Error.Code != "action_failed" || !strings.Contains(v.Error.Message, "loopback") ||
					!strings.Contains(v.Error.Message, "ATOM_ALLOW_PRIVATE_HOSTS") || hits.Load() != before {
					t.Fatalf("refusal %+v (hits %d)", v, hits.Load()-before)
				}
				return
			}
			var v struct {
				Output struct {
					Status int            `json:"status"`
					Body   map[string]any `json:"body"`
				} `json:"output"`
			}
			h.must(r, 200, &v)
			if v.Output.Status != 200 || v.Output.Body["path"] != "/v1/things" {
				t.Fatalf("output %+v", v.Output)
			}
		})
	}
}

func connectInput(key string) connect.CredentialsInput { return connect.CredentialsInput{APIKey: key} }
