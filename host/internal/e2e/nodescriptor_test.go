package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// syncBuffer is a log sink the host writes from its goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNativeWithoutDescriptor: a real plugin process serving an id the
// catalog does not describe loads with a warning naming the id, and its
// actions answer 503 descriptor_missing naming the descriptor to add,
// without the plugin being called with empty credentials; once the
// descriptor is dropped into the catalog directory the same action runs.
func TestNativeWithoutDescriptor(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			var logs syncBuffer
			h := startHost(t, hosttest.Options{Backend: backend, Log: &logs, NoFixtureDescriptors: true,
				Prepare: func(dir string) {
					testbin.Install(t, testbin.Echo(t, "nodesc", "1.0.0"), dir, "atom-provider-nodesc", 0o755)
				}})
			if !strings.Contains(logs.String(), "native plugin has no catalog descriptor") || !strings.Contains(logs.String(), `"id":"nodesc"`) {
				t.Fatalf("no load warning naming the plugin; log:\n%s", logs.String())
			}
			r := h.Exec(h.Tenant, "nodesc", "echo", map[string]any{"x": 1}, nil)
			code, msg := r.ErrorCode()
			if r.Status != 503 || code != "descriptor_missing" || !strings.Contains(msg, "nodesc.json") {
				t.Fatalf("action of a plugin without descriptor: %d %s", r.Status, r.Body)
			}
			// The refusal is recorded: the execution list says why.
			var list struct {
				Executions []struct {
					Error struct {
						Code string `json:"code"`
					} `json:"error"`
				} `json:"executions"`
			}
			h.Must(h.Call("GET", "/api/v1/executions?provider=nodesc", h.Tenant.Key, nil, nil), 200, &list)
			if len(list.Executions) != 1 || list.Executions[0].Error.Code != "descriptor_missing" {
				t.Fatalf("recorded executions: %+v", list.Executions)
			}
			desc := `{"id":"nodesc","name":"No descriptor","categories":["development"],"auth":{"kind":"none"},"api":{"base_url":"https://fixture.invalid"},"implementations":["native"],"connectable":true}`
			if err := os.WriteFile(filepath.Join(h.Catalog, "nodesc.json"), []byte(desc), 0o644); err != nil {
				t.Fatal(err)
			}
			var last hosttest.Response
			hosttest.WaitFor(t, 10*time.Second, "the action to run once the descriptor is added", func() bool {
				last = h.Exec(h.Tenant, "nodesc", "echo", map[string]any{"x": 1}, nil)
				if last.Status != 200 {
					t.Logf("%d %s", last.Status, last.Body)
				}
				return last.Status == 200
			})
			if t.Failed() {
				t.Log(logs.String())
			}
		})
	}
}
