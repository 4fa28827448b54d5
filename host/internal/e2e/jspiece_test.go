package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/runtimes/jspiece"
)

// TestJSPieceOverREST runs a JS piece artifact (as `atom pieces add`
// writes one) through the REST API with the tenant's connection: the
// host loads it from the plugin directory, lists its actions, passes the
// connection as context.auth, keeps context.store per tenant and sends its
// fetches through the outbound client to the declared host.
func TestJSPieceOverREST(t *testing.T) {
	src, err := os.ReadFile("../runtimes/jspiece/testdata/hostile.js")
	if err != nil {
		t.Fatal(err)
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	defer upstream.Close()
	h := startHost(t, hosttest.Options{
		Catalog: map[string]string{"jsecho.json": `{"id":"jsecho","name":"JS echo","categories":["development"],
			"auth":{"kind":"api_key","credential_fields":["apiKey"]},"api":{"base_url":"https://api.jsecho.test"},
			"implementations":["piece"],"connectable":true}`},
		Rewrite: map[string]string{"api.jsecho.test": upstream.URL},
		Prepare: func(dir string) {
			if _, err := jspiece.Write(dir, jspiece.Artifact{ID: "jsecho", Package: "@activepieces/piece-jsecho", Version: "0.0.1",
				Hosts: []string{"api.jsecho.test"}, Source: src}, nil); err != nil {
				t.Fatal(err)
			}
		},
	})
	hosttest.WaitFor(t, 60*time.Second, "the JS piece to load", func() bool {
		_, ok := h.Parts.Registry.Get("jsecho", "piece")
		return ok
	})
	var acts struct {
		Actions []struct{ Name string }
	}
	h.Must(h.Call("GET", "/api/v1/integrations/jsecho/actions", h.Tenant.Key, nil, nil), 200, &acts)
	names := map[string]bool{}
	for _, a := range acts.Actions {
		names[a.Name] = true
	}
	if !names["healthy"] || !names["store"] {
		t.Fatalf("actions listed: %+v", acts.Actions)
	}
	h.Must(h.Call("POST", "/api/v1/connections/jsecho", h.Tenant.Key, map[string]any{"api_key": "k-tenant-1"}, nil), 201, nil)

	for want := 1; want <= 2; want++ {
		var res struct {
			Output struct {
				Count int
				Auth  map[string]string
			}
		}
		h.Must(h.Exec(h.Tenant, "jsecho", "store", map[string]any{}, nil), 200, &res)
		if res.Output.Count != want || res.Output.Auth["secret_text"] != "k-tenant-1" || res.Output.Auth["type"] != "SECRET_TEXT" {
			t.Fatalf("store call %d: %+v", want, res.Output)
		}
	}
	var res struct{ Output json.RawMessage }
	h.Must(h.Exec(h.Tenant, "jsecho", "healthy", map[string]any{"url": "https://api.jsecho.test/echo", "n": 7}, nil), 200, &res)
	if string(res.Output) != `{"status":200,"body":{"n":7}}` {
		t.Fatalf("healthy: %s", res.Output)
	}
	// An undeclared host is refused: the action fails with the reason.
	r := h.Exec(h.Tenant, "jsecho", "fetch", map[string]any{"url": "https://elsewhere.example.com/"}, nil)
	if r.Status == 200 {
		t.Fatalf("fetch to an undeclared host: %d %s", r.Status, r.Body)
	}
}
