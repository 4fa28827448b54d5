package apiclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/atomhq/atom/host/internal/apiclient"
)

// server records the last request and answers with the given status and
// body.
type server struct {
	*httptest.Server
	req    *http.Request
	body   string
	status int
	answer string
}

func newServer(t *testing.T) *server {
	s := &server{status: 200}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.req, s.body = r, string(b)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req_1")
		w.WriteHeader(s.status)
		io.WriteString(w, s.answer)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestRequestShape(t *testing.T) {
	s := newServer(t)
	c := &apiclient.Client{BaseURL: s.URL + "/", Token: "atom_k"}
	ctx := context.Background()

	s.answer = `{"output":{"ok":true},"execution_id":"exe_1"}`
	res, resp, err := c.ExecuteAction(ctx, "my provider", "a/b",
		&apiclient.ExecuteActionParams{Async: true, IdempotencyKey: "k-1", UserID: "u1"},
		&apiclient.ExecuteRequest{Input: map[string]any{"n": 1}})
	if err != nil || res.ExecutionID != "exe_1" || string(res.Output) != `{"ok":true}` || resp.StatusCode != 200 {
		t.Fatalf("execute: %v %+v", err, res)
	}
	r := s.req
	if r.Method != "POST" || r.URL.EscapedPath() != "/api/v1/integrations/my%20provider/actions/a%2Fb" || r.URL.RawQuery != "async=true" {
		t.Fatalf("request line %s %s?%s", r.Method, r.URL.EscapedPath(), r.URL.RawQuery)
	}
	if r.Header.Get("Authorization") != "Bearer atom_k" || r.Header.Get("Idempotency-Key") != "k-1" ||
		r.Header.Get("X-Atom-User-Id") != "u1" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", r.Header)
	}
	if s.body != `{"input":{"n":1}}` {
		t.Fatalf("body %s", s.body)
	}

	// Zero parameters are not sent; declared ones win over free-form ones.
	s.answer = `{"authUrl":"https://x","state":"s"}`
	raw, _, err := c.IntegrationAction(ctx, "shopify", &apiclient.IntegrationActionParams{
		Action: "connect", ConnectionParams: map[string]string{"shop": "acme", "action": "disconnect"}})
	if err != nil || !strings.Contains(string(raw), "authUrl") {
		t.Fatalf("connect: %v %s", err, raw)
	}
	if q := s.req.URL.Query(); q.Get("action") != "connect" || q.Get("shop") != "acme" || q.Has("return_to") || q.Has("scopes") {
		t.Fatalf("query %v", q)
	}

	// Options: another token, a raw body.
	s.status, s.answer = 201, `{"id":"ten_1","name":"x","created_at":"2026-01-02T03:04:05Z"}`
	tn, _, err := c.CreateTenant(ctx, apiclient.CreateTenantRequest{Name: "ignored"},
		apiclient.WithToken("adm"), apiclient.WithRawBody("application/json", []byte(`{"nme":"x"}`)))
	if err != nil || tn.ID != "ten_1" || tn.CreatedAt.Year() != 2026 {
		t.Fatalf("create tenant: %v %+v", err, tn)
	}
	if s.req.Header.Get("Authorization") != "Bearer adm" || s.body != `{"nme":"x"}` {
		t.Fatalf("options not applied: %v %s", s.req.Header, s.body)
	}

	// A status other than the typed one leaves the result nil.
	s.status, s.answer = 202, `{"execution_id":"exe_2","status":"pending"}`
	res, resp, err = c.ExecuteAction(ctx, "p", "a", &apiclient.ExecuteActionParams{Async: true}, nil)
	if err != nil || res != nil || resp.StatusCode != 202 || s.body != "" {
		t.Fatalf("async: %v %+v %s", err, res, s.body)
	}
	var acc apiclient.ExecutionAccepted
	if err := resp.Decode(&acc); err != nil || acc.ExecutionID != "exe_2" || acc.Status != "pending" {
		t.Fatalf("accepted %+v %v", acc, err)
	}
}

func TestErrors(t *testing.T) {
	s := newServer(t)
	c := &apiclient.Client{BaseURL: s.URL, Token: "atom_k"}
	ctx := context.Background()

	s.status = 404
	s.answer = `{"error":{"code":"provider_not_connected","message":"Provider not connected","request_id":"req_9"},"execution_id":"exe_3"}`
	res, resp, err := c.ExecuteAction(ctx, "stripe", "get_balance", nil, nil)
	var ae *apiclient.APIError
	if !errors.As(err, &ae) || res != nil || resp == nil {
		t.Fatalf("not an APIError: %v", err)
	}
	if ae.StatusCode != 404 || ae.Code != "provider_not_connected" || ae.Message != "Provider not connected" ||
		ae.RequestID != "req_9" || ae.ExecutionID != "exe_3" || ae.Header.Get("X-Request-Id") != "req_1" {
		t.Fatalf("api error %+v", ae)
	}
	if !strings.Contains(ae.Error(), "404 provider_not_connected: Provider not connected (request req_9)") {
		t.Fatalf("message %q", ae.Error())
	}
	var full apiclient.ExecutionError
	if err := ae.Decode(&full); err != nil || full.ExecutionID != "exe_3" || full.Error.Code != "provider_not_connected" {
		t.Fatalf("decode %+v %v", full, err)
	}

	// A body that is not the error shape still becomes an APIError.
	s.status, s.answer = 502, "upstream down"
	if _, _, err := c.GetMe(ctx, nil); !errors.As(err, &ae) || ae.StatusCode != 502 || ae.Message != "upstream down" {
		t.Fatalf("plain error: %v", err)
	}

	// Strict decoding refuses fields the document does not declare.
	s.status, s.answer = 200, `{"id":"t","name":"n","created_at":"2026-01-02T03:04:05Z","surprise":1}`
	if _, _, err := c.GetMe(ctx, nil); err != nil {
		t.Fatalf("lenient: %v", err)
	}
	c.Strict = true
	if _, _, err := c.GetMe(ctx, nil); err == nil || !strings.Contains(err.Error(), "surprise") {
		t.Fatalf("strict: %v", err)
	}
}

// BenchmarkExecuteAction measures one typed call (encode, loopback HTTP,
// strict decode) against a server answering a fixed execution result.
func BenchmarkExecuteAction(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"output":{"object":"balance","available":[{"amount":1000,"currency":"usd"}]},"execution_id":"exe_1"}`)
	}))
	defer srv.Close()
	c := &apiclient.Client{BaseURL: srv.URL, Token: "atom_k", Strict: true}
	ctx := context.Background()
	body := &apiclient.ExecuteRequest{Input: map[string]any{"email": "a@example.com"}}
	params := &apiclient.ExecuteActionParams{IdempotencyKey: "k"}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.ExecuteAction(ctx, "stripe", "create_customer", params, body); err != nil {
			b.Fatal(err)
		}
	}
}
