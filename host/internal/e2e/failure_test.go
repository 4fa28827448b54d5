package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// fwdDescriptor describes a provider of the failure model's test, served
// by the runtime impl, whose API is the fake of newFailingProvider.
func fwdDescriptor(id, impl string) string {
	return `{"id":"` + id + `","name":"Forward ` + impl + `","categories":["development"],
 "auth":{"kind":"api_key","credential_fields":["apiKey"],"api_key_in":"header","api_key_name":"X-Api-Key"},
 "api":{"base_url":"https://` + id + `.example"},"implementations":["` + impl + `"],"connectable":true}`
}

// newFailingProvider answers each path with one condition of the failure
// table.
func newFailingProvider(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/ok":
			io.WriteString(w, `{"ok":true}`)
		case "/reject":
			w.WriteHeader(401)
			io.WriteString(w, `{"error":{"message":"Invalid API key provided"}}`)
		case "/forbidden":
			w.WriteHeader(403)
			io.WriteString(w, `{"error":{"message":"Your plan does not include this endpoint"}}`)
		case "/revoked":
			w.Header().Set("WWW-Authenticate", `Bearer realm="api", error="invalid_token", error_description="The access token was revoked"`)
			w.WriteHeader(401)
			io.WriteString(w, `{"error":{"message":"The access token was revoked"}}`)
		case "/limited":
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(429)
			io.WriteString(w, `{"error":{"message":"Too many requests"}}`)
		case "/broken":
			w.WriteHeader(500)
			io.WriteString(w, `{"error":{"message":"Something went wrong on our end"}}`)
		case "/invalid":
			w.WriteHeader(400)
			io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"Invalid integer: abc","param":"amount"}}`)
		case "/unreachable":
			// The connection drops before any answer.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestFailureModel runs each row of the failure table through each
// runtime (a real plugin process, a real wasm piece, the generic
// custom_api_call) over REST on SQLite and PostgreSQL against a fake
// provider answering the row's condition, and checks the answer's status,
// code, Retry-After and field, and that the idempotent replay answers the
// same. The connection is marked for re-auth only when the provider says
// the token is invalid.
func TestFailureModel(t *testing.T) {
	nativeBin := testbin.Build(t, "host/internal/e2e/testdata/forward", "")
	pieceWasm := testbin.BuildWasm(t, "host/internal/e2e/testdata/forwardpiece", "")
	type runtime struct {
		id, kind, action string
		input            func(path string) map[string]any
	}
	runtimes := []runtime{
		{"fwdnative", "native", "call", func(p string) map[string]any { return map[string]any{"path": p} }},
		{"fwdpiece", "piece", "call", func(p string) map[string]any { return map[string]any{"path": p} }},
		{"fwdgeneric", "generic", "custom_api_call", func(p string) map[string]any {
			return map[string]any{"method": "POST", "path": p, "body": map[string]string{"from": "generic"}}
		}},
	}
	type row struct {
		name, path string
		status     int
		code       string
		retryAfter string // "" none, "computed" a computed wait over 1 s
		field      string
		reauth     bool
	}
	rows := []row{
		{name: "credential rejected", path: "/reject", status: 424, code: "connection_rejected"},
		{name: "403 without invalid_token", path: "/forbidden", status: 422, code: "action_failed"},
		{name: "provider rate limited", path: "/limited", status: 429, code: "rate_limited", retryAfter: "2"},
		{name: "upstream 5xx", path: "/broken", status: 502, code: "upstream_error"},
		{name: "unreachable", path: "/unreachable", status: 502, code: "upstream_error"},
		{name: "timeout", path: "/slow", status: 504, code: "timeout"},
		{name: "validation error", path: "/invalid", status: 422, code: "action_failed", field: "amount"},
		// Last for the tenant: it marks the connection for re-auth.
		{name: "token invalid", path: "/revoked", status: 424, code: "connection_rejected", reauth: true},
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			up := newFailingProvider(t)
			env, cat := map[string]string{}, map[string]string{}
			for _, rt := range runtimes {
				env[connect.EnvName(rt.id)+"_API_BASE_URL"] = up.URL
				cat[rt.id+".json"] = fwdDescriptor(rt.id, rt.kind)
			}
			h := startHost(t, hosttest.Options{
				Backend: backend, Env: env, Catalog: cat, Timeout: 3 * time.Second,
				Configure: func(c *config.Config) {
					// Each (tenant, provider) may send 20 requests, then
					// waits far longer than ATOM_RATE_MAX_WAIT.
					c.RateLimit, c.RateBurst = 0.001, 20
				},
				Prepare: func(dir string) {
					testbin.Install(t, nativeBin, dir, "atom-provider-fwdnative", 0o755)
					testbin.Install(t, pieceWasm, dir, "fwdpiece.wasm", 0o644)
				},
			})
			other := h.NewTenant("other")
			ctx := context.Background()
			for _, rt := range runtimes {
				for _, tn := range []string{h.Tenant.ID, other.ID} {
					if _, err := h.App.Connect.ConnectCredentials(ctx, tn, "", rt.id, connect.CredentialsInput{APIKey: "k_1"}); err != nil {
						t.Fatal(err)
					}
				}
			}
			connStatus := func(key, id string) string {
				var v struct {
					Items []struct{ Provider, Status string } `json:"items"`
				}
				h.Must(h.Call("GET", "/api/v1/connections", key, nil, nil), 200, &v)
				for _, c := range v.Items {
					if c.Provider == id {
						return c.Status
					}
				}
				return "none"
			}
			// check runs one row live and replayed and returns the live
			// Retry-After.
			check := func(t *testing.T, key string, rt runtime, r row) {
				t.Helper()
				idem := map[string]string{"Idempotency-Key": fmt.Sprintf("%s-%s-%s", backend, rt.id, r.path)}
				path := "/api/v1/integrations/" + rt.id + "/actions/" + rt.action
				var answers [2]hosttest.Response
				for i := range answers {
					answers[i] = h.Call("POST", path, key, map[string]any{"input": rt.input(r.path)}, idem)
				}
				for i, res := range answers {
					what := [2]string{"live", "replay"}[i]
					var v struct {
						Error struct{ Code, Message, Field string } `json:"error"`
					}
					if err := json.Unmarshal(res.Body, &v); err != nil {
						t.Fatalf("%s: %d %s", what, res.Status, res.Body)
					}
					if res.Status != r.status || v.Error.Code != r.code || v.Error.Field != r.field {
						t.Errorf("%s: %d %s field %q, want %d %s field %q: %s", what, res.Status, v.Error.Code, v.Error.Field,
							r.status, r.code, r.field, res.Body)
					}
					ra := res.Header.Get("Retry-After")
					switch r.retryAfter {
					case "computed":
						if n, err := strconv.Atoi(ra); err != nil || n < 2 {
							t.Errorf("%s: Retry-After %q, want the limiter's wait", what, ra)
						}
					default:
						if ra != r.retryAfter {
							t.Errorf("%s: Retry-After %q, want %q", what, ra, r.retryAfter)
						}
					}
				}
				// The record tells the same: GET /executions/{id}.
				var live struct {
					ExecutionID string `json:"execution_id"`
				}
				if json.Unmarshal(answers[0].Body, &live) == nil && live.ExecutionID != "" {
					var x struct {
						Error struct{ Code, Field string } `json:"error"`
					}
					h.Must(h.Call("GET", "/api/v1/executions/"+live.ExecutionID, key, nil, nil), 200, &x)
					if x.Error.Code != r.code || x.Error.Field != r.field {
						t.Errorf("GET /executions/%s: error %q field %q, want %q field %q", live.ExecutionID, x.Error.Code, x.Error.Field, r.code, r.field)
					}
				} else {
					t.Errorf("the live answer names no execution: %s", answers[0].Body)
				}
				if answers[1].Header.Get("Idempotent-Replayed") != "true" {
					t.Errorf("the second answer is not a replay: %v", answers[1].Header)
				}
				if a, b := answers[0].Header.Get("Retry-After"), answers[1].Header.Get("Retry-After"); a != b {
					t.Errorf("Retry-After live %q, replay %q", a, b)
				}
			}
			for _, rt := range runtimes {
				t.Run(rt.kind, func(t *testing.T) {
					for _, r := range rows {
						t.Run(r.name, func(t *testing.T) {
							check(t, h.Tenant.Key, rt, r)
							want := "active"
							if r.reauth {
								want = "revoked"
							}
							if got := connStatus(h.Tenant.Key, rt.id); got != want {
								t.Errorf("connection %s after %s: %s, want %s", rt.id, r.path, got, want)
							}
						})
					}
					// The host's own outbound limit, past ATOM_RATE_MAX_WAIT:
					// tenant "other" spends its burst, then is refused.
					t.Run("host rate limit", func(t *testing.T) {
						for i := 0; ; i++ {
							res := h.Call("POST", "/api/v1/integrations/"+rt.id+"/actions/"+rt.action, other.Key,
								map[string]any{"input": rt.input("/ok")}, nil)
							if res.Status == 429 {
								break
							}
							if res.Status != 200 || i > 30 {
								t.Fatalf("call %d: %d %s", i, res.Status, res.Body)
							}
						}
						check(t, other.Key, rt, row{path: "/ok", status: 429, code: "rate_limited", retryAfter: "computed"})
					})
				})
			}
		})
	}
}
