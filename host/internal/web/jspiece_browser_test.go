package web

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atomhq/atom/host/internal/runtimes/jspiece"
)

// TestBrowserJSPieceDropdown runs a published Activepieces piece from the
// page: Twilio's send_sms, added to the running host's plugin directory,
// its "From" dropdown filled by the piece's options() with the tenant's
// connection, then the action run with the number chosen.
func TestBrowserJSPieceDropdown(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", "..", ".."))
	if out, err := exec.Command(filepath.Join(root, "scripts", "jspieces-npm.sh")).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("installing the npm pieces: %v\n%s", err, out)
		}
		t.Skipf("npm pieces not installed (run scripts/deps.sh): %v", err)
	}
	src, err := jspiece.Bundle(filepath.Join(root, "bin", "jspieces"), "@activepieces/piece-twilio")
	if err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	var mu sync.Mutex
	var seen []string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		user, pass, _ := r.BasicAuth()
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" "+user+":"+pass+" "+string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/2010-04-01/Accounts/AC0001/IncomingPhoneNumbers.json":
			io.WriteString(w, `{"incoming_phone_numbers":[{"phone_number":"+15005550006","friendly_name":"Support line"},{"phone_number":"+15005550007","friendly_name":"Sales line"}]}`)
		case "/2010-04-01/Accounts/AC0001/Messages.json":
			w.WriteHeader(201)
			io.WriteString(w, `{"sid":"SM1","status":"queued"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer fake.Close()
	u, _ := url.Parse(fake.URL)
	h := startHost(t, hostOptions{engine: true, allowPrivate: []string{u.Host},
		jspiece: func(c *jspiece.Config) { c.Rewrite = map[string]string{"api.twilio.com": fake.URL} }})
	// The tenant connects through the API; the piece lands while the host runs.
	req, _ := http.NewRequest("POST", h.BaseURL+"/api/v1/connections/twilio", strings.NewReader(`{"username":"AC0001","password":"twilio-secret"}`))
	req.Header.Set("Authorization", "Bearer "+h.TenantKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("connect twilio: %d", resp.StatusCode)
	}
	if _, err := jspiece.Write(h.Config.PluginDir, jspiece.Artifact{ID: "twilio", Package: "@activepieces/piece-twilio", Version: "0.2.0",
		Hosts: []string{"api.twilio.com"}, Source: src}, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequest("GET", h.BaseURL+"/api/v1/integrations/twilio/actions", nil)
		req.Header.Set("Authorization", "Bearer "+h.TenantKey)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bytes.Contains(b, []byte(`"send_sms"`)) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the Twilio piece never loaded")
		}
		time.Sleep(20 * time.Millisecond)
	}

	signInBrowser(t, ctx, h)
	search(t, ctx, "twilio")
	run(t, ctx, "open the Twilio panel and pick send_sms",
		chromedp.Click(chromedp.CSS(`li[data-id="twilio"] button.open`)),
		chromedp.WaitVisible(chromedp.ID("action-select")),
		chromedp.SetValue(chromedp.ID("action-select"), "send_sms"),
		js(`document.getElementById('action-select').dispatchEvent(new Event('change'))`),
		chromedp.WaitVisible(chromedp.ID("load-from")),
	)
	run(t, ctx, "load the From numbers",
		chromedp.Click(chromedp.ID("load-from")),
		waitJS(`document.querySelectorAll('#in-from option').length === 3`),
	)
	labels := must(t, ctx, "options", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#in-from option')].map(o => o.textContent + '=' + o.value)`))
	if strings.Join(labels, "|") != `—=|Support line="+15005550006"|Sales line="+15005550007"` {
		t.Fatalf("From options %q", labels)
	}
	shot(t, ctx, t.Name()+"-01-options")
	run(t, ctx, "send an SMS from the Sales line",
		chromedp.SetValue(chromedp.ID("in-from"), `"+15005550007"`),
		chromedp.SendKeys(chromedp.ID("in-to"), "+15005550009"),
		chromedp.SendKeys(chromedp.ID("in-body"), "Your code is 1234"),
		chromedp.Click(chromedp.ID("run-action")),
		chromedp.WaitVisible(chromedp.ID("action-output")),
	)
	output := must(t, ctx, "read output", chromedp.Text(chromedp.ID("action-output")))
	if !strings.Contains(output, "SM1") {
		t.Errorf("output %q", output)
	}
	shot(t, ctx, t.Name()+"-02-sent")
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		"GET /2010-04-01/Accounts/AC0001/IncomingPhoneNumbers.json AC0001:twilio-secret ",
		"POST /2010-04-01/Accounts/AC0001/Messages.json AC0001:twilio-secret From=%2B15005550007&Body=Your+code+is+1234&To=%2B15005550009",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Twilio received\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
