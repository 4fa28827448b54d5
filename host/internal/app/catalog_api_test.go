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

	"github.com/atomhq/atom/host/internal/apiclient"
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/hosttest"
)

func tenantKey(t *testing.T, h *app.Host) string {
	t.Helper()
	ctx := context.Background()
	admin := apiClient(h, adminKey)
	tn, _, err := admin.CreateTenant(ctx, apiclient.CreateTenantRequest{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	k, _, err := admin.CreateAPIKey(ctx, tn.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k.Key
}

func TestCatalogAPI(t *testing.T) {
	h := newHost(t, backends()[0], newKeys(t, "k1"), nil)
	c := apiClient(h, tenantKey(t, h))
	ctx := context.Background()

	// Every entry, paged through, has an auth kind; connectable oauth2
	// entries have both endpoints.
	total, seen, cursor := 0, 0, ""
	for {
		page, resp, err := c.ListCatalog(ctx, &apiclient.ListCatalogParams{Limit: 500, Cursor: cursor})
		if err != nil || hosttest.StatusOf(resp) != 200 {
			t.Fatalf("catalog: %d %v", hosttest.StatusOf(resp), err)
		}
		total = page.Total
		for _, d := range page.Items {
			if d.Auth.Kind == "" {
				t.Errorf("%v has no auth kind", d.ID)
			}
			if d.Auth.Kind == apiclient.AuthKindOAuth2 && d.Connectable && (d.Auth.AuthorizationURL == "" || d.Auth.TokenURL == "") {
				t.Errorf("connectable oauth2 entry %v lacks endpoints", d.ID)
			}
			seen++
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
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
		page, resp, err := c.ListCatalog(ctx, &apiclient.ListCatalogParams{Limit: 500, Category: cat})
		if err != nil || hosttest.StatusOf(resp) != 200 {
			t.Fatalf("%s: %d %v", cat, hosttest.StatusOf(resp), err)
		}
		have := map[string]bool{}
		for _, d := range page.Items {
			have[d.ID] = true
		}
		for _, id := range ids {
			if !have[id] {
				t.Errorf("category %s misses %s", cat, id)
			}
		}
	}
	first := func(q string) string {
		page, resp, err := c.ListCatalog(ctx, &apiclient.ListCatalogParams{Limit: 5, Q: q})
		if err != nil || hosttest.StatusOf(resp) != 200 || len(page.Items) == 0 {
			t.Fatalf("search %q: %d %v", q, hosttest.StatusOf(resp), err)
		}
		return page.Items[0].ID
	}
	for q, want := range map[string]string{"slack": "slack", "slak": "slack", "salesf": "salesforce", "hubspot": "hubspot"} {
		if got := first(q); got != want {
			t.Errorf("q=%s first %s, want %s", q, got, want)
		}
	}
	_, resp, err := c.ListCatalog(ctx, &apiclient.ListCatalogParams{Category: "nonsense"})
	if hosttest.StatusOf(resp) != 400 || !strings.Contains(hosttest.APIErrorOf(err).Message, "categories") {
		t.Errorf("bad category: %d %v", hosttest.StatusOf(resp), err)
	}
	_, resp, err = c.ListCatalog(ctx, nil, apiclient.WithQuery("limit", "0"))
	if hosttest.StatusOf(resp) != 400 {
		t.Errorf("bad limit: %d %v", hosttest.StatusOf(resp), err)
	}
	cats, resp, err := c.ListCategories(ctx)
	if err != nil || hosttest.StatusOf(resp) != 200 || len(cats.Items) < 9 {
		t.Errorf("categories: %d %v %+v", hosttest.StatusOf(resp), err, cats)
	}
	st, resp, err := c.GetIntegrationsStatus(ctx, nil)
	if err != nil || hosttest.StatusOf(resp) != 200 || st.TotalIntegrations != total || len(st.Providers) != total {
		t.Errorf("status: %d %v total %+v", hosttest.StatusOf(resp), err, st)
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
