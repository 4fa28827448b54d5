package pipedrive_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/pipedrive/pipedrive"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const (
	token    = "v1u:AQIBAHj-fake-oauth-token"
	apiToken = "3f1c1b2d8e9a7f6b5c4d3e2f1a0b9c8d7e6f5a4b"
)

func pdError(w http.ResponseWriter, status int, msg string) {
	providertest.WriteJSON(w, status, map[string]any{"success": false, "error": msg, "error_info": "Please check developers.pipedrive.com for more information about Pipedrive API.", "data": nil, "additional_data": nil})
}

// newFake behaves like {company}.pipedrive.com/api/v1 (and
// api.pipedrive.com/v1): Bearer OAuth or x-api-token, start/limit paging
// over three persons, the search envelope and Pipedrive's error body.
func newFake(t testing.TB) *providertest.Recorder {
	return providertest.NewRecorder(t, []string{"Authorization", "x-api-token", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+token && r.Header.Get("x-api-token") != apiToken {
			pdError(w, 401, "unauthorized access")
			return
		}
		w.Header().Set("x-ratelimit-remaining", "79")
		p := strings.TrimPrefix(r.URL.Path, "/api")
		q := r.URL.Query()
		switch {
		case r.Method == "GET" && p == "/v1/users/me":
			providertest.WriteJSON(w, 200, map[string]any{"success": true, "data": map[string]any{"id": 123, "name": "Jane Admin", "email": "jane@acme.example", "company_id": 77, "company_domain": "acme"}})
		case r.Method == "GET" && p == "/v1/persons":
			start, _ := strconv.Atoi(q.Get("start"))
			limit, _ := strconv.Atoi(q.Get("limit"))
			var data []any
			for i := start + 1; i <= 3 && len(data) < limit; i++ {
				data = append(data, map[string]any{"id": i, "name": fmt.Sprintf("Person %d", i)})
			}
			more := start+len(data) < 3
			pg := map[string]any{"start": start, "limit": limit, "more_items_in_collection": more}
			if more {
				pg["next_start"] = start + len(data)
			}
			providertest.WriteJSON(w, 200, map[string]any{"success": true, "data": data, "additional_data": map[string]any{"pagination": pg}})
		case r.Method == "GET" && p == "/v1/persons/search":
			providertest.WriteJSON(w, 200, map[string]any{"success": true, "data": map[string]any{"items": []any{map[string]any{"result_score": 0.9, "item": map[string]any{"id": 2, "type": "person", "name": "Person 2", "emails": []string{"p2@example.com"}}}}},
				"additional_data": map[string]any{"pagination": map[string]any{"start": 0, "limit": 100, "more_items_in_collection": false}}})
		case r.Method == "POST" && p == "/v1/persons":
			var in map[string]any
			_ = json.Unmarshal(body, &in)
			in["id"] = 4
			providertest.WriteJSON(w, 201, map[string]any{"success": true, "data": in})
		case r.Method == "POST" && p == "/v1/deals":
			var in map[string]any
			_ = json.Unmarshal(body, &in)
			if in["currency"] == "ZZZ" {
				pdError(w, 400, "Invalid currency")
				return
			}
			in["id"] = 55
			providertest.WriteJSON(w, 201, map[string]any{"success": true, "data": in})
		case r.Method == "PUT" && p == "/v1/deals/55":
			var in map[string]any
			_ = json.Unmarshal(body, &in)
			in["id"] = 55
			providertest.WriteJSON(w, 200, map[string]any{"success": true, "data": in})
		default:
			pdError(w, 404, "Deal not found")
		}
	}, providertest.RecordBody(providertest.CanonicalBody))
}

// suite runs each case in-process and over gRPC against a fresh fake,
// with the golden files in the provider's testdata/.
var suite = providertest.Suite{
	New:  func() provider.Provider { return pipedrive.New() },
	Fake: newFake,
	Dir:  "../testdata",
	GRPC: true,
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token}
	providertest.RunCases(t, suite, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_api_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "api_key", APIKey: apiToken}},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "nope"}, Failed: true},
		{Name: "list_persons_page1", Action: "list_persons", Input: `{"limit":2}`, Creds: creds},
		{Name: "list_persons_page2", Action: "list_persons", Input: `{"limit":2,"start":2}`, Creds: creds},
		{Name: "search_persons", Action: "search_persons", Input: `{"term":"p2@example.com","fields":["email"],"exact_match":true}`, Creds: creds},
		{Name: "create_person", Action: "create_person", Input: `{"name":"New Person","email":"new@example.com","org_id":5}`, Creds: creds},
		{Name: "create_deal", Action: "create_deal", Input: `{"title":"Big deal","value":5000,"currency":"EUR","person_id":4}`, Creds: creds},
		{Name: "create_deal_bad_currency", Action: "create_deal", Input: `{"title":"Bad","currency":"ZZZ"}`, Creds: creds, Failed: true},
		{Name: "update_deal", Action: "update_deal", Input: `{"id":55,"status":"won"}`, Creds: creds},
		{Name: "update_deal_missing", Action: "update_deal", Input: `{"id":56,"status":"won"}`, Creds: creds, Failed: true},
	})
}

// OAuth connections call {api_domain}/api/v1/..., as the host resolves
// the catalog's base URL.
func TestCompanyDomainBase(t *testing.T) {
	fake := newFake(t)
	resp := providertest.Run(t, pipedrive.New(), "test_connection", nil, provider.Credentials{Type: "oauth2", AccessToken: token},
		providertest.BaseURL(fake.URL+"/api"))
	if resp.Failed() || !strings.HasPrefix(string(fake.Take()), "GET /api/v1/users/me\n") {
		t.Fatalf("resp %+v", resp)
	}
}

func TestManifest(t *testing.T) {
	m := pipedrive.New().Manifest()
	if m.ID != "pipedrive" || m.Version != "1.0.0" || len(m.Actions) < 5 {
		t.Fatalf("manifest %+v", m)
	}
	providertest.ClosedInputs(t, m, "test_connection")
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", m)
}
