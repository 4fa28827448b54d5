package fakeprovider_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/fakeprovider"
)

func post(t *testing.T, method, u string, body any, hdr map[string]string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, u, rd)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// TestAppsControlAPI drives the fake over HTTP only, as a test in another
// process would: register a Stripe endpoint, emit an event three times
// through the control API, add feed items and read them back.
func TestAppsControlAPI(t *testing.T) {
	apps := fakeprovider.NewApps(t)
	var got [][]byte
	var sigs []string
	recv := newReceiverFunc(t, func(h http.Header, b []byte) int {
		got, sigs = append(got, b), append(sigs, h.Get("Stripe-Signature"))
		return 200
	})
	auth := map[string]string{"Authorization": "Bearer " + apps.Token, "Content-Type": "application/x-www-form-urlencoded"}
	form := url.Values{"url": {recv}, "enabled_events[]": {"invoice.paid"}}.Encode()
	st, body := post(t, "POST", apps.BaseURL("stripe")+"/v1/webhook_endpoints", form, map[string]string{"Authorization": "Bearer wrong", "Content-Type": "application/x-www-form-urlencoded"})
	if st != 401 || strings.Contains(string(body), "wrong") {
		t.Fatalf("bad key: %d %s", st, body)
	}
	if st, body = post(t, "POST", apps.BaseURL("stripe")+"/v1/webhook_endpoints", form, auth); st != 200 || !strings.Contains(string(body), `"secret":"whsec_`) {
		t.Fatalf("create endpoint: %d %s", st, body)
	}
	st, body = post(t, "POST", apps.URL+"/_fake/stripe/emit", map[string]any{"type": "invoice.paid", "object": map[string]any{"id": "in_1"}, "repeat": 3}, nil)
	if st != 200 || len(got) != 3 || !bytes.Equal(got[0], got[2]) || !strings.HasPrefix(sigs[0], "t=") {
		t.Fatalf("emit: %d %s; received %d", st, body, len(got))
	}
	if st, _ = post(t, "POST", apps.URL+"/_fake/stripe/emit", map[string]any{"type": "customer.created"}, nil); st != 409 {
		t.Fatalf("emit with no listener: %d", st)
	}
	if st, _ = post(t, "POST", apps.URL+"/_fake/nope/emit", map[string]any{}, nil); st != 404 {
		t.Fatalf("emit for an unknown provider: %d", st)
	}

	// Feeds: add through control, read through the API.
	old := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, c := range []struct{ path, body string }{
		{"/_fake/google-mail/messages", `{"from":"a@example.com","subject":"Invoice 1","at":"` + old + `"}`},
		{"/_fake/google-mail/messages", `{"from":"b@example.com","subject":"Invoice 2"}`},
		{"/_fake/hubspot/contacts", `{"properties":{"email":"x@example.com"}}`},
		{"/_fake/jira/issues", `{"project":"ENG","summary":"s"}`},
		{"/_fake/notion/pages", `{"title":"p"}`},
		{"/_fake/google-drive/files", `{"folder":"F","name":"f.pdf"}`},
	} {
		if st, body := post(t, "POST", apps.URL+c.path, c.body, nil); st != 200 || !strings.Contains(string(body), `"id"`) {
			t.Fatalf("%s: %d %s", c.path, st, body)
		}
	}
	bearer := map[string]string{"Authorization": "Bearer " + apps.Token}
	after := time.Now().Add(-time.Minute).Unix()
	st, body = post(t, "GET", apps.BaseURL("google-mail")+"/gmail/v1/users/me/messages?q="+url.QueryEscape("subject:invoice after:"+itoa64(after)), nil, bearer)
	var list struct {
		Messages []struct{ ID string } `json:"messages"`
	}
	if st != 200 || json.Unmarshal(body, &list) != nil || len(list.Messages) != 1 {
		t.Fatalf("gmail list: %d %s", st, body)
	}
	if st, body = post(t, "GET", apps.BaseURL("google-drive")+"/drive/v3/files?q="+url.QueryEscape("name contains 'x'"), nil, bearer); st != 400 || !strings.Contains(string(body), `"location":"q"`) {
		t.Fatalf("drive with an unsupported query: %d %s", st, body)
	}
	if st, _ = post(t, "POST", apps.BaseURL("notion")+"/v1/databases/"+fakeprovider.NotionDatabase+"/query", `{}`, bearer); st != 400 {
		t.Fatalf("notion without Notion-Version: %d", st)
	}
	if st, body = post(t, "GET", apps.URL+"/_fake/hooks", nil, nil); st != 200 || !strings.Contains(string(body), "invoice.paid") {
		t.Fatalf("hooks: %d %s", st, body)
	}
}

func itoa64(n int64) string { b, _ := json.Marshal(n); return string(b) }

// newReceiverFunc serves fn at a URL for the fake's webhooks.
func newReceiverFunc(t *testing.T, fn func(http.Header, []byte) int) string {
	rc := newReceiver(t, nil)
	rc.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(fn(r.Header, b))
	})
	return rc.URL
}
