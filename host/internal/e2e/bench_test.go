package e2e

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// BenchmarkExecute compares one REST execution through the Stripe plugin to
// a local fake of Stripe with the same upstream call made directly.
//
//	go test ./host/internal/e2e -run '^$' -bench Execute -count 5
func BenchmarkExecute(b *testing.B) {
	fake := newFakeStripe(b)
	h := startHost(b, hostOpts{
		env:     map[string]string{"STRIPE_API_BASE_URL": fake.URL},
		catalog: map[string]string{"stripe.json": stripeDescriptor},
		prepare: func(dir string) { install(b, stripeBinary(b), dir, "atom-provider-stripe", 0o755) },
		quiet:   true,
	})
	if _, err := h.h.Connect.ConnectCredentials(context.Background(), h.tenant, "", "stripe", connectInput("sk_test_123")); err != nil {
		b.Fatal(err)
	}
	h.must(h.exec("stripe", "get_balance", map[string]any{}, nil), 200, nil)

	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			req, _ := http.NewRequest("GET", fake.URL+"/v1/balance", nil)
			req.Header.Set("Authorization", "Bearer sk_test_123")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("rest-plugin", func(b *testing.B) {
		for b.Loop() {
			r, err := h.try("POST", "/api/v1/integrations/stripe/actions/get_balance", h.key, map[string]any{"input": map[string]any{}}, nil)
			if err != nil || r.status != 200 {
				b.Fatalf("%v %d %s", err, r.status, r.body)
			}
		}
	})
	b.Run("rest-plugin-8clients", func(b *testing.B) {
		b.SetParallelism(4) // 2 cores × 4 = 8 concurrent clients
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, err := h.try("POST", "/api/v1/integrations/stripe/actions/get_balance", h.key, map[string]any{"input": map[string]any{}}, nil)
				if err != nil || r.status != 200 {
					b.Errorf("%v %d", err, r.status)
					return
				}
			}
		})
	})
}
