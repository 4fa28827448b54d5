package e2e

import (
	"encoding/json"
	"testing"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// TestCatalogListsRunnableTriggers checks that the catalog API shows the
// triggers the loaded plugins run (kind, implementation, input schema)
// apart from the upstream trigger names kept for reference, and that the
// status dashboard counts them.
func TestCatalogListsRunnableTriggers(t *testing.T) {
	stripeBin := stripeBinary(t)
	githubBin := testbin.Build(t, "plugins/native/github", "")
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			h := startHost(t, hosttest.Options{Backend: backend, Prepare: func(dir string) {
				testbin.Install(t, stripeBin, dir, "atom-provider-stripe", 0o755)
				testbin.Install(t, githubBin, dir, "atom-provider-github", 0o755)
			}})
			type entry struct {
				Triggers []struct {
					Name           string          `json:"name"`
					Kind           string          `json:"kind"`
					Implementation string          `json:"implementation"`
					InputSchema    json.RawMessage `json:"input_schema"`
				} `json:"triggers"`
				ReferenceTriggers []string `json:"reference_triggers"`
			}
			get := func(id string) (entry, map[string]string) {
				var e entry
				h.Must(h.Call("GET", "/api/v1/catalog/"+id, h.Tenant.Key, nil, nil), 200, &e)
				kinds := map[string]string{}
				for _, tr := range e.Triggers {
					if tr.Implementation != "native" || len(tr.InputSchema) == 0 {
						t.Fatalf("%s trigger %s: %+v", id, tr.Name, tr)
					}
					kinds[tr.Name] = tr.Kind
				}
				return e, kinds
			}
			st, kinds := get("stripe")
			if len(kinds) != 1 || kinds["event"] != "webhook" || !contains(st.ReferenceTriggers, "new_payment") || contains(st.ReferenceTriggers, "event") {
				t.Fatalf("catalog stripe triggers: %+v", st)
			}
			gh, kinds := get("github")
			if len(kinds) != 3 || kinds["issues"] != "webhook" || kinds["push"] != "webhook" || !contains(gh.ReferenceTriggers, "trigger_star") {
				t.Fatalf("catalog github triggers: %+v", gh)
			}
			// No plugin serves Shopify here: its upstream names are all
			// for reference.
			sh, kinds := get("shopify")
			if len(kinds) != 0 || !contains(sh.ReferenceTriggers, "new_order") {
				t.Fatalf("catalog shopify triggers: %+v", sh)
			}
			// The pieces route lists them too.
			var pieces struct {
				Pieces []struct {
					ID                string `json:"id"`
					Triggers          []struct{ Name, Kind string }
					ReferenceTriggers []string `json:"reference_triggers"`
				} `json:"pieces"`
			}
			h.Must(h.Call("GET", "/api/v1/pieces/search?q=stripe", h.Tenant.Key, nil, nil), 200, &pieces)
			found := false
			for _, p := range pieces.Pieces {
				if p.ID == "stripe" {
					found = len(p.Triggers) == 1 && p.Triggers[0].Name == "event" && p.Triggers[0].Kind == "webhook" && contains(p.ReferenceTriggers, "new_payment")
				}
			}
			if !found {
				t.Fatalf("pieces search stripe: %+v", pieces.Pieces)
			}
			var status struct {
				Runnable  *int `json:"runnable_triggers"`
				Reference int  `json:"reference_triggers"`
				Providers []struct {
					ID               string `json:"id"`
					RunnableTriggers int    `json:"runnable_triggers"`
				} `json:"providers"`
			}
			h.Must(h.Call("GET", "/api/integrations/status", h.Tenant.Key, nil, nil), 200, &status)
			per := map[string]int{}
			for _, p := range status.Providers {
				per[p.ID] = p.RunnableTriggers
			}
			if status.Runnable == nil || *status.Runnable != 4 || per["stripe"] != 1 || per["github"] != 3 || status.Reference < 1000 {
				t.Fatalf("status triggers: runnable %v, reference %d, per provider stripe %d github %d", status.Runnable, status.Reference, per["stripe"], per["github"])
			}
		})
	}
}
