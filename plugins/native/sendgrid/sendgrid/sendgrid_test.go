package sendgrid_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/atomhq/atom/plugins/native/sendgrid/sendgrid"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const key = "SG.fake_key_id.fake_key_secret_0123456789"

func sgError(w http.ResponseWriter, status int, field any, msg string) {
	providertest.WriteJSON(w, status, map[string]any{"errors": []any{map[string]any{"message": msg, "field": field, "help": nil}}})
}

// newFake behaves like api.sendgrid.com/v3: Bearer API keys, 202 with
// X-Message-Id on mail send, page_token template paging with
// _metadata.next, offset/limit bounces and SendGrid's errors[] body.
func newFake(t testing.TB) *providertest.Recorder {
	var f *providertest.Recorder
	f = providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+key {
			sgError(w, 401, nil, "authorization required")
			return
		}
		w.Header().Set("X-RateLimit-Remaining", "599")
		q := r.URL.Query()
		switch {
		case r.Method == "GET" && r.URL.Path == "/v3/scopes":
			providertest.WriteJSON(w, 200, map[string]any{"scopes": []string{"mail.send", "templates.read", "marketing.contacts.write", "suppression.read"}})
		case r.Method == "POST" && r.URL.Path == "/v3/mail/send":
			var in struct {
				From map[string]string `json:"from"`
			}
			_ = json.Unmarshal(body, &in)
			if in.From["email"] != "sender@verified.example" {
				sgError(w, 403, "from", "The from address does not match a verified Sender Identity. Mail cannot be sent until this error is resolved.")
				return
			}
			w.Header().Set("X-Message-Id", "W8y4h9b6T0mJ3eVhGk2l1Q")
			w.WriteHeader(202)
		case r.Method == "GET" && r.URL.Path == "/v3/templates":
			if q.Get("generations") == "" {
				sgError(w, 400, "generations", "generations is required")
				return
			}
			tpl := func(id int) map[string]any {
				return map[string]any{"id": fmt.Sprintf("d-%032d", id), "name": fmt.Sprintf("Template %d", id), "generation": "dynamic", "updated_at": "2024-05-01 10:00:00"}
			}
			if q.Get("page_token") == "" {
				providertest.WriteJSON(w, 200, map[string]any{"result": []any{tpl(1), tpl(2)}, "_metadata": map[string]any{
					"self": f.URL + "/v3/templates?page_size=2", "next": f.URL + "/v3/templates?page_size=2&page_token=MiIsInRvdGFsIjozfQ", "count": 3}})
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{"result": []any{tpl(3)}, "_metadata": map[string]any{"self": f.URL + "/v3/templates?page_size=2&page_token=MiIsInRvdGFsIjozfQ", "count": 3}})
		case r.Method == "PUT" && r.URL.Path == "/v3/marketing/contacts":
			providertest.WriteJSON(w, 202, map[string]string{"job_id": "2387e363-4104-4225-8960-4a5758492351"})
		case r.Method == "GET" && r.URL.Path == "/v3/suppression/bounces":
			limit, _ := strconv.Atoi(q.Get("limit"))
			offset, _ := strconv.Atoi(q.Get("offset"))
			var list []any
			for i := offset + 1; i <= 3 && len(list) < limit; i++ {
				list = append(list, map[string]any{"created": 1443651125 + i, "email": fmt.Sprintf("bounce%d@example.com", i), "reason": "550 5.1.1 The email account that you tried to reach does not exist.", "status": "5.1.1"})
			}
			providertest.WriteJSON(w, 200, list)
		default:
			sgError(w, 404, nil, "resource not found")
		}
	}, providertest.RecordBody(providertest.CanonicalBody))
	return f
}

// suite runs each case in-process and over gRPC against a fresh fake,
// with the golden files in the provider's testdata/.
var suite = providertest.Suite{
	New:  func() provider.Provider { return sendgrid.New() },
	Fake: newFake,
	Dir:  "../testdata",
	GRPC: true,
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "api_key", APIKey: key}
	providertest.RunCases(t, suite, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_bad_key", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "api_key", APIKey: "SG.wrong"}, Failed: true},
		{Name: "send_email", Action: "send_email", Input: `{"to":["a@example.com","b@example.com"],"from":"sender@verified.example","from_name":"Acme","subject":"Hello","text":"Hi!","html":"<p>Hi!</p>","categories":["welcome"]}`, Creds: creds},
		{Name: "send_email_template", Action: "send_email", Input: `{"to":["a@example.com"],"from":"sender@verified.example","template_id":"d-00000000000000000000000000000001","dynamic_template_data":{"first_name":"Ada"}}`, Creds: creds},
		{Name: "send_email_unverified_sender", Action: "send_email", Input: `{"to":["a@example.com"],"from":"nobody@example.com","subject":"x","text":"x"}`, Creds: creds, Failed: true},
		{Name: "list_templates_page1", Action: "list_templates", Input: `{"page_size":2}`, Creds: creds},
		{Name: "list_templates_page2", Action: "list_templates", Input: `{"page_size":2,"page_token":"MiIsInRvdGFsIjozfQ"}`, Creds: creds},
		{Name: "upsert_contacts", Action: "upsert_contacts", Input: `{"list_ids":["ca7a3796-e8a8-4029-9ccb-df8937940562"],"contacts":[{"email":"ada@example.com","first_name":"Ada"}]}`, Creds: creds},
		{Name: "list_bounces_page1", Action: "list_bounces", Input: `{"limit":2}`, Creds: creds},
		{Name: "list_bounces_page2", Action: "list_bounces", Input: `{"limit":2,"offset":2}`, Creds: creds},
	})
}

func TestUnverifiedSenderNamesField(t *testing.T) {
	fake := newFake(t)
	resp := providertest.Run(t, sendgrid.New(), "send_email", `{"to":["a@example.com"],"from":"x@example.com","subject":"s","text":"t"}`,
		provider.Credentials{Type: "api_key", APIKey: key}, providertest.BaseURL(fake.URL))
	if d := resp.Diagnostics[0]; d.Field != "from" || d.Status != 403 {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	m := sendgrid.New().Manifest()
	if m.ID != "sendgrid" || m.Version != "1.0.0" || len(m.Actions) < 5 {
		t.Fatalf("manifest %+v", m)
	}
	providertest.ClosedInputs(t, m, "test_connection")
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", m)
}
