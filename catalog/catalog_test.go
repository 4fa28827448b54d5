package catalog_test

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/catalog/internal/importer"
	"github.com/atomhq/atom/catalog/overlay"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// providersFile is the merged provider data, relative to this package.
const providersFile = "../../shared/data/providers.json"

func load(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Load(catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSchemaValidatesEveryEmbeddedDescriptor(t *testing.T) {
	files, err := filepath.Glob("data/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 1400 {
		t.Fatalf("only %d descriptor files", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := catalog.ValidateSchema(f, b); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func TestSchemaRefusesBadDescriptor(t *testing.T) {
	cases := map[string]string{
		"auth.kind":      `{"id":"x","name":"X","categories":["crm"],"auth":{"kind":"magic"},"api":{},"implementations":[],"connectable":false,"not_connectable_reason":"r"}`,
		"auth.token_url": `{"id":"x","name":"X","categories":["crm"],"auth":{"kind":"oauth2","authorization_url":"https://a"},"api":{"base_url":"https://a"},"implementations":["generic"],"connectable":true}`,
		"extra":          `{"id":"x","name":"X","categories":["crm"],"auth":{"kind":"none"},"api":{"base_url":"https://a"},"connectable":true,"extra":1}`,
	}
	for field, doc := range cases {
		err := catalog.ValidateSchema("bad.json", []byte(doc))
		if err == nil {
			t.Errorf("%s: schema accepted %s", field, doc)
			continue
		}
		if !strings.Contains(err.Error(), "bad.json") {
			t.Errorf("%s: error does not name the file: %v", field, err)
		}
	}
}

func TestLoadEntries(t *testing.T) {
	c := load(t)
	if c.Len() < 1400 {
		t.Fatalf("catalog has %d entries, want at least 1400", c.Len())
	}
	if _, ok := c.Get("demo"); ok {
		t.Fatal("demo entry present without Options.Demo")
	}
	kinds := map[string]bool{"oauth2": true, "oauth2_cc": true, "oauth1": true, "api_key": true, "basic": true, "custom": true, "none": true}
	for _, d := range c.All() {
		if !kinds[d.Auth.Kind] {
			t.Errorf("%s: auth kind %q", d.ID, d.Auth.Kind)
		}
		if d.Connectable && d.Auth.Kind == catalog.AuthOAuth2 && (d.Auth.AuthorizationURL == "" || d.Auth.TokenURL == "") {
			t.Errorf("%s: connectable oauth2 entry without authorization or token URL", d.ID)
		}
		if d.Connectable != (d.NotConnectableReason == "") {
			t.Errorf("%s: connectable=%v with reason %q", d.ID, d.Connectable, d.NotConnectableReason)
		}
		hasGeneric := false
		for _, impl := range d.Implementations {
			hasGeneric = hasGeneric || impl == catalog.ImplGeneric
		}
		if d.Connectable && !hasGeneric {
			t.Errorf("%s: connectable without the generic implementation", d.ID)
		}
		for _, tmpl := range append([]string{d.API.BaseURL, d.Auth.AuthorizationURL, d.Auth.TokenURL}, values(d.API.Headers)...) {
			if d.Connectable && strings.Contains(tmpl, "{{") {
				for _, v := range catalog.TemplateVars(tmpl) {
					if v.Namespace != catalog.NSConnection && v.Namespace != catalog.NSCredentials && v.Namespace != catalog.NSMetadata {
						t.Errorf("%s: template %q uses namespace %q", d.ID, tmpl, v.Namespace)
					}
				}
			}
		}
	}
	other, ok := c.Get("github-app")
	if !ok || other.Auth.Kind != catalog.AuthCustom || other.Connectable || other.NotConnectableReason == "" {
		t.Errorf("github-app (kind other in the data) = %+v, want custom and not connectable with a reason", other)
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// specNatives maps the spec's 34 native providers to catalog ids.
var specNatives = map[string]string{
	"Stripe": "stripe", "Google Drive": "google-drive", "Trello": "trello", "Asana": "asana",
	"Linear": "linear", "Airtable": "airtable", "Slack": "slack", "Salesforce": "salesforce",
	"HubSpot": "hubspot", "Gmail": "google-mail", "Outlook": "outlook", "Microsoft Teams": "microsoft-teams",
	"Notion": "notion", "Jira": "jira", "GitHub": "github", "Shopify": "shopify", "Zoom": "zoom",
	"Zoho CRM": "zoho-crm", "Google Calendar": "google-calendar", "Monday.com": "monday",
	"ClickUp": "clickup", "Dropbox": "dropbox", "OneDrive": "one-drive", "QuickBooks": "quickbooks",
	"Xero": "xero", "Pipedrive": "pipedrive", "Discord": "discord", "Twilio": "twilio",
	"Intercom": "intercom", "SendGrid": "sendgrid", "Figma": "figma", "Box": "box", "Square": "square",
	"Plaid": "plaid",
}

func TestSpecNativesAreConnectableNativeEntries(t *testing.T) {
	c := load(t)
	if len(specNatives) != 34 {
		t.Fatalf("%d spec natives listed, want 34", len(specNatives))
	}
	for name, id := range specNatives {
		d, ok := c.Get(id)
		if !ok {
			t.Errorf("%s: no entry %q", name, id)
			continue
		}
		if d.Implementations[0] != catalog.ImplNative {
			t.Errorf("%s (%s): implementations %v, want native first", name, id, d.Implementations)
		}
		if !d.Connectable {
			t.Errorf("%s (%s): not connectable: %s", name, id, d.NotConnectableReason)
		}
	}
	if n := c.CountImplementation(catalog.ImplNative); n != 34 {
		t.Errorf("%d native entries, want 34", n)
	}
}

func TestSpecCategories(t *testing.T) {
	c := load(t)
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
	counts := map[string]int{}
	for _, cc := range c.Categories() {
		counts[cc.DisplayName] = cc.Count
	}
	for display, ids := range spec {
		t.Run(display, func(t *testing.T) {
			if counts[display] == 0 {
				t.Fatalf("category %q missing or empty in Categories()", display)
			}
			p := c.Search(catalog.Query{Category: display, Limit: catalog.MaxLimit})
			got := map[string]bool{}
			for _, d := range p.Items {
				got[d.ID] = true
			}
			if p.Total != counts[display] {
				t.Errorf("search total %d, Categories() count %d", p.Total, counts[display])
			}
			for _, id := range ids {
				if !got[id] {
					t.Errorf("%s not found in category %s", id, display)
				}
			}
		})
	}
}

func TestDemoDescriptor(t *testing.T) {
	c, err := catalog.Load(catalog.Options{Demo: true, DemoBaseURL: "http://127.0.0.1:9999/"})
	if err != nil {
		t.Fatal(err)
	}
	d, ok := c.Get("demo")
	if !ok {
		t.Fatal("demo entry missing with Options.Demo")
	}
	if d.Name != "Demo Provider" || d.Auth.Kind != catalog.AuthOAuth2 || !d.Auth.PKCE ||
		d.Auth.AuthorizationURL != "http://127.0.0.1:9999/demo/oauth/authorize" ||
		d.Auth.TokenURL != "http://127.0.0.1:9999/demo/oauth/token" ||
		d.Auth.RevocationURL != "http://127.0.0.1:9999/demo/oauth/revoke" ||
		d.API.BaseURL != "http://127.0.0.1:9999/demo/api" ||
		strings.Join(d.Auth.Scopes, " ") != "profile items:read echo" || d.Categories[0] != "productivity" {
		t.Errorf("demo descriptor = %+v", d)
	}
	if err := catalog.Validate(d); err != nil {
		t.Error(err)
	}
}

func TestImportIsReproducible(t *testing.T) {
	if _, err := os.Stat(providersFile); err != nil {
		// The merged provider data lives beside the repository
		// (../shared/data/providers.json), not in it; a checkout
		// without it cannot re-run the import.
		t.Skipf("provider data not found beside the repository (%v); the committed catalog/data is what the binary embeds", err)
	}
	dir := t.TempDir()
	var progress bytes.Buffer
	if _, err := importer.Run(providersFile, "overrides.json", dir, &progress); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "entries") {
		t.Errorf("progress line = %q", progress.String())
	}
	want := readDir(t, "data")
	got := readDir(t, dir)
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s differs from a fresh import; run: go generate ./catalog", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s is missing from catalog/data; run: go generate ./catalog", name)
		}
	}
	// A second run over the same directory changes nothing.
	if _, err := importer.Run(providersFile, "overrides.json", dir, &progress); err != nil {
		t.Fatal(err)
	}
	again := readDir(t, dir)
	if len(again) != len(got) {
		t.Fatalf("second run wrote %d files, first %d", len(again), len(got))
	}
	for name, b := range got {
		if !bytes.Equal(again[name], b) {
			t.Errorf("%s changed on the second run", name)
		}
	}
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[filepath.Base(p)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGoldenQuirks pins entries whose provider quirks the connection
// flows depend on. Update with: go test ./catalog -run TestGoldenQuirks -update
func TestGoldenQuirks(t *testing.T) {
	c := load(t)
	checks := map[string]func(d *catalog.Descriptor) string{
		"slack": func(d *catalog.Descriptor) string {
			if d.Auth.TokenPath != "authed_user" || d.Auth.ScopeSeparator != "," {
				return "want token_path authed_user and scope separator ','"
			}
			return ""
		},
		"salesforce": func(d *catalog.Descriptor) string {
			if !contains(d.Auth.TokenMetadata, "instance_url") || d.API.BaseURL != "{{metadata.instance_url}}" {
				return "want instance_url kept as metadata and used as base URL"
			}
			return ""
		},
		"shopify": func(d *catalog.Descriptor) string {
			if !contains(d.Auth.ConnectionParams, "shop") || !strings.Contains(d.Auth.AuthorizationURL, "{{connection.shop}}") ||
				!strings.Contains(d.API.BaseURL, "{{connection.shop}}") {
				return "want connection param shop in authorization and base URLs"
			}
			return ""
		},
		"notion": func(d *catalog.Descriptor) string {
			if d.Auth.TokenAuth != "basic" || d.Auth.TokenBody != "json" {
				return "want token_auth basic and token_body json"
			}
			return ""
		},
		"airtable": func(d *catalog.Descriptor) string {
			if !d.Auth.PKCE || d.Auth.TokenAuth != "basic" {
				return "want PKCE and token_auth basic"
			}
			return ""
		},
		"zoho-crm": func(d *catalog.Descriptor) string {
			if !contains(d.Auth.ConnectionParams, "extension") || len(d.Auth.ConnectionParamOptions["extension"]) == 0 ||
				!contains(d.Auth.RedirectMetadata, "accounts-server") || !strings.Contains(d.Auth.TokenURL, "{{metadata.accounts-server}}") {
				return "want region param extension with options and accounts-server metadata"
			}
			return ""
		},
	}
	ids := make([]string, 0, len(checks))
	for id := range checks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			d, ok := c.Get(id)
			if !ok {
				t.Fatalf("no entry %s", id)
			}
			if msg := checks[id](d); msg != "" {
				t.Errorf("%s: %s", id, msg)
			}
			golden := *d // descriptors are shared: copy before trimming
			golden.Actions, golden.Triggers = nil, nil
			b, err := overlay.Marshal(&golden)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", id+".json")
			if *update {
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (create with -update)", err)
			}
			if !bytes.Equal(b, want) {
				t.Errorf("%s differs from %s; if intended, run: go test ./catalog -run TestGoldenQuirks -update\n%s", id, path, b)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestForActivepieces: an Activepieces piece name the catalog spells
// otherwise resolves to the catalog's entry; any other name is itself.
func TestForActivepieces(t *testing.T) {
	c, err := catalog.Load(catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"google-sheets": "google-sheet", "gmail": "google-mail", "slack": "slack", "no-such-piece": "no-such-piece"} {
		if got := c.ForActivepieces(name); got != want {
			t.Errorf("%s → %s, want %s", name, got, want)
		}
	}
}
