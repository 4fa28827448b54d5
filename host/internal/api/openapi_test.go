package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/exec"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/host/internal/web"
)

// excluded are route prefixes the host serves that are not part of the
// REST API, with the reason.
var excluded = []struct{ prefix, reason string }{
	{"/integrations", "the integrations page (HTML, its assets and its browser session), served by host/internal/web for people, not programs"},
	{"/demo/", "the development demo provider (ATOM_DEV): a stand-in third-party OAuth server and API, not Atom's API"},
}

// fullHost starts a host with every route registered: the execution
// engine, the admin plugin API, the web page and the demo provider.
func fullHost(t *testing.T) *app.Host {
	t.Helper()
	dir := t.TempDir()
	keys, err := vault.Generate("k1")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"ATOM_DATA_DIR":        dir,
		"ATOM_ENCRYPTION_KEYS": keys,
		"ATOM_ADMIN_KEY":       "adm_openapi_test",
		"ATOM_PLUGIN_DIR":      filepath.Join(dir, "plugins"),
		"ATOM_BASE_URL":        "http://atom.test",
		"ATOM_LOG_LEVEL":       "error",
		"ATOM_DEV":             "true",
	}
	getenv := func(k string) string { return env[k] }
	cfg, _, err := config.Load("test", nil, getenv)
	if err != nil {
		t.Fatal(err)
	}
	h, err := app.New(context.Background(), cfg, app.Options{
		Env:    getenv,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Hooks:  []func(context.Context, *app.Host, *api.Deps) error{exec.Hook(exec.Options{Env: getenv}), web.Hook()},
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
