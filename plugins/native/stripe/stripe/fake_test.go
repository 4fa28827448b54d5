package stripe_test

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/atomhq/atom/sdk/providertest"
)

// fakeStripe behaves like the parts of api.stripe.com the provider uses:
// Bearer secret-key auth, list objects with limit/starting_after/has_more
// (newest first), form-encoded creation with metadata[...] and
// Idempotency-Key replay, and Stripe's error body. It records every
// request for golden comparison.
type fakeStripe struct {
	*providertest.Recorder
	keys map[string]bool

	mu        sync.Mutex
	customers []map[string]any // newest first
	charges   []map[string]any // newest first
	idem      map[string]map[string]any
}

func newFakeStripe(t testing.TB, keys ...string) *fakeStripe {
	f := &fakeStripe{keys: map[string]bool{}, idem: map[string]map[string]any{}}
	for _, k := range keys {
		f.keys[k] = true
	}
	for i := 1; i <= 5; i++ {
		f.customers = append([]map[string]any{{
			"id": fmt.Sprintf("cus_%04d", i), "object": "customer",
			"email": fmt.Sprintf("user%d@example.com", i), "name": fmt.Sprintf("User %d", i),
			"created": 1700000000 + i, "livemode": false, "metadata": map[string]string{},
		}}, f.customers...)
	}
	for i := 1; i <= 3; i++ {
		f.charges = append([]map[string]any{{
			"id": fmt.Sprintf("ch_%04d", i), "object": "charge", "amount": 1000 * i, "currency": "usd",
			"customer": fmt.Sprintf("cus_%04d", 1+i%2), "paid": true, "status": "succeeded",
			"created": 1700001000 + i,
		}}, f.charges...)
	}
	f.Recorder = providertest.NewRecorder(t, []string{"Authorization", "Content-Type", "Idempotency-Key", "Stripe-Version"},
		f.serve, providertest.RecordBody(providertest.CanonicalBody))
	return f
}

func stripeError(w http.ResponseWriter, status int, typ, code, param, msg string) {
	e := map[string]string{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
	}
	if param != "" {
		e["param"] = param
	}
	w.Header().Set("Request-Id", "req_fake")
	providertest.WriteJSON(w, status, map[string]any{"error": e})
}

func (f *fakeStripe) serve(w http.ResponseWriter, r *http.Request, raw []byte) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || key == "" {
		stripeError(w, 401, "invalid_request_error", "", "",
			"You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth.")
		return
	}
	if key == "sk_test_ratelimited" {
		w.Header().Set("Retry-After", "2")
		stripeError(w, 429, "invalid_request_error", "rate_limit", "", "Too many requests hit the API too quickly.")
		return
	}
	if !f.keys[key] {
		stripeError(w, 401, "invalid_request_error", "", "",
			"Invalid API Key provided: "+redact(key))
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/balance":
		providertest.WriteJSON(w, 200, map[string]any{
			"object":    "balance",
			"available": []map[string]any{{"amount": 123456, "currency": "usd", "source_types": map[string]int{"card": 123456}}},
			"pending":   []map[string]any{{"amount": 789, "currency": "usd", "source_types": map[string]int{"card": 789}}},
			"livemode":  false,
		})
	case r.Method == http.MethodGet && r.URL.Path == "/v1/customers":
		f.list(w, r, "/v1/customers", "customer", f.customers, func(c map[string]any) bool {
			e := r.URL.Query().Get("email")
			return e == "" || c["email"] == e
		})
	case r.Method == http.MethodGet && r.URL.Path == "/v1/charges":
		f.list(w, r, "/v1/charges", "charge", f.charges, func(c map[string]any) bool {
			cu := r.URL.Query().Get("customer")
			return cu == "" || c["customer"] == cu
		})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/customers":
		f.createCustomer(w, r, string(raw))
	case strings.HasPrefix(r.URL.Path, "/v1/"):
		f.echo(w, r, string(raw))
	default:
		stripeError(w, 404, "invalid_request_error", "", "",
			fmt.Sprintf("Unrecognized request URL (%s: %s).", r.Method, r.URL.Path))
	}
}

func redact(key string) string {
	if len(key) <= 4 {
		return "****"
	}
	return key[:8] + "****" + key[len(key)-4:]
}

func (f *fakeStripe) list(w http.ResponseWriter, r *http.Request, path, kind string, all []map[string]any, keep func(map[string]any) bool) {
	q := r.URL.Query()
	limit := 10
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			stripeError(w, 400, "invalid_request_error", "parameter_invalid_integer", "limit",
				"This value must be greater than or equal to 1 and less than or equal to 100.")
			return
		}
		limit = n
	}
	f.mu.Lock()
	var items []map[string]any
	for _, it := range all {
		if keep(it) {
			items = append(items, it)
		}
	}
	f.mu.Unlock()
	if before := q.Get("ending_before"); before != "" {
		idx := -1
		for i, it := range items {
			if it["id"] == before {
				idx = i
			}
		}
		if idx < 0 {
			stripeError(w, 400, "invalid_request_error", "resource_missing", "ending_before",
				fmt.Sprintf("No such %s: '%s'", kind, before))
			return
		}
		// Newer than the cursor (items are newest first), the `limit`
		// closest to it.
		items = items[:idx]
		more := len(items) > limit
		if more {
			items = items[len(items)-limit:]
		}
		providertest.WriteJSON(w, 200, map[string]any{"object": "list", "url": path, "has_more": more, "data": items})
		return
	}
	if after := q.Get("starting_after"); after != "" {
		idx := -1
		for i, it := range items {
			if it["id"] == after {
				idx = i
			}
		}
		if idx < 0 {
			stripeError(w, 400, "invalid_request_error", "resource_missing", "starting_after",
				fmt.Sprintf("No such %s: '%s'", kind, after))
			return
		}
		items = items[idx+1:]
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	if items == nil {
		items = []map[string]any{}
	}
	providertest.WriteJSON(w, 200, map[string]any{"object": "list", "url": path, "has_more": more, "data": items})
}

func (f *fakeStripe) createCustomer(w http.ResponseWriter, r *http.Request, body string) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		stripeError(w, 400, "invalid_request_error", "", "", "Invalid request: body must be form-encoded.")
		return
	}
	form, err := url.ParseQuery(body)
	if err != nil {
		stripeError(w, 400, "invalid_request_error", "", "", "Invalid request body.")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	idem := r.Header.Get("Idempotency-Key")
	if c, ok := f.idem[idem]; ok && idem != "" {
		w.Header().Set("Idempotent-Replayed", "true")
		providertest.WriteJSON(w, 200, c)
		return
	}
	if e := form.Get("email"); e != "" && !strings.Contains(e, "@") {
		stripeError(w, 400, "invalid_request_error", "email_invalid", "email", "Invalid email address: "+e)
		return
	}
	meta := map[string]string{}
	for k, vs := range form {
		if name, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(name, "]") {
			meta[strings.TrimSuffix(name, "]")] = vs[0]
		}
	}
	c := map[string]any{
		"id": fmt.Sprintf("cus_%04d", len(f.customers)+1), "object": "customer",
		"email": nilIfEmpty(form.Get("email")), "name": nilIfEmpty(form.Get("name")),
		"description": nilIfEmpty(form.Get("description")), "phone": nilIfEmpty(form.Get("phone")),
		"created": 1700000000 + len(f.customers) + 1, "livemode": false, "metadata": meta,
	}
	f.customers = append([]map[string]any{c}, f.customers...)
	if idem != "" {
		f.idem[idem] = c
	}
	providertest.WriteJSON(w, 200, c)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// echo answers any other /v1/ endpoint with an object naming the request,
// for cases whose point is the request the provider sends.
func (f *fakeStripe) echo(w http.ResponseWriter, r *http.Request, body string) {
	seg := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/v1/"), "/")
	if r.Method == http.MethodGet && len(seg) == 1 {
		providertest.WriteJSON(w, 200, map[string]any{"object": "list", "url": r.URL.Path, "has_more": false, "data": []any{}})
		return
	}
	obj := map[string]any{"object": strings.TrimSuffix(seg[0], "s"), "method": r.Method}
	if len(seg) > 1 {
		id, _ := url.PathUnescape(seg[1])
		obj["id"] = id
	} else {
		obj["id"] = "new_1"
	}
	if r.Method == http.MethodDelete {
		obj["deleted"] = true
	}
	providertest.WriteJSON(w, 200, obj)
}
