package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/atomhq/atom/catalog"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/host/internal/web"
)

// excluded are route prefixes the host serves that are not part of the
// REST API, with the reason.
var excluded = []struct{ prefix, reason string }{
	{"/integrations", "the integrations page (HTML, its assets and its browser session), served by host/internal/web for people, not programs"},
	{"/demo/", "the development demo provider (ATOM_DEV): a stand-in third-party OAuth server and API, not Atom's API"},
	{"/favicon.ico", "the integrations page's icon, for browsers that ask the root"},
}

// fullHost starts a host with every route registered: the execution
// engine, the admin plugin API, the web page and the demo provider.
func fullHost(t *testing.T) *app.Host { return fullHostWith(t, nil) }

// fullHostWith is fullHost with extra environment variables.
func fullHostWith(t *testing.T, extra map[string]string) *app.Host {
	t.Helper()
	dir := t.TempDir()
	keys, err := vault.Generate("k1")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"ATOM_DATA_DIR":            dir,
		"ATOM_ENCRYPTION_KEYS":     keys,
		"ATOM_ADMIN_KEY":           "adm_openapi_test",
		"ATOM_PLUGIN_DIR":          filepath.Join(dir, "plugins"),
		"ATOM_BASE_URL":            "http://atom.test",
		"ATOM_LOG_LEVEL":           "error",
		"ATOM_DEV":                 "true",
		"ATOM_CATALOG_DIR":         filepath.Join(dir, "catalog"),
		"ACME_OAUTH_CLIENT_ID":     "cid",
		"ACME_OAUTH_CLIENT_SECRET": "csecret",
	}
	for k, v := range extra {
		env[k] = v
	}
	os.MkdirAll(filepath.Join(dir, "catalog"), 0o700)
	os.WriteFile(filepath.Join(dir, "catalog", "acme.json"), []byte(`{"id":"acme","name":"Acme API","categories":["development"],
		"auth":{"kind":"api_key","credential_fields":["apiKey"],"api_key_in":"header","api_key_name":"Authorization","api_key_prefix":"Bearer "},
		"api":{"base_url":"https://api.acme.test"},"implementations":["generic"],"connectable":true}`), 0o600)
	os.WriteFile(filepath.Join(dir, "catalog", "acme-oauth.json"), []byte(`{"id":"acme-oauth","name":"Acme OAuth","categories":["development"],
		"auth":{"kind":"oauth2","authorization_url":"https://auth.acme.test/authorize","token_url":"https://auth.acme.test/token","pkce":true,"scopes":["read"]},
		"api":{"base_url":"https://api.acme.test"},"implementations":["generic"],"connectable":true}`), 0o600)
	getenv := func(k string) string { return env[k] }
	cfg, _, err := config.Load("test", nil, getenv)
	if err != nil {
		t.Fatal(err)
	}
	h, err := app.New(context.Background(), cfg, app.Options{
		Env:    getenv,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Engine: &app.EngineOptions{Env: getenv},
		Web:    web.ForHost,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

type document struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components map[string]map[string]json.RawMessage `json:"components"`
}

type operation struct {
	OperationID string                     `json:"operationId"`
	Parameters  []map[string]any           `json:"parameters"`
	Responses   map[string]json.RawMessage `json:"responses"`
	Security    *[]map[string][]string     `json:"security"`
}

var methods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "options": true, "head": true, "trace": true}

func loadDocument(t *testing.T) (document, map[string]any) {
	t.Helper()
	b, err := api.OpenAPIJSON()
	if err != nil {
		t.Fatalf("openapi.yaml does not convert to JSON: %v", err)
	}
	var doc document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	return doc, raw
}

var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestOpenAPIMatchesRoutes fails on a route the document lacks and on a
// documented operation no route serves.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	h := fullHost(t)
	doc, _ := loadDocument(t)

	served := map[string]bool{}
	excludedSeen := map[string]bool{}
	for _, r := range h.Server.App().GetRoutes(true) {
		if r.Method == http.MethodHead || r.Method == http.MethodConnect || r.Method == http.MethodTrace {
			continue
		}
		skip := false
		for _, ex := range excluded {
			if strings.HasPrefix(r.Path, ex.prefix) {
				excludedSeen[ex.prefix] = true
				skip = true
			}
		}
		if skip {
			continue
		}
		served[r.Method+" "+fiberParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	for _, ex := range excluded {
		if !excludedSeen[ex.prefix] {
			t.Errorf("no route under the excluded prefix %s any more: drop it from the exclusions", ex.prefix)
		}
	}

	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for m := range item {
			if methods[m] {
				documented[strings.ToUpper(m)+" "+path] = true
			}
		}
	}
	var missing, stale []string
	for r := range served {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !served[r] {
			stale = append(stale, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	for _, r := range missing {
		t.Errorf("route %s is not in host/internal/api/openapi.yaml: document it (then run go generate ./host/internal/apiclient)", r)
	}
	for _, r := range stale {
		t.Errorf("openapi.yaml documents %s but no route serves it", r)
	}
	if len(served) < 30 {
		t.Errorf("only %d routes registered: the host under test lacks route groups", len(served))
	}
}

// TestOpenAPIWellFormed checks the document: OpenAPI 3.1.0, valid against
// the 3.1 schema, every $ref resolves, every operation has a unique
// operationId, responses, security that names a declared scheme and the
// path parameters its path has.
func TestOpenAPIWellFormed(t *testing.T) {
	doc, raw := loadDocument(t)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi is %q, want 3.1.0", doc.OpenAPI)
	}

	b, _ := api.OpenAPIJSON()
	d, err := libopenapi.NewDocument(b)
	if err != nil {
		t.Fatalf("libopenapi: %v", err)
	}
	if v := d.GetVersion(); v != "3.1.0" {
		t.Fatalf("libopenapi reads version %q", v)
	}
	if _, err := d.BuildV3Model(); err != nil {
		t.Errorf("build model: %v", err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  at %s (%s): %s", se.FieldPath, se.KeywordLocation, se.Reason)
			}
		}
	}

	walkRefs(raw, func(ref string) {
		if !strings.HasPrefix(ref, "#/") {
			t.Errorf("$ref %s is not local", ref)
			return
		}
		if _, ok := resolvePointer(raw, ref[1:]); !ok {
			t.Errorf("$ref %s does not resolve", ref)
		}
	})

	schemes := doc.Components["securitySchemes"]
	ids := map[string]string{}
	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range doc.Paths {
		var shared []map[string]any
		if p, ok := item["parameters"]; ok {
			json.Unmarshal(p, &shared)
		}
		for m, body := range item {
			if !methods[m] {
				continue
			}
			name := strings.ToUpper(m) + " " + path
			var op operation
			if err := json.Unmarshal(body, &op); err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if op.OperationID == "" {
				t.Errorf("%s has no operationId", name)
			} else if prev, dup := ids[op.OperationID]; dup {
				t.Errorf("operationId %s is used by %s and %s", op.OperationID, prev, name)
			}
			ids[op.OperationID] = name
			if len(op.Responses) == 0 {
				t.Errorf("%s has no responses", name)
			}
			for code := range op.Responses {
				if !regexp.MustCompile(`^[1-5]\d\d$`).MatchString(code) {
					t.Errorf("%s: response %q is not a status code", name, code)
				}
			}
			if op.Security != nil {
				for _, req := range *op.Security {
					for s := range req {
						if _, ok := schemes[s]; !ok {
							t.Errorf("%s: security scheme %s is not declared", name, s)
						}
					}
				}
			}
			want := map[string]bool{}
			for _, mm := range pathParam.FindAllStringSubmatch(path, -1) {
				want[mm[1]] = true
			}
			have := map[string]bool{}
			for _, p := range append(append([]map[string]any{}, shared...), op.Parameters...) {
				if ref, ok := p["$ref"].(string); ok {
					r, _ := resolvePointer(raw, ref[1:])
					p, _ = r.(map[string]any)
				}
				if p["in"] == "path" {
					have[p["name"].(string)] = true
					if p["required"] != true {
						t.Errorf("%s: path parameter %v is not required", name, p["name"])
					}
				}
			}
			for k := range want {
				if !have[k] {
					t.Errorf("%s: path parameter {%s} is not declared", name, k)
				}
			}
			for k := range have {
				if !want[k] {
					t.Errorf("%s: declares path parameter %s its path lacks", name, k)
				}
			}
		}
	}

	// The error shape every route shares.
	var errSchema struct {
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	json.Unmarshal(doc.Components["schemas"]["ErrorDetail"], &errSchema)
	if strings.Join(errSchema.Required, ",") != "code,message,request_id" {
		t.Errorf("ErrorDetail requires %v, want code, message, request_id", errSchema.Required)
	}
}

func walkRefs(v any, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" {
				fn(s)
				continue
			}
			walkRefs(e, fn)
		}
	case []any:
		for _, e := range x {
			walkRefs(e, fn)
		}
	}
}

// resolvePointer follows a JSON pointer (RFC 6901) from doc.
func resolvePointer(doc any, ptr string) (any, bool) {
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// TestOpenAPIServed fetches the document without credentials.
func TestOpenAPIServed(t *testing.T) {
	h := fullHost(t)
	resp, err := h.Server.App().Test(httptest.NewRequest("GET", "/openapi.json", nil), 10000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	want, _ := api.OpenAPIJSON()
	if string(body) != string(want) {
		t.Fatal("served document differs from the embedded one")
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("served document: %v %q", err, doc.OpenAPI)
	}
}

// exchange is one request of TestResponsesMatchDocument.
type exchange struct {
	method, path, token string
	body                string
	header              map[string]string
	// valid requests must also pass request validation.
	valid bool
	want  int
}

// TestResponsesMatchDocument drives a host through every kind of
// response its routes give and validates each request and response
// against the document: status documented, body of the documented
// schema.
func TestResponsesMatchDocument(t *testing.T) {
	h := fullHost(t)
	b, _ := api.OpenAPIJSON()
	d, err := libopenapi.NewDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	const admin = "adm_openapi_test"
	send := func(x exchange) (*http.Response, []byte) {
		t.Helper()
		mk := func() *http.Request {
			r := httptest.NewRequest(x.method, "http://localhost:8080"+x.path, strings.NewReader(x.body))
			if x.body != "" {
				r.Header.Set("Content-Type", "application/json")
			}
			if x.token != "" {
				r.Header.Set("Authorization", "Bearer "+x.token)
			}
			r.Header.Set("Accept", "application/json")
			for k, val := range x.header {
				r.Header.Set(k, val)
			}
			return r
		}
		resp, err := h.Server.App().Test(mk(), 30000)
		if err != nil {
			t.Fatalf("%s %s: %v", x.method, x.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if x.want != 0 && resp.StatusCode != x.want {
			t.Errorf("%s %s: status %d, want %d: %s", x.method, x.path, resp.StatusCode, x.want, body)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if ok, verrs := v.ValidateHttpResponse(mk(), resp); !ok {
			for _, e := range verrs {
				t.Errorf("%s %s -> %d: %s: %s", x.method, x.path, resp.StatusCode, e.Message, e.Reason)
				for _, se := range e.SchemaValidationErrors {
					t.Errorf("  at %s: %s", se.FieldPath, se.Reason)
				}
			}
		}
		if x.valid {
			if ok, verrs := v.ValidateHttpRequest(mk()); !ok {
				for _, e := range verrs {
					t.Errorf("%s %s: request: %s: %s", x.method, x.path, e.Message, e.Reason)
				}
			}
		}
		return resp, body
	}
	decode := func(body []byte, into any) {
		t.Helper()
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
	}

	for _, x := range []exchange{
		{method: "GET", path: "/healthz", valid: true, want: 200},
		{method: "GET", path: "/readyz", valid: true, want: 200},
		{method: "GET", path: "/openapi.json", valid: true, want: 200},
		{method: "POST", path: "/api/v1/tenants", token: "wrong", body: `{"name":"x"}`, want: 401},
		{method: "POST", path: "/api/v1/tenants", token: admin, body: `{"nme":"x"}`, want: 400},
		{method: "POST", path: "/api/v1/tenants/nope/api-keys", token: admin, valid: true, want: 404},
		{method: "GET", path: "/api/v1/me", want: 401},
	} {
		send(x)
	}
	_, body := send(exchange{method: "POST", path: "/api/v1/tenants", token: admin, body: `{"name":"Acme","id":"acme-co"}`, valid: true, want: 201})
	send(exchange{method: "POST", path: "/api/v1/tenants", token: admin, body: `{"name":"Acme","id":"acme-co"}`, want: 409})
	var key struct{ ID, Key string }
	_, body = send(exchange{method: "POST", path: "/api/v1/tenants/acme-co/api-keys", token: admin, body: `{"name":"ci"}`, valid: true, want: 201})
	decode(body, &key)
	_, body = send(exchange{method: "POST", path: "/api/v1/tenants/acme-co/api-keys", token: admin, valid: true, want: 201})
	var spare struct{ ID string }
	decode(body, &spare)
	tk := key.Key
	for _, x := range []exchange{
		{method: "DELETE", path: "/api/v1/tenants/acme-co/api-keys/" + spare.ID, token: admin, valid: true, want: 204},
		{method: "GET", path: "/api/v1/tenants/acme-co/api-keys", token: admin, valid: true, want: 200},
		{method: "GET", path: "/api/v1/admin/plugins", token: admin, valid: true, want: 200},
		{method: "PUT", path: "/api/v1/admin/plugins/junk", token: admin, body: "not a plugin binary",
			header: map[string]string{"Content-Type": "application/octet-stream"}, valid: true, want: 422},
		{method: "PUT", path: "/api/v1/admin/plugins/Bad%20Id", token: admin, body: "x",
			header: map[string]string{"Content-Type": "application/octet-stream"}, want: 400},
		{method: "GET", path: "/metrics", valid: true, want: 200},
		{method: "GET", path: "/api/v1/me", token: tk, header: map[string]string{"X-Atom-User-Id": "u1"}, valid: true, want: 200},
		{method: "GET", path: "/api/v1/me", token: tk, header: map[string]string{"X-Atom-User-Id": "not valid!"}, want: 400},
		{method: "POST", path: "/api/v1/users", token: tk, body: `{"id":"u1","email":"u1@example.com"}`, valid: true, want: 201},
		{method: "POST", path: "/api/v1/users", token: tk, body: `{"id":"u1"}`, valid: true, want: 409},
		{method: "GET", path: "/api/v1/webhook", token: tk, valid: true, want: 200},
		{method: "PUT", path: "/api/v1/webhook", token: tk, body: `{"url":"not a url"}`, valid: true, want: 400},
		{method: "GET", path: "/api/integrations/status", token: tk, valid: true, want: 200},
		{method: "GET", path: "/api/integrations/acme?action=status", token: tk, valid: true, want: 200},
		{method: "GET", path: "/api/integrations/acme-oauth?action=connect&scopes=read", token: tk, valid: true, want: 200},
		{method: "GET", path: "/api/integrations/acme?action=explode", token: tk, want: 400},
		{method: "GET", path: "/api/integrations/acme-oauth/callback?code=c&state=forged", valid: true, want: 400},
		{method: "POST", path: "/api/v1/connections/acme", token: tk, body: `{"api_key":"k_123"}`, valid: true, want: 201},
		{method: "POST", path: "/api/v1/connections/nope", token: tk, body: `{"api_key":"k_123"}`, valid: true, want: 404},
		{method: "GET", path: "/api/v1/connections/acme", token: tk, valid: true, want: 200},
		{method: "GET", path: "/api/integrations/acme?action=status", token: tk, valid: true, want: 200},
		{method: "GET", path: "/api/v1/connections", token: tk, valid: true, want: 200},
		{method: "GET", path: "/api/v1/integrations/acme/actions", token: tk, valid: true, want: 200},
		{method: "POST", path: "/api/v1/integrations/acme/actions/custom_api_call", token: tk, body: `{"input":{"method":"GET","path":42}}`, valid: true, want: 400},
		{method: "POST", path: "/api/v1/integrations/acme/actions/no_such_action", token: tk, body: `{"input":{}}`, valid: true, want: 404},
		{method: "POST", path: "/api/v1/integrations/acme/actions/custom_api_call?async=true", token: tk, body: `{"input":{"method":"GET","path":"/x"}}`,
			header: map[string]string{"Idempotency-Key": "k1"}, valid: true, want: 202},
		{method: "POST", path: "/api/v1/connections/acme/test", token: tk, valid: true, want: 404},
		{method: "POST", path: "/api/v1/pieces/acme/actions/no_such_action", token: tk, body: `{"input":{}}`, valid: true, want: 404},
		{method: "GET", path: "/api/v1/executions?limit=5", token: tk, valid: true, want: 200},
		{method: "GET", path: "/api/v1/executions?status=bogus", token: tk, want: 400},
		{method: "GET", path: "/api/v1/executions/exe_nope", token: tk, valid: true, want: 404},
		{method: "GET", path: "/api/v1/pieces?limit=3", token: tk, valid: true, want: 200},
		{method: "GET", path: "/api/v1/pieces/search?q=slack&limit=3", token: tk, valid: true, want: 200},
		{method: "GET", path: "/api/v1/pieces/search", token: tk, want: 400},
		{method: "GET", path: "/api/v1/catalog?limit=3&auth=oauth2", token: tk, valid: true, want: 200},
		{method: "GET", path: "/api/v1/catalog?limit=0", token: tk, want: 400},
		{method: "GET", path: "/api/v1/catalog/categories", token: tk, valid: true, want: 200},
		{method: "GET", path: "/api/v1/catalog/schema", token: tk, valid: true, want: 200},
		{method: "GET", path: "/api/v1/catalog/schema", want: 401},
		{method: "GET", path: "/api/v1/catalog/salesforce", token: tk, valid: true, want: 200},
		{method: "GET", path: "/api/v1/catalog/nope", token: tk, valid: true, want: 404},
		{method: "PUT", path: "/api/v1/oauth-apps/acme-oauth", token: tk, body: `{"client_id":"mine","client_secret":"s3cret","scopes":["read"]}`, valid: true, want: 200},
		{method: "GET", path: "/api/v1/oauth-apps/acme-oauth", token: tk, valid: true, want: 200},
		{method: "DELETE", path: "/api/v1/oauth-apps/acme-oauth", token: tk, valid: true, want: 204},
		{method: "DELETE", path: "/api/v1/connections/acme", token: tk, valid: true, want: 200},
		{method: "GET", path: "/api/v1/connections/acme", token: tk, valid: true, want: 404},
		{method: "GET", path: "/api/integrations/acme?action=disconnect", token: tk, valid: true},
	} {
		send(x)
	}
	// The schema served is the one the host validates descriptors with.
	if _, schema := send(exchange{method: "GET", path: "/api/v1/catalog/schema", token: tk, valid: true, want: 200}); !bytes.Equal(schema, catalog.SchemaJSON) {
		t.Errorf("GET /api/v1/catalog/schema is not catalog/schema.json (%d bytes)", len(schema))
	}
	// The queued execution is readable.
	_, body = send(exchange{method: "GET", path: "/api/v1/executions?limit=1", token: tk, valid: true, want: 200})
	var list struct {
		Executions []struct{ ID string } `json:"executions"`
	}
	decode(body, &list)
	if len(list.Executions) == 0 {
		t.Fatal("no execution recorded")
	}
	send(exchange{method: "GET", path: "/api/v1/executions/" + list.Executions[0].ID, token: tk, valid: true, want: 200})
}
