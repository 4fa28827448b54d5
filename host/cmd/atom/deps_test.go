package main

import (
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/atomhq/atom/host/internal/vault"
)

// firstParty are the module paths whose packages the atom binary is
// built from.
var firstParty = []string{"github.com/atomhq/atom", "github.com/atomhq/atom/sdk"}

// forbiddenInBinary says why a first-party package must not be linked
// into the atom binary, or "" when it may: test fakes and helpers
// (fakeprovider, hosttest, storetest, providertest, …), the benchmark
// harness and repository tooling (the catalog importer) are for tests
// and the repository, not for production.
func forbiddenInBinary(path string) string {
	for _, seg := range strings.Split(path, "/") {
		switch {
		case strings.HasSuffix(seg, "test") || strings.HasPrefix(seg, "test"):
			return "test helper"
		case strings.HasPrefix(seg, "fake"):
			return "test fake"
		case seg == "bench" || seg == "benchreport":
			return "benchmark harness"
		case seg == "importer":
			return "repository tooling"
		}
	}
	return ""
}

// TestBinaryLinksNoTestOrTooling: `go list -deps` of the atom command
// holds no first-party test fake, test helper, benchmark harness or
// repository tool, and no first-party package in it imports the testing
// packages. The demo provider (host/internal/demo) is linked and runs
// only in the development setup (TestDemoOnlyInDevSetup).
func TestBinaryLinksNoTestOrTooling(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f",
		`{{.ImportPath}}|{{with .Module}}{{.Path}}{{end}}|{{join .Imports " "}}`, ".")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	var own []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "|", 3)
		if len(f) != 3 || !slices.Contains(firstParty, f[1]) {
			continue
		}
		own = append(own, f[0])
		if why := forbiddenInBinary(f[0]); why != "" {
			t.Errorf("the atom binary links %s (%s)", f[0], why)
		}
		for _, imp := range strings.Fields(f[2]) {
			if imp == "testing" || strings.HasPrefix(imp, "testing/") || imp == "net/http/httptest" {
				t.Errorf("%s, linked into the atom binary, imports %s", f[0], imp)
			}
		}
	}
	// The listing is the real graph: the packages the binary is made of
	// are in it.
	for _, want := range []string{"github.com/atomhq/atom/host/cmd/atom", "github.com/atomhq/atom/host/internal/engine",
		"github.com/atomhq/atom/catalog", "github.com/atomhq/atom/sdk/provider", "github.com/atomhq/atom/host/internal/demo"} {
		if !slices.Contains(own, want) {
			t.Errorf("go list -deps does not list %s; first-party packages: %v", want, own)
		}
	}
}

func TestForbiddenInBinary(t *testing.T) {
	for path, forbidden := range map[string]bool{
		"github.com/atomhq/atom/host/internal/fakeprovider":          true,
		"github.com/atomhq/atom/host/internal/hosttest":              true,
		"github.com/atomhq/atom/host/internal/hosttest/testbin":      true,
		"github.com/atomhq/atom/host/internal/store/storetest":       true,
		"github.com/atomhq/atom/sdk/providertest":                    true,
		"github.com/atomhq/atom/host/internal/bench":                 true,
		"github.com/atomhq/atom/host/internal/bench/cmd/benchreport": true,
		"github.com/atomhq/atom/catalog/internal/importer":           true,
		"github.com/atomhq/atom/catalog":                             false,
		"github.com/atomhq/atom/catalog/overlay":                     false,
		"github.com/atomhq/atom/host/internal/demo":                  false,
		"github.com/atomhq/atom/host/internal/generate":              false,
		"github.com/atomhq/atom/host/internal/runtimes/native":       false,
	} {
		if got := forbiddenInBinary(path) != ""; got != forbidden {
			t.Errorf("forbiddenInBinary(%s) = %v, want %v", path, got, forbidden)
		}
	}
}

// TestDemoOnlyInDevSetup: the demo provider is linked into the binary but
// serves nothing, and is no catalog entry, outside ATOM_DEV=true.
func TestDemoOnlyInDevSetup(t *testing.T) {
	keys, _ := vault.Generate("k1")
	check := func(dev bool, tokenStatus func(int) bool, entryStatus int) {
		t.Helper()
		env := []string{"ATOM_ENCRYPTION_KEYS=" + keys, "ATOM_ADMIN_KEY=" + testAdminKey,
			"ATOM_DATABASE_URL=", "ATOM_LOG_LEVEL=warn", "ATOM_DEV=false"}
		if dev {
			env[len(env)-1] = "ATOM_DEV=true"
		}
		p := startAtom(t, t.TempDir(), env)
		resp, err := http.PostForm(p.base+"/demo/oauth/token", url.Values{"grant_type": {"client_credentials"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if !tokenStatus(resp.StatusCode) {
			t.Errorf("ATOM_DEV=%v: POST /demo/oauth/token answered %d", dev, resp.StatusCode)
		}
		st, tb := call(t, "POST", p.base+"/api/v1/tenants", testAdminKey, map[string]any{"name": "Acme"})
		if st != 201 && st != 200 {
			t.Fatalf("create tenant: %d %v", st, tb)
		}
		st, kb := call(t, "POST", p.base+"/api/v1/tenants/"+tb["id"].(string)+"/api-keys", testAdminKey, nil)
		if st != 201 && st != 200 {
			t.Fatalf("create key: %d %v", st, kb)
		}
		if st, body := call(t, "GET", p.base+"/api/v1/catalog/stripe", kb["key"].(string), nil); st != 200 {
			t.Fatalf("ATOM_DEV=%v: GET /api/v1/catalog/stripe answered %d %v", dev, st, body)
		}
		if st, body := call(t, "GET", p.base+"/api/v1/catalog/demo", kb["key"].(string), nil); st != entryStatus {
			t.Errorf("ATOM_DEV=%v: GET /api/v1/catalog/demo answered %d %v, want %d", dev, st, body, entryStatus)
		}
	}
	// Outside the development setup no /demo/ route exists.
	check(false, func(st int) bool { return st == 404 }, 404)
	// In it, the demo's token endpoint answers for itself (it refuses a
	// request without its client), and the catalog lists the entry.
	check(true, func(st int) bool { return st != 404 && st >= 400 && st < 500 }, 200)
}
