package twilio_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/atomhq/atom/plugins/native/twilio/twilio"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const (
	sid       = "AC0123456789abcdef0123456789abcdef"
	authToken = "your_auth_token_0123456789abcdef"
	keySID    = "SK0123456789abcdef0123456789abcdef"
	keySecret = "api_key_secret"
)

func twError(w http.ResponseWriter, status, code int, msg string) {
	providertest.WriteJSON(w, status, map[string]any{"code": code, "message": msg, "more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
}

func message(n int) map[string]any {
	return map[string]any{"sid": fmt.Sprintf("SM%032d", n), "account_sid": sid, "to": "+15558675310", "from": "+15017122661", "body": fmt.Sprintf("msg %d", n), "status": "delivered", "error_code": nil}
}

// newFake behaves like api.twilio.com/2010-04-01: basic auth with the
// account or an API key, form bodies, next_page_uri paging and Twilio's
// error body.
func newFake(t testing.TB) *providertest.Recorder {
	return providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		u, p, ok := r.BasicAuth()
		if !ok || !((u == sid && p == authToken) || (u == keySID && p == keySecret)) {
			twError(w, 401, 20003, "Authenticate")
			return
		}
		base := "/2010-04-01/Accounts/" + sid
		form, _ := url.ParseQuery(string(body))
		q := r.URL.Query()
		switch {
		case r.Method == "GET" && r.URL.Path == base+".json":
			providertest.WriteJSON(w, 200, map[string]any{"sid": sid, "friendly_name": "My Account", "status": "active", "type": "Full"})
		case r.Method == "POST" && r.URL.Path == base+"/Messages.json":
			if form.Get("To") == "+15005550001" {
				twError(w, 400, 21211, "The 'To' number +15005550001 is not a valid phone number.")
				return
			}
			m := message(99)
			m["to"], m["from"], m["body"], m["status"] = form.Get("To"), form.Get("From"), form.Get("Body"), "queued"
			providertest.WriteJSON(w, 201, m)
		case r.Method == "GET" && r.URL.Path == base+"/Messages.json":
			if q.Get("PageToken") == "" {
				providertest.WriteJSON(w, 200, map[string]any{"messages": []any{message(3), message(2)}, "page": 0, "page_size": 2, "start": 0, "end": 1,
					"uri": base + "/Messages.json?PageSize=2&Page=0", "first_page_uri": base + "/Messages.json?PageSize=2&Page=0", "previous_page_uri": nil,
					"next_page_uri": base + "/Messages.json?PageSize=2&Page=1&PageToken=PASM00000000000000000000000000000002"})
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{"messages": []any{message(1)}, "page": 1, "page_size": 2, "next_page_uri": nil,
				"previous_page_uri": base + "/Messages.json?PageSize=2&Page=0"})
		case r.Method == "GET" && r.URL.Path == base+"/Messages/"+fmt.Sprintf("SM%032d", 2)+".json":
			providertest.WriteJSON(w, 200, message(2))
		case r.Method == "POST" && r.URL.Path == base+"/Calls.json":
			providertest.WriteJSON(w, 201, map[string]any{"sid": "CA0123456789abcdef0123456789abcdef", "status": "queued", "to": form.Get("To"), "from": form.Get("From")})
		default:
			twError(w, 404, 20404, "The requested resource "+r.URL.Path+" was not found")
		}
	}, providertest.RecordBody(providertest.CanonicalBody))
}

// suite runs each case in-process and over gRPC against a fresh fake,
// with the golden files in the provider's testdata/.
var suite = providertest.Suite{
	New:  func() provider.Provider { return twilio.New() },
	Fake: newFake,
	Dir:  "../testdata",
	GRPC: true,
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "basic", Username: sid, Password: authToken}
	apiKey := provider.Credentials{Type: "basic", Username: keySID, Password: keySecret, Params: map[string]string{"account_sid": sid}}
	providertest.RunCases(t, suite, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_api_key", Action: "test_connection", Input: `{}`, Creds: apiKey},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "basic", Username: sid, Password: "wrong"}, Failed: true},
		{Name: "send_sms", Action: "send_sms", Input: `{"to":"+15558675310","from":"+15017122661","body":"Hi there","media_url":["https://demo.twilio.com/owl.png"]}`, Creds: creds},
		{Name: "send_sms_invalid_to", Action: "send_sms", Input: `{"to":"+15005550001","from":"+15017122661","body":"x"}`, Creds: creds, Failed: true},
		{Name: "list_messages_page1", Action: "list_messages", Input: `{"page_size":2,"to":"+15558675310"}`, Creds: creds},
		{Name: "list_messages_page2", Action: "list_messages", Input: `{"cursor":"/2010-04-01/Accounts/` + sid + `/Messages.json?PageSize=2&Page=1&PageToken=PASM00000000000000000000000000000002"}`, Creds: creds},
		{Name: "list_messages_foreign_cursor", Action: "list_messages", Input: `{"cursor":"https://evil.example/2010-04-01/Accounts/` + sid + `/Messages.json"}`, Creds: creds, Failed: true},
		{Name: "get_message", Action: "get_message", Input: `{"sid":"SM00000000000000000000000000000002"}`, Creds: creds},
		{Name: "make_call", Action: "make_call", Input: `{"to":"+15558675310","from":"+15017122661","twiml":"<Response><Say>Ahoy</Say></Response>"}`, Creds: creds},
	})
}

func TestErrorCodeNamesField(t *testing.T) {
	fake := newFake(t)
	resp := providertest.Run(t, twilio.New(), "send_sms", `{"to":"+15005550001","from":"+15017122661","body":"x"}`,
		provider.Credentials{Type: "basic", Username: sid, Password: authToken}, providertest.BaseURL(fake.URL))
	if d := resp.Diagnostics[0]; d.Field != "to" || d.Status != 400 || d.Summary != "The 'To' number +15005550001 is not a valid phone number." {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	m := twilio.New().Manifest()
	if m.ID != "twilio" || m.Version != "1.0.0" || len(m.Actions) < 5 {
		t.Fatalf("manifest %+v", m)
	}
	providertest.ClosedInputs(t, m, "test_connection")
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", m)
}
