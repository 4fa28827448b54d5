package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/apiclient"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/plugins/native/stripe/stripe"
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

func stripeHost(t *testing.T, backend string) (*hosttest.Host, *fakeStripe) {
	fake := newFakeStripe(t)
	h := startHost(t, hosttest.Options{
		Backend: backend,
		Env:     map[string]string{"STRIPE_API_BASE_URL": fake.URL},
		Catalog: map[string]string{"stripe.json": stripeDescriptor},
		Prepare: func(dir string) { testbin.Install(t, stripeBinary(t), dir, "atom-provider-stripe", 0o755) },
	})
	if _, err := h.App.Connect.ConnectCredentials(context.Background(), h.Tenant.ID, "", "stripe", connect.CredentialsInput{APIKey: "sk_test_123"}); err != nil {
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
			ctx := context.Background()
			c := h.API(h.Tenant.Key)
			empty := &apiclient.ExecuteRequest{Input: map[string]any{}}

			acts, _, err := c.ListActions(ctx, "stripe")
			if err != nil {
				t.Fatal(err)
			}
			if acts.Implementation != apiclient.ImplementationKindNative || len(acts.Actions) != len(stripe.Actions())+1 {
				t.Fatalf("actions %+v", acts)
			}

			ok, _, err := c.ExecuteAction(ctx, "stripe", "get_balance", nil, empty)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(ok.ExecutionID, "exe_") || object(t, ok.Output)["livemode"] != false {
				t.Fatalf("get_balance %+v", ok)
			}

			// Input validated before anything runs.
			before := fake.calls.Load()
			_, resp, err := c.ExecuteAction(ctx, "stripe", "list_customers", nil, &apiclient.ExecuteRequest{Input: map[string]any{"limit": 500}})
			if bad := hosttest.APIErrorOf(err); hosttest.StatusOf(resp) != 400 || bad.Code != "invalid_input" || !strings.Contains(bad.Message, "/limit") || bad.Field != "/limit" {
				t.Fatalf("validation error %d %v", hosttest.StatusOf(resp), err)
			}
			if _, resp, err := c.ExecuteAction(ctx, "stripe", "list_customers", nil, &apiclient.ExecuteRequest{Input: map[string]any{"colour": "red"}}); hosttest.StatusOf(resp) != 400 {
				t.Fatalf("status %d, want 400: %v", hosttest.StatusOf(resp), err)
			}
			if fake.calls.Load() != before {
				t.Fatal("invalid input reached the provider")
			}

			// Unknown provider and action name themselves.
			_, resp, _ = c.ExecuteAction(ctx, "nope-provider", "x", nil, empty)
			if hosttest.StatusOf(resp) != 404 || !strings.Contains(string(resp.Body), "nope-provider") {
				t.Fatalf("unknown provider: %d %s", hosttest.StatusOf(resp), resp.Body)
			}
			_, resp, _ = c.ExecuteAction(ctx, "stripe", "refund_everything", nil, empty)
			if hosttest.StatusOf(resp) != 404 || !strings.Contains(string(resp.Body), "refund_everything") {
				t.Fatalf("unknown action: %d %s", hosttest.StatusOf(resp), resp.Body)
			}

			// Not connected: the spec's message.
			otherKey := h.NewTenant("other").Key
			oc := h.API(otherKey)
			_, resp, _ = oc.ExecuteAction(ctx, "stripe", "get_balance", nil, empty)
			if hosttest.StatusOf(resp) != 404 || !strings.Contains(string(resp.Body), "Provider not connected") {
				t.Fatalf("not connected: %d %s", hosttest.StatusOf(resp), resp.Body)
			}

			// The execution is recorded and private to the tenant.
			x, _, err := c.GetExecution(ctx, ok.ExecutionID)
			if err != nil {
				t.Fatal(err)
			}
			if x.Status != apiclient.ExecutionStatusSucceeded || x.Implementation != "native" || x.Action != "get_balance" || object(t, x.Output)["livemode"] != false {
				t.Fatalf("execution %+v", x)
			}
			if _, resp, err := oc.GetExecution(ctx, ok.ExecutionID); hosttest.StatusOf(resp) != 404 {
				t.Fatalf("another tenant reads the execution: %d %v", hosttest.StatusOf(resp), err)
			}
			list, _, err := c.ListExecutions(ctx, &apiclient.ListExecutionsParams{Provider: "stripe", Status: apiclient.ExecutionStatusSucceeded, Limit: 10})
			if err != nil || len(list.Executions) != 1 || list.Executions[0].ID != ok.ExecutionID {
				t.Fatalf("list %v %+v", err, list)
			}
			list, _, err = oc.ListExecutions(ctx, &apiclient.ListExecutionsParams{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range list.Executions {
				if e.ID == ok.ExecutionID {
					t.Fatal("another tenant lists the execution")
				}
			}
		})
	}
}

func TestIdempotency(t *testing.T) {
	h, fake := stripeHost(t, "sqlite")
	ctx := context.Background()
	c := h.API(h.Tenant.Key)
	in := &apiclient.ExecuteRequest{Input: map[string]any{"email": "a@example.com"}}
	key := &apiclient.ExecuteActionParams{IdempotencyKey: "create-a"}

	first, _, err := c.ExecuteAction(ctx, "stripe", "create_customer", key, in)
	if err != nil {
		t.Fatal(err)
	}
	again, resp, err := c.ExecuteAction(ctx, "stripe", "create_customer", key, in)
	if err != nil {
		t.Fatal(err)
	}
	if again.ExecutionID != first.ExecutionID || object(t, again.Output)["id"] != object(t, first.Output)["id"] || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %+v vs %+v (%v)", again, first, resp.Header)
	}
	if fake.customers.Load() != 1 {
		t.Fatalf("customers created %d, want 1", fake.customers.Load())
	}
	_, resp, err = c.ExecuteAction(ctx, "stripe", "create_customer", key, &apiclient.ExecuteRequest{Input: map[string]any{"email": "b@example.com"}})
	if hosttest.StatusOf(resp) != 409 || hosttest.APIErrorOf(err).Code != "idempotency_conflict" {
		t.Fatalf("different body: %d %v", hosttest.StatusOf(resp), err)
	}

	// Concurrent duplicates run once.
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, resp, err := c.ExecuteAction(ctx, "stripe", "create_customer", &apiclient.ExecuteActionParams{IdempotencyKey: "create-c"},
				&apiclient.ExecuteRequest{Input: map[string]any{"email": "c@example.com"}})
			if err != nil || hosttest.StatusOf(resp) != 200 {
				t.Errorf("concurrent duplicate: %v %d", err, hosttest.StatusOf(resp))
				return
			}
			ids[i] = res.ExecutionID
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
	ctx := context.Background()
	c := h.API(h.Tenant.Key)
	res, resp, err := c.ExecuteAction(ctx, "stripe", "get_balance", &apiclient.ExecuteActionParams{Async: true}, &apiclient.ExecuteRequest{Input: map[string]any{}})
	if err != nil || hosttest.StatusOf(resp) != 202 || res != nil {
		t.Fatalf("async: %d %v", hosttest.StatusOf(resp), err)
	}
	var acc apiclient.ExecutionAccepted
	if err := resp.Decode(&acc); err != nil || acc.Status != "pending" || acc.ExecutionID == "" {
		t.Fatalf("accepted %+v %v", acc, err)
	}
	var x *apiclient.Execution
	hosttest.WaitFor(t, 30*time.Second, "the async execution", func() bool {
		x, _, err = c.GetExecution(ctx, acc.ExecutionID)
		if err != nil {
			t.Fatal(err)
		}
		return x.Status == apiclient.ExecutionStatusSucceeded || x.Status == apiclient.ExecutionStatusFailed
	})
	if x.Status != apiclient.ExecutionStatusSucceeded || object(t, x.Output)["livemode"] != false {
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
			h := startHost(t, hosttest.Options{
				Env:       map[string]string{"FAKEAPI_API_BASE_URL": fake.URL},
				Catalog:   map[string]string{"fakeapi.json": fakeAPIDescriptor},
				NoPrivate: !allowed,
			})
			if _, err := h.App.Connect.ConnectCredentials(context.Background(), h.Tenant.ID, "", "fakeapi", connect.CredentialsInput{APIKey: "k_1"}); err != nil {
				t.Fatal(err)
			}
			before := hits.Load()
			r := h.Exec(h.Tenant, "fakeapi", "custom_api_call", map[string]any{"method": "GET", "path": "/v1/things"}, nil)
			if !allowed {
				var v struct {
					Error       struct{ Code, Message string }    `json:"error"`
					Diagnostics []struct{ Summary, Field string } `json:"diagnostics"`
				}
				h.Must(r, 422, &v)
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
			h.Must(r, 200, &v)
			if v.Output.Status != 200 || v.Output.Body["path"] != "/v1/things" {
				t.Fatalf("output %+v", v.Output)
			}
		})
	}
}

func connectInput(key string) connect.CredentialsInput { return connect.CredentialsInput{APIKey: key} }
