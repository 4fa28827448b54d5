package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"go/build"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/plugins/native/stripe/stripe"
)

// stripeMockInputs is one valid input per Stripe action. stripe-mock
// checks each request against Stripe's OpenAPI spec (unknown or malformed
// parameters are a 400) and answers with the spec's fixture object.
var stripeMockInputs = map[string]map[string]any{
	"test_connection": {},
	"get_balance":     {},

	"create_customer": {"email": "ada@example.com", "name": "Ada Lovelace", "metadata": map[string]any{"plan": "pro"},
		"address": map[string]any{"city": "London", "country": "GB"}, "preferred_locales": []any{"en", "fr"}, "expand": []any{"test_clock"}},
	"get_customer":    {"id": "cus_123", "expand": []any{"default_source"}},
	"update_customer": {"id": "cus_123", "description": "VIP", "metadata": map[string]any{"tier": "gold"}},
	"delete_customer": {"id": "cus_123"},
	"list_customers":  {"limit": 3, "email": "ada@example.com", "created": map[string]any{"gte": 1700000000}, "expand": []any{"data.test_clock"}},

	"create_payment_intent":  {"amount": 2000, "currency": "usd", "customer": "cus_123", "automatic_payment_methods": map[string]any{"enabled": true}, "metadata": map[string]any{"order": "42"}},
	"get_payment_intent":     {"id": "pi_123"},
	"update_payment_intent":  {"id": "pi_123", "description": "Order 42"},
	"confirm_payment_intent": {"id": "pi_123", "payment_method": "pm_card_visa", "return_url": "https://shop.example/return"},
	"capture_payment_intent": {"id": "pi_123", "amount_to_capture": 1500},
	"cancel_payment_intent":  {"id": "pi_123", "cancellation_reason": "requested_by_customer"},
	"list_payment_intents":   {"customer": "cus_123", "created": 1700000000, "limit": 10, "starting_after": "pi_100"},

	"create_charge": {"amount": 1000, "currency": "usd", "source": "tok_visa", "description": "Legacy charge"},
	"get_charge":    {"id": "ch_123"},
	"update_charge": {"id": "ch_123", "fraud_details": map[string]any{"user_report": "safe"}},
	"list_charges":  {"payment_intent": "pi_123", "ending_before": "ch_200"},

	"create_refund": {"payment_intent": "pi_123", "amount": 500, "reason": "requested_by_customer"},
	"get_refund":    {"id": "re_123"},
	"update_refund": {"id": "re_123", "metadata": map[string]any{"ticket": "T-1"}},
	"cancel_refund": {"id": "re_123"},
	"list_refunds":  {"charge": "ch_123", "created": map[string]any{"lt": 1800000000, "gt": 1600000000}},

	"create_invoice":   {"customer": "cus_123", "collection_method": "send_invoice", "days_until_due": 30, "auto_advance": false},
	"get_invoice":      {"id": "in_123"},
	"update_invoice":   {"id": "in_123", "footer": "Thank you", "description": "March"},
	"delete_invoice":   {"id": "in_123"},
	"finalize_invoice": {"id": "in_123", "auto_advance": true},
	"pay_invoice":      {"id": "in_123", "paid_out_of_band": true},
	"send_invoice":     {"id": "in_123"},
	"void_invoice":     {"id": "in_123"},
	"list_invoices":    {"customer": "cus_123", "status": "open", "due_date": map[string]any{"lte": 1800000000}},

	"create_subscription": {"customer": "cus_123", "items": []any{map[string]any{"price": "price_123", "quantity": 2}, map[string]any{"price": "price_456"}},
		"trial_period_days": 14, "payment_behavior": "default_incomplete", "expand": []any{"latest_invoice.payment_intent"}},
	"get_subscription":    {"id": "sub_123"},
	"update_subscription": {"id": "sub_123", "cancel_at_period_end": true, "items": []any{map[string]any{"id": "si_123", "quantity": 3}}, "proration_behavior": "none"},
	"cancel_subscription": {"id": "sub_123", "cancellation_details": map[string]any{"feedback": "too_expensive", "comment": "budget"}},
	"list_subscriptions":  {"customer": "cus_123", "status": "all", "price": "price_123"},

	"create_product": {"name": "Pro plan", "description": "Everything", "images": []any{"https://shop.example/pro.png"},
		"default_price_data": map[string]any{"currency": "usd", "unit_amount": 1500, "recurring": map[string]any{"interval": "month"}}},
	"get_product":    {"id": "prod_123"},
	"update_product": {"id": "prod_123", "active": false, "unit_label": "seat"},
	"delete_product": {"id": "prod_123"},
	"list_products":  {"active": true, "ids": []any{"prod_1", "prod_2"}},

	"create_price": {"currency": "usd", "product": "prod_123", "unit_amount": 1500, "recurring": map[string]any{"interval": "month", "interval_count": 1}, "lookup_key": "pro_monthly"},
	"get_price":    {"id": "price_123"},
	"update_price": {"id": "price_123", "nickname": "Pro monthly", "active": true},
	"list_prices":  {"product": "prod_123", "type": "recurring", "lookup_keys": []any{"pro_monthly"}, "recurring": map[string]any{"interval": "month"}},

	"create_checkout_session": {"mode": "subscription", "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/cancel",
		"line_items": []any{map[string]any{"price": "price_123", "quantity": 1}}, "customer_email": "ada@example.com", "client_reference_id": "cart-7",
		"subscription_data": map[string]any{"trial_period_days": 7}},
	"get_checkout_session":    {"id": "cs_test_123"},
	"expire_checkout_session": {"id": "cs_test_123"},
	"list_checkout_sessions":  {"status": "open", "customer_details": map[string]any{"email": "ada@example.com"}},

	"get_event":   {"id": "evt_123"},
	"list_events": {"types": []any{"customer.created", "invoice.paid"}, "delivery_success": true, "limit": 5},
}

// stripeMockBinary finds stripe-mock as scripts/deps.sh installs it
// (bin/tools of the repository), else on PATH or in GOBIN / GOPATH/bin.
// With CI=true a missing binary fails the test instead of skipping it.
func stripeMockBinary(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("STRIPE_MOCK"), filepath.Join(testbin.Root(t), "bin", "tools", "stripe-mock")}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		candidates = append(candidates, p)
	}
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		candidates = append(candidates, filepath.Join(gobin, "stripe-mock"))
	}
	for _, gp := range filepath.SplitList(build.Default.GOPATH) {
		candidates = append(candidates, filepath.Join(gp, "bin", "stripe-mock"))
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if st, err := os.Stat(c); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return c
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("stripe-mock not found (CI=true): run scripts/deps.sh, which installs github.com/stripe/stripe-mock@v0.203.0 into bin/tools")
	}
	t.Skip("stripe-mock not installed; run scripts/deps.sh (make test does)")
	return ""
}

var stripeMockListening = regexp.MustCompile(`Listening for HTTP at address: (\S+)`)

// startStripeMock runs stripe-mock on a free loopback port and returns its
// base URL; the process ends with the test.
func startStripeMock(t *testing.T) string {
	t.Helper()
	bin := stripeMockBinary(t)
	t.Logf("stripe-mock: %s", bin)
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stripe-mock: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := stripeMockListening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(2 * time.Minute):
		t.Fatal("stripe-mock did not start listening within 2 minutes")
	}
	return ""
}

// seenRequest is one request that reached stripe-mock.
type seenRequest struct {
	Method, Path, Idem string
	Params             url.Values
}

// stripeTap is a reverse proxy in front of stripe-mock that records what
// the plugin sent, so a test can check the encoding and that refused
// input never left the host.
type stripeTap struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

func newStripeTap(t *testing.T, target string) *stripeTap {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	tap := &stripeTap{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	tap.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		params := r.URL.Query()
		if len(body) > 0 {
			form, err := url.ParseQuery(string(body))
			if err != nil {
				t.Errorf("%s %s: body is not form-encoded: %v", r.Method, r.URL.Path, err)
			}
			params = form
		}
		tap.mu.Lock()
		tap.seen = append(tap.seen, seenRequest{Method: r.Method, Path: r.URL.Path, Idem: r.Header.Get("Idempotency-Key"), Params: params})
		tap.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		r.ContentLength = int64(len(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(tap.Close)
	return tap
}

func (s *stripeTap) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

func (s *stripeTap) last() seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		return seenRequest{}
	}
	return s.seen[len(s.seen)-1]
}

// TestStripeActionsAgainstStripeMock runs every action of the Stripe
// plugin through the REST API of a real host, with the real plugin
// process, against stripe-mock, on SQLite and PostgreSQL: each answers
// 200 with the object type Stripe documents, and input breaking Stripe's
// constraints is a 400 naming the field before anything reaches Stripe.
func TestStripeActionsAgainstStripeMock(t *testing.T) {
	mock := startStripeMock(t)
	tap := newStripeTap(t, mock)
	plugin := stripeBinary(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			h := startHost(t, hosttest.Options{
				Backend: backend,
				Env:     map[string]string{"STRIPE_API_BASE_URL": tap.URL},
				Catalog: map[string]string{"stripe.json": stripeDescriptor},
				Prepare: func(dir string) { testbin.Install(t, plugin, dir, "atom-provider-stripe", 0o755) },
				// The run checks the plugin against Stripe's spec, not the
				// outbound limiter: ~60 calls back to back would pass its
				// default burst.
				Configure: func(c *config.Config) { c.RateLimit = -1 },
			})
			if _, err := h.App.Connect.ConnectCredentials(context.Background(), h.Tenant.ID, "", "stripe", connect.CredentialsInput{APIKey: "sk_test_123"}); err != nil {
				t.Fatal(err)
			}
			runStripeMockActions(t, h, tap)
			refuseBadStripeInput(t, h, tap)
		})
	}
}

func runStripeMockActions(t *testing.T, h *hosttest.Host, tap *stripeTap) {
	infos := stripe.Actions()
	acts, _, err := h.API(h.Tenant.Key).ListActions(context.Background(), "stripe")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, a := range acts.Actions {
		listed[a.Name] = true
	}
	for _, info := range infos {
		if !listed[info.Name] {
			t.Errorf("action %s is not listed by GET /api/v1/integrations/stripe/actions", info.Name)
		}
		if _, ok := stripeMockInputs[info.Name]; !ok {
			t.Errorf("action %s has no stripe-mock input", info.Name)
		}
	}
	// The plugin's actions and the generic custom_api_call.
	if len(acts.Actions) != len(infos)+1 || !listed["custom_api_call"] || len(stripeMockInputs) != len(infos) {
		t.Fatalf("listed %d actions, plugin declares %d, inputs for %d", len(acts.Actions), len(infos), len(stripeMockInputs))
	}

	passed := 0
	for _, info := range infos {
		in := stripeMockInputs[info.Name]
		r := h.Exec(h.Tenant, "stripe", info.Name, in, nil)
		if r.Status != 200 {
			t.Errorf("%s: status %d: %s", info.Name, r.Status, r.Body)
			continue
		}
		var res struct {
			Output map[string]any `json:"output"`
		}
		r.JSON(t, &res)
		got := tap.last()
		wantPath := info.Path
		if id, ok := in["id"].(string); ok {
			wantPath = strings.Replace(wantPath, "{id}", id, 1)
		}
		if got.Method != info.Method || got.Path != wantPath {
			t.Errorf("%s: stripe-mock saw %s %s, want %s %s", info.Name, got.Method, got.Path, info.Method, wantPath)
			continue
		}
		if (info.Method == http.MethodPost) != strings.HasPrefix(got.Idem, "atom-exe_") {
			t.Errorf("%s: Idempotency-Key %q on a %s", info.Name, got.Idem, info.Method)
		}
		switch {
		case info.Name == "test_connection":
			if res.Output["ok"] != true {
				t.Errorf("%s: output %v", info.Name, res.Output)
				continue
			}
		case res.Output["object"] != info.Object:
			t.Errorf("%s: object %v, want %s", info.Name, res.Output["object"], info.Object)
			continue
		case info.Object == "list":
			data, _ := res.Output["data"].([]any)
			if len(data) == 0 {
				t.Errorf("%s: empty page %v", info.Name, res.Output)
				continue
			}
		case strings.HasPrefix(info.Name, "delete_") && res.Output["deleted"] != true:
			t.Errorf("%s: deleted %v", info.Name, res.Output["deleted"])
			continue
		}
		passed++
	}
	t.Logf("stripe-mock: actions=%d passed=%d failed=%d", len(infos), passed, len(infos)-passed)

	// Stripe's encoding reached stripe-mock as Stripe reads it.
	check := func(action string, want map[string][]string) {
		t.Helper()
		h.Must(h.Exec(h.Tenant, "stripe", action, stripeMockInputs[action], nil), 200, nil)
		got := tap.last().Params
		for k, v := range want {
			if strings.Join(got[k], ",") != strings.Join(v, ",") {
				t.Errorf("%s: %s=%q, want %q (all: %v)", action, k, got[k], v, got)
			}
		}
	}
	check("create_customer", map[string][]string{"metadata[plan]": {"pro"}, "address[city]": {"London"}, "preferred_locales[]": {"en", "fr"}, "expand[]": {"test_clock"}})
	check("list_customers", map[string][]string{"created[gte]": {"1700000000"}, "limit": {"3"}, "expand[]": {"data.test_clock"}})
	check("create_subscription", map[string][]string{"items[0][price]": {"price_123"}, "items[0][quantity]": {"2"}, "items[1][price]": {"price_456"}, "trial_period_days": {"14"}})
	check("list_events", map[string][]string{"types[]": {"customer.created", "invoice.paid"}, "delivery_success": {"true"}})
}

// refuseBadStripeInput sends input that breaks a constraint Stripe
// documents; each is a 400 invalid_input naming the field, and none
// reaches Stripe.
func refuseBadStripeInput(t *testing.T, h *hosttest.Host, tap *stripeTap) {
	long := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		action string
		input  map[string]any
		want   string // in the message: the field's pointer or the bad key
	}{
		{"create_customer", map[string]any{"name": long(257)}, "input /name"},
		{"update_customer", map[string]any{"id": "cus_1", "description": long(5001)}, "input /description"},
		{"create_customer", map[string]any{"phone": long(21)}, "input /phone"},
		{"create_customer", map[string]any{"metadata": map[string]any{"a][amount": "1"}}, "'a][amount'"},
		{"create_customer", map[string]any{"metadata": map[string]any{"k": long(501)}}, "input /metadata/k"},
		{"create_customer", map[string]any{"colour": "red"}, "'colour' not allowed"},
		{"get_customer", map[string]any{}, "missing property 'id'"},
		{"get_customer", map[string]any{"id": ""}, "input /id"},
		{"create_payment_intent", map[string]any{"amount": 100}, "missing property 'currency'"},
		{"create_payment_intent", map[string]any{"amount": 0, "currency": "usd"}, "input /amount"},
		{"create_payment_intent", map[string]any{"amount": 100, "currency": "USD"}, "input /currency"},
		{"create_payment_intent", map[string]any{"amount": 100, "currency": "usd", "statement_descriptor": long(23)}, "input /statement_descriptor"},
		{"cancel_payment_intent", map[string]any{"id": "pi_1", "cancellation_reason": "bored"}, "input /cancellation_reason"},
		{"list_charges", map[string]any{"limit": 101}, "input /limit"},
		{"list_charges", map[string]any{"starting_after": "ch_1", "ending_before": "ch_2"}, "input /ending_before"},
		{"list_invoices", map[string]any{"created": map[string]any{"after": 1}}, "input /created"},
		{"create_refund", map[string]any{"amount": 100}, "missing property 'charge'"},
		{"create_subscription", map[string]any{"customer": "cus_1", "items": []any{}}, "input /items"},
		{"create_subscription", map[string]any{"customer": "cus_1", "items": []any{map[string]any{"quantity": 1}}}, "input /items/0: missing property 'price'"},
		{"create_price", map[string]any{"currency": "usd", "product": "prod_1", "recurring": map[string]any{"interval": "fortnight"}}, "input /recurring/interval"},
		{"create_checkout_session", map[string]any{"mode": "donation"}, "input /mode"},
		{"create_product", map[string]any{"name": "p", "unit_label": long(13)}, "input /unit_label"},
		{"list_events", map[string]any{"types": make([]any, 21)}, "input /types"},
	}
	before, refused := tap.count(), 0
	for _, c := range cases {
		r := h.Exec(h.Tenant, "stripe", c.action, c.input, nil)
		code, msg := r.ErrorCode()
		if r.Status != 400 || code != "invalid_input" || !strings.Contains(msg, c.want) {
			t.Errorf("%s %v: %d %s %q, want 400 invalid_input with %q", c.action, short(c.input), r.Status, code, msg, c.want)
			continue
		}
		refused++
	}
	after := tap.count()
	t.Logf("bad input: sent=%d refused_with_400=%d reached_stripe=%d", len(cases), refused, after-before)
	if after != before {
		t.Fatalf("%d refused requests reached Stripe", after-before)
	}
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
