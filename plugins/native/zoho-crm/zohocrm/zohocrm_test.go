package zohocrm_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/atomhq/atom/plugins/native/zoho-crm/zohocrm"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const token = "1000.8cb99dxxxxxxxxxxxxx9be93.9b8xxxxxxxxxxxxxxxf"

func zohoError(w http.ResponseWriter, status int, code, msg string, details map[string]any) {
	if details == nil {
		details = map[string]any{}
	}
	providertest.WriteJSON(w, status, map[string]any{"code": code, "details": details, "message": msg, "status": "error"})
}

func lead(id, name string) map[string]any {
	return map[string]any{"id": id, "Last_Name": name, "Email": name + "@example.com"}
}

// newFake behaves like www.zohoapis.{dc}/crm/v6: the Zoho-oauthtoken
// scheme only, page_token paging, 204 for empty results, per-record
// status in data[] and Zoho's error bodies.
func newFake(t testing.TB) *providertest.Recorder {
	return providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Zoho-oauthtoken "+token {
			zohoError(w, 401, "INVALID_TOKEN", "invalid oauth token", nil)
			return
		}
		p, q := r.URL.Path, r.URL.Query()
		switch {
		case r.Method == "GET" && p == "/crm/v6/org":
			providertest.WriteJSON(w, 200, map[string]any{"org": []any{map[string]any{"id": "4150868000000225013", "company_name": "Zylker", "domain_name": "org671823930", "iso_code": "USD", "time_zone": "PST"}}})
		case r.Method == "GET" && p == "/crm/v6/Leads":
			if q.Get("fields") == "" {
				zohoError(w, 400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", map[string]any{"param_name": "fields"})
				return
			}
			if q.Get("page_token") == "" {
				providertest.WriteJSON(w, 200, map[string]any{"data": []any{lead("111", "Smith"), lead("112", "Jones")},
					"info": map[string]any{"per_page": 2, "count": 2, "page": 1, "more_records": true, "next_page_token": "c8582xx9e7c", "page_token_expiry": "2024-05-02T10:00:00+05:30"}})
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{"data": []any{lead("113", "Brown")},
				"info": map[string]any{"per_page": 2, "count": 1, "page": 2, "more_records": false, "next_page_token": nil}})
		case r.Method == "GET" && p == "/crm/v6/Leads/111":
			providertest.WriteJSON(w, 200, map[string]any{"data": []any{lead("111", "Smith")}})
		case r.Method == "GET" && p == "/crm/v6/Leads/search":
			if q.Get("criteria") == "(Last_Name:equals:Nobody)" {
				w.WriteHeader(204)
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{"data": []any{lead("111", "Smith")}, "info": map[string]any{"per_page": 200, "count": 1, "page": 1, "more_records": false}})
		case (r.Method == "POST" && p == "/crm/v6/Leads") || (r.Method == "PUT" && p == "/crm/v6/Leads/111"):
			var in struct {
				Data []map[string]any `json:"data"`
			}
			_ = json.Unmarshal(body, &in)
			if r.Method == "POST" && in.Data[0]["Last_Name"] == nil {
				providertest.WriteJSON(w, 400, map[string]any{"data": []any{map[string]any{"code": "MANDATORY_NOT_FOUND", "details": map[string]any{"api_name": "Last_Name", "json_path": "$.data[0].Last_Name"},
					"message": "required field not found", "status": "error"}}})
				return
			}
			code, msg, status := "SUCCESS", "record added", 201
			if r.Method == "PUT" {
				msg, status = "record updated", 200
			}
			providertest.WriteJSON(w, status, map[string]any{"data": []any{map[string]any{"code": code, "details": map[string]any{"id": "111",
				"Modified_Time": "2024-05-01T10:00:00+05:30", "Created_Time": "2024-05-01T10:00:00+05:30"}, "message": msg, "status": "success"}}})
		default:
			zohoError(w, 400, "INVALID_MODULE", "the module name given seems to be invalid", nil)
		}
	}, providertest.RecordBody(providertest.CanonicalBody))
}

// suite runs each case in-process and over gRPC against a fresh fake,
// with the golden files in the provider's testdata/.
var suite = providertest.Suite{
	New:  func() provider.Provider { return zohocrm.New() },
	Fake: newFake,
	Dir:  "../testdata",
	GRPC: true,
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, TokenType: "Bearer"}
	providertest.RunCases(t, suite, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "expired"}, Failed: true},
		{Name: "list_leads_page1", Action: "list_records", Input: `{"module":"Leads","fields":["Last_Name","Email"],"per_page":2}`, Creds: creds},
		{Name: "list_leads_page2", Action: "list_records", Input: `{"module":"Leads","fields":["Last_Name","Email"],"per_page":2,"page_token":"c8582xx9e7c"}`, Creds: creds},
		{Name: "list_unknown_module", Action: "list_records", Input: `{"module":"Nope","fields":["id"]}`, Creds: creds, Failed: true},
		{Name: "get_record", Action: "get_record", Input: `{"module":"Leads","id":"111"}`, Creds: creds},
		{Name: "create_record", Action: "create_record", Input: `{"module":"Leads","fields":{"Last_Name":"Daly","Company":"Zylker"},"trigger":["workflow"]}`, Creds: creds},
		{Name: "create_record_missing_field", Action: "create_record", Input: `{"module":"Leads","fields":{"Company":"Zylker"}}`, Creds: creds, Failed: true},
		{Name: "update_record", Action: "update_record", Input: `{"module":"Leads","id":"111","fields":{"Lead_Status":"Contacted"}}`, Creds: creds},
		{Name: "search_records", Action: "search_records", Input: `{"module":"Leads","criteria":"(Last_Name:equals:Smith)"}`, Creds: creds},
		{Name: "search_records_none", Action: "search_records", Input: `{"module":"Leads","criteria":"(Last_Name:equals:Nobody)"}`, Creds: creds},
	})
}

func TestMandatoryFieldDiagnostic(t *testing.T) {
	fake := newFake(t)
	resp := providertest.Run(t, zohocrm.New(), "create_record", `{"module":"Leads","fields":{"Company":"x"}}`,
		provider.Credentials{Type: "oauth2", AccessToken: token}, providertest.BaseURL(fake.URL))
	if d := resp.Diagnostics[0]; d.Field != "fields.Last_Name" || d.Status != 400 || d.Summary != "required field not found" {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestAPIBase(t *testing.T) {
	cases := []struct {
		creds provider.Credentials
		want  string
		ok    bool
	}{
		{provider.Credentials{Metadata: map[string]string{"api_domain": "https://www.zohoapis.eu"}}, "https://www.zohoapis.eu", true},
		{provider.Credentials{Params: map[string]string{"extension": "com.au"}}, "https://www.zohoapis.com.au", true},
		{provider.Credentials{}, "https://www.zohoapis.com", true},
		{provider.Credentials{Metadata: map[string]string{"api_domain": "https://evil.example"}}, "", false},
		{provider.Credentials{Params: map[string]string{"extension": "evil.example/"}}, "", false},
	}
	for _, tc := range cases {
		got, err := zohocrm.APIBase(tc.creds)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("APIBase(%+v) = %q, %v", tc.creds, got, err)
		}
	}
}

func TestManifest(t *testing.T) {
	m := zohocrm.New().Manifest()
	if m.ID != "zoho-crm" || m.Version != "1.0.0" || len(m.Actions) < 5 {
		t.Fatalf("manifest %+v", m)
	}
	providertest.ClosedInputs(t, m, "test_connection")
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", m)
}
