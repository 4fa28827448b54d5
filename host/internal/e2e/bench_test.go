package e2e

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
)

// BenchmarkExecute compares one REST execution through the Stripe plugin to
// a local fake of Stripe with the same upstream call made directly.
//
//	go test ./host/internal/e2e -run '^$' -bench Execute -count 5
func BenchmarkExecute(b *testing.B) {
	fake := newFakeStripe(b)
	h := startHost(b, hosttest.Options{
		Env:     map[string]string{"STRIPE_API_BASE_URL": fake.URL},
		Catalog: map[string]string{"stripe.json": stripeDescriptor},
		Prepare: func(dir string) { testbin.Install(b, stripeBinary(b), dir, "atom-provider-stripe", 0o755) },
		Quiet:   true,
	})
	if _, err := h.App.Connect.ConnectCredentials(context.Background(), h.Tenant.ID, "", "stripe", connectInput("sk_test_123")); err != nil {
		b.Fatal(err)
	}
	h.Must(h.Exec(h.Tenant, "stripe", "get_balance", map[string]any{}, nil), 200, nil)

	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			req, _ := http.NewRequest("GET", fake.URL+"/v1/balance", nil)
			req.Header.Set("Authorization", "Bearer sk_test_123")
			resp, err := hosttest.Client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("rest-plugin", func(b *testing.B) {
		for b.Loop() {
			r, err := h.Try("POST", "/api/v1/integrations/stripe/actions/get_balance", h.Tenant.Key, map[string]any{"input": map[string]any{}}, nil)
			if err != nil || r.Status != 200 {
				b.Fatalf("%v %d %s", err, r.Status, r.Body)
			}
		}
	})
	b.Run("rest-plugin-8clients", func(b *testing.B) {
		b.SetParallelism(4) // 2 cores × 4 = 8 concurrent clients
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, err := h.Try("POST", "/api/v1/integrations/stripe/actions/get_balance", h.Tenant.Key, map[string]any{"input": map[string]any{}}, nil)
				if err != nil || r.Status != 200 {
					b.Errorf("%v %d", err, r.Status)
					return
				}
			}
		})
	})
}
