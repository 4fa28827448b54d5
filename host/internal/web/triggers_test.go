package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/triggers"
)

func TestMain(m *testing.M) { testbin.Main(m) }

// trigFake is the provider of the triggers fixture plugin
// (host/internal/runtimes/native/testdata/triggers): it registers
// webhooks (POST /hooks → an id and a signing secret), unregisters them
// (DELETE /hooks/{id}) and answers polls of /items with no item.
type trigFake struct {
	srv     *httptest.Server
	mu      sync.Mutex
	secrets map[string]string // hook URL → signing secret
	deleted []string
}

func newTrigFake(t *testing.T) *trigFake {
	f := &trigFake{secrets: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sk_test_") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/hooks":
			var in struct {
				URL string `json:"url"`
			}
			_ = json.NewDecoder(r.Body).Decode(&in)
			id := fmt.Sprintf("hook_%d", len(f.secrets)+1)
			f.secrets[in.URL] = "whsec_web_" + id
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"`+id+`","secret":"whsec_web_`+id+`"}`)
		case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/hooks/"):
			f.deleted = append(f.deleted, strings.TrimPrefix(r.URL.Path, "/hooks/"))
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodGet && r.URL.Path == "/items":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `[]`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *trigFake) secret(hookURL string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.secrets[hookURL]
}

func (f *trigFake) deletedHooks() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.deleted...)
}

// startTriggersHost starts a host with the execution engine serving the
// triggers fixture plugin against fake, on SQLite or PostgreSQL.
func startTriggersHost(t *testing.T, fake *trigFake, postgres bool) *testHost {
	t.Helper()
	bin := testbin.Build(t, "host/internal/runtimes/native/testdata/triggers", "")
	dir := t.TempDir()
	desc := fmt.Sprintf(`{"id":"triggers","name":"Triggers","categories":["development"],
		"auth":{"kind":"api_key","credential_fields":["apiKey"]},"api":{"base_url":%q},
		"implementations":["native"],"connectable":true}`, fake.srv.URL)
	if err := os.WriteFile(filepath.Join(dir, "triggers.json"), []byte(desc), 0o644); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(fake.srv.URL)
	return startHost(t, hostOptions{engine: true, catalogDir: dir, allowPrivate: []string{u.Host}, postgres: postgres,
		plugins: func(dir string) { testbin.Install(t, bin, dir, plugindir.NativePrefix+"triggers", 0o755) }})
}

// bearer sends one request with a tenant API key.
func bearer(t *testing.T, h *testHost, key, method, path, body string) resp {
	t.Helper()
	return do(t, method, h.BaseURL+path, body, nil, "Authorization", "Bearer "+key)
}

// connectTriggers connects the fixture provider for the tenant of key.
func connectTriggers(t *testing.T, h *testHost, key string) {
	t.Helper()
	if r := bearer(t, h, key, "POST", "/api/v1/connections/triggers", `{"api_key":"sk_test_web"}`); r.status != http.StatusCreated {
		t.Fatalf("connect the triggers provider: %d %s", r.status, r.raw)
	}
}

// TestTriggerRoutesUnderSession: the routes the page calls for triggers
// and events, authenticated by the page's session cookie, show only the
// signed-in tenant's trigger instances: another tenant's trigger id is
// not found (read, deleted, or named as an event source), any spelling
// of it too; without a session they answer 401; and a session cookie
// without the CSRF token changes nothing.
func TestTriggerRoutesUnderSession(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			fake := newTrigFake(t)
			h := startTriggersHost(t, fake, backend == "postgres")
			_, otherKey, _ := addTenant(t, h.Store, "globex")
			connectTriggers(t, h, h.TenantKey)
			connectTriggers(t, h, otherKey)

			// The other tenant's webhook trigger, and one of acme's own.
			theirs := bearer(t, h, otherKey, "POST", "/api/v1/triggers", `{"provider":"triggers","trigger":"item_event"}`)
			if theirs.status != http.StatusCreated {
				t.Fatalf("create globex's trigger: %d %s", theirs.status, theirs.raw)
			}
			theirID, _ := theirs.body["id"].(string)
			cookie, csrf := signIn(t, h)
			mine := do(t, "POST", h.BaseURL+"/api/v1/triggers", `{"provider":"triggers","trigger":"new_item","input":{},"delivery":{"webhook":false}}`,
				cookie, CSRFHeader, csrf)
			if mine.status != http.StatusCreated {
				t.Fatalf("create acme's trigger under the session: %d %s", mine.status, mine.raw)
			}
			myID, _ := mine.body["id"].(string)

			// The session reads its own tenant's trigger and events.
			if r := do(t, "GET", h.BaseURL+"/api/v1/triggers/"+myID, "", cookie); r.status != 200 || r.body["id"] != myID {
				t.Fatalf("acme reads its trigger: %d %s", r.status, r.raw)
			}
			if r := do(t, "GET", h.BaseURL+"/api/v1/events?trigger="+myID, "", cookie); r.status != 200 {
				t.Fatalf("acme reads its trigger's events: %d %s", r.status, r.raw)
			}
			list := do(t, "GET", h.BaseURL+"/api/v1/triggers", "", cookie)
			if list.status != 200 || !strings.Contains(list.raw, myID) || strings.Contains(list.raw, theirID) {
				t.Fatalf("acme's trigger list: %d %s", list.status, list.raw)
			}

			// Another tenant's id, in every place the page puts one.
			for _, id := range []string{theirID, url.PathEscape(theirID), strings.ToUpper(theirID), theirID + "%00", "..%2F" + theirID, theirID + "/"} {
				for _, c := range []struct{ method, path string }{
					{"GET", "/api/v1/triggers/" + id},
					{"DELETE", "/api/v1/triggers/" + id},
					{"GET", "/api/v1/events?trigger=" + id},
					{"GET", "/api/v1/events/stream?trigger=" + id},
				} {
					r := do(t, c.method, h.BaseURL+c.path, "", cookie, CSRFHeader, csrf, "Accept", "text/event-stream, application/json")
					if r.status != http.StatusNotFound && r.status != http.StatusBadRequest {
						t.Errorf("%s %s as acme: %d %s, want 404", c.method, c.path, r.status, r.raw)
					}
					if strings.Contains(r.raw, `"connection_id"`) || strings.Contains(r.raw, "hook_url") {
						t.Errorf("%s %s as acme shows globex's trigger: %s", c.method, c.path, r.raw)
					}
				}
			}
			if r := bearer(t, h, otherKey, "GET", "/api/v1/triggers/"+theirID, ""); r.status != 200 || r.body["status"] != "active" {
				t.Fatalf("globex's trigger after acme's attempts: %d %s", r.status, r.raw)
			}
			if got := fake.deletedHooks(); len(got) != 0 {
				t.Fatalf("the provider was told to unregister %v", got)
			}

			// A cookie without the CSRF token deletes nothing.
			if r := do(t, "DELETE", h.BaseURL+"/api/v1/triggers/"+myID, "", cookie); r.status != http.StatusForbidden {
				t.Errorf("DELETE without the CSRF token: %d %s, want 403", r.status, r.raw)
			}
			if r := do(t, "POST", h.BaseURL+"/api/v1/triggers", `{"provider":"triggers","trigger":"new_item"}`, cookie); r.status != http.StatusForbidden {
				t.Errorf("POST without the CSRF token: %d %s, want 403", r.status, r.raw)
			}
			if r := do(t, "GET", h.BaseURL+"/api/v1/triggers/"+myID, "", cookie); r.status != 200 {
				t.Fatalf("acme's trigger after the refused delete: %d %s", r.status, r.raw)
			}

			// No session, a forged cookie, a signed-out session: 401.
			out := do(t, "DELETE", h.BaseURL+"/integrations/session", "", cookie, CSRFHeader, csrf)
			if out.status != http.StatusNoContent {
				t.Fatalf("sign out: %d %s", out.status, out.raw)
			}
			forged := *cookie
			forged.Value = strings.Repeat("A", len(cookie.Value))
			for _, ck := range []*http.Cookie{nil, &forged, cookie} {
				for _, c := range []struct{ method, path, body string }{
					{"GET", "/api/v1/triggers", ""},
					{"GET", "/api/v1/triggers/" + myID, ""},
					{"POST", "/api/v1/triggers", `{"provider":"triggers","trigger":"new_item"}`},
					{"DELETE", "/api/v1/triggers/" + myID, ""},
					{"GET", "/api/v1/events?trigger=" + myID, ""},
					{"GET", "/api/v1/events/stream?trigger=" + myID, ""},
					{"GET", "/api/v1/catalog/triggers", ""},
				} {
					r := do(t, c.method, h.BaseURL+c.path, c.body, ck, CSRFHeader, csrf, "Accept", "text/event-stream, application/json")
					if r.status != http.StatusUnauthorized {
						t.Errorf("%s %s (cookie %v): %d %s, want 401", c.method, c.path, ck != nil, r.status, r.raw)
					}
				}
			}
			if r := bearer(t, h, h.TenantKey, "GET", "/api/v1/triggers/"+myID, ""); r.status != 200 {
				t.Fatalf("acme's trigger after the refused calls: %d %s", r.status, r.raw)
			}
		})
	}
}

// stripeSigned posts body to a hook URL signed as Stripe signs, with the
// secret the provider registered for it.
func stripeSigned(t *testing.T, hookURL, secret, body string) resp {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + body))
	return do(t, "POST", hookURL, body, nil, "Stripe-Signature", "t="+ts+",v1="+hex.EncodeToString(m.Sum(nil)))
}

// TestBrowserTriggersAndEvents: in the panel of a connected provider the
// tenant creates a webhook trigger from the form, the provider sends two
// signed webhooks, and their events appear in "Recent events" (newest
// first) without a reload, the HTML in a payload shown as text; of more
// events the twenty newest are shown; the trigger's status follows its
// connection's (needs re-auth, then active); the section fits a phone
// screen; then the trigger is deleted and unregistered at the provider.
func TestBrowserTriggersAndEvents(t *testing.T) {
	ctx := newBrowser(t)
	fake := newTrigFake(t)
	h := startTriggersHost(t, fake, false)
	connectTriggers(t, h, h.TenantKey)
	signInBrowser(t, ctx, h)
	search(t, ctx, "triggers")
	run(t, ctx, "open the Triggers panel",
		openEntry("triggers"),
		chromedp.WaitVisible(chromedp.ID("trigger-select")),
		waitJS(`document.getElementById('no-triggers') !== null`),
		waitJS(`document.getElementById('events-empty') !== null && !document.getElementById('events-empty').hidden`),
	)
	options := must(t, ctx, "trigger options", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#trigger-select option')].map(o => o.value + '=' + o.textContent)`))
	if strings.Join(options, "|") != "new_item=new_item (polling)|item_event=item_event (webhook)|team_message=team_message (app webhook)" {
		t.Errorf("trigger choices %q", options)
	}
	// The polling trigger's form is generated from its input schema.
	if n := must(t, ctx, "polling input", chromedp.Evaluate[int](`document.querySelectorAll('#trigger-fields #trigger-in-hostile').length`)); n != 1 {
		t.Error("the polling trigger's form has no field for its input property")
	}
	run(t, ctx, "create a webhook trigger",
		chromedp.SetValue(chromedp.ID("trigger-select"), "item_event"),
		js(`document.getElementById('trigger-select').dispatchEvent(new Event('change'))`),
		waitJS(`document.getElementById('trigger-interval').closest('.field').hidden`),
		js(`document.getElementById('trigger-deliver').checked = false`),
		chromedp.Click(chromedp.ID("create-trigger")),
		chromedp.WaitVisible(chromedp.ID("hook-url")),
		waitJS(`document.querySelector('#trigger-list li[data-id] .trigger-status') !== null`),
	)
	hookURL := must(t, ctx, "hook url", chromedp.Text(chromedp.ID("hook-url")))
	trigID := must(t, ctx, "trigger id", chromedp.Evaluate[string](`document.querySelector('#trigger-list li[data-id]').dataset.id`))
	status := must(t, ctx, "trigger status", chromedp.Text(chromedp.CSS(`#trigger-list li[data-id] .trigger-status`)))
	if status != "Active" {
		t.Errorf("new trigger shown as %q", status)
	}
	if !strings.HasPrefix(hookURL, h.BaseURL+"/api/v1/hooks/") {
		t.Fatalf("hook URL shown %q", hookURL)
	}
	secret := fake.secret(hookURL)
	if secret == "" {
		t.Fatalf("the provider holds no registration of %s", hookURL)
	}
	r := bearer(t, h, h.TenantKey, "GET", "/api/v1/triggers/"+trigID, "")
	if r.status != 200 || r.body["trigger"] != "item_event" || r.body["delivery"].(map[string]any)["webhook"] != false {
		t.Fatalf("the trigger the form created: %d %s", r.status, r.raw)
	}
	shot(t, ctx, t.Name()+"-01-created")

	// The provider sends two events; the page has not been reloaded when
	// they appear.
	run(t, ctx, "mark the page", js(`window.atomMark = 'same page'`), js(`document.getElementById('triggers').scrollIntoView()`))
	hostile := `<img src=x onerror="window.atomPwned=1">`
	for i, name := range []string{"first item", hostile} {
		body := fmt.Sprintf(`{"id":"evt_web_%d","created":%d,"type":"item.created","data":{"name":%q}}`, i+1, time.Now().Unix(), name)
		if r := stripeSigned(t, hookURL, secret, body); r.status != 200 {
			t.Fatalf("provider webhook %d: %d %s", i+1, r.status, r.raw)
		}
	}
	first, second := triggers.EventID(trigID, "evt_web_1"), triggers.EventID(trigID, "evt_web_2")
	run(t, ctx, "events appear",
		waitJS(`document.querySelectorAll('#event-list li.event').length === 2`),
		waitJS(`document.getElementById('events-empty').hidden`),
		waitJS(`document.querySelector('#trigger-list li[data-id] .last-event').textContent !== '—'`),
	)
	order := must(t, ctx, "event order", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#event-list li.event')].map(li => li.dataset.id + ' ' + li.querySelector('.event-type').textContent + ' ' + li.querySelector('.event-id').textContent)`))
	if strings.Join(order, "|") != second+" triggers.item_event "+second+"|"+first+" triggers.item_event "+first {
		t.Errorf("recent events %q, want the second event first", order)
	}
	if mark := must(t, ctx, "same page", chromedp.Evaluate[string](`String(window.atomMark)`)); mark != "same page" {
		t.Error("the page was reloaded")
	}
	collapsed := must(t, ctx, "collapsed", chromedp.Evaluate[bool](`[...document.querySelectorAll('#event-list details')].every(d => !d.open)`))
	if !collapsed {
		t.Error("event payloads start expanded")
	}
	run(t, ctx, "expand the newest payload",
		chromedp.Click(chromedp.CSS(`#event-list li.event:first-child summary`)),
		waitJS(`document.querySelector('#event-list li.event:first-child details').open`),
	)
	payload := must(t, ctx, "payload", chromedp.Text(chromedp.CSS(`#event-list li.event:first-child pre.payload`)))
	if !strings.Contains(payload, `<img src=x onerror=\"window.atomPwned=1\">`) || !strings.Contains(payload, `"item_id": "evt_web_2"`) {
		t.Errorf("payload shown %q, want the provider's HTML as text", payload)
	}
	injected := must(t, ctx, "no element injected", chromedp.Evaluate[string](`document.querySelectorAll('#panel img').length + ' ' + String(window.atomPwned)`))
	if injected != "0 undefined" {
		t.Errorf("the payload's HTML became elements or ran: %s", injected)
	}
	shot(t, ctx, t.Name()+"-02-events")

	// Twenty more: the panel keeps the twenty newest.
	for i := 3; i <= 22; i++ {
		body := fmt.Sprintf(`{"id":"evt_web_%d","created":%d,"type":"item.created","data":{"name":"item %d"}}`, i, time.Now().Unix(), i)
		if r := stripeSigned(t, hookURL, secret, body); r.status != 200 {
			t.Fatalf("provider webhook %d: %d %s", i, r.status, r.raw)
		}
	}
	newest, oldest := triggers.EventID(trigID, "evt_web_22"), triggers.EventID(trigID, "evt_web_3")
	run(t, ctx, "the twenty newest",
		waitJS(`(() => { const ls = document.querySelectorAll('#event-list li.event'); return ls.length === 20 && ls[0].dataset.id === '`+newest+`' && ls[19].dataset.id === '`+oldest+`'; })()`),
	)

	// The trigger's status follows its connection's while the panel is
	// open: rejected by the provider, then connected again.
	connID, _ := r.body["connection_id"].(string)
	if err := h.Connect.MarkRejected(context.Background(), h.TenantID, connID, "the provider said the key is revoked"); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "needs re-auth shown",
		waitJS(`document.querySelector('#trigger-list li[data-id] .trigger-status').textContent === 'Needs reauth'`))
	connectTriggers(t, h, h.TenantKey)
	run(t, ctx, "active again",
		waitJS(`document.querySelector('#trigger-list li[data-id] .trigger-status').textContent === 'Active'`))

	// On a phone-sized screen the triggers and the events fit the panel.
	run(t, ctx, "narrow viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		js(`document.getElementById('trigger-list').scrollIntoView()`))
	widths := must(t, ctx, "widths", chromedp.Evaluate[[]int](`(() => { const b = document.querySelector('#trigger-list ul'); const ev = document.getElementById('event-list');
		return [b.scrollWidth, b.clientWidth, ev.scrollWidth, ev.clientWidth, document.getElementById('panel').getBoundingClientRect().right, document.documentElement.clientWidth]; })()`))
	t.Logf("at 390 px: triggers list %d px in %d px, events %d px in %d px, panel right edge %d px of %d px", widths[0], widths[1], widths[2], widths[3], widths[4], widths[5])
	if widths[0] > widths[1] || widths[2] > widths[3] || widths[4] > widths[5]+1 {
		t.Errorf("the triggers section scrolls sideways at 390 px: %v", widths)
	}
	shot(t, ctx, t.Name()+"-03-narrow")
	run(t, ctx, "wide viewport", chromedp.EmulateViewport(1280, 900))

	run(t, ctx, "delete the trigger",
		// The panel's sticky head must not cover the button.
		js(`document.querySelector('#trigger-list li[data-id="`+trigID+`"] .delete-trigger').scrollIntoView({block: 'center'})`),
		chromedp.Click(chromedp.CSS(`#trigger-list li[data-id="`+trigID+`"] .delete-trigger`)),
		chromedp.WaitVisible(chromedp.ID("confirm-delete-trigger")),
		js(`document.getElementById('confirm-delete-trigger').scrollIntoView({block: 'center'})`),
		chromedp.Click(chromedp.ID("confirm-delete-trigger")),
		waitJS(`document.getElementById('no-triggers') !== null`),
		waitJS(`document.getElementById('status').textContent.includes('Trigger deleted')`),
	)
	if r := bearer(t, h, h.TenantKey, "GET", "/api/v1/triggers/"+trigID, ""); r.status != http.StatusNotFound {
		t.Errorf("the deleted trigger: %d %s", r.status, r.raw)
	}
	if got := fake.deletedHooks(); len(got) != 1 || got[0] != "hook_1" {
		t.Errorf("the provider unregistered %v, want hook_1", got)
	}
	shot(t, ctx, t.Name()+"-04-deleted")
}
