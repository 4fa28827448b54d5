package faults

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// victim is everything tenant A owns that tenant B attacks.
type victim struct {
	hosttest.Tenant
	// execID is A's execution; asyncID an asynchronous one.
	execID, asyncID string
	// connIDs are A's connection ids.
	connIDs []string
	// secrets are values of A's that must never reach B.
	secrets []string
	// cookie and csrf are A's page session.
	cookie, csrf string
}

// session signs tn in on the integrations page and returns the cookie
// value and CSRF token.
func (h *host) session(tn hosttest.Tenant) (cookie, csrf string) {
	h.T.Helper()
	r := h.Call("POST", "/integrations/session", "", map[string]string{"api_key": tn.Key},
		map[string]string{"Origin": h.URL, "Accept": "application/json"})
	var body struct {
		CSRF string `json:"csrf_token"`
	}
	h.Must(r, 200, &body)
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "atom_session" {
			cookie = c.Value
		}
	}
	if cookie == "" || body.CSRF == "" {
		h.T.Fatalf("sign-in gave no session: %s", r.Body)
	}
	return cookie, body.CSRF
}

// setupVictim gives tenant A one of everything: OAuth, API-key, basic and
// custom connections (one for a user), an OAuth app, a webhook, synchronous
// and asynchronous executions with an idempotency key, a stored plugin
// value and a page session.
func setupVictim(t *testing.T, h *host) *victim {
	a := &victim{Tenant: h.NewTenant("victim-a")}
	h.connectOAuth(a.Tenant, "fakeoauth")
	apiSecret, pw, tok := "sk_victim_APIKEY_0001", "victim-password-0002", "victim-custom-token-0003"
	h.Must(h.Call("POST", "/api/v1/connections/fakekey", a.Key, map[string]any{"api_key": apiSecret}, nil), 201, nil)
	h.Must(h.Call("POST", "/api/v1/connections/fakebasic", a.Key, map[string]any{"username": "alice", "password": pw}, nil), 201, nil)
	h.Must(h.Call("POST", "/api/v1/users", a.Key, map[string]any{"id": "alice", "email": "alice@victim.test"}, nil), 201, nil)
	h.Must(h.Call("POST", "/api/v1/connections/fakecustom", a.Key, map[string]any{"fields": map[string]string{"account": "acc-a", "token": tok}},
		map[string]string{"X-Atom-User-Id": "alice"}), 201, nil)
	appSecret := "victim-oauth-app-secret-0004"
	h.Must(h.Call("PUT", "/api/v1/oauth-apps/fakeapp", a.Key, map[string]any{"client_id": "victim-client", "client_secret": appSecret}, nil), 200, nil)
	var wh struct {
		Secret string `json:"secret"`
	}
	h.Must(h.Call("PUT", "/api/v1/webhook", a.Key, map[string]any{"url": "https://hooks.victim.test/atom"}, nil), 200, &wh)
	a.secrets = append(a.secrets, apiSecret, pw, tok, appSecret, wh.Secret, "victim-client", "hooks.victim.test", "victim-kv-value")

	var ex struct {
		ExecutionID string `json:"execution_id"`
	}
	h.Must(h.Exec(a.Tenant, "echo", "echo", map[string]any{"note": "victim-input-0005"}, map[string]string{"Idempotency-Key": "shared-key-1"}), 200, &ex)
	a.execID = ex.ExecutionID
	a.secrets = append(a.secrets, "victim-input-0005")
	h.Must(h.Call("POST", "/api/v1/integrations/echo/actions/echo?async=true", a.Key, map[string]any{"input": map[string]any{}}, nil), 202, &ex)
	a.asyncID = ex.ExecutionID
	h.Must(h.Exec(a.Tenant, "sandbox", "store", map[string]any{"key": "shared", "value": "victim-kv-value"}, nil), 200, nil)

	var list struct {
		Connections []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	h.Must(h.Call("GET", "/api/v1/connections", a.Key, nil, nil), 200, &list)
	for _, c := range list.Connections {
		a.connIDs = append(a.connIDs, c.ID)
	}
	if len(a.connIDs) < 3 {
		t.Fatalf("victim connections: %+v", list)
	}
	a.cookie, a.csrf = h.session(a.Tenant)
	return a
}

// attack is one cross-tenant attempt. run returns the response B got;
// check asserts the refusal; after, when set, asserts A's data is intact.
type attack struct {
	name string
	run  func() hosttest.Response
	want []int
	code string
	// echoes are values of A's that B itself sent (ids in the path,
	// its own input): the response may repeat them.
	echoes []string
	after  func(t *testing.T)
}

// TestAttackCrossTenantAPI runs every cross-tenant attack over the REST API
// and the page, on both backends. B holds its own valid key (and session)
// and everything it knows about A: ids, provider names, states, keys.
func TestAttackCrossTenantAPI(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			h := startHost(t, hosttest.Options{Backend: backend, Prepare: withPlugins(t)})
			a := setupVictim(t, h)
			b := h.NewTenant("attacker-b")
			bCookie, bCSRF := h.session(b)
			runAttacks(t, h, a, b, bCookie, bCSRF)
		})
	}
}

func runAttacks(t *testing.T, h *host, a *victim, b hosttest.Tenant, bCookie, bCSRF string) {
	get := func(path, key string, hdr map[string]string) func() hosttest.Response {
		return func() hosttest.Response { return h.Call("GET", path, key, nil, hdr) }
	}
	stillConnected := func(provider string, hdr map[string]string) func(t *testing.T) {
		return func(t *testing.T) {
			var st struct {
				Connected bool `json:"connected"`
			}
			h.Must(h.Call("GET", "/api/integrations/"+provider+"?action=status", a.Key, nil, hdr), 200, &st)
			if !st.Connected {
				t.Fatalf("A's %s connection was removed by B", provider)
			}
		}
	}
	fakeCalls := h.fake.Stats().APIRequests
	cookieHdr := func(cookie, csrf string) map[string]string {
		m := map[string]string{"Cookie": "atom_session=" + cookie}
		if csrf != "" {
			m["X-CSRF-Token"] = csrf
		}
		return m
	}
	// B starts its own OAuth flow and gets a code from the provider for
	// its own account.
	_, bAuth := h.startOAuth(b, "fakeoauth", "")
	bCode := h.authorize(bAuth)
	// A starts a flow whose state B learns (e.g. from a leaked URL).
	aState, _ := h.startOAuth(a.Tenant, "fakeoauth", "")
	aUsedState, aUsedAuth := h.startOAuth(a.Tenant, "fakeother", "")
	aUsedCode := h.authorize(aUsedAuth)
	h.Must(h.callback("fakeother", url.Values{"code": {aUsedCode}, "state": {aUsedState}}), 200, nil)

	attacks := []attack{
		{name: "list connections", run: get("/api/v1/connections", b.Key, nil), want: []int{200}},
		{name: "connection status by provider (REST)", run: get("/api/v1/connections/fakekey", b.Key, nil), want: []int{200, 404}},
		{name: "connection status by provider (spec route)", run: get("/api/integrations/fakeoauth?action=status", b.Key, nil), want: []int{200}},
		{name: "user connection status with A's user id", run: get("/api/v1/connections/fakecustom", b.Key, map[string]string{"X-Atom-User-Id": "alice"}), want: []int{200, 404}},
		{name: "disconnect A's provider (spec GET)", run: get("/api/integrations/fakeoauth?action=disconnect", b.Key, nil), want: []int{404}, code: "provider_not_connected",
			after: stillConnected("fakeoauth", nil)},
		{name: "DELETE A's provider", run: func() hosttest.Response { return h.Call("DELETE", "/api/v1/connections/fakekey", b.Key, nil, nil) }, want: []int{404},
			after: stillConnected("fakekey", nil)},
		{name: "DELETE A's user connection with A's user id", run: func() hosttest.Response {
			return h.Call("DELETE", "/api/v1/connections/fakecustom", b.Key, nil, map[string]string{"X-Atom-User-Id": "alice"})
		}, want: []int{404}, after: stillConnected("fakecustom", map[string]string{"X-Atom-User-Id": "alice"})},
		{name: "DELETE by A's connection id", run: func() hosttest.Response {
			return h.Call("DELETE", "/api/v1/connections/"+a.connIDs[0], b.Key, nil, nil)
		}, want: []int{404}, echoes: a.connIDs[:1]},
		{name: "GET by A's connection id", run: get("/api/v1/connections/"+a.connIDs[0], b.Key, nil), want: []int{200, 404}, echoes: a.connIDs[:1]},
		{name: "GET A's execution", run: get("/api/v1/executions/"+a.execID, b.Key, nil), want: []int{404}, echoes: []string{a.execID}},
		{name: "GET A's async execution", run: get("/api/v1/executions/"+a.asyncID, b.Key, nil), want: []int{404}, echoes: []string{a.asyncID}},
		{name: "list executions", run: get("/api/v1/executions?limit=500", b.Key, nil), want: []int{200}},
		{name: "list executions filtered by provider", run: get("/api/v1/executions?provider=echo", b.Key, nil), want: []int{200}},
		{name: "list executions before A's execution id", run: get("/api/v1/executions?before="+a.execID, b.Key, nil), want: []int{400}, echoes: []string{a.execID}},
		{name: "execute with A's API-key connection", run: func() hosttest.Response {
			return h.Exec(b, "fakekey", "custom_api_call", map[string]any{"method": "GET", "path": "/me"}, nil)
		},
			want: []int{404}, code: "provider_not_connected"},
		{name: "execute with A's OAuth connection", run: func() hosttest.Response {
			return h.Exec(b, "fakeoauth", "custom_api_call", map[string]any{"method": "GET", "path": "/me"}, nil)
		},
			want: []int{404}, code: "provider_not_connected"},
		{name: "execute as A's user", run: func() hosttest.Response {
			return h.Exec(b, "fakecustom", "custom_api_call", map[string]any{"method": "GET", "path": "/me"}, map[string]string{"X-Atom-User-Id": "alice"})
		}, want: []int{404}, code: "provider_not_connected"},
		{name: "reuse A's idempotency key with other input", run: func() hosttest.Response {
			return h.Exec(b, "echo", "echo", map[string]any{"note": "other"}, map[string]string{"Idempotency-Key": "shared-key-1"})
		}, want: []int{200}},
		{name: "reuse A's idempotency key with A's input (after its own use: B's own replay or conflict)", run: func() hosttest.Response {
			return h.Exec(b, "echo", "echo", map[string]any{"note": "victim-input-0005"}, map[string]string{"Idempotency-Key": "shared-key-1"})
		}, want: []int{200, 409}, echoes: []string{"victim-input-0005"}},
		{name: "read A's plugin store key (wasm piece through runtime.Host)", run: func() hosttest.Response {
			return h.Exec(b, "sandbox", "store", map[string]any{"key": "shared"}, nil)
		}, want: []int{200}},
		{name: "overwrite A's plugin store key", run: func() hosttest.Response {
			return h.Exec(b, "sandbox", "store", map[string]any{"key": "shared", "value": "attacker"}, nil)
		}, want: []int{200}, after: func(t *testing.T) {
			var out struct {
				Output struct {
					Old   string `json:"old"`
					Found bool   `json:"found"`
				} `json:"output"`
			}
			h.Must(h.Exec(a.Tenant, "sandbox", "store", map[string]any{"key": "shared"}, nil), 200, &out)
			if out.Output.Old != "victim-kv-value" {
				t.Fatalf("A's stored value is now %q", out.Output.Old)
			}
		}},
		{name: "callback with B's code and A's state (PKCE-bound)", run: func() hosttest.Response {
			return h.callback("fakeoauth", url.Values{"code": {bCode}, "state": {aState}})
		}, want: []int{400, 502}},
		{name: "replay A's used state", run: func() hosttest.Response {
			return h.callback("fakeother", url.Values{"code": {aUsedCode}, "state": {aUsedState}})
		}, want: []int{400}, code: "invalid_state"},
		{name: "A's state on B's own flow provider path with B's code", run: func() hosttest.Response {
			return h.callback("fakeoauth", url.Values{"code": {bCode}, "state": {aUsedState}})
		}, want: []int{400}, code: "invalid_state"},
		{name: "create a user with A's user id", run: func() hosttest.Response {
			return h.Call("POST", "/api/v1/users", b.Key, map[string]any{"id": "alice"}, nil)
		}, want: []int{201}},
		{name: "connect as a user id B never created", run: func() hosttest.Response {
			return h.Call("POST", "/api/v1/connections/fakekey", b.Key, map[string]any{"api_key": "x"}, map[string]string{"X-Atom-User-Id": "nobody-here"})
		}, want: []int{400, 404}},
		{name: "read A's OAuth app", run: get("/api/v1/oauth-apps/fakeapp", b.Key, nil), want: []int{400, 404}},
		{name: "delete A's OAuth app", run: func() hosttest.Response { return h.Call("DELETE", "/api/v1/oauth-apps/fakeapp", b.Key, nil, nil) }, want: []int{204, 400, 404},
			after: func(t *testing.T) { h.Must(h.Call("GET", "/api/v1/oauth-apps/fakeapp", a.Key, nil, nil), 200, nil) }},
		{name: "read webhook settings", run: get("/api/v1/webhook", b.Key, nil), want: []int{200, 404}},
		{name: "replace webhook settings", run: func() hosttest.Response {
			return h.Call("PUT", "/api/v1/webhook", b.Key, map[string]any{"url": "https://evil.test/hook"}, nil)
		}, want: []int{200}, after: func(t *testing.T) {
			r := h.Call("GET", "/api/v1/webhook", a.Key, nil, nil)
			if !strings.Contains(string(r.Body), "hooks.victim.test") {
				t.Fatalf("A's webhook changed: %s", r.Body)
			}
		}},
		{name: "integrations status counts", run: get("/api/integrations/status", b.Key, nil), want: []int{200}},
		{name: "me", run: get("/api/v1/me", b.Key, nil), want: []int{200}},
		{name: "admin: create API key for A with B's key", run: func() hosttest.Response {
			return h.Call("POST", "/api/v1/tenants/"+a.ID+"/api-keys", b.Key, map[string]any{"name": "x"}, nil)
		}, want: []int{401}},
		{name: "admin: list A's API keys with B's key", run: get("/api/v1/tenants/"+a.ID+"/api-keys", b.Key, nil), want: []int{401}},
		{name: "admin: create tenant with a tenant key", run: func() hosttest.Response {
			return h.Call("POST", "/api/v1/tenants", b.Key, map[string]any{"name": "x"}, nil)
		}, want: []int{401}},
		{name: "admin: list plugins with a tenant key", run: get("/api/v1/admin/plugins", b.Key, nil), want: []int{401}},
		{name: "admin: upload a plugin with a tenant key", run: func() hosttest.Response {
			return h.Call("PUT", "/api/v1/admin/plugins/evil", b.Key, []byte("#!/bin/sh\n"), nil)
		}, want: []int{401}},
		{name: "admin: routes with A's page session", run: get("/api/v1/tenants/"+a.ID+"/api-keys", "", cookieHdr(a.cookie, a.csrf)), want: []int{401}},
		{name: "catalog: write a custom entry with a tenant key", run: func() hosttest.Response {
			return h.Call("PUT", "/api/v1/catalog/fakekey", b.Key, map[string]any{"id": "fakekey"}, nil)
		}, want: []int{404, 405}},
		{name: "tenant route with the admin key", run: get("/api/v1/connections", adminKey, nil), want: []int{401}},
		{name: "execute with the admin key", run: func() hosttest.Response {
			return h.Call("POST", "/api/v1/integrations/echo/actions/echo", adminKey, map[string]any{"input": map[string]any{}}, nil)
		}, want: []int{401}},
		{name: "page: A's cookie with B's CSRF token (DELETE)", run: func() hosttest.Response {
			return h.Call("DELETE", "/api/v1/connections/fakekey", "", nil, cookieHdr(a.cookie, bCSRF))
		}, want: []int{401, 403}, after: stillConnected("fakekey", nil)},
		{name: "page: A's cookie without CSRF token (PUT webhook)", run: func() hosttest.Response {
			return h.Call("PUT", "/api/v1/webhook", "", map[string]any{"url": "https://evil.test/hook"}, cookieHdr(a.cookie, ""))
		}, want: []int{401, 403}},
		{name: "page: B's cookie with A's CSRF token", run: func() hosttest.Response {
			return h.Call("DELETE", "/api/v1/connections/fakekey", "", nil, cookieHdr(bCookie, a.csrf))
		}, want: []int{401, 403}, after: stillConnected("fakekey", nil)},
		{name: "page: B's session reads connections", run: get("/api/v1/connections", "", cookieHdr(bCookie, "")), want: []int{200}},
		{name: "page: forged cookie", run: get("/api/v1/connections", "", cookieHdr("AAAA"+a.cookie[4:], "")), want: []int{401}},
		{name: "API key: A's lookup prefix with B's secret", run: get("/api/v1/me", a.Key[:strings.LastIndex(a.Key, "_")+1]+b.Key[strings.LastIndex(b.Key, "_")+1:], nil), want: []int{401}},
	}
	for _, at := range attacks {
		t.Run(at.name, func(t *testing.T) {
			r := at.run()
			ok := false
			for _, s := range at.want {
				ok = ok || r.Status == s
			}
			if !ok {
				t.Fatalf("status %d, want one of %v: %s", r.Status, at.want, r.Body)
			}
			if r.Status >= 400 {
				if code, msg := r.ErrorCode(); code == "" || msg == "" {
					t.Fatalf("refusal without the JSON error shape: %s", r.Body)
				} else if at.code != "" && code != at.code {
					t.Fatalf("code %q, want %q: %s", code, at.code, r.Body)
				}
			}
			assertNoLeak(t, r, a, at.echoes)
			if at.after != nil {
				at.after(t)
			}
		})
	}
	if n := h.fake.Stats().APIRequests; n != fakeCalls {
		t.Errorf("the provider API was called %d times with A's credentials during the attacks", n-fakeCalls)
	}
	// Idempotency: B's replays were its own executions.
	var xs struct {
		Executions []struct {
			ID             string `json:"id"`
			IdempotencyKey string `json:"idempotency_key"`
		} `json:"executions"`
	}
	h.Must(h.Call("GET", "/api/v1/executions?limit=500", b.Key, nil, nil), 200, &xs)
	n := 0
	for _, x := range xs.Executions {
		if x.IdempotencyKey == "shared-key-1" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("B has %d executions with the shared idempotency key, want its own one", n)
	}
}

// assertNoLeak fails when r carries any of A's ids, secrets or data.
func assertNoLeak(t *testing.T, r hosttest.Response, a *victim, echoes []string) {
	t.Helper()
	body := string(r.Body)
	for _, e := range echoes {
		body = strings.ReplaceAll(body, e, "")
	}
	needles := append([]string{a.ID, a.execID, a.asyncID, "alice@victim.test", "acc-a"}, a.secrets...)
	needles = append(needles, a.connIDs...)
	for _, n := range needles {
		if n != "" && strings.Contains(body, n) {
			t.Fatalf("hosttest.Response leaks A's %q: %s", n, body)
		}
	}
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("B got a replay of A's execution: %s", body)
	}
	// Listings must be empty or B's own.
	var list map[string]json.RawMessage
	if json.Unmarshal(r.Body, &list) == nil {
		for _, k := range []string{"items", "executions"} {
			if raw, ok := list[k]; ok && strings.Contains(string(raw), a.ID) {
				t.Fatalf("%s lists A's rows: %s", k, raw)
			}
		}
	}
}
