package native_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

// authWay is one way a provider's descriptor offers to connect, with what
// the connection holds besides the secrets the test makes up: the
// connection parameters and token metadata the provider needs, custom
// fields that are not secrets, and further actions that use another of
// the way's secrets.
type authWay struct {
	params, metadata, fields map[string]string
	// username replaces the made-up basic username (Twilio's is the
	// account SID the URLs name).
	username string
	// tokenType is the OAuth token type the provider's token endpoint
	// answers (Bearer when empty).
	tokenType string
	// actions run after test_connection, with their inputs.
	actions map[string]any
}

// authWays lists, per native provider and auth kind, every way its
// catalog descriptor offers. TestAuthWays fails when a descriptor offers
// a kind missing here or this lists one the descriptor does not offer, so
// the plugin, its descriptor and this table cannot disagree.
var authWays = map[string]map[string]authWay{
	"airtable":        {"oauth2": {}, "api_key": {}},
	"asana":           {"oauth2": {}, "api_key": {}},
	"box":             {"oauth2": {}},
	"clickup":         {"oauth2": {}, "api_key": {}},
	"discord":         {"oauth2": {}, "api_key": {}},
	"dropbox":         {"oauth2": {}},
	"figma":           {"oauth2": {}, "api_key": {}},
	"github":          {"oauth2": {}, "api_key": {}},
	"google-calendar": {"oauth2": {}},
	"google-drive":    {"oauth2": {}},
	"google-mail":     {"oauth2": {}},
	"hubspot":         {"oauth2": {}, "api_key": {}},
	"intercom":        {"oauth2": {}, "custom": {fields: map[string]string{"region": "us"}}},
	"jira":            {"oauth2": {params: map[string]string{"cloudId": "cloud-1"}}},
	"linear":          {"oauth2": {}, "api_key": {}},
	"microsoft-teams": {"oauth2": {}},
	"monday":          {"oauth2": {}, "api_key": {}},
	"notion":          {"oauth2": {}, "custom": {}},
	"one-drive":       {"oauth2": {}},
	"outlook":         {"oauth2": {}},
	"pipedrive":       {"oauth2": {}},
	"plaid":           {"custom": {}},
	"quickbooks":      {"oauth2": {params: map[string]string{"realmId": "9130"}}},
	"salesforce":      {"oauth2": {}},
	"sendgrid":        {"api_key": {}, "custom": {fields: map[string]string{"dataResidency": "global"}}},
	"shopify":         {"oauth2": {params: map[string]string{"shop": "acme"}}, "custom": {params: map[string]string{"shop": "acme"}}},
	"slack": {"oauth2": {actions: map[string]any{"search_messages": map[string]any{"query": "q"}}},
		"custom": {actions: map[string]any{"search_messages": map[string]any{"query": "q"}}}},
	"square":   {"oauth2": {}},
	"stripe":   {"oauth2": {}, "api_key": {}},
	"trello":   {"oauth1": {metadata: map[string]string{"consumer_key": "app-key"}}, "basic": {}, "custom": {}},
	"twilio":   {"basic": {username: "AC0123456789abcdef0123456789abcdef"}},
	"xero":     {"oauth2": {params: map[string]string{"tenantId": "tenant-1"}}},
	"zoho-crm": {"oauth2": {}},
	"zoom":     {"oauth2": {}},
}

// upstreamHost is the header the test transport adds to a request it
// turns from another host to the recorder, naming that host.
const upstreamHost = "X-Test-Upstream-Host"

// recordedHeaders are the headers that can carry a credential.
var recordedHeaders = []string{upstreamHost, "Authorization", "X-Figma-Token", "X-Shopify-Access-Token", "X-Api-Token",
	"X-Api-Key", "Api-Key", "Plaid-Client-Id", "Plaid-Secret", "Notion-Version"}

// toRecorder sends every request to the recorder, whatever its host, so
// that a provider calling a fixed host (an account discovery endpoint,
// say) is recorded too and nothing leaves the machine.
type toRecorder struct {
	rec  *url.URL
	next http.RoundTripper
}

func (tr toRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != tr.rec.Host {
		r = r.Clone(r.Context())
		r.Header.Set(upstreamHost, r.URL.Host)
		r.URL.Scheme, r.URL.Host, r.Host = tr.rec.Scheme, tr.rec.Host, ""
	}
	return tr.next.RoundTrip(r)
}

// credentialsFor builds the credentials a connection of way a holds as
// the host hands them to a plugin, with a made-up secret per slot: the
// custom fields are the descriptor's credential fields.
func credentialsFor(a catalog.Auth, w authWay) (provider.Credentials, []string) {
	c := provider.Credentials{Type: a.Kind, Params: w.params, Metadata: w.metadata}
	var secrets []string
	switch a.Kind {
	case catalog.AuthOAuth2, catalog.AuthOAuth2CC:
		c.AccessToken, c.TokenType = "oauth-access-token", w.tokenType
		secrets = append(secrets, c.AccessToken)
	case catalog.AuthOAuth1:
		c.AccessToken, c.TokenSecret = "oauth1-token", "oauth1-token-secret"
		secrets = append(secrets, c.AccessToken)
	case catalog.AuthAPIKey:
		c.APIKey = "api-key-secret"
		secrets = append(secrets, c.APIKey)
	case catalog.AuthBasic:
		c.Username, c.Password = "basic-user", "basic-password"
		if w.username != "" {
			c.Username = w.username
		}
		// Sent as HTTP Basic auth, or in a provider's own header.
		secrets = append(secrets, c.Password, base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password)))
	case catalog.AuthCustom:
		c.Fields = map[string]string{}
		for _, f := range a.CredentialFields {
			if v, ok := w.fields[f]; ok {
				c.Fields[f] = v
				continue
			}
			c.Fields[f] = "custom-" + f
			secrets = append(secrets, c.Fields[f])
		}
	}
	return c, secrets
}

// TestAuthWays runs test_connection (and the actions listed) of every
// native provider with a connection of every auth kind its catalog
// descriptor offers, against a recorder, and checks that the credential
// reaches the upstream: each request is compared with
// testdata/authways/<id>.<kind>.txt (go test -update rewrites them), and
// a made-up secret of the connection must appear in a request.
func TestAuthWays(t *testing.T) {
	cat, err := catalog.Load(catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := providertest.NewRecorder(t, recordedHeaders, func(w http.ResponseWriter, r *http.Request, body []byte) {
		providertest.WriteJSON(w, http.StatusOK, map[string]any{"ok": true})
	}, providertest.RecordBody(providertest.CanonicalBody))
	recURL, _ := url.Parse(rec.URL)
	prev := http.DefaultTransport
	http.DefaultTransport = toRecorder{rec: recURL, next: prev}
	t.Cleanup(func() { http.DefaultTransport = prev })

	ways := 0
	seen := map[string]bool{}
	for _, p := range natives() {
		m := p.Manifest()
		seen[m.ID] = true
		d, ok := cat.Get(m.ID)
		if !ok {
			t.Errorf("%s: no catalog descriptor", m.ID)
			continue
		}
		table, ok := authWays[m.ID]
		if !ok {
			t.Errorf("%s: no auth ways listed in authWays", m.ID)
			continue
		}
		offered := map[string]catalog.Auth{}
		for _, a := range append([]catalog.Auth{d.Auth}, d.AuthAlternatives...) {
			if _, dup := offered[a.Kind]; !dup {
				offered[a.Kind] = a
			}
		}
		for kind := range table {
			if _, ok := offered[kind]; !ok {
				t.Errorf("%s: authWays lists %s, which the descriptor does not offer", m.ID, kind)
			}
		}
		kinds := make([]string, 0, len(offered))
		for k := range offered {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, kind := range kinds {
			w, ok := table[kind]
			if !ok {
				t.Errorf("%s: the descriptor offers %s, which authWays does not list (add it with a test of how the credential is sent)", m.ID, kind)
				continue
			}
			ways++
			t.Run(m.ID+"/"+kind, func(t *testing.T) {
				creds, secrets := credentialsFor(offered[kind], w)
				rec.Take()
				resp := providertest.Run(t, p, "test_connection", map[string]any{}, creds, providertest.BaseURL(rec.URL))
				first := rec.Take()
				if len(first) == 0 {
					t.Fatalf("test_connection sent nothing: %+v", resp.Diagnostics)
				}
				got := []string{"# test_connection\n" + string(first)}
				actions := make([]string, 0, len(w.actions))
				for a := range w.actions {
					actions = append(actions, a)
				}
				sort.Strings(actions)
				for _, a := range actions {
					providertest.Run(t, p, a, w.actions[a], creds, providertest.BaseURL(rec.URL))
					got = append(got, "# "+a+"\n"+string(rec.Take()))
				}
				all := strings.Join(got, "\n")
				if !slices.ContainsFunc(secrets, func(s string) bool { return strings.Contains(all, s) }) {
					t.Errorf("no credential of the %s connection reached the upstream:\n%s", kind, all)
				}
				providertest.Golden(t, filepath.Join("testdata", "authways", fmt.Sprintf("%s.%s.txt", m.ID, kind)), []byte(all))
			})
		}
	}
	for id := range authWays {
		if !seen[id] {
			t.Errorf("authWays lists %s, which is not a native provider", id)
		}
	}
	if _, err := os.Stat(filepath.Join("testdata", "authways")); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d auth ways of %d native providers checked", ways, len(seen))
}
