package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The browser tests drive Debian's Chromium (never a downloaded browser)
// against a real host. Without Chromium they skip, except in CI
// (CI=true), where they fail. ATOM_CHROMIUM overrides the path.
func chromium(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ATOM_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium not found at %s (install it with apt-get install -y chromium)", p)
		}
		t.Skipf("chromium not found at %s: install it with apt-get install -y chromium", p)
	}
	return p
}

// newBrowser starts a fresh headless Chromium with its own profile.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// The first run starts the browser and binds it to ctx, which has no
	// deadline; each step gets its own below.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// artifactDir is artifacts/browser at the repository root.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && filepath.Base(filepath.Dir(dir)) != "" {
			if b, _ := os.ReadFile(filepath.Join(dir, "go.mod")); strings.HasPrefix(string(b), "module github.com/atomhq/atom\n") {
				break
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root not found")
		}
		dir = parent
	}
	out := filepath.Join(dir, "artifacts", "browser")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

func repoPath(t *testing.T, rel string) string {
	return filepath.Join(filepath.Dir(filepath.Dir(artifactDir(t))), rel)
}

// shot saves a PNG of the viewport as a test artefact.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := get(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(artifactDir(t), name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// stepTimeout bounds one step of a browser test.
const stepTimeout = 30 * time.Second

// run runs the steps with a deadline and fails the test with what the
// page's message regions say.
func run(t *testing.T, ctx context.Context, step string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		page, _ := get(ctx, chromedp.Evaluate[string](`(document.getElementById('alert-text')||{}).textContent + ' | ' + (document.getElementById('status')||{}).textContent + ' | ' + ((document.getElementById('action-result')||{}).textContent||'')`))
		if png, err := get(ctx, chromedp.CaptureScreenshot()); err == nil {
			_ = os.WriteFile(filepath.Join(artifactDir(t), strings.ReplaceAll(t.Name(), "/", "_")+"-failure.png"), png, 0o644)
		}
		t.Fatalf("%s: %v (page says: %s)", step, err, page)
	}
}

// get runs one action that returns a value, with a deadline.
func get[T any](ctx context.Context, a chromedp.Action[T]) (T, error) {
	tctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	return chromedp.Run(tctx, a)
}

// must is get that fails the test on error.
func must[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := get(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// js evaluates an expression as a step, ignoring its value.
func js(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](expr)(ctx, tg)
		return err
	})
}

// openEntry clicks a catalog entry's open button until the panel is
// open. A click lands at the button's coordinates: while the
// page is still laying out (after a screenshot, a resize or a filter) it
// can miss the button, and a user would simply click again.
func openEntry(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		sel := `li[data-id="` + id + `"] button.open`
		if _, err := chromedp.WaitVisible(chromedp.CSS(sel))(ctx, tg); err != nil {
			return err
		}
		opened := `document.getElementById('panel').open`
		for try := 1; ; try++ {
			if _, err := chromedp.Click(chromedp.CSS(sel))(ctx, tg); err != nil {
				return err
			}
			_, err := chromedp.Poll[any](opened, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(3*time.Second))(ctx, tg)
			if err == nil || try == 3 || ctx.Err() != nil {
				return err
			}
		}
	})
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[any](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))(ctx, tg)
		return err
	})
}

func signInBrowser(t *testing.T, ctx context.Context, h *testHost) {
	t.Helper()
	run(t, ctx, "open the page",
		chromedp.Navigate(h.BaseURL+"/integrations"),
		chromedp.WaitVisible(chromedp.ID("api-key")),
	)
	shot(t, ctx, t.Name()+"-01-sign-in")
	run(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.ID("api-key"), h.TenantKey),
		chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("q")),
		waitJS(`document.querySelectorAll('#list li').length > 1400`),
	)
	tenant := must(t, ctx, "read tenant", chromedp.Text(chromedp.ID("tenant-label")))
	if tenant != h.TenantID {
		t.Fatalf("signed in as %q, want %q", tenant, h.TenantID)
	}
	cookieVisible := must(t, ctx, "cookie hidden from scripts", chromedp.Evaluate[bool](`document.cookie.includes('atom_session')`))
	if cookieVisible {
		t.Fatal("the session cookie is readable by scripts")
	}
}

type filterRecord struct {
	Query    string  `json:"query"`
	Shown    int     `json:"shown"`
	ScriptMS float64 `json:"script_ms"`
	LayoutMS float64 `json:"layout_ms"`
	PaintMS  float64 `json:"paint_ms"`
}

func filterRecords(t *testing.T, ctx context.Context) []filterRecord {
	t.Helper()
	raw := must(t, ctx, "read filter figures", chromedp.Evaluate[string](`JSON.stringify(window.atomPerf.filters)`))
	var recs []filterRecord
	if err := json.Unmarshal([]byte(raw), &recs); err != nil {
		t.Fatal(err)
	}
	return recs
}

// search types q into the search box, one key event per character, and
// returns the page's timing of each keystroke.
func search(t *testing.T, ctx context.Context, q string) []filterRecord {
	t.Helper()
	before := len(filterRecords(t, ctx))
	run(t, ctx, "search "+q,
		js(`document.getElementById('q').value = ''`),
		js(`document.getElementById('q').dispatchEvent(new Event('input'))`),
		chromedp.SendKeys(chromedp.ID("q"), q),
		waitJS(fmt.Sprintf(`window.atomPerf.filters.length >= %d && window.atomPerf.filters[window.atomPerf.filters.length-1].paint_ms >= 0`, before+1+len(q))),
	)
	recs := filterRecords(t, ctx)
	return recs[before+1:]
}

func TestBrowserOAuthConnectRunDisconnect(t *testing.T) {
	ctx := newBrowser(t)
	h := startHost(t, hostOptions{engine: true})
	demo, ok := h.Catalog.Current().Get("demo")
	if !ok {
		t.Fatal("the dev catalog has no demo entry")
	}
	signInBrowser(t, ctx, h)
	shot(t, ctx, t.Name()+"-02-catalog")

	// One keystroke over the full catalog, then the rest of the word.
	recs := search(t, ctx, "demo")
	first := recs[0]
	total := must(t, ctx, "count rows", chromedp.Evaluate[int](`document.querySelectorAll('#list li').length`))
	t.Logf("filter %d entries by one keystroke (%q → %d shown): %.1f ms to DOM updated, %.1f ms to layout, %.1f ms to next frame",
		total, first.Query, first.Shown, first.ScriptMS, first.LayoutMS, first.PaintMS)
	for _, r := range recs {
		t.Logf("  keystroke %-6q shown %4d: dom %.1f ms, layout %.1f ms, frame %.1f ms", r.Query, r.Shown, r.ScriptMS, r.LayoutMS, r.PaintMS)
		if r.LayoutMS > 1000 {
			t.Errorf("filtering %q took %.0f ms (more than a second)", r.Query, r.LayoutMS)
		}
	}
	run(t, ctx, "demo found",
		chromedp.WaitVisible(chromedp.CSS(`li[data-id="demo"]`)),
		waitJS(`[...document.querySelectorAll('#list li')].filter(li => !li.hidden).length < 20`),
	)
	shot(t, ctx, t.Name()+"-03-search")

	// Open the panel and connect in the provider's popup.
	run(t, ctx, "open the demo panel",
		openEntry("demo"),
		chromedp.WaitVisible(chromedp.ID("connect-submit")),
	)
	label := must(t, ctx, "read connect label", chromedp.Text(chromedp.ID("connect-submit")))
	if label != "Connect "+demo.Name {
		t.Errorf("connect button says %q", label)
	}
	shot(t, ctx, t.Name()+"-04-panel")

	newTab := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool { return info.Type == "page" })
	run(t, ctx, "click connect", chromedp.Click(chromedp.ID("connect-submit")))
	var popupID target.ID
	select {
	case popupID = <-newTab:
	case <-time.After(20 * time.Second):
		t.Fatal("no popup opened")
	}
	popup, cancelPopup := chromedp.NewContext(ctx, chromedp.WithTargetID(popupID))
	defer cancelPopup()
	if err := chromedp.Do(popup); err != nil { // attach, without a deadline
		t.Fatalf("attach to the popup: %v", err)
	}
	run(t, popup, "consent page", chromedp.WaitVisible(chromedp.ID("approve")))
	popupURL := must(t, popup, "popup url", chromedp.Location())
	if u, err := url.Parse(popupURL); err != nil || u.Path != "/demo/oauth/authorize" {
		t.Fatalf("popup at %s, want the demo consent page", popupURL)
	}
	shot(t, popup, t.Name()+"-05-consent")
	// The popup closes itself after approval; the click may race the
	// close, so its error is not the test's verdict: the page is.
	_ = chromedp.Do(popup, chromedp.Click(chromedp.ID("approve")))

	run(t, ctx, "connected state shown",
		waitJS(`(document.getElementById('conn-status')||{}).textContent === 'Connected'`),
		waitJS(`document.querySelector('li[data-id="demo"] .state').textContent === 'Connected'`),
		waitJS(`document.getElementById('status').textContent.includes('`+demo.Name+` connected')`),
	)
	scopes := must(t, ctx, "scopes", chromedp.Evaluate[string](`[...document.querySelectorAll('#panel dt')].find(d => d.textContent === 'Scopes').nextElementSibling.textContent`))
	if !strings.Contains(scopes, "profile") {
		t.Errorf("scopes shown %q, want the granted demo scopes", scopes)
	}
	shot(t, ctx, t.Name()+"-06-connected")

	// The README picture: the catalog with the connection in place.
	run(t, ctx, "close the panel, clear the search",
		js(`document.getElementById('panel').close()`),
		js(`document.getElementById('q').value = ''`),
		js(`document.getElementById('q').dispatchEvent(new Event('input'))`),
		waitJS(`!document.getElementById('panel').open`),
	)
	png := must(t, ctx, "readme screenshot", chromedp.CaptureScreenshot())
	readme := repoPath(t, "docs/integrations.png")
	if err := os.MkdirAll(filepath.Dir(readme), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(readme, png, 0o644); err != nil {
		t.Fatal(err)
	}

	run(t, ctx, "reopen the panel",
		chromedp.SendKeys(chromedp.ID("q"), "demo"),
		waitJS(`document.getElementById('q').value === 'demo' && !document.querySelector('li[data-id="demo"]').hidden`),
		openEntry("demo"),
		chromedp.WaitVisible(chromedp.ID("disconnect")),
	)

	// Try an action when the host runs executions.
	if actionsServed(t, h) {
		run(t, ctx, "run custom_api_call GET /me",
			chromedp.WaitVisible(chromedp.ID("action-select")),
			chromedp.SetValue(chromedp.ID("action-select"), "custom_api_call"),
			js(`document.getElementById('action-select').dispatchEvent(new Event('change'))`),
			chromedp.WaitVisible(chromedp.ID("in-path")),
		)
		// The catalog's own example fills the form: the README's "run an
		// action" needs no guessing.
		example := must(t, ctx, "example path", chromedp.Evaluate[string](`document.getElementById('in-method').value + ' ' + document.getElementById('in-path').value`))
		if example != "GET /me" {
			t.Errorf("custom_api_call form starts with %q, want the descriptor's GET /me", example)
		}
		order := must(t, ctx, "action order", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#action-select option')].map(o => o.value)`))
		if len(order) == 0 || order[len(order)-1] != "custom_api_call" {
			t.Errorf("actions listed as %v, want custom_api_call last", order)
		}
		run(t, ctx, "run custom_api_call GET /me",
			chromedp.Click(chromedp.ID("run-action")),
			chromedp.WaitVisible(chromedp.ID("action-output")),
			waitJS(`(document.getElementById('execution-status')||{}).textContent !== undefined && document.getElementById('execution-status') !== null`),
			waitJS(`document.querySelector('#exec-list table') !== null`),
		)
		output := must(t, ctx, "read output", chromedp.Text(chromedp.ID("action-output")))
		execStatus := must(t, ctx, "read execution status", chromedp.Text(chromedp.ID("execution-status")))
		if !strings.Contains(output, "demo") {
			t.Errorf("action output %q does not show the demo user", output)
		}
		if execStatus != "succeeded" && execStatus != "success" && execStatus != "ok" {
			t.Errorf("execution status %q", execStatus)
		}
		shot(t, ctx, t.Name()+"-07-action")
	} else {
		t.Log("the host serves no execution routes (exec hook not installed): the action step is skipped")
	}

	// Disconnect, with confirmation.
	run(t, ctx, "disconnect",
		chromedp.Click(chromedp.ID("disconnect")),
		chromedp.WaitVisible(chromedp.ID("confirm-disconnect")),
	)
	focused := must(t, ctx, "focus on confirm", chromedp.Evaluate[string](`document.activeElement.id`))
	if focused != "confirm-disconnect" {
		t.Errorf("focus on %q after Disconnect, want the confirmation button", focused)
	}
	shot(t, ctx, t.Name()+"-08-confirm")
	run(t, ctx, "confirm",
		chromedp.Click(chromedp.ID("confirm-disconnect")),
		chromedp.WaitVisible(chromedp.ID("connect-submit")),
		waitJS(`document.querySelector('li[data-id="demo"] .state').textContent === ''`),
		waitJS(`document.getElementById('status').textContent.includes('`+demo.Name+` disconnected')`),
	)
	shot(t, ctx, t.Name()+"-09-disconnected")

	// Escape closes the dialog and focus returns to the row's button.
	run(t, ctx, "escape closes",
		chromedp.KeyEvent(kb.Escape),
		waitJS(`!document.getElementById('panel').open`),
	)
	focused = must(t, ctx, "focus returns", chromedp.Evaluate[string](`document.activeElement.getAttribute('aria-label')`))
	if focused != "Connect "+demo.Name {
		t.Errorf("focus after closing the panel is on %q", focused)
	}
	res, err := http.NewRequest("GET", h.BaseURL+"/api/integrations/demo?action=status", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Header.Set("Authorization", "Bearer "+h.TenantKey)
	st := doReq(t, res)
	if st.body["connected"] != false {
		t.Errorf("host still reports the demo connected: %s", st.raw)
	}
}

func doReq(t *testing.T, req *http.Request) resp {
	t.Helper()
	cl := &http.Client{Timeout: 10 * time.Second}
	res, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// actionsServed reports whether the host has the execution routes.
func actionsServed(t *testing.T, h *testHost) bool {
	req, err := http.NewRequest("GET", h.BaseURL+"/api/v1/integrations/demo/actions", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.TenantKey)
	return doReq(t, req).status == http.StatusOK
}

// keyFake is a provider API that accepts one key and answers others like
// many real APIs do: 401 with {"message": "..."}.
func keyFake(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/eu/v1/me" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"Unknown region or path"}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer good-key" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Invalid API key"}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"acct_1","name":"Keyfake account"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestBrowserAPIKeyForm(t *testing.T) {
	ctx := newBrowser(t)
	fake := keyFake(t)
	dir := t.TempDir()
	desc := map[string]any{
		"id": "keyfake", "name": "Keyfake", "categories": []string{"development"},
		"auth": map[string]any{
			"kind": "api_key", "credential_fields": []string{"apiKey"},
			"api_key_in": "header", "api_key_name": "Authorization", "api_key_prefix": "Bearer ",
			"check_url":                fake.URL + "/{{connection.region}}/v1/me",
			"connection_params":        []string{"region"},
			"connection_param_options": map[string][]string{"region": {"us", "eu"}},
		},
		"api":             map[string]any{"base_url": fake.URL + "/{{connection.region}}"},
		"implementations": []string{"generic"},
		"connectable":     true,
	}
	b, _ := json.Marshal(desc)
	if err := os.WriteFile(filepath.Join(dir, "keyfake.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(fake.URL)
	h := startHost(t, hostOptions{catalogDir: dir, allowPrivate: []string{u.Host}})
	signInBrowser(t, ctx, h)

	search(t, ctx, "keyfake")
	run(t, ctx, "open the keyfake panel",
		openEntry("keyfake"),
		chromedp.WaitVisible(chromedp.ID("cred-apiKey")),
		chromedp.WaitVisible(chromedp.ID("param-region")),
	)
	kind := must(t, ctx, "key field is a password field", chromedp.Evaluate[string](`document.getElementById('cred-apiKey').type + ' ' + document.getElementById('param-region').tagName`))
	if kind != "password SELECT" {
		t.Errorf("fields %q, want a password input and a region select", kind)
	}
	run(t, ctx, "submit a wrong key",
		chromedp.SendKeys(chromedp.ID("cred-apiKey"), "wrong-key"),
		chromedp.SetValue(chromedp.ID("param-region"), "eu"),
		chromedp.Click(chromedp.ID("connect-submit")),
		chromedp.WaitVisible(chromedp.ID("connect-error")),
	)
	msg := must(t, ctx, "read the refusal", chromedp.Text(chromedp.ID("connect-error")))
	if !strings.Contains(msg, "Invalid API key") {
		t.Errorf("refusal shows %q, want the provider's message", msg)
	}
	shot(t, ctx, t.Name()+"-01-refused")

	run(t, ctx, "submit the right key",
		js(`document.getElementById('cred-apiKey').value = ''`),
		chromedp.SendKeys(chromedp.ID("cred-apiKey"), "good-key"),
		chromedp.Click(chromedp.ID("connect-submit")),
		waitJS(`(document.getElementById('conn-status')||{}).textContent === 'Connected'`),
		waitJS(`document.querySelector('li[data-id="keyfake"] .state').textContent === 'Connected'`),
	)
	region := must(t, ctx, "region kept", chromedp.Evaluate[string](`[...document.querySelectorAll('#panel dt')].find(d => d.textContent === 'Region').nextElementSibling.textContent`))
	if region != "eu" {
		t.Errorf("connection region %q, want eu", region)
	}
	shot(t, ctx, t.Name()+"-02-connected")
}

func TestBrowserRedirectErrors(t *testing.T) {
	ctx := newBrowser(t)
	h := startHost(t, hostOptions{})
	signInBrowser(t, ctx, h)
	for code, want := range map[string]string{
		"invalid_state":          "Invalid state",
		"token_exchange_failed":  "Token exchange failed",
		"provider_not_connected": "Provider not connected",
		"access_denied":          "Access denied",
	} {
		run(t, ctx, code,
			chromedp.Navigate(h.BaseURL+"/integrations?error="+code),
			chromedp.WaitVisible(chromedp.ID("alert")),
		)
		text := must(t, ctx, "read "+code, chromedp.Text(chromedp.ID("alert-text")))
		if !strings.HasPrefix(text, want) {
			t.Errorf("?error=%s shows %q, want %q…", code, text, want)
		}
		loc := must(t, ctx, "clean url", chromedp.Location())
		if strings.Contains(loc, "error=") {
			t.Errorf("the address still carries the error: %s", loc)
		}
	}
	shot(t, ctx, t.Name()+"-invalid-state")

	// The callback itself, with a state the host never issued, lands on
	// the page with the spec's "Invalid state".
	run(t, ctx, "bad callback",
		chromedp.Navigate(h.BaseURL+"/api/integrations/demo/callback?code=x&state=never-issued"),
		chromedp.WaitVisible(chromedp.ID("alert")),
	)
	text := must(t, ctx, "read callback error", chromedp.Text(chromedp.ID("alert-text")))
	if !strings.HasPrefix(text, "Invalid state") {
		t.Errorf("callback with a bad state shows %q", text)
	}
}

// TestBrowserNarrowScreen checks that the catalog and the panel fit a
// phone-sized viewport without horizontal scrolling, and that the panel is
// reachable from the keyboard alone.
func TestBrowserNarrowScreen(t *testing.T) {
	ctx := newBrowser(t)
	h := startHost(t, hostOptions{engine: true})
	run(t, ctx, "narrow viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	signInBrowser(t, ctx, h)
	fits := `document.documentElement.scrollWidth <= document.documentElement.clientWidth`
	if !must(t, ctx, "catalog fits", chromedp.Evaluate[bool](fits)) {
		t.Error("the catalog scrolls sideways on a 390 px screen")
	}
	shot(t, ctx, t.Name()+"-01-catalog")

	// Keyboard only: search, Tab to the first visible row's button, Enter.
	run(t, ctx, "open with the keyboard",
		chromedp.SendKeys(chromedp.ID("q"), "demo"),
		waitJS(`!document.querySelector('li[data-id="demo"]').hidden`),
		js(`document.querySelector('li[data-id="demo"] button.open').focus()`),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.ID("connect-submit")),
	)
	inDialog := must(t, ctx, "focus moved into the dialog", chromedp.Evaluate[bool](`document.getElementById('panel').contains(document.activeElement)`))
	if !inDialog {
		t.Error("opening the panel leaves the focus outside it")
	}
	if !must(t, ctx, "panel fits", chromedp.Evaluate[bool](`document.getElementById('panel').getBoundingClientRect().right <= document.documentElement.clientWidth + 1`)) {
		t.Error("the panel is wider than a 390 px screen")
	}
	shot(t, ctx, t.Name()+"-02-panel")

	// With executions recorded, their table fits the panel too.
	if !actionsServed(t, h) {
		t.Fatal("the host serves no execution routes")
	}
	api := func(method, path, body string) resp {
		req, err := http.NewRequest(method, h.BaseURL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+h.TenantKey)
		req.Header.Set("Content-Type", "application/json")
		return doReq(t, req)
	}
	if r := api("POST", "/api/v1/connections/demo", `{"auth_kind":"api_key","api_key":"demo-key-123"}`); r.status != http.StatusCreated {
		t.Fatalf("connect the demo with its key: %d %s", r.status, r.raw)
	}
	for _, path := range []string{"/me", "/items", "/no-such-path-at-all"} {
		if r := api("POST", "/api/v1/integrations/demo/actions/custom_api_call", `{"input":{"method":"GET","path":"`+path+`"}}`); r.status >= 500 {
			t.Fatalf("run %s: %d %s", path, r.status, r.raw)
		}
	}
	run(t, ctx, "reopen with executions",
		js(`document.getElementById('panel').close()`),
		js(`document.querySelector('li[data-id="demo"] button.open').click()`),
		chromedp.WaitVisible(chromedp.ID("disconnect")),
		waitJS(`document.querySelector('#exec-list table') !== null`),
	)
	run(t, ctx, "scroll to the executions", js(`document.getElementById('exec-list').scrollIntoView()`))
	widths := must(t, ctx, "executions table width", chromedp.Evaluate[[]int](`(() => { const b = document.getElementById('exec-list'); const t = b.querySelector('table'); return [t.scrollWidth, b.clientWidth, document.getElementById('panel').clientWidth]; })()`))
	t.Logf("executions table at 390 px: table %d px, its box %d px, panel %d px", widths[0], widths[1], widths[2])
	if widths[0] > widths[1] {
		t.Errorf("the executions table is %d px wide in a %d px box: it scrolls sideways", widths[0], widths[1])
	}
	shot(t, ctx, t.Name()+"-03-executions")
}

// pageCount is the number of page targets the browser has open (the page
// and any popups).
func pageCount(t *testing.T, ctx context.Context) int {
	t.Helper()
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatalf("list targets: %v", err)
	}
	n := 0
	for _, i := range infos {
		if i.Type == "page" {
			n++
		}
	}
	return n
}

// openStripe searches the catalog for Stripe and opens its panel.
func openStripe(t *testing.T, ctx context.Context) {
	t.Helper()
	search(t, ctx, "stripe connect")
	run(t, ctx, "open the Stripe panel",
		chromedp.WaitVisible(chromedp.CSS(`li[data-id="stripe"]`)),
		chromedp.Click(chromedp.CSS(`li[data-id="stripe"] button.open`)),
		chromedp.WaitVisible(chromedp.ID("oauth-app")),
	)
}

// TestBrowserStripeAPIKey: Stripe's catalog entry connects with OAuth or
// with an API key; the row and the panel offer both, the key form says
// where the key goes, and connecting with it makes an api_key connection.
func TestBrowserStripeAPIKey(t *testing.T) {
	ctx := newBrowser(t)
	h := startHost(t, hostOptions{})
	signInBrowser(t, ctx, h)
	search(t, ctx, "stripe connect")
	tags := must(t, ctx, "row tags", chromedp.Evaluate[[]string](`[...document.querySelectorAll('li[data-id="stripe"] .badge.auth')].map(b => b.textContent)`))
	if strings.Join(tags, ",") != "OAuth 2.0,API key" {
		t.Errorf("Stripe's row tags %v, want OAuth 2.0 and API key", tags)
	}
	mono := must(t, ctx, "monogram", chromedp.Text(chromedp.CSS(`li[data-id="stripe"] .logo`)))
	if mono != "SC" {
		t.Errorf("Stripe Connect's monogram %q", mono)
	}
	openStripe(t, ctx)
	link := must(t, ctx, "provider link", chromedp.Evaluate[string](`document.getElementById('provider-link').href`))
	if link != "https://stripe.com/" {
		t.Errorf("the panel links %q, want Stripe's own site", link)
	}
	run(t, ctx, "choose the API key",
		chromedp.Click(chromedp.ID("way-api_key")),
		chromedp.WaitVisible(chromedp.ID("cred-apiKey")),
	)
	label := must(t, ctx, "key label", chromedp.Evaluate[string](`document.querySelector('label[for="cred-apiKey"]').textContent + ' | ' + document.getElementById('cred-apiKey-hint').textContent + ' | ' + document.getElementById('cred-apiKey').type`))
	if label != `API key | Sent in the Authorization header of every request as "Bearer <key>". | password` {
		t.Errorf("key field reads %q", label)
	}
	shot(t, ctx, t.Name()+"-01-api-key-form")
	run(t, ctx, "connect with the key",
		chromedp.SendKeys(chromedp.ID("cred-apiKey"), "sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
		chromedp.Click(chromedp.ID("connect-submit")),
		waitJS(`(document.getElementById('conn-status')||{}).textContent === 'Connected'`),
		waitJS(`document.querySelector('li[data-id="stripe"] .state').textContent === 'Connected'`),
	)
	shot(t, ctx, t.Name()+"-02-connected")
	req, err := http.NewRequest("GET", h.BaseURL+"/api/v1/connections/stripe", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.TenantKey)
	got := doReq(t, req)
	if got.status != 200 || got.body["auth_kind"] != "api_key" {
		t.Errorf("stored connection: %d %s", got.status, got.raw)
	}
	if strings.Contains(got.raw, "sk_test_") {
		t.Error("the connection record shows the key")
	}
}

// TestBrowserOAuthAppForm: without any OAuth app for Stripe the panel says
// so with the host's own message and opens no popup; the tenant registers
// its own app from the panel, sees it before connecting, and removes it.
func TestBrowserOAuthAppForm(t *testing.T) {
	ctx := newBrowser(t)
	h := startHost(t, hostOptions{})
	signInBrowser(t, ctx, h)
	openStripe(t, ctx)

	msg := must(t, ctx, "no-app message", chromedp.Evaluate[string](`document.getElementById('oauth-app').textContent`))
	for _, want := range []string{"No OAuth app is configured for Stripe Connect", "STRIPE_CLIENT_ID", "STRIPE_CLIENT_SECRET", "PUT /api/v1/oauth-apps/stripe"} {
		if !strings.Contains(msg, want) {
			t.Errorf("no-app panel does not say %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "{PROVIDER}") {
		t.Errorf("the panel shows a template: %s", msg)
	}
	if n := must(t, ctx, "no connect button", chromedp.Evaluate[int](`document.querySelectorAll('#connect-submit').length`)); n != 0 {
		t.Error("the panel offers Connect without any OAuth app")
	}
	redirect := must(t, ctx, "redirect uri", chromedp.Text(chromedp.ID("redirect-uri")))
	if redirect != h.BaseURL+"/api/integrations/stripe/callback" {
		t.Errorf("redirect URI shown %q", redirect)
	}
	pages := pageCount(t, ctx)
	shot(t, ctx, t.Name()+"-01-no-app")

	run(t, ctx, "save an empty secret",
		chromedp.SendKeys(chromedp.ID("app-client-id"), "ca_tenant_app"),
		js(`document.getElementById('app-client-secret').required = false`),
		chromedp.Click(chromedp.ID("save-oauth-app")),
		chromedp.WaitVisible(chromedp.ID("oauth-app-error")),
	)
	if e := must(t, ctx, "refusal", chromedp.Text(chromedp.ID("oauth-app-error"))); !strings.Contains(e, "client_secret is required") {
		t.Errorf("empty secret refused with %q", e)
	}
	run(t, ctx, "register the tenant's app",
		chromedp.SendKeys(chromedp.ID("app-client-secret"), "sk_tenant_secret"),
		chromedp.Click(chromedp.ID("save-oauth-app")),
		waitJS(`((document.getElementById('oauth-app-state')||{}).textContent||'').includes('your own OAuth app')`),
		waitJS(`document.getElementById('connect-submit') !== null`),
	)
	state := must(t, ctx, "app state", chromedp.Text(chromedp.ID("oauth-app-state")))
	if !strings.Contains(state, "ca_tenant_app") || strings.Contains(state, "sk_tenant_secret") {
		t.Errorf("the panel says %q", state)
	}
	if n := pageCount(t, ctx); n != pages {
		t.Errorf("%d pages open after the no-app panel, want %d: a popup opened", n, pages)
	}
	shot(t, ctx, t.Name()+"-02-own-app")

	// The connect the button would start uses the tenant's app.
	req, err := http.NewRequest("GET", h.BaseURL+"/api/integrations/stripe?action=connect", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.TenantKey)
	got := doReq(t, req)
	auth, _ := got.body["authUrl"].(string)
	if got.status != 200 || !strings.Contains(auth, "client_id=ca_tenant_app") || !strings.HasPrefix(auth, "https://connect.stripe.com/oauth/authorize?") {
		t.Errorf("connect with the tenant's app: %d %s", got.status, got.raw)
	}

	run(t, ctx, "remove the app",
		chromedp.Click(chromedp.ID("remove-oauth-app")),
		waitJS(`((document.getElementById('oauth-app-state')||{}).textContent||'').startsWith('No OAuth app')`),
	)
	if n := must(t, ctx, "connect gone", chromedp.Evaluate[int](`document.querySelectorAll('#connect-submit').length`)); n != 0 {
		t.Error("Connect still offered after the tenant's app was removed")
	}
}

// TestBrowserPlainWords: fields say where they go (Stripe API Key's
// "Context" goes into the stripe-context header) and an entry that cannot
// be connected says why without the catalog's jargon.
func TestBrowserPlainWords(t *testing.T) {
	ctx := newBrowser(t)
	h := startHost(t, hostOptions{})
	signInBrowser(t, ctx, h)

	search(t, ctx, "stripe-api-key")
	run(t, ctx, "open Stripe (API Key)",
		chromedp.Click(chromedp.CSS(`li[data-id="stripe-api-key"] button.open`)),
		chromedp.WaitVisible(chromedp.ID("param-context")),
	)
	hints := must(t, ctx, "hints", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#connect-form .field')].map(f => f.querySelector('label').textContent + ': ' + ((f.querySelector('.hint')||{}).textContent||''))`))
	for _, h := range hints {
		if strings.HasSuffix(h, ": ") {
			t.Errorf("field without an explanation: %q", h)
		}
	}
	if !slices.Contains(hints, "Context: Goes into the stripe-context header of every request.") {
		t.Errorf("Context is not explained: %q", hints)
	}
	shot(t, ctx, t.Name()+"-01-fields")

	run(t, ctx, "close", js(`document.getElementById('panel').close()`), waitJS(`!document.getElementById('panel').open`))
	search(t, ctx, "agencyzoom")
	run(t, ctx, "open AgencyZoom",
		chromedp.Click(chromedp.CSS(`li[data-id="agencyzoom"] button.open`)),
		chromedp.WaitVisible(chromedp.ID("not-connectable")),
	)
	why := must(t, ctx, "reason", chromedp.Text(chromedp.ID("not-connectable")))
	if strings.Contains(why, "TWO_STEP") || strings.Contains(why, "auth mode") || !strings.Contains(why, "cannot be connected yet") {
		t.Errorf("not connectable because %q", why)
	}
	if n := must(t, ctx, "no integrator docs", chromedp.Evaluate[int](`[...document.querySelectorAll('#panel a')].filter(a => a.href.includes('nango.dev')).length`)); n != 0 {
		t.Error("the panel links another integration product's site")
	}
	shot(t, ctx, t.Name()+"-02-not-connectable")
}
