package faults

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/runtimes/wasm"
	"github.com/atomhq/atom/host/internal/web"
)

func TestMain(m *testing.M) { testbin.Main(m) }

// sandboxWasm is the wasm runtime's misbehaving test piece.
func sandboxWasm(t testing.TB, version string) string {
	return testbin.BuildWasm(t, "host/internal/runtimes/wasm/testdata/sandbox", "-X main.version="+version)
}

// withPlugins prepares a plugin directory with the echo plugin and the
// sandbox piece, both at 1.0.0.
func withPlugins(t testing.TB) func(dir string) {
	return func(dir string) {
		testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
		testbin.Install(t, sandboxWasm(t, "1.0.0"), dir, "sandbox.wasm", 0o644)
	}
}

const adminKey = "adm_fault_suite_key_0123456789"

// Descriptors of the providers the suite connects, all served by local
// fakes. The base URLs are filled in per host.
func descriptors(fp *fakeprovider.Server) map[string]string {
	oauth := func(id string) string {
		return `{"id":"` + id + `","name":"` + id + `","categories":["development"],
 "auth":{"kind":"oauth2","authorization_url":"` + fp.URL + `/oauth/authorize","token_url":"` + fp.URL + `/oauth/token",
  "revocation_url":"` + fp.URL + `/oauth/revoke","pkce":true,"scopes":["read"]},
 "api":{"base_url":"` + fp.URL + `/api"},"implementations":["generic"],"connectable":true}`
	}
	return map[string]string{
		"fakeoauth.json": oauth("fakeoauth"),
		"fakeother.json": oauth("fakeother"),
		"fakeapp.json":   oauth("fakeapp"),
		"fakekey.json": `{"id":"fakekey","name":"Fake Key","categories":["development"],
 "auth":{"kind":"api_key","credential_fields":["apiKey"],"api_key_in":"header","api_key_name":"Authorization","api_key_prefix":"Bearer "},
 "api":{"base_url":"` + fp.URL + `/api"},"implementations":["generic"],"connectable":true}`,
		"fakebasic.json": `{"id":"fakebasic","name":"Fake Basic","categories":["development"],
 "auth":{"kind":"basic"},"api":{"base_url":"` + fp.URL + `/api"},"implementations":["generic"],"connectable":true}`,
		"fakecustom.json": `{"id":"fakecustom","name":"Fake Custom","categories":["development"],
 "auth":{"kind":"custom","credential_fields":["account","token"]},
 "api":{"base_url":"` + fp.URL + `/api","headers":{"X-Token":"{{credentials.token}}"}},"implementations":["generic"],"connectable":true}`,
	}
}

// host is a running host for one test, with the fake provider its
// catalog points at.
type host struct {
	*hosttest.Host
	fake *fakeprovider.Server
}

// startHost starts a host as o describes, with the fake provider's
// descriptors in its catalog, its OAuth clients in the environment, the
// integrations page, small wasm limits (o.Wasm adjusts them further) and a
// 10s action timeout unless o sets one.
func startHost(t testing.TB, o hosttest.Options) *host {
	t.Helper()
	fp := fakeprovider.New(t, fakeprovider.Quirks{RequirePKCE: true})
	o.AdminKey = adminKey
	o.Catalog = descriptors(fp)
	o.Env = map[string]string{}
	for _, p := range []string{"FAKEOAUTH", "FAKEOTHER"} {
		o.Env[p+"_CLIENT_ID"], o.Env[p+"_CLIENT_SECRET"] = fp.ClientID, fp.ClientSecret
	}
	o.LogLevel = "error"
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	more := o.Wasm
	o.Wasm = func(c *wasm.Config) {
		c.MaxMemoryPages = 512 // 32 MiB
		c.CallTimeout = 2 * time.Second
		if more != nil {
			more(c)
		}
	}
	o.Web = web.ForHost
	return &host{Host: hosttest.Start(t, o), fake: fp}
}

// startOAuth begins an OAuth connection for tn and returns the state and
// the provider's authorization URL.
func (h *host) startOAuth(tn hosttest.Tenant, provider, returnTo string) (state, authURL string) {
	h.T.Helper()
	q := "?action=connect"
	if returnTo != "" {
		q += "&return_to=" + url.QueryEscape(returnTo)
	}
	var res struct {
		AuthURL string `json:"authUrl"`
		State   string `json:"state"`
	}
	h.Must(h.Call("GET", "/api/integrations/"+provider+q, tn.Key, nil, nil), 200, &res)
	return res.State, res.AuthURL
}

// authorize follows the authorization URL at the fake (which approves at
// once) and returns the code it sends back.
func (h *host) authorize(authURL string) (code string) {
	h.T.Helper()
	resp, err := hosttest.Client.Get(authURL)
	if err != nil {
		h.T.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		h.T.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

// callback calls the OAuth callback of provider with query, asking for
// JSON.
func (h *host) callback(provider string, query url.Values) hosttest.Response {
	h.T.Helper()
	return h.Call("GET", "/api/integrations/"+provider+"/callback?"+query.Encode(), "", nil, map[string]string{"Accept": "application/json"})
}

// connectOAuth runs a whole OAuth connection for tn.
func (h *host) connectOAuth(tn hosttest.Tenant, provider string) {
	h.T.Helper()
	state, authURL := h.startOAuth(tn, provider, "")
	code := h.authorize(authURL)
	h.Must(h.callback(provider, url.Values{"code": {code}, "state": {state}}), 200, nil)
}

// backends lists the databases the API cases run on.
func backends() []string { return []string{"sqlite", "postgres"} }
