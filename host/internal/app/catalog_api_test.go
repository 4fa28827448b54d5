package app_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/app"
)

func tenantKey(t *testing.T, h *app.Host) string {
	t.Helper()
	_, body := do(t, h, "POST", "/api/v1/tenants", adminKey, map[string]any{"name": "Acme"})
	_, body = do(t, h, "POST", "/api/v1/tenants/"+body["id"].(string)+"/api-keys", adminKey, nil)
	return body["key"].(string)
}

func TestCatalogAPI(t *testing.T) {
	h := newHost(t, backends()[0], newKeys(t, "k1"), nil)
	key := tenantKey(t, h)

	// Every entry, paged through, has an auth kind; connectable oauth2
	// entries have both endpoints.
	total, seen, cursor := 0, 0, ""
	for {
		st, body := do(t, h, "GET", "/api/v1/catalog?limit=500&cursor="+cursor, key, nil)
		if st != 200 {
			t.Fatalf("catalog: %d %v", st, body)
		}
		total = int(body["total"].(float64))
		for _, it := range body["items"].([]any) {
			d := it.(map[string]any)
			auth := d["auth"].(map[string]any)
			if auth["kind"] == "" || auth["kind"] == nil {
				t.Errorf("%v has no auth kind", d["id"])
			}
			if auth["kind"] == "oauth2" && d["connectable"] == true && (auth["authorization_url"] == nil || auth["token_url"] == nil) {
				t.Errorf("connectable oauth2 entry %v lacks endpoints", d["id"])
			}
			seen++
		}
		next, _ := body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if total < 1400 || seen != total {
		t.Fatalf("catalog total %d, paged %d", total, seen)
	}

	// The spec's nine categories with its examples.
	spec := map[string][]string{
		"Communication": {"slack", "discord", "telegram", "twilio", "sendgrid"},
		"Productivity":  {"notion", "trello", "asana", "monday", "clickup"},
		"CRM":           {"salesforce", "hubspot", "pipedrive", "zoho-crm"},
		"E-commerce":    {"shopify", "stripe", "woocommerce", "square"},
		"Storage":       {"google-drive", "dropbox", "one-drive", "box"},
		"Development":   {"github", "gitlab", "linear", "jira"},
		"Marketing":     {"mailchimp", "convertkit"},
		"Accounting":    {"quickbooks", "xero", "freshbooks"},
		"AI/ML":         {"openai", "anthropic", "hugging-face"},
	}
	for cat, ids := range spec {
		st, body := do(t, h, "GET", "/api/v1/catalog?limit=500&category="+urlEscape(cat), key, nil)
		if st != 200 {
			t.Fatalf("%s: %d %v", cat, st, body)
		}
		have := map[string]bool{}
		for _, it := range body["items"].([]any) {
			have[it.(map[string]any)["id"].(string)] = true
		}
		for _, id := range ids {
			if !have[id] {
				t.Errorf("category %s misses %s", cat, id)
			}
		}
	}
	first := func(q string) string {
		st, body := do(t, h, "GET", "/api/v1/catalog?limit=5&q="+urlEscape(q), key, nil)
		items, _ := body["items"].([]any)
		if st != 200 || len(items) == 0 {
			t.Fatalf("search %q: %d %v", q, st, body)
		}
		return items[0].(map[string]any)["id"].(string)
	}
	for q, want := range map[string]string{"slack": "slack", "slak": "slack", "salesf": "salesforce", "hubspot": "hubspot"} {
		if got := first(q); got != want {
			t.Errorf("q=%s first %s, want %s", q, got, want)
		}
	}
	st, body := do(t, h, "GET", "/api/v1/catalog?category=nonsense", key, nil)
	if st != 400 || !strings.Contains(errMsg(body), "categories") {
		t.Errorf("bad category: %d %v", st, body)
	}
	st, body = do(t, h, "GET", "/api/v1/catalog?limit=0", key, nil)
	if st != 400 {
		t.Errorf("bad limit: %d %v", st, body)
	}
	st, body = do(t, h, "GET", "/api/v1/catalog/categories", key, nil)
	if st != 200 || len(body["items"].([]any)) < 9 {
		t.Errorf("categories: %d %v", st, body)
	}
	st, body = do(t, h, "GET", "/api/integrations/status", key, nil)
	if st != 200 || int(body["total_integrations"].(float64)) != total || len(body["providers"].([]any)) != total {
		t.Errorf("status: %d total %v", st, body["total_integrations"])
	}
}

// TestCustomCatalogDir drops a descriptor into ATOM_CATALOG_DIR while the
// host runs and sees it through the API; a broken file is refused and
// leaves the catalog as it was; a broken file at start stops start-up.
func TestCustomCatalogDir(t *testing.T) {
	h := newHost(t, backends()[0], newKeys(t, "k1"), nil)
	key := tenantKey(t, h)
	dir := h.Config.CatalogDir
	write := func(name, content string) {
		tmp := filepath.Join(dir, "."+name+".tmp")
		os.WriteFile(tmp, []byte(content), 0o600)
		os.Rename(tmp, filepath.Join(dir, name))
	}
	write("internal-crm.yaml", "id: internal-crm\nname: Internal CRM\ncategories: [crm]\nauth:\n  kind: oauth2\n  authorization_url: https://sso.corp.test/authorize\n  token_url: https://sso.corp.test/token\napi:\n  base_url: https://crm.corp.test/api\nimplementations: [generic]\nconnectable: true\n")
	landed := time.Now()
	var waited time.Duration
	for {
		if st, _ := do(t, h, "GET", "/api/v1/catalog/internal-crm", key, nil); st == 200 {
			waited = time.Since(landed)
			break
		}
		if time.Since(landed) > 10*time.Second {
			t.Fatal("custom descriptor never appeared")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("custom descriptor visible %v after landing", waited)

	write("broken.json", `{"id":"broken","name":"Broken","categories":["crm"],"auth":{"kind":"oauth2","scopez":["x"]},"api":{},"implementations":["generic"],"connectable":true}`)
	time.Sleep(600 * time.Millisecond)
	if st, _ := do(t, h, "GET", "/api/v1/catalog/broken", key, nil); st != 404 {
		t.Fatal("broken descriptor was loaded")
	}
	if st, _ := do(t, h, "GET", "/api/v1/catalog/internal-crm", key, nil); st != 200 {
		t.Fatal("a broken file changed the catalog")
	}

	// At start, the same broken file stops the host with file and field.
	cfg := h.Config
	cfg.DatabaseURL = "sqlite://" + filepath.Join(t.TempDir(), "atom.db")
	cfg.MigrateDatabaseURL = cfg.DatabaseURL
	_, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "broken.json") || !strings.Contains(err.Error(), "scopez") {
		t.Fatalf("start with a broken descriptor: %v", err)
	}
}

func urlEscape(s string) string {
	return strings.NewReplacer(" ", "%20", "/", "%2F", "&", "%26").Replace(s)
}
