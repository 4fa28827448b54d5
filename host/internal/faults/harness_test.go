package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/config"
	atomexec "github.com/atomhq/atom/host/internal/exec"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/runtime/native"
	"github.com/atomhq/atom/host/internal/runtime/wasm"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/host/internal/web"
)

// root is the repository root.
var root = func() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", "..", ".."))
}()

// builds caches binaries built for the tests.
var builds struct {
	sync.Mutex
	dir  string
	done map[string]string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "atom-faults-")
	if err != nil {
		panic(err)
	}
	builds.dir, builds.done = dir, map[string]string{}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles a package of the repository once (wasm as a wasip1
// reactor) and returns the binary's path.
func build(t testing.TB, pkg, ldflags string, wasmTarget bool) string {
	t.Helper()
	builds.Lock()
	defer builds.Unlock()
	key := pkg + "|" + ldflags
	if p, ok := builds.done[key]; ok {
		return p
	}
	out := filepath.Join(builds.dir, strings.NewReplacer("/", "_", ".", "_", " ", "_", "=", "_").Replace(key))
	args := []string{"build", "-o", out}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	if wasmTarget {
		args = append(args, "-buildmode=c-shared")
	}
	args = append(args, "./"+pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if wasmTarget {
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, b)
	}
	builds.done[key] = out
	return out
}

// echoBinary is the native runtime's echo fixture as plugin id at version.
func echoBinary(t testing.TB, id, version string) string {
	return build(t, "host/internal/runtime/native/testdata/echo", "-X main.version="+version+" -X main.id="+id, false)
}

// sandboxWasm is the wasm runtime's misbehaving test piece.
func sandboxWasm(t testing.TB, version string) string {
	return build(t, "host/internal/runtime/wasm/testdata/sandbox", "-X main.version="+version, true)
}

// install copies a binary into dir as name through a rename.
func install(t testing.TB, src, dir, name string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
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

// host is a running host for one test.
type host struct {
	t       testing.TB
	h       *app.Host
	parts   *atomexec.Parts
	url     string
	plugins string
	catalog string
	fake    *fakeprovider.Server
	backend string
	pg      *storetest.PG
}

type hostOpts struct {
	backend string // "sqlite" (default) or "postgres"
	// dbURL and migrateURL override the database (a private cluster).
	dbURL, migrateURL string
	// prepare runs on the plugin directory before the host starts.
	prepare func(dir string)
	quiet   bool
	timeout time.Duration
	// keys is ATOM_ENCRYPTION_KEYS; generated when empty.
	keys string
}

func startHost(t testing.TB, o hostOpts) *host {
	t.Helper()
	keys := o.keys
	if keys == "" {
		var err error
		if keys, err = vault.Generate("k1"); err != nil {
			t.Fatal(err)
		}
	}
	fp := fakeprovider.New(t, fakeprovider.Quirks{RequirePKCE: true})
	data, plugins, catDir := t.TempDir(), t.TempDir(), t.TempDir()
	for name, body := range descriptors(fp) {
		if err := os.WriteFile(filepath.Join(catDir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if o.prepare != nil {
		o.prepare(plugins)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := config.Config{
		Addr: ln.Addr().String(), DataDir: data, EncryptionKeys: keys, AdminKey: adminKey,
		PluginDir: plugins, CatalogDir: catDir, BaseURL: base, AutoMigrate: true,
		LogLevel: "error", BodyLimit: 1 << 20, AllowPrivateHosts: []string{"127.0.0.1"}, ShutdownTimeout: 5 * time.Second,
	}
	hs := &host{t: t, plugins: plugins, catalog: catDir, fake: fp, url: base, backend: o.backend}
	switch {
	case o.dbURL != "":
		cfg.DatabaseURL, cfg.MigrateDatabaseURL = o.dbURL, o.migrateURL
	case o.backend == "postgres":
		hs.pg = storetest.NewPostgres(t)
		cfg.DatabaseURL, cfg.MigrateDatabaseURL = hs.pg.AppURL, hs.pg.OwnerURL
	default:
		hs.backend = "sqlite"
		cfg.DatabaseURL = "sqlite://" + filepath.Join(data, "atom.db")
		cfg.MigrateDatabaseURL = cfg.DatabaseURL
	}
	envs := map[string]string{}
	for _, p := range []string{"FAKEOAUTH", "FAKEOTHER"} {
		envs[p+"_CLIENT_ID"], envs[p+"_CLIENT_SECRET"] = fp.ClientID, fp.ClientSecret
	}
	env := func(k string) string { return envs[k] }
	var logOut io.Writer = io.Discard
	if testing.Verbose() && !o.quiet {
		logOut = os.Stderr
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	timeout := o.timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	hook := atomexec.Hook(atomexec.Options{
		Env:     env,
		Timeout: timeout,
		Native: func(c *native.Config) {
			c.Debounce = 50 * time.Millisecond
			c.HealthInterval = 200 * time.Millisecond
		},
		Wasm: func(c *wasm.Config) {
			c.ShareAcrossTenants = false
			c.MaxMemoryPages = 512 // 32 MiB
			c.CallTimeout = 2 * time.Second
		},
		OnReady: func(p *atomexec.Parts) { hs.parts = p },
	})
	ctx := context.Background()
	h, err := app.New(ctx, cfg, app.Options{Env: env, Logger: logger,
		Hooks: []func(context.Context, *app.Host, *api.Deps) error{hook, web.Hook()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.Server.App().Listener(ln) }()
	t.Cleanup(func() {
		_ = h.Server.App().ShutdownWithTimeout(5 * time.Second)
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Close(cctx)
	})
	hs.h = h
	return hs
}

// tenant is a tenant of a host with one API key.
type tenant struct {
	id, key string
}

// newTenant creates a tenant and an API key through the admin API.
func (h *host) newTenant(name string) tenant {
	h.t.Helper()
	var tn struct {
		ID string `json:"id"`
	}
	h.must(h.call("POST", "/api/v1/tenants", adminKey, map[string]any{"name": name}, nil), 201, &tn)
	var k struct {
		Key string `json:"key"`
	}
	h.must(h.call("POST", "/api/v1/tenants/"+tn.ID+"/api-keys", adminKey, map[string]any{"name": "test"}, nil), 201, &k)
	return tenant{id: tn.ID, key: k.Key}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorCode returns the code and message of an error body ("" when the
// body is not the API's error shape).
func (r response) errorCode() (code, msg string) {
	var e struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if json.Unmarshal(r.body, &e) != nil {
		return "", ""
	}
	return e.Error.Code, e.Error.Message
}

var client = &http.Client{
	Timeout:       60 * time.Second,
	Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// call sends a request; body is JSON-encoded unless it is []byte or a
// string (sent as is). key "" sends no Authorization header.
func (h *host) call(method, path, key string, body any, hdr map[string]string) response {
	h.t.Helper()
	r, err := h.try(method, path, key, body, hdr)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func (h *host) try(method, path, key string, body any, hdr map[string]string) (response, error) {
	var rd io.Reader
	jsonBody := false
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
		jsonBody = true
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
		jsonBody = true
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		return response{}, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if jsonBody {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}, err
}

func (h *host) must(r response, status int, v any) {
	h.t.Helper()
	if r.status != status {
		h.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if v != nil {
		r.json(h.t, v)
	}
}

// exec runs an action as tn.
func (h *host) exec(tn tenant, provider, action string, input any, hdr map[string]string) response {
	h.t.Helper()
	return h.call("POST", "/api/v1/integrations/"+provider+"/actions/"+action, tn.key, map[string]any{"input": input}, hdr)
}

// startOAuth begins an OAuth connection for tn and returns the state and
// the provider's authorization URL.
func (h *host) startOAuth(tn tenant, provider, returnTo string) (state, authURL string) {
	h.t.Helper()
	q := "?action=connect"
	if returnTo != "" {
		q += "&return_to=" + url.QueryEscape(returnTo)
	}
	var res struct {
		AuthURL string `json:"authUrl"`
		State   string `json:"state"`
	}
	h.must(h.call("GET", "/api/integrations/"+provider+q, tn.key, nil, nil), 200, &res)
	return res.State, res.AuthURL
}

// authorize follows the authorization URL at the fake (which approves at
// once) and returns the code it sends back.
func (h *host) authorize(authURL string) (code string) {
	h.t.Helper()
	resp, err := client.Get(authURL)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		h.t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

// callback calls the OAuth callback of provider with query, asking for
// JSON.
func (h *host) callback(provider string, query url.Values) response {
	h.t.Helper()
	return h.call("GET", "/api/integrations/"+provider+"/callback?"+query.Encode(), "", nil, map[string]string{"Accept": "application/json"})
}

// connectOAuth runs a whole OAuth connection for tn.
func (h *host) connectOAuth(tn tenant, provider string) {
	h.t.Helper()
	state, authURL := h.startOAuth(tn, provider, "")
	code := h.authorize(authURL)
	h.must(h.callback(provider, url.Values{"code": {code}, "state": {state}}), 200, nil)
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// backends lists the databases the API cases run on.
func backends() []string { return []string{"sqlite", "postgres"} }
