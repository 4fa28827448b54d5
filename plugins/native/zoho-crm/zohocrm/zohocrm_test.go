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
	writeJSON(w, status, map[string]any{"code": code, "details": details, "message": msg, "status": "error"})
}

func lead(id, name string) map[string]any {
	return map[string]any{"id": id, "Last_Name": name, "Email": name + "@example.com"}
}

// newFake behaves like www.zohoapis.{dc}/crm/v6: the Zoho-oauthtoken
// scheme only, page_token paging, 204 for empty results, per-record
// status in data[] and Zoho's error bodies.
func newFake(t *testing.T) *fakeAPI {
	return newFakeAPI(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Zoho-oauthtoken "+token {
			zohoError(w, 401, "INVALID_TOKEN", "invalid oauth token", nil)
			return
		}
		p, q := r.URL.Path, r.URL.Query()
		switch {
		case r.Method == "GET" && p == "/crm/v6/org":
			writeJSON(w, 200, map[string]any{"org": []any{map[string]any{"id": "4150868000000225013", "company_name": "Zylker", "domain_name": "org671823930", "iso_code": "USD", "time_zone": "PST"}}})
		case r.Method == "GET" && p == "/crm/v6/Leads":
			if q.Get("fields") == "" {
				zohoError(w, 400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", map[string]any{"param_name": "fields"})
				return
			}
			if q.Get("page_token") == "" {
				writeJSON(w, 200, map[string]any{"data": []any{lead("111", "Smith"), lead("112", "Jones")},
					"info": map[string]any{"per_page": 2, "count": 2, "page": 1, "more_records": true, "next_page_token": "c8582xx9e7c", "page_token_expiry": "2024-05-02T10:00:00+05:30"}})
				return
			}
			writeJSON(w, 200, map[string]any{"data": []any{lead("113", "Brown")},
				"info": map[string]any{"per_page": 2, "count": 1, "page": 2, "more_records": false, "next_page_token": nil}})
		case r.Method == "GET" && p == "/crm/v6/Leads/111":
			writeJSON(w, 200, map[string]any{"data": []any{lead("111", "Smith")}})
		case r.Method == "GET" && p == "/crm/v6/Leads/search":
			if q.Get("criteria") == "(Last_Name:equals:Nobody)" {
				w.WriteHeader(204)
				return
			}
			writeJSON(w, 200, map[string]any{"data": []any{lead("111", "Smith")}, "info": map[string]any{"per_page": 200, "count": 1, "page": 1, "more_records": false}})
		case (r.Method == "POST" && p == "/crm/v6/Leads") || (r.Method == "PUT" && p == "/crm/v6/Leads/111"):
			var in struct {
				Data []map[string]any `json:"data"`
			}
			_ = json.Unmarshal(body, &in)
			if r.Method == "POST" && in.Data[0]["Last_Name"] == nil {
				writeJSON(w, 400, map[string]any{"data": []any{map[string]any{"code": "MANDATORY_NOT_FOUND", "details": map[string]any{"api_name": "Last_Name", "json_path": "$.data[0].Last_Name"},
					"message": "required field not found", "status": "error"}}})
				return
			}
			code, msg, status := "SUCCESS", "record added", 201
			if r.Method == "PUT" {
				msg, status = "record updated", 200
			}
			writeJSON(w, status, map[string]any{"data": []any{map[string]any{"code": code, "details": map[string]any{"id": "111",
				"Modified_Time": "2024-05-01T10:00:00+05:30", "Created_Time": "2024-05-01T10:00:00+05:30"}, "message": msg, "status": "success"}}})
		default:
			zohoError(w, 400, "INVALID_MODULE", "the module name given seems to be invalid", nil)
		}
	})
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, TokenType: "Bearer"}
	runCases(t, newFake, []testCase{
		{name: "test_connection", action: "test_connection", input: `{}`, creds: creds},
		{name: "test_connection_bad_token", action: "test_connection", input: `{}`, creds: provider.Credentials{Type: "oauth2", AccessToken: "expired"}, failed: true},
		{name: "list_leads_page1", action: "list_records", input: `{"module":"Leads","fields":["Last_Name","Email"],"per_page":2}`, creds: creds},
		{name: "list_leads_page2", action: "list_records", input: `{"module":"Leads","fields":["Last_Name","Email"],"per_page":2,"page_token":"c8582xx9e7c"}`, creds: creds},
		{name: "list_unknown_module", action: "list_records", input: `{"module":"Nope","fields":["id"]}`, creds: creds, failed: true},
		{name: "get_record", action: "get_record", input: `{"module":"Leads","id":"111"}`, creds: creds},
		{name: "create_record", action: "create_record", input: `{"module":"Leads","fields":{"Last_Name":"Daly","Company":"Zylker"},"trigger":["workflow"]}`, creds: creds},
		{name: "create_record_missing_field", action: "create_record", input: `{"module":"Leads","fields":{"Company":"Zylker"}}`, creds: creds, failed: true},
		{name: "update_record", action: "update_record", input: `{"module":"Leads","id":"111","fields":{"Lead_Status":"Contacted"}}`, creds: creds},
		{name: "search_records", action: "search_records", input: `{"module":"Leads","criteria":"(Last_Name:equals:Smith)"}`, creds: creds},
		{name: "search_records_none", action: "search_records", input: `{"module":"Leads","criteria":"(Last_Name:equals:Nobody)"}`, creds: creds},
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
