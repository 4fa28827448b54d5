package hubspot_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/hubspot/hubspot"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const token = "CJSP5qf1LhICAQEYs-gDIIGOBii1hQIyGQ"

func hsError(w http.ResponseWriter, status int, category, msg string, errs ...map[string]any) {
	body := map[string]any{"status": "error", "message": msg, "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf", "category": category}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	providertest.WriteJSON(w, status, body)
}

func contact(i int) map[string]any {
	return map[string]any{"id": strconv.Itoa(i), "properties": map[string]string{
		"email": fmt.Sprintf("user%d@example.com", i), "firstname": fmt.Sprintf("User%d", i),
		"hs_object_id": strconv.Itoa(i)}, "createdAt": "2024-05-01T10:00:00Z", "updatedAt": "2024-05-02T10:00:00Z", "archived": false}
}

// newFake behaves like api.hubapi.com for the CRM v3 objects API: Bearer
// auth, after-cursor paging (3 contacts), search, create (409 on a taken
// email, 400 VALIDATION_ERROR with propertyName context), PATCH updates,
// 404 for unknown ids, rate-limit headers and a 429 for one token.
func newFake(t testing.TB) *providertest.Recorder {
	return providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch r.Header.Get("Authorization") {
		case "Bearer " + token:
		case "Bearer ratelimited":
			w.Header().Set("Retry-After", "10")
			hsError(w, 429, "RATE_LIMITS", "You have reached your secondly limit.")
			return
		default:
			hsError(w, 401, "INVALID_AUTHENTICATION", "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview")
			return
		}
		w.Header().Set("X-HubSpot-RateLimit-Max", "190")
		w.Header().Set("X-HubSpot-RateLimit-Remaining", "187")
		p, q := r.URL.Path, r.URL.Query()
		switch {
		case r.Method == "GET" && p == "/account-info/v3/details":
			providertest.WriteJSON(w, 200, map[string]any{"portalId": 62515, "accountType": "STANDARD", "timeZone": "US/Eastern",
				"companyCurrency": "USD", "additionalCurrencies": []string{}, "utcOffset": "-04:00", "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"})
		case r.Method == "GET" && p == "/crm/v3/objects/contacts":
			limit, _ := strconv.Atoi(q.Get("limit"))
			if limit == 0 {
				limit = 10
			}
			start := 1
			if a := q.Get("after"); a != "" {
				start, _ = strconv.Atoi(a)
			}
			var res []any
			for i := start; i <= 3 && len(res) < limit; i++ {
				res = append(res, contact(i))
			}
			out := map[string]any{"results": res}
			if next := start + len(res); next <= 3 {
				out["paging"] = map[string]any{"next": map[string]string{"after": strconv.Itoa(next),
					"link": "https://api.hubapi.com/crm/v3/objects/contacts?after=" + strconv.Itoa(next)}}
			}
			providertest.WriteJSON(w, 200, out)
		case r.Method == "GET" && p == "/crm/v3/objects/contacts/user2@example.com" && q.Get("idProperty") == "email":
			providertest.WriteJSON(w, 200, contact(2))
		case r.Method == "POST" && p == "/crm/v3/objects/contacts":
			var in struct {
				Properties map[string]string `json:"properties"`
			}
			_ = json.Unmarshal(body, &in)
			switch e := in.Properties["email"]; {
			case e == "user1@example.com":
				hsError(w, 409, "CONFLICT", "Contact already exists. Existing ID: 1")
			case !strings.Contains(e, "@"):
				hsError(w, 400, "VALIDATION_ERROR", "Property values were not valid: [{\"isValid\":false,\"message\":\"Email address "+e+" is invalid\",\"error\":\"INVALID_EMAIL\",\"name\":\"email\"}]",
					map[string]any{"message": "Email address " + e + " is invalid", "code": "INVALID_EMAIL", "context": map[string][]string{"propertyName": {"email"}}})
			default:
				c := contact(4)
				c["properties"] = in.Properties
				providertest.WriteJSON(w, 201, c)
			}
		case r.Method == "PATCH" && p == "/crm/v3/objects/deals/77":
			var in map[string]any
			_ = json.Unmarshal(body, &in)
			providertest.WriteJSON(w, 200, map[string]any{"id": "77", "properties": in["properties"], "updatedAt": "2024-05-03T10:00:00Z", "archived": false})
		case r.Method == "POST" && p == "/crm/v3/objects/companies/search":
			providertest.WriteJSON(w, 200, map[string]any{"total": 1, "results": []any{map[string]any{"id": "9", "properties": map[string]string{"name": "Acme", "domain": "acme.com"}}}})
		default:
			hsError(w, 404, "OBJECT_NOT_FOUND", "resource not found")
		}
	}, providertest.RecordBody(providertest.CanonicalBody))
}

// suite runs each case in-process and over gRPC against a fresh fake,
// with the golden files in the provider's testdata/.
var suite = providertest.Suite{
	New:  func() provider.Provider { return hubspot.New() },
	Fake: newFake,
	Dir:  "../testdata",
	GRPC: true,
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token}
	providertest.RunCases(t, suite, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_private_app", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "api_key", APIKey: token}},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "nope"}, Failed: true},
		{Name: "list_contacts_page1", Action: "list_records", Input: `{"object_type":"contacts","limit":2,"properties":["email","firstname"]}`, Creds: creds},
		{Name: "list_contacts_page2", Action: "list_records", Input: `{"object_type":"contacts","limit":2,"after":"3"}`, Creds: creds},
		{Name: "list_rate_limited", Action: "list_records", Input: `{"object_type":"contacts"}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "ratelimited"}, Failed: true},
		{Name: "get_contact_by_email", Action: "get_record", Input: `{"object_type":"contacts","id":"user2@example.com","id_property":"email"}`, Creds: creds},
		{Name: "get_contact_missing", Action: "get_record", Input: `{"object_type":"contacts","id":"404"}`, Creds: creds, Failed: true},
		{Name: "get_record_bad_id", Action: "get_record", Input: `{"object_type":"contacts","id":"../../account-info"}`, Creds: creds, Failed: true},
		{Name: "create_contact", Action: "create_record", Input: `{"object_type":"contacts","properties":{"email":"new@example.com","firstname":"New"}}`, Creds: creds},
		{Name: "create_contact_conflict", Action: "create_record", Input: `{"object_type":"contacts","properties":{"email":"user1@example.com"}}`, Creds: creds, Failed: true},
		{Name: "create_contact_invalid_email", Action: "create_record", Input: `{"object_type":"contacts","properties":{"email":"not-an-email"}}`, Creds: creds, Failed: true},
		{Name: "update_deal", Action: "update_record", Input: `{"object_type":"deals","id":"77","properties":{"dealstage":"closedwon","amount":"1500"}}`, Creds: creds},
		{Name: "search_companies", Action: "search_records", Input: `{"object_type":"companies","filters":[{"property":"domain","operator":"EQ","value":"acme.com"}],"properties":["name","domain"],"limit":5}`, Creds: creds},
		{Name: "search_companies_in_between", Action: "search_records", Input: searchInBetween, Creds: creds},
	})
}

const searchInBetween = `{"object_type":"companies","filters":[{"property":"domain","operator":"IN","values":["acme.com","example.com"]},{"property":"numberofemployees","operator":"BETWEEN","value":"10","high_value":"500"},{"property":"phone","operator":"HAS_PROPERTY"}]}`

// TestSearchFilterSchema: the input schema takes each operator's operands
// as HubSpot does (values for IN and NOT_IN, value and high_value for
// BETWEEN, none for HAS_PROPERTY) and refuses the others, as the host
// validates inputs.
func TestSearchFilterSchema(t *testing.T) {
	var raw json.RawMessage
	for _, a := range hubspot.New().Manifest().Actions {
		if a.Name == "search_records" {
			raw = a.Input
		}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("mem://search.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("mem://search.json")
	if err != nil {
		t.Fatal(err)
	}
	filter := func(f string) string { return `{"object_type":"contacts","filters":[` + f + `]}` }
	for in, ok := range map[string]bool{
		searchInBetween: true,
		filter(`{"property":"a","operator":"NOT_IN","values":["x"]}`):                               true,
		filter(`{"property":"a","operator":"EQ","value":"x"}`):                                      true,
		filter(`{"property":"a","operator":"NOT_HAS_PROPERTY"}`):                                    true,
		filter(`{"property":"a","operator":"IN","value":"x"}`):                                      false,
		filter(`{"property":"a","operator":"IN","values":[]}`):                                      false,
		filter(`{"property":"a","operator":"BETWEEN","value":"1"}`):                                 false,
		filter(`{"property":"a","operator":"BETWEEN","value":"1","high_value":"2","values":["3"]}`): false,
		filter(`{"property":"a","operator":"EQ"}`):                                                  false,
		filter(`{"property":"a","operator":"EQ","value":"x","high_value":"y"}`):                     false,
		filter(`{"property":"a","operator":"HAS_PROPERTY","value":"x"}`):                            false,
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); (err == nil) != ok {
			t.Errorf("%s: valid=%v, want %v (%v)", in, err == nil, ok, err)
		}
	}
}

func TestValidationErrorNamesProperty(t *testing.T) {
	fake := newFake(t)
	resp := providertest.Run(t, hubspot.New(), "create_record", `{"object_type":"contacts","properties":{"email":"x"}}`,
		provider.Credentials{Type: "oauth2", AccessToken: token}, providertest.BaseURL(fake.URL))
	d := resp.Diagnostics[0]
	if d.Field != "properties.email" || d.Status != 400 || !strings.Contains(d.Detail, "INVALID_EMAIL") {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestRefreshOn401(t *testing.T) {
	fake := newFake(t)
	host := providertest.NewHost()
	host.RefreshCredentials = provider.Credentials{Type: "oauth2", AccessToken: token}
	resp := providertest.Run(t, hubspot.New(), "test_connection", nil, provider.Credentials{Type: "oauth2", AccessToken: "expired"},
		providertest.BaseURL(fake.URL), providertest.WithHost(host), providertest.OverGRPC())
	if resp.Failed() || host.Refreshes() != 1 {
		t.Fatalf("resp %+v refreshes %d", resp, host.Refreshes())
	}
}

func TestManifest(t *testing.T) {
	m := hubspot.New().Manifest()
	if m.ID != "hubspot" || m.Version != "1.0.0" || len(m.Actions) < 5 {
		t.Fatalf("manifest %+v", m)
	}
	providertest.ClosedInputs(t, m, "test_connection")
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", m)
}
