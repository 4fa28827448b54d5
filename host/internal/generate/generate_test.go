package generate_test

import (
	"bytes"
	"errors"
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atomhq/atom/host/internal/generate"
)

// repoRoot is the checkout these tests run in.
var repoRoot = filepath.Join("..", "..", "..")

// miniRepo returns a repository root with what the generator reads: a
// go.mod naming the module, the committed catalog overlays, Airtable's
// descriptor, the spec's .env.example and an empty pieces directory.
func miniRepo(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	write(t, filepath.Join(root, "go.mod"), "module github.com/atomhq/atom\n\ngo 1.26\n")
	for _, f := range []string{"catalog/overrides.json", "catalog/implementations.json", "catalog/data/airtable.json", ".env.example"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(root, f), string(b))
	}
	if err := os.MkdirAll(filepath.Join(root, "plugins", "pieces"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func write(t testing.TB, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// snapshot reads every file under root, keyed by relative path.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = read(t, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestValidateID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"acme", true}, {"acme-widgets", true}, {"8x8", true}, {"a1-b2-c3", true},
		{"", false}, {"Acme", false}, {"acme_widgets", false}, {"-acme", false}, {"acme-", false},
		{"acme--widgets", false}, {"acme.widgets", false}, {"../etc", false}, {"a/b", false},
		{"acme widgets", false}, {strings.Repeat("a", 65), false}, {strings.Repeat("a", 64), true},
	} {
		t.Run(tc.id, func(t *testing.T) {
			err := generate.ValidateID(tc.id)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateID(%q) = %v, want ok %v", tc.id, err, tc.ok)
			}
			if err != nil && !errors.Is(err, generate.ErrInvalidOptions) {
				t.Fatalf("error %v does not wrap ErrInvalidOptions", err)
			}
		})
	}
}

func TestValidateAuth(t *testing.T) {
	for _, tc := range []struct {
		kind, want string
	}{
		{"oauth2", ""}, {"api_key", ""}, {"basic", ""},
		{"", "--auth is required"}, {"apikey", "did you mean api_key"}, {"oauth1", "not one of oauth2, api_key, basic"},
		{"OAUTH2", "not one of"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			err := generate.ValidateAuth(tc.kind)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("ValidateAuth(%q) = %v, want %q", tc.kind, err, tc.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ id, pkg, name string }{
		{"acme-widgets", "acmewidgets", "Acme Widgets"},
		{"stripe", "stripe", "Stripe"},
		{"8x8", "p8x8", "8x8"},
		{"go", "goapi", "Go"},
		{"provider", "providerapi", "Provider"},
		{"http", "httpapi", "Http"},
	} {
		if got := generate.PackageName(tc.id); got != tc.pkg {
			t.Errorf("PackageName(%q) = %q, want %q", tc.id, got, tc.pkg)
		}
		if got := generate.DisplayName(tc.id); got != tc.name {
			t.Errorf("DisplayName(%q) = %q, want %q", tc.id, got, tc.name)
		}
	}
}

func TestEnvLines(t *testing.T) {
	for _, tc := range []struct {
		auth string
		want []string
	}{
		{"oauth2", []string{`ACME_WIDGETS_CLIENT_ID=""`, `ACME_WIDGETS_CLIENT_SECRET=""`,
			`ACME_WIDGETS_REDIRECT_URI="https://your-domain.com/api/integrations/acme-widgets/callback"`}},
		{"api_key", []string{`ACME_WIDGETS_API_KEY=""`}},
		{"basic", []string{`ACME_WIDGETS_API_BASE_URL=""`}},
	} {
		if got := generate.EnvLines("acme-widgets", tc.auth); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("EnvLines(%s) = %q, want %q", tc.auth, got, tc.want)
		}
	}
}

func TestAppendEnvIdempotent(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".env.example")
	write(t, p, "ATOM_ADDR=\":8080\"\n# ACME_CLIENT_ID=\"\"\nexport ACME_CLIENT_SECRET=\"x\"") // no final newline
	lines := generate.EnvLines("acme", "oauth2")
	added, err := generate.AppendEnv(p, "Acme", "oauth2", lines)
	if err != nil {
		t.Fatal(err)
	}
	// A commented-out mention is not a setting; an exported one is.
	if strings.Join(added, ",") != "ACME_CLIENT_ID,ACME_REDIRECT_URI" {
		t.Fatalf("added %v", added)
	}
	first := read(t, p)
	want := "ATOM_ADDR=\":8080\"\n# ACME_CLIENT_ID=\"\"\nexport ACME_CLIENT_SECRET=\"x\"\n\n# Acme (oauth2)\n" +
		"ACME_CLIENT_ID=\"\"\nACME_REDIRECT_URI=\"https://your-domain.com/api/integrations/acme/callback\"\n"
	if first != want {
		t.Fatalf("env file:\n%s\nwant:\n%s", first, want)
	}
	added, err = generate.AppendEnv(p, "Acme", "oauth2", lines)
	if err != nil || added != nil {
		t.Fatalf("second append added %v (%v)", added, err)
	}
	if read(t, p) != first {
		t.Fatal("second append changed the file")
	}

	missing := filepath.Join(t.TempDir(), ".env.example")
	if _, err := generate.AppendEnv(missing, "Acme", "api_key", generate.EnvLines("acme", "api_key")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, missing); got != "# Acme (api_key)\nACME_API_KEY=\"\"\n" {
		t.Fatalf("new env file %q", got)
	}
}

func TestIntegrationNewEntry(t *testing.T) {
	root := miniRepo(t)
	envBefore := read(t, filepath.Join(root, ".env.example"))
	res, err := generate.Integration(generate.Options{Provider: "acme-widgets", Auth: "api_key", Category: "CRM",
		BaseURL: "https://api.acme-widgets.test/v1/", Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{
		"plugins/native/acme-widgets/main.go",
		"plugins/native/acme-widgets/acmewidgets/acmewidgets.go",
		"plugins/native/acme-widgets/acmewidgets/acmewidgets_test.go",
		"plugins/native/acme-widgets/README.md",
	}
	if strings.Join(res.Created, ",") != strings.Join(wantFiles, ",") || len(res.Overwritten) != 0 || !res.CatalogAdded {
		t.Fatalf("result %+v", res)
	}
	for _, f := range wantFiles {
		body := read(t, filepath.Join(root, f))
		if strings.HasSuffix(f, ".go") {
			if formatted, err := format.Source([]byte(body)); err != nil || !bytes.Equal(formatted, []byte(body)) {
				t.Errorf("%s is not gofmt-clean (%v)", f, err)
			}
		}
	}
	main := read(t, filepath.Join(root, wantFiles[0]))
	if !strings.Contains(main, "func main() { provider.Serve(acmewidgets.New()) }") {
		t.Errorf("main.go:\n%s", main)
	}
	code := read(t, filepath.Join(root, wantFiles[1]))
	for _, s := range []string{`provider.APIKeyHeader("X-Api-Key", "")`, `const BaseURL = "https://api.acme-widgets.test/v1"`,
		`Categories:  []string{"crm"}`, `GetJSON(ctx, "/me", nil, &account)`} {
		if !strings.Contains(code, s) {
			t.Errorf("provider code lacks %s:\n%s", s, code)
		}
	}
	data := read(t, filepath.Join(root, "catalog/data/acme-widgets.json"))
	for _, s := range []string{`"api_key_name": "X-Api-Key"`, `"base_url": "https://api.acme-widgets.test/v1"`, `"connectable": true`, `"source": "atom"`} {
		if !strings.Contains(data, s) {
			t.Errorf("descriptor lacks %s:\n%s", s, data)
		}
	}
	if !strings.Contains(read(t, filepath.Join(root, "catalog/overrides.json")), `"id": "acme-widgets"`) {
		t.Error("overrides.json has no add entry")
	}
	if impl := read(t, filepath.Join(root, "catalog/implementations.json")); !strings.Contains(impl, "\"acme-widgets\": [\n    \"native\"\n  ]") {
		t.Errorf("implementations.json:\n%s", impl)
	}
	if env := read(t, filepath.Join(root, ".env.example")); env != envBefore+"\n# Acme Widgets (api_key)\nACME_WIDGETS_API_KEY=\"\"\n" {
		t.Errorf(".env.example:\n%s", env)
	}
}

func TestIntegrationRefusesWithoutForce(t *testing.T) {
	root := miniRepo(t)
	opts := generate.Options{Provider: "gizmo", Auth: "oauth2", Dir: root}
	if _, err := generate.Integration(opts); err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(root, "plugins/native/gizmo/gizmo/gizmo.go")
	write(t, edited, "package gizmo // edited by hand\n")
	before := snapshot(t, root)

	_, err := generate.Integration(opts)
	var exists *generate.ExistsError
	if !errors.As(err, &exists) || len(exists.Files) != 4 || exists.Files[1] != "plugins/native/gizmo/gizmo/gizmo.go" {
		t.Fatalf("second run: %v", err)
	}
	if !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "plugins/native/gizmo/README.md") {
		t.Fatalf("error %q names neither --force nor the files", err)
	}
	after := snapshot(t, root)
	if len(after) != len(before) {
		t.Fatalf("a refused run wrote files: %d → %d", len(before), len(after))
	}
	for p, b := range before {
		if after[p] != b {
			t.Errorf("a refused run changed %s", p)
		}
	}

	opts.Force = true
	res, err := generate.Integration(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Overwritten) != 4 || len(res.Created) != 0 || len(res.EnvAdded) != 0 {
		t.Fatalf("forced run %+v", res)
	}
	if strings.Contains(read(t, edited), "edited by hand") {
		t.Fatal("--force kept the edited file")
	}
	if n := strings.Count(read(t, filepath.Join(root, "catalog/overrides.json")), `"id": "gizmo"`); n != 1 {
		t.Fatalf("overrides.json lists gizmo %d times", n)
	}
	if n := strings.Count(read(t, filepath.Join(root, ".env.example")), "GIZMO_CLIENT_ID="); n != 1 {
		t.Fatalf(".env.example sets GIZMO_CLIENT_ID %d times", n)
	}
}

func TestIntegrationExistingEntry(t *testing.T) {
	root := miniRepo(t)
	overrides := read(t, filepath.Join(root, "catalog/overrides.json"))
	res, err := generate.Integration(generate.Options{Provider: "airtable", Auth: "api_key", Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	if res.CatalogAdded || read(t, filepath.Join(root, "catalog/overrides.json")) != overrides {
		t.Fatal("an existing entry was added to overrides.json")
	}
	code := read(t, filepath.Join(root, "plugins/native/airtable/airtable/airtable.go"))
	// Airtable's API key has no placement in its descriptor: the host
	// sends it as a bearer token, and so does the generated provider.
	for _, s := range []string{`provider.APIKeyHeader("Authorization", "Bearer ")`, `const BaseURL = "https://api.airtable.com"`, `Name:        "Airtable"`} {
		if !strings.Contains(code, s) {
			t.Errorf("provider code lacks %s", s)
		}
	}
	if impl := read(t, filepath.Join(root, "catalog/implementations.json")); !strings.Contains(impl, "\"airtable\": [\n    \"native\"\n  ]") {
		t.Errorf("implementations.json:\n%s", impl)
	}
	if len(res.Notes) != 0 {
		t.Errorf("notes %q", res.Notes)
	}
	// Asking for an auth kind the entry does not offer is allowed, with a note.
	res, err = generate.Integration(generate.Options{Provider: "airtable", Auth: "basic", Dir: root, Force: true})
	if err != nil || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "connects with oauth2 or api_key, not basic") {
		t.Fatalf("notes %q (%v)", res.Notes, err)
	}
}

func TestIntegrationInvalid(t *testing.T) {
	root := miniRepo(t)
	before := snapshot(t, root)
	for _, tc := range []struct {
		name string
		opts generate.Options
		want error
		text string
	}{
		{"no provider", generate.Options{Auth: "api_key"}, generate.ErrInvalidOptions, "--provider is required"},
		{"bad id", generate.Options{Provider: "Acme_Widgets", Auth: "api_key"}, generate.ErrInvalidOptions, "lowercase letters"},
		{"bad auth", generate.Options{Provider: "acme", Auth: "token"}, generate.ErrInvalidOptions, "oauth2, api_key, basic"},
		{"bad category", generate.Options{Provider: "acme", Auth: "api_key", Category: "widgets"}, generate.ErrInvalidOptions, "unknown category"},
		{"relative base URL", generate.Options{Provider: "acme", Auth: "api_key", BaseURL: "api.acme.com"}, generate.ErrInvalidOptions, "absolute http(s) URL"},
		{"base URL with query", generate.Options{Provider: "acme", Auth: "api_key", BaseURL: "https://api.acme.com?key=x"}, generate.ErrInvalidOptions, "no user info, query"},
		{"two-line name", generate.Options{Provider: "acme", Auth: "api_key", Name: "Acme\nWidgets"}, generate.ErrInvalidOptions, "one line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Dir = root
			_, err := generate.Integration(tc.opts)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error %v, want %v containing %q", err, tc.want, tc.text)
			}
		})
	}
	if after := snapshot(t, root); len(after) != len(before) {
		t.Fatal("a refused run wrote files")
	}

	other := t.TempDir()
	if _, err := generate.Integration(generate.Options{Provider: "acme", Auth: "api_key", Dir: other}); !errors.Is(err, generate.ErrNotRepo) {
		t.Fatalf("no go.mod: %v", err)
	}
	write(t, filepath.Join(other, "go.mod"), "module example.com/other\n")
	if _, err := generate.Integration(generate.Options{Provider: "acme", Auth: "api_key", Dir: other}); !errors.Is(err, generate.ErrNotRepo) {
		t.Fatalf("foreign go.mod: %v", err)
	}
}

func TestMainCommand(t *testing.T) {
	root := miniRepo(t)
	var out bytes.Buffer
	if err := generate.Main(nil, &out); err == nil || !strings.Contains(out.String(), "atom generate integration") {
		t.Fatalf("no target: %v\n%s", err, out.String())
	}
	if err := generate.Main([]string{"plugin"}, &out); err == nil || !strings.Contains(err.Error(), `unknown target "plugin"`) {
		t.Fatalf("unknown target: %v", err)
	}
	if err := generate.Main([]string{"integration", "--provider", "acme", "--auth", "basic", "--dir", root, "extra"}, &out); err == nil {
		t.Fatal("an extra argument was accepted")
	}
	out.Reset()
	err := generate.Main([]string{"integration", "--provider", "bolt-api", "--auth", "basic", "--name", "Bolt", "--dir", root}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"created      plugins/native/bolt-api/boltapi/boltapi.go",
		"wrote        catalog/data/bolt-api.json",
		"updated      .env.example (BOLT_API_API_BASE_URL)",
		"go test ./plugins/native/bolt-api/...",
		"go build -o bin/plugins/atom-provider-bolt-api ./plugins/native/bolt-api",
		"ATOM_PLUGIN_DIR",
		`POST /api/v1/connections/bolt-api {"username":"...","password":"..."}`,
		"the base URL is a placeholder",
	} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
	err = generate.Main([]string{"integration", "--provider", "bolt-api", "--auth", "basic", "--dir", root}, &out)
	if err == nil || !strings.Contains(err.Error(), "refusing to overwrite existing files (use --force): plugins/native/bolt-api/main.go") {
		t.Fatalf("second run: %v", err)
	}
}
