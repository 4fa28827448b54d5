package faults

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
)

// TestFaultBadInput sends malformed JSON, wrong types, huge bodies,
// unknown providers and actions, bad query parameters and bad headers to
// every route: each answers 4xx with a message in the JSON error shape,
// never a 5xx, and the host keeps serving.
func TestFaultBadInput(t *testing.T) {
	h := startHost(t, hosttest.Options{Prepare: func(dir string) {
		testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	}})
	tn := h.NewTenant("bad-input")
	tid := tn.ID
	huge := `{"input":{"x":"` + strings.Repeat("a", 2<<20) + `"}}`
	type tc struct {
		name, method, path, key string
		body                    any
		hdr                     map[string]string
	}
	k, a := tn.Key, adminKey
	cases := []tc{}
	jsonRoutes := []struct{ method, path, key string }{
		{"POST", "/api/v1/tenants", a},
		{"POST", "/api/v1/tenants/" + tid + "/api-keys", a},
		{"POST", "/api/v1/connections/fakekey", k},
		{"PUT", "/api/v1/oauth-apps/fakeapp", k},
		{"PUT", "/api/v1/webhook", k},
		{"POST", "/api/v1/users", k},
		{"POST", "/api/v1/integrations/echo/actions/echo", k},
		{"POST", "/api/v1/pieces/echo/actions/echo", k},
		{"POST", "/integrations/session", ""},
	}
	for _, r := range jsonRoutes {
		hdr := map[string]string{"Origin": h.URL, "Accept": "application/json"}
		for name, body := range map[string]string{
			"malformed JSON": `{"name":`, "wrong types": `{"name":1,"input":"x","url":5,"client_id":[],"fields":"x","api_key":{}}`,
			"trailing data": `{} {}`, "array": `[]`, "unknown field": `{"zzz":1}`, "huge body": huge, "invalid utf-8": "{\"name\":\"\xff\xfe\"}",
		} {
			cases = append(cases, tc{name: r.method + " " + r.path + " " + name, method: r.method, path: r.path, key: r.key, body: body, hdr: hdr})
		}
	}
	add := func(name, method, path, key string, hdr map[string]string) {
		cases = append(cases, tc{name: name, method: method, path: path, key: key, hdr: hdr})
	}
	add("unknown provider (execute)", "POST", "/api/v1/integrations/no-such-provider/actions/x", k, nil)
	add("unknown action", "POST", "/api/v1/integrations/echo/actions/no_such_action", k, nil)
	add("unknown provider (actions)", "GET", "/api/v1/integrations/no-such-provider/actions", k, nil)
	add("unknown provider (connect)", "GET", "/api/integrations/no-such-provider?action=connect", k, nil)
	add("unknown provider (connection)", "POST", "/api/v1/connections/no-such-provider", k, nil)
	add("unknown provider (oauth app)", "GET", "/api/v1/oauth-apps/no-such-provider", k, nil)
	add("unknown provider (callback)", "GET", "/api/integrations/no-such-provider/callback?state=x&code=y", "", map[string]string{"Accept": "application/json"})
	add("unknown catalog id", "GET", "/api/v1/catalog/no-such-provider", k, nil)
	add("bad action param", "GET", "/api/integrations/fakekey?action=explode", k, nil)
	add("missing action param", "GET", "/api/integrations/fakekey", k, nil)
	for _, q := range []string{"limit=0", "limit=-1", "limit=abc", "limit=100000", "cursor=%ff%fe", "cursor=notacursor", "category=no-such-category", "auth=nope", "implementation=nope"} {
		add("catalog "+q, "GET", "/api/v1/catalog?"+q, k, nil)
	}
	for _, q := range []string{"limit=0", "limit=x", "limit=501", "status=bogus", "before=not-a-time-or-id"} {
		add("executions "+q, "GET", "/api/v1/executions?"+q, k, nil)
	}
	add("pieces bad category", "GET", "/api/v1/pieces?category=no-such-category", k, nil)
	add("async=maybe", "POST", "/api/v1/integrations/echo/actions/echo?async=maybe", k, nil)
	add("Idempotency-Key too long", "POST", "/api/v1/integrations/echo/actions/echo", k, map[string]string{"Idempotency-Key": strings.Repeat("k", 300)})
	add("X-Atom-User-Id invalid", "GET", "/api/v1/connections", k, map[string]string{"X-Atom-User-Id": "bad user/id"})
	add("X-Atom-User-Id too long", "GET", "/api/v1/connections", k, map[string]string{"X-Atom-User-Id": strings.Repeat("u", 65)})
	add("X-Atom-User-Id unknown (connect)", "GET", "/api/integrations/fakeoauth?action=connect", k, map[string]string{"X-Atom-User-Id": "ghost"})
	add("malformed Authorization", "GET", "/api/v1/me", "", map[string]string{"Authorization": "Basic Zm9vOmJhcg=="})
	add("empty bearer", "GET", "/api/v1/me", "", map[string]string{"Authorization": "Bearer "})
	add("execution id garbage", "GET", "/api/v1/executions/%00%ff", k, nil)
	add("unknown tenant for api key", "POST", "/api/v1/tenants/ten_nope/api-keys", a, nil)
	add("revoke unknown key", "DELETE", "/api/v1/tenants/"+tid+"/api-keys/nope", a, nil)
	add("no route", "GET", "/api/v1/nothing-here", k, nil)
	add("wrong method", "PATCH", "/api/v1/webhook", k, nil)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{}
			for k, v := range c.hdr {
				hdr[k] = v
			}
			var body any
			if s, ok := c.body.(string); ok {
				body = []byte(s)
				hdr["Content-Type"] = "application/json"
			}
			r := h.Call(c.method, c.path, c.key, body, hdr)
			// Invalid UTF-8 inside a JSON string is decoded as U+FFFD, so it
			// may be accepted; it must never fail the host.
			if strings.HasSuffix(c.name, "invalid utf-8") && r.Status < 300 {
				return
			}
			if r.Status < 400 || r.Status >= 500 {
				t.Fatalf("status %d: %.300s", r.Status, r.Body)
			}
			if code, msg := r.ErrorCode(); code == "" || msg == "" {
				t.Fatalf("%d without a JSON error: %.300s", r.Status, r.Body)
			}
		})
	}
	h.Must(h.Call("GET", "/readyz", "", nil, nil), 200, nil)

	// An invalid custom descriptor is refused; the catalog keeps serving.
	t.Run("invalid custom descriptor", func(t *testing.T) {
		for name, body := range map[string]string{
			"broken.json":  `{"id":"broken",`,
			"badkind.json": `{"id":"badkind","name":"B","categories":["development"],"auth":{"kind":"telepathy"},"api":{"base_url":"https://b.test"},"implementations":["generic"]}`,
			"badurl.json":  `{"id":"badurl","name":"B","categories":["development"],"auth":{"kind":"none"},"api":{"base_url":"javascript:alert(1)"},"implementations":["generic"]}`,
		} {
			if err := os.WriteFile(filepath.Join(h.Catalog, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(500 * time.Millisecond)
		for _, id := range []string{"broken", "badkind", "badurl"} {
			if r := h.Call("GET", "/api/v1/catalog/"+id, k, nil, nil); r.Status != 404 {
				t.Fatalf("invalid descriptor %s served: %d %s", id, r.Status, r.Body)
			}
		}
		h.Must(h.Call("GET", "/api/v1/catalog/fakekey", k, nil, nil), 200, nil)
	})
}
