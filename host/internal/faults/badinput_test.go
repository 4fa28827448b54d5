package faults

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/store"
)

// TestFaultBadInput sends malformed JSON, wrong types, huge bodies,
// unknown providers and actions, bad query parameters and bad headers to
// every route: each answers 4xx with a message in the JSON error shape,
// never a 5xx, and the host keeps serving.
func TestFaultBadInput(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) { badInput(t, backend) })
	}
}

func badInput(t *testing.T, backend string) {
	h := startHost(t, hosttest.Options{Backend: backend, Prepare: func(dir string) {
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
	n := len(cases) + badFields(t, h, tn)
	h.Must(h.Call("GET", "/readyz", "", nil, nil), 200, nil)
	if !t.Failed() {
		t.Logf("attack badinput: %d cases on %s, 0 succeeded", n, backend)
	}

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

// fieldRoute sends one value of one API-exposed text field.
type fieldRoute struct {
	field string // as the error message names it
	limit int    // the field's limit in characters, 0 for none
	// valid makes a value of n characters the route accepts, from fill
	// (one character, repeated or padded as the field needs).
	valid func(n int, fill string) string
	send  func(v string) hosttest.Response
}

// badFields tries every text field the API stores at its limit, one
// character over it (ASCII and multi-byte), and with NUL, control
// characters, invalid UTF-8 and lone surrogates: at the limit it is
// accepted, bad values answer 400 naming the field, and nothing answers
// 5xx on either backend. It returns the number of cases.
func badFields(t *testing.T, h *host, tn hosttest.Tenant) int {
	k, a := tn.Key, adminKey
	addParamProviders(t, h, tn)
	seq := 0
	uniq := func() string { seq++; return fmt.Sprintf("%06d", seq) }
	pad := func(n int, prefix, fill string) string {
		if n <= len([]rune(prefix)) {
			return prefix
		}
		return prefix + strings.Repeat(fill, n-len([]rune(prefix)))
	}
	idOf := func(n int, fill string) string { return pad(n, "u"+uniq(), "x") } // ids are ASCII only
	text := func(n int, fill string) string { return pad(n, uniq(), fill) }
	jsonBody := func(kv ...string) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	// post sends body(v) with v written into the JSON as is: invalid
	// UTF-8 stays raw and U+E001 becomes the escape of a lone surrogate,
	// which encoding/json would not produce.
	post := func(method, path, key string, body func(v string) map[string]any) func(string) hosttest.Response {
		return func(v string) hosttest.Response {
			b, err := json.Marshal(body(""))
			if err != nil {
				t.Fatal(err)
			}
			b = bytes.Replace(b, []byte(""), rawJSONText(v), 1)
			return h.Call(method, path, key, b, map[string]string{"Content-Type": "application/json"})
		}
	}
	routes := []fieldRoute{
		{"name", store.MaxTenantName, text, post("POST", "/api/v1/tenants", a, func(v string) map[string]any { return jsonBody("name", v) })},
		{"id", store.MaxID, idOf, post("POST", "/api/v1/tenants", a, func(v string) map[string]any { return jsonBody("name", "t", "id", v) })},
		{"name", store.MaxAPIKeyName, text, post("POST", "/api/v1/tenants/"+tn.ID+"/api-keys", a, func(v string) map[string]any { return jsonBody("name", v) })},
		{"id", store.MaxID, idOf, post("POST", "/api/v1/users", k, func(v string) map[string]any { return jsonBody("id", v) })},
		{"email", store.MaxUserEmail, text, post("POST", "/api/v1/users", k, func(v string) map[string]any { return jsonBody("email", v) })},
		{"name", store.MaxUserName, text, post("POST", "/api/v1/users", k, func(v string) map[string]any { return jsonBody("name", v) })},
		{"client_id", store.MaxClientID, text, post("PUT", "/api/v1/oauth-apps/fakeapp", k, func(v string) map[string]any {
			return jsonBody("client_id", v, "client_secret", "s")
		})},
		{"client_secret", store.MaxClientID, text, post("PUT", "/api/v1/oauth-apps/fakeapp", k, func(v string) map[string]any {
			return jsonBody("client_id", "c", "client_secret", v)
		})},
		{"scopes", store.MaxScopes, text, post("PUT", "/api/v1/oauth-apps/fakeapp", k, func(v string) map[string]any {
			return map[string]any{"client_id": "c", "client_secret": "s", "scopes": []string{v}}
		})},
		{"url", store.MaxWebhookURL, func(n int, fill string) string { return pad(n, "https://hooks.example.com/"+uniq()+"/", fill) },
			post("PUT", "/api/v1/webhook", k, func(v string) map[string]any { return jsonBody("url", v) })},
		{"shop", store.MaxParamValue, text, post("POST", "/api/v1/connections/paramkey", k, func(v string) map[string]any {
			return map[string]any{"api_key": "secret-key", "params": map[string]string{"shop": v}}
		})},
		{"shop", store.MaxParamValue, text, func(v string) hosttest.Response {
			return getLong(h, "/api/integrations/paramoauth?action=connect&shop="+url.QueryEscape(v), k)
		}},
		{"return_to", 2048, func(n int, fill string) string { return pad(n, "/done/"+uniq()+"/", fill) }, func(v string) hosttest.Response {
			return getLong(h, "/api/integrations/paramoauth?action=connect&shop=s&return_to="+url.QueryEscape(v), k)
		}},
		{"Idempotency-Key", store.MaxIdempotencyKey, func(n int, fill string) string { return pad(n, "key-"+uniq(), "k") }, func(v string) hosttest.Response {
			return h.Call("POST", "/api/v1/integrations/echo/actions/echo", k, map[string]any{"input": map[string]any{}}, map[string]string{"Idempotency-Key": v})
		}},
		{"X-Atom-User-Id", store.MaxID, idOf, func(v string) hosttest.Response {
			return h.Call("GET", "/api/v1/connections", k, nil, map[string]string{"X-Atom-User-Id": v})
		}},
	}
	// Header values cannot carry NUL or most control characters on the
	// wire; those variants are sent only in bodies and query strings.
	header := map[string]bool{"Idempotency-Key": true, "X-Atom-User-Id": true}
	type variant struct {
		name string
		v    func(r fieldRoute) string
		want string // "ok", "bad" or "any" (2xx or 4xx)
	}
	variants := []variant{
		{"at limit", func(r fieldRoute) string { return r.valid(r.limit, "a") }, "ok"},
		{"over limit", func(r fieldRoute) string { return r.valid(r.limit+1, "a") }, "bad"},
		{"far over limit", func(r fieldRoute) string { return r.valid(4*r.limit, "a") }, "bad"},
		{"multi-byte at limit", func(r fieldRoute) string { return r.valid(r.limit, "é") }, "ok"},
		{"multi-byte over limit", func(r fieldRoute) string { return r.valid(r.limit+1, "é") }, "bad"},
		{"emoji over limit", func(r fieldRoute) string { return r.valid(r.limit+1, "😀") }, "bad"},
		{"NUL", func(r fieldRoute) string { return inside(r.valid(8, "a"), "\x00") }, "bad"},
		{"control character", func(r fieldRoute) string { return inside(r.valid(8, "a"), "\x01") }, "bad"},
		{"escape character", func(r fieldRoute) string { return inside(r.valid(8, "a"), "\x1b[31m") }, "bad"},
		{"newline", func(r fieldRoute) string { return inside(r.valid(8, "a"), "\r\nX-Injected: 1") }, "bad"},
		{"DEL", func(r fieldRoute) string { return inside(r.valid(8, "a"), "\x7f") }, "bad"},
		{"C1 control", func(r fieldRoute) string { return inside(r.valid(8, "a"), "\u0085") }, "bad"},
		{"invalid utf-8", func(r fieldRoute) string { return inside(r.valid(8, "a"), "\xff\xfe") }, "any"},
		{"encoded surrogate", func(r fieldRoute) string { return inside(r.valid(8, "a"), "\xed\xa0\x80") }, "any"},
		{"lone surrogate escape", func(r fieldRoute) string { return inside(r.valid(8, "a"), "\ue001") }, "any"},
	}
	multiByte := map[string]bool{"multi-byte at limit": true, "multi-byte over limit": true, "emoji over limit": true}
	n := 0
	for _, r := range routes {
		for _, vt := range variants {
			bodyOnly := vt.name == "NUL" || vt.name == "control character" || vt.name == "escape character" || vt.name == "newline" || vt.name == "DEL"
			if header[r.field] && (bodyOnly || multiByte[vt.name] || vt.name == "C1 control" || vt.name == "lone surrogate escape") {
				continue
			}
			want := vt.want
			if header[r.field] && (vt.name == "invalid utf-8" || vt.name == "encoded surrogate") {
				want = "bad"
			}
			n++
			t.Run(r.field+" "+vt.name+" "+fmt.Sprint(n), func(t *testing.T) {
				res := r.send(vt.v(r))
				code, msg := res.ErrorCode()
				// A request line too long for the server's buffer is refused
				// before any handler reads it.
				tooLarge := res.Status == 413 || res.Status == 414 || res.Status == 431
				switch {
				case res.Status >= 500:
					t.Fatalf("%d: %.300s", res.Status, res.Body)
				case want == "ok" && res.Status >= 300:
					t.Fatalf("a value at the limit was refused: %d %.300s", res.Status, res.Body)
				case want == "bad" && tooLarge:
				case want == "bad" && res.Status != 400:
					t.Fatalf("want 400, got %d: %.300s", res.Status, res.Body)
				case want == "bad" && (code == "" || !strings.Contains(msg, r.field)):
					t.Fatalf("the message does not name %s: %.300s", r.field, res.Body)
				case res.Status >= 400 && code == "":
					t.Fatalf("%d without a JSON error: %.300s", res.Status, res.Body)
				}
			})
		}
	}
	return n
}

// rawJSONText writes v as the inside of a JSON string, escaping only
// what JSON requires, so invalid UTF-8 reaches the host as is; U+E001
// is written as the escape \ud800.
func rawJSONText(v string) []byte {
	var b []byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case strings.HasPrefix(v[i:], "\ue001"):
			b = append(b, `\ud800`...)
			i += len("\ue001") - 1
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, fmt.Sprintf(`\u%04x`, c)...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// inside puts bad in the middle of v, where trimming cannot remove it.
func inside(v, bad string) string { return v[:len(v)/2] + bad + v[len(v)/2:] }

// addParamProviders adds two descriptors with a connection parameter
// "shop" (one typed-in API key, one OAuth) and waits until tn sees them.
func addParamProviders(t *testing.T, h *host, tn hosttest.Tenant) {
	t.Helper()
	for id, auth := range map[string]string{
		"paramkey":   `{"kind":"api_key","credential_fields":["apiKey"],"api_key_in":"header","api_key_name":"X-Key","connection_params":["shop"]}`,
		"paramoauth": `{"kind":"oauth2","authorization_url":"https://auth.example.com/authorize","token_url":"https://auth.example.com/token","connection_params":["shop"]}`,
	} {
		desc := fmt.Sprintf(`{"id":%q,"name":%q,"categories":["development"],"auth":%s,"api":{"base_url":"https://api.example.com"},"implementations":["generic"],"connectable":true}`, id, id, auth)
		if err := os.WriteFile(filepath.Join(h.Catalog, id+".json"), []byte(desc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hosttest.WaitFor(t, 10*time.Second, "the parameter descriptors", func() bool {
		return h.Call("GET", "/api/v1/catalog/paramkey", tn.Key, nil, nil).Status == 200 &&
			h.Call("GET", "/api/v1/catalog/paramoauth", tn.Key, nil, nil).Status == 200
	})
	h.Must(h.Call("PUT", "/api/v1/oauth-apps/paramoauth", tn.Key, map[string]string{"client_id": "c", "client_secret": "s"}, nil), 200, nil)
}

// getLong sends a GET whose request line may exceed the server's read
// buffer (16 KiB). The server then answers 431 and closes the connection
// while the client may still be writing, so the client sees either that
// answer or the connection reset: both are the request refused before any
// handler read it, and the reset is reported as the 431 it stands for.
func getLong(h *host, path, key string) hosttest.Response {
	h.T.Helper()
	r, err := h.Try("GET", path, key, nil, nil)
	if err != nil && len(path) > 16<<10 && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "connection reset by peer") || strings.Contains(err.Error(), "broken pipe")) {
		return hosttest.Response{Status: http.StatusRequestHeaderFieldsTooLarge, Body: []byte("the server reset the connection: request line over its read buffer")}
	}
	if err != nil {
		h.T.Fatalf("GET %.200s: %v", path, err)
	}
	return r
}
