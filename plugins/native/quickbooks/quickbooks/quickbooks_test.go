package quickbooks_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/quickbooks/quickbooks"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const (
	token = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..fake"
	realm = "9130357992221046"
)

func fault(w http.ResponseWriter, status int, typ, code, msg, detail, element string) {
	providertest.WriteJSON(w, status, map[string]any{"Fault": map[string]any{"Error": []any{map[string]string{
		"Message": msg, "Detail": detail, "code": code, "element": element}}, "type": typ}, "time": "2024-05-01T10:00:00.000-07:00"})
}

func customer(id int) map[string]any {
	return map[string]any{"Id": fmt.Sprint(id), "DisplayName": fmt.Sprintf("Customer %d", id), "Active": true, "SyncToken": "0"}
}

// newFake behaves like quickbooks.api.intuit.com/v3/company/{realmId}:
// Bearer auth (401 with the lower-cased fault), minorversion, the query
// language with STARTPOSITION/MAXRESULTS over three customers, and
// ValidationFault bodies.
func newFake(t testing.TB) *providertest.Recorder {
	return providertest.NewRecorder(t, []string{"Authorization", "Accept", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			providertest.WriteJSON(w, 401, map[string]any{"fault": map[string]any{"error": []any{map[string]string{
				"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401", "detail": "Token expired: " + "eyJ...", "code": "3200"}}, "type": "AUTHENTICATION"}, "time": "2024-05-01T10:00:00.000-07:00"})
			return
		}
		base := "/v3/company/" + realm
		p, q := r.URL.Path, r.URL.Query()
		if !strings.HasPrefix(p, base+"/") {
			fault(w, 403, "AuthorizationFault", "100", "General Authorization Error", "Application authentication failed", "")
			return
		}
		switch {
		case r.Method == "GET" && p == base+"/companyinfo/"+realm:
			providertest.WriteJSON(w, 200, map[string]any{"CompanyInfo": map[string]any{"CompanyName": "Sandbox Company_US_1", "Country": "US", "Id": "1"}, "time": "2024-05-01T10:00:00.000-07:00"})
		case r.Method == "GET" && p == base+"/query":
			sql := q.Get("query")
			var start, max int
			if _, err := fmt.Sscanf(sql[strings.Index(sql, "STARTPOSITION"):], "STARTPOSITION %d MAXRESULTS %d", &start, &max); err != nil || !strings.HasPrefix(sql, "select * from Customer") {
				fault(w, 400, "ValidationFault", "4000", "Error parsing query", "QueryParserError: Encountered \" <IDENTIFIER> \"Nope\"", "")
				return
			}
			var list []any
			for i := start; i <= 3 && len(list) < max; i++ {
				list = append(list, customer(i))
			}
			qr := map[string]any{"startPosition": start, "maxResults": len(list)}
			if len(list) > 0 {
				qr["Customer"] = list
			}
			providertest.WriteJSON(w, 200, map[string]any{"QueryResponse": qr, "time": "2024-05-01T10:00:00.000-07:00"})
		case r.Method == "GET" && p == base+"/customer/2":
			providertest.WriteJSON(w, 200, map[string]any{"Customer": customer(2), "time": "2024-05-01T10:00:00.000-07:00"})
		case r.Method == "POST" && p == base+"/customer":
			var in map[string]any
			_ = json.Unmarshal(body, &in)
			if in["DisplayName"] == "Customer 1" {
				fault(w, 400, "ValidationFault", "6240", "Duplicate Name Exists Error", "The name supplied already exists. : Another customer, vendor or employee is already using this name. Please use a different name.", "")
				return
			}
			out := customer(58)
			out["DisplayName"], out["PrimaryEmailAddr"] = in["DisplayName"], in["PrimaryEmailAddr"]
			providertest.WriteJSON(w, 200, map[string]any{"Customer": out, "time": "2024-05-01T10:00:00.000-07:00"})
		case r.Method == "POST" && p == base+"/invoice":
			var in map[string]any
			_ = json.Unmarshal(body, &in)
			providertest.WriteJSON(w, 200, map[string]any{"Invoice": map[string]any{"Id": "130", "DocNumber": "1037", "TotalAmt": 100.0, "CustomerRef": in["CustomerRef"], "Line": in["Line"]}})
		default:
			fault(w, 400, "ValidationFault", "610", "Object Not Found", "Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.", "")
		}
	}, providertest.RecordBody(providertest.CanonicalBody))
}

// suite runs each case in-process and over gRPC against a fresh fake,
// with the golden files in the provider's testdata/.
var suite = providertest.Suite{
	New:  func() provider.Provider { return quickbooks.New() },
	Fake: newFake,
	Dir:  "../testdata",
	GRPC: true,
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, Params: map[string]string{"realmId": realm}}
	providertest.RunCases(t, suite, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_realm_from_metadata", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: token, Metadata: map[string]string{"realmId": realm}}},
		{Name: "test_connection_no_realm", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: token}, Failed: true},
		{Name: "test_connection_expired", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "old", Params: map[string]string{"realmId": realm}}, Failed: true},
		{Name: "list_customers_page1", Action: "list_customers", Input: `{"max_results":2,"name_prefix":"Cust"}`, Creds: creds},
		{Name: "list_customers_page2", Action: "list_customers", Input: `{"max_results":2,"start_position":3,"name_prefix":"Cust"}`, Creds: creds},
		{Name: "get_customer", Action: "get_customer", Input: `{"id":"2"}`, Creds: creds},
		{Name: "get_customer_missing", Action: "get_customer", Input: `{"id":"999"}`, Creds: creds, Failed: true},
		{Name: "create_customer", Action: "create_customer", Input: `{"display_name":"King's Groceries","email":"jdrew@myemail.com"}`, Creds: creds},
		{Name: "create_customer_duplicate", Action: "create_customer", Input: `{"display_name":"Customer 1"}`, Creds: creds, Failed: true},
		{Name: "create_invoice", Action: "create_invoice", Input: `{"customer_id":"1","lines":[{"amount":100,"item_id":"1","description":"Services","quantity":2}]}`, Creds: creds},
		{Name: "query_bad", Action: "query", Input: `{"query":"select * from Nope"}`, Creds: creds, Failed: true},
	})
}

func TestDuplicateNameDiagnostic(t *testing.T) {
	fake := newFake(t)
	resp := providertest.Run(t, quickbooks.New(), "create_customer", `{"display_name":"Customer 1"}`,
		provider.Credentials{Type: "oauth2", AccessToken: token, Params: map[string]string{"realmId": realm}}, providertest.BaseURL(fake.URL))
	if d := resp.Diagnostics[0]; d.Status != 400 || !strings.HasPrefix(d.Summary, "Duplicate Name Exists Error: ") || !strings.Contains(d.Detail, "code 6240") {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	m := quickbooks.New().Manifest()
	if m.ID != "quickbooks" || m.Version != "1.0.0" || len(m.Actions) < 5 {
		t.Fatalf("manifest %+v", m)
	}
	providertest.ClosedInputs(t, m, "test_connection")
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", m)
}
