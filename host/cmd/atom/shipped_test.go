package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/catalog/overlay"
	"github.com/atomhq/atom/host/internal/vault"
)

// TestShippedPluginsLoad starts the host on the plugins `make build` puts
// in bin/plugins: every native provider and piece that ships is listed by
// the admin API, and the dashboard counts the natives from what loaded.
func TestShippedPluginsLoad(t *testing.T) {
	root, _ := filepath.Abs("../../..")
	dir := filepath.Join(root, "bin", "plugins")
	shipped, err := overlay.Shipped(root)
	if err != nil {
		t.Fatal(err)
	}
	natives, pieces := 0, 0
	for id, kinds := range shipped {
		for _, k := range kinds {
			bin := filepath.Join(dir, "atom-provider-"+id)
			if k == catalog.ImplPiece {
				pieces++
				bin = filepath.Join(dir, id+".wasm")
			} else {
				natives++
			}
			if _, err := os.Stat(bin); err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("%s missing: `make test` builds every plugin before testing (%v)", bin, err)
				}
				t.Skipf("%s missing: run `make build` first", bin)
			}
		}
	}
	keys, _ := vault.Generate("k1")
	p := startAtom(t, t.TempDir(), []string{
		"ATOM_PLUGIN_DIR=" + dir, "ATOM_ENCRYPTION_KEYS=" + keys, "ATOM_ADMIN_KEY=" + testAdminKey,
		"ATOM_DEV=false", "ATOM_DATABASE_URL=", "ATOM_LOG_LEVEL=warn",
	})
	// Natives register at start; pieces compile in the background (seconds
	// each without the compile cache) and register when ready.
	count := map[string]int{}
	var bad []string
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st, body := call(t, "GET", p.base+"/api/v1/admin/plugins", testAdminKey, nil)
		if st != 200 {
			t.Fatalf("admin plugins: %d %v", st, body)
		}
		count, bad = map[string]int{}, nil
		loading := 0
		for _, it := range body["plugins"].([]any) {
			pl := it.(map[string]any)
			count[pl["kind"].(string)]++
			switch s := pl["state"].(string); s {
			case "refused", "failed":
				reason, _ := pl["last_error"].(string)
				bad = append(bad, pl["id"].(string)+": "+s+" "+reason)
			case "loading":
				loading++
			}
		}
		if len(bad) > 0 || (count["piece"] >= pieces && loading == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(bad) > 0 {
		t.Fatalf("plugins that did not load: %s", strings.Join(bad, "; "))
	}
	if count["native"] != natives || count["piece"] != pieces || natives != 34 {
		t.Fatalf("admin API lists %v; %d natives and %d pieces ship (34 natives expected)", count, natives, pieces)
	}
	_, tb := call(t, "POST", p.base+"/api/v1/tenants", testAdminKey, map[string]any{"name": "Acme"})
	_, kb := call(t, "POST", p.base+"/api/v1/tenants/"+tb["id"].(string)+"/api-keys", testAdminKey, nil)
	st, body := call(t, "GET", p.base+"/api/integrations/status", kb["key"].(string), nil)
	if st != 200 || body["native_implementations"] != float64(34) {
		t.Fatalf("status: %d native_implementations=%v", st, body["native_implementations"])
	}
	t.Logf("%d native providers and %d pieces loaded; total_integrations=%v", natives, pieces, body["total_integrations"])
	checkShippedActions(t, p.base, kb["key"].(string), body, shipped)
}

// checkShippedActions checks that every shipped provider's actions run
// and are counted by the status dashboard, and logs the counts next to
// those of the former resolution, where an id ran only the actions of its
// first implementation (native, else piece) and custom_api_call only
// without a plugin.
func checkShippedActions(t *testing.T, base, key string, status map[string]any, shipped map[string][]string) {
	t.Helper()
	former, formerTyped, formerProviders := 0, 0, 0
	connectable := map[string]bool{}
	for _, it := range status["providers"].([]any) {
		ps := it.(map[string]any)
		id := ps["id"].(string)
		connectable[id] = ps["status"] != "not_connectable"
		if _, ok := shipped[id]; !ok && ps["runnable_actions"].(float64) > 0 {
			former++ // a connectable entry served by custom_api_call alone
		}
	}
	typed := 0
	for id := range shipped {
		st, list := call(t, "GET", base+"/api/v1/integrations/"+id+"/actions", key, nil)
		if st != 200 {
			t.Fatalf("%s actions: %d %v", id, st, list)
		}
		primary, n, custom := list["implementation"].(string), 0, false
		for _, a := range list["actions"].([]any) {
			act := a.(map[string]any)
			switch kind := act["implementation"].(string); {
			case act["name"] == "custom_api_call":
				custom = true
			case kind == primary:
				n++
				typed++
			default:
				typed++
			}
		}
		if custom != connectable[id] {
			t.Errorf("%s: custom_api_call offered=%v, connectable catalog entry=%v", id, custom, connectable[id])
		}
		if n > 0 {
			former += n
			formerTyped += n
			formerProviders++
		}
	}
	if status["typed_actions"] != float64(typed) || status["providers_with_typed_actions"] != float64(len(shipped)) {
		t.Fatalf("status typed_actions=%v providers_with_typed_actions=%v; the %d shipped providers list %d typed actions",
			status["typed_actions"], status["providers_with_typed_actions"], len(shipped), typed)
	}
	t.Logf("runnable actions: former=%d now=%v; typed actions: former=%d now=%v; providers with typed actions: former=%d now=%v; reference_actions=%v",
		former, status["runnable_actions"], formerTyped, status["typed_actions"], formerProviders, status["providers_with_typed_actions"], status["reference_actions"])
}
