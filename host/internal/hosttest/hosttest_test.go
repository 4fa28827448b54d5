package hosttest_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

func TestMain(m *testing.M) { testbin.Main(m) }

// TestHostOnBothBackends starts a host with a tenant and a native plugin
// on each backend, runs an action through it and reads the tables back:
// the tenant is stored, its API key is not.
func TestHostOnBothBackends(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			h := hosttest.Start(t, hosttest.Options{Backend: backend, Tenant: "acme", Prepare: func(dir string) {
				testbin.Install(t, testbin.Echo(t, "echo", "1.2.3"), dir, "atom-provider-echo", 0o755)
			}})
			if h.Backend != backend || h.Tenant.ID == "" || !strings.HasPrefix(h.URL, "http://127.0.0.1:") {
				t.Fatalf("host %+v", h)
			}
			if backend == "postgres" && h.PG == nil {
				t.Fatal("no database recorded")
			}
			var out struct {
				Output struct{ Version string } `json:"output"`
			}
			hosttest.WaitFor(t, 20*time.Second, "the echo plugin", func() bool {
				return h.Exec(h.Tenant, "echo", "echo", map[string]any{}, nil).Status == 200
			})
			h.Must(h.Exec(h.Tenant, "echo", "echo", map[string]any{}, nil), 200, &out)
			if out.Output.Version != "1.2.3" {
				t.Fatalf("version %q", out.Output.Version)
			}
			if r := h.Call("GET", "/api/v1/connections", "", nil, nil); r.Status != 401 {
				t.Fatalf("no key: %d %s", r.Status, r.Body)
			}
			other := h.NewTenant("other")
			values := hosttest.DumpTables(t, h.App)
			if !slices.Contains(values, h.Tenant.ID) || !slices.Contains(values, other.ID) {
				t.Fatalf("tenants missing from %d values", len(values))
			}
			for _, v := range values {
				if strings.Contains(v, h.Tenant.Key) || strings.Contains(v, other.Key) {
					t.Fatalf("API key stored in plaintext: %.80q", v)
				}
			}
		})
	}
}

// TestBuildCachesPerProcess checks that a second build of the same
// package and flags reuses the binary.
func TestBuildCachesPerProcess(t *testing.T) {
	a, b := testbin.Echo(t, "echo", "9.9.9"), testbin.Echo(t, "echo", "9.9.9")
	if a != b {
		t.Fatalf("built twice: %s %s", a, b)
	}
	if c := testbin.Echo(t, "echo", "9.9.8"); c == a {
		t.Fatal("different flags share a binary")
	}
}
