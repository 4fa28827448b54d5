package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/sdk/providertest"
)

// typedInWays are the ways to connect native providers with credentials a
// tenant types in, as their catalog descriptors offer them, with the body
// of POST /api/v1/connections/<id>.
var typedInWays = []struct {
	id, kind string
	body     map[string]any
}{
	{"airtable", "api_key", map[string]any{"api_key": "api-key-secret"}},
	{"asana", "api_key", map[string]any{"api_key": "api-key-secret"}},
	{"clickup", "api_key", map[string]any{"api_key": "api-key-secret"}},
	{"discord", "api_key", map[string]any{"api_key": "api-key-secret"}},
	{"figma", "api_key", map[string]any{"api_key": "api-key-secret"}},
	{"github", "api_key", map[string]any{"api_key": "api-key-secret"}},
	{"hubspot", "api_key", map[string]any{"api_key": "api-key-secret"}},
	{"intercom", "custom", map[string]any{"fields": map[string]string{"accessToken": "custom-accessToken", "region": "us"}}},
	{"linear", "api_key", map[string]any{"api_key": "api-key-secret"}},
	{"monday", "api_key", map[string]any{"api_key": "api-key-secret"}},
	{"notion", "custom", map[string]any{"fields": map[string]string{"accessToken": "custom-accessToken"}}},
	{"plaid", "custom", map[string]any{"fields": map[string]string{"clientId": "custom-clientId", "secret": "custom-secret"}, "params": map[string]string{"environment": "sandbox"}}},
	{"sendgrid", "api_key", map[string]any{"api_key": "api-key-secret"}},
	{"sendgrid", "custom", map[string]any{"fields": map[string]string{"apiKey": "custom-apiKey", "dataResidency": "global"}}},
	{"shopify", "custom", map[string]any{"fields": map[string]string{"adminToken": "custom-adminToken"}, "params": map[string]string{"shop": "acme"}}},
	{"slack", "custom", map[string]any{"fields": map[string]string{"botToken": "custom-botToken", "userToken": "custom-userToken"}}},
	{"stripe", "api_key", map[string]any{"api_key": "api-key-secret"}},
	{"trello", "basic", map[string]any{"username": "basic-user", "password": "basic-password"}},
	{"trello", "custom", map[string]any{"fields": map[string]string{"key": "custom-key", "token": "custom-token"}}},
	{"twilio", "basic", map[string]any{"username": "AC0123456789abcdef0123456789abcdef", "password": "basic-password"}},
}

// TestTypedInAuthWays: through the REST API and the real plugin
// processes, each typed-in way a native provider's descriptor offers is
// accepted as a connection, and test_connection sends the upstream the
// same request, credential included, as the plugin-level record in
// plugins/native/testdata/authways (the host fills in the placeholders
// the plugin sends).
func TestTypedInAuthWays(t *testing.T) {
	rec := providertest.NewRecorder(t, []string{"Authorization", "X-Figma-Token", "X-Shopify-Access-Token", "X-Api-Token", "X-Api-Key", "Api-Key", "Notion-Version"},
		func(w http.ResponseWriter, r *http.Request, body []byte) {
			providertest.WriteJSON(w, http.StatusOK, map[string]any{"ok": true})
		}, providertest.RecordBody(providertest.CanonicalBody))
	ids := map[string]bool{}
	env := map[string]string{}
	for _, w := range typedInWays {
		ids[w.id] = true
		env[connect.EnvName(w.id)+"_API_BASE_URL"] = rec.URL
	}
	var sorted []string
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	bins := map[string]string{}
	for _, id := range sorted {
		bins[id] = testbin.Build(t, "plugins/native/"+id, "")
	}
	h := startHost(t, hosttest.Options{Env: env, Prepare: func(dir string) {
		for id, bin := range bins {
			testbin.Install(t, bin, dir, "atom-provider-"+id, 0o755)
		}
	}})
	for _, w := range typedInWays {
		t.Run(w.id+"/"+w.kind, func(t *testing.T) {
			tn := h.NewTenant("authways-" + w.id + "-" + w.kind)
			body := map[string]any{"auth_kind": w.kind}
			for k, v := range w.body {
				body[k] = v
			}
			h.Must(h.Call("POST", "/api/v1/connections/"+w.id, tn.Key, body, nil), 201, nil)
			rec.Take()
			r := h.Exec(tn, w.id, "test_connection", map[string]any{}, nil)
			got := string(rec.Take())
			if got == "" {
				t.Fatalf("nothing reached the upstream: %d %s", r.Status, r.Body)
			}
			golden, err := os.ReadFile(filepath.Join(testbin.Root(t), "plugins", "native", "testdata", "authways", w.id+"."+w.kind+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			want, _, _ := strings.Cut(strings.TrimPrefix(string(golden), "# test_connection\n"), "\n# ")
			if strings.TrimSpace(got) != strings.TrimSpace(want) {
				t.Errorf("test_connection through the host sent\n%s\nthe plugin-level record says\n%s", got, want)
			}
		})
	}
}
