package xero_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/atomhq/atom/plugins/native/xero/xero"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const (
	token  = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjFDQUY4RTY2NzcyRDZEQzAyOEQ2NzI2RkQwMjYxNTgxNTcwRUZDMTkifQ.fake"
	tenant = "70784a63-d24b-46a9-a4db-0e70a274b056"
)

// newFake behaves like api.xero.com: /connections lists the token's
// tenants, Accounting calls need Xero-tenant-id (403 problem+json
// otherwise), pages of pageSize over three contacts, PUT creation with
// ValidationException bodies.
func newFake(t testing.TB) *providertest.Recorder {
	return providertest.NewRecorder(t, []string{"Authorization", "Xero-tenant-id", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			providertest.WriteJSON(w, 401, map[string]any{"Type": nil, "Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired: token expired at 05/01/2024 10:00:00", "Instance": "b2a8e5f4"})
			return
		}
		p, q := r.URL.Path, r.URL.Query()
		if p == "/connections" {
			providertest.WriteJSON(w, 200, []any{
				map[string]any{"id": "e1eede29-f875-4a5d-8470-17f6a29a88b1", "authEventId": "d99ecdfe-391d-43d2-b834-17636ba90e8d", "tenantId": "0000aaaa-0000-0000-0000-000000000000", "tenantType": "PRACTICEMANAGER", "tenantName": "Practice"},
				map[string]any{"id": "32587c85-a9b3-4306-ac30-b416e8f2c841", "authEventId": "d99ecdfe-391d-43d2-b834-17636ba90e8d", "tenantId": tenant, "tenantType": "ORGANISATION", "tenantName": "Demo Company (AU)"},
			})
			return
		}
		if r.Header.Get("Xero-tenant-id") != tenant {
			providertest.WriteJSON(w, 403, map[string]any{"Type": nil, "Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful", "Instance": "c3d1a2b0"})
			return
		}
		switch {
		case r.Method == "GET" && p == "/api.xro/2.0/Organisation":
			providertest.WriteJSON(w, 200, map[string]any{"Id": "1", "Status": "OK", "Organisations": []any{map[string]any{"Name": "Demo Company (AU)", "CountryCode": "AU", "BaseCurrency": "AUD"}}})
		case r.Method == "GET" && p == "/api.xro/2.0/Contacts":
			pg, _ := strconv.Atoi(q.Get("page"))
			size, _ := strconv.Atoi(q.Get("pageSize"))
			var list []any
			for i := (pg-1)*size + 1; i <= 3 && len(list) < size; i++ {
				list = append(list, map[string]any{"ContactID": fmt.Sprintf("00000000-0000-0000-0000-00000000000%d", i), "Name": fmt.Sprintf("Contact %d", i), "ContactStatus": "ACTIVE"})
			}
			providertest.WriteJSON(w, 200, map[string]any{"Id": "2", "Status": "OK", "Contacts": list, "pagination": map[string]int{"page": pg, "pageSize": size, "pageCount": 2, "itemCount": 3}})
		case r.Method == "GET" && p == "/api.xro/2.0/Invoices":
			providertest.WriteJSON(w, 200, map[string]any{"Id": "3", "Status": "OK", "Invoices": []any{map[string]any{"InvoiceID": "243216c5-369e-4056-ac67-05388f86dc81", "Type": "ACCREC", "Status": "AUTHORISED", "Total": 50.0}}})
		case r.Method == "PUT" && p == "/api.xro/2.0/Contacts":
			var in struct{ Contacts []map[string]string }
			_ = json.Unmarshal(body, &in)
			if in.Contacts[0]["EmailAddress"] == "bad" {
				providertest.WriteJSON(w, 400, map[string]any{"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
					"Elements": []any{map[string]any{"Name": in.Contacts[0]["Name"], "ValidationErrors": []any{map[string]string{"Message": "Email address must be valid."}}}}})
				return
			}
			c := map[string]any{"ContactID": "bd2270c3-8706-4c11-9cfb-000b551c3f51", "Name": in.Contacts[0]["Name"], "EmailAddress": in.Contacts[0]["EmailAddress"], "ContactStatus": "ACTIVE"}
			providertest.WriteJSON(w, 200, map[string]any{"Id": "4", "Status": "OK", "Contacts": []any{c}})
		case r.Method == "PUT" && p == "/api.xro/2.0/Invoices":
			var in struct{ Invoices []map[string]any }
			_ = json.Unmarshal(body, &in)
			inv := in.Invoices[0]
			inv["InvoiceID"], inv["InvoiceNumber"], inv["Total"] = "fee88eea-f2aa-4a71-a372-33d6d83d3c45", "INV-0027", 40.0
			providertest.WriteJSON(w, 200, map[string]any{"Id": "5", "Status": "OK", "Invoices": []any{inv}})
		default:
			providertest.WriteJSON(w, 404, map[string]any{"Title": "Not Found", "Status": 404, "Detail": "The resource you're looking for cannot be found"})
		}
	}, providertest.RecordBody(providertest.CanonicalBody))
}

// suite runs each case in-process and over gRPC against a fresh fake,
// with the golden files in the provider's testdata/.
var suite = providertest.Suite{
	New:  func() provider.Provider { return xero.New() },
	Fake: newFake,
	Dir:  "../testdata",
	GRPC: true,
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token}
	pinned := provider.Credentials{Type: "oauth2", AccessToken: token, Params: map[string]string{"tenant_id": tenant}}
	providertest.RunCases(t, suite, []providertest.Case{
		{Name: "test_connection_looks_up_tenant", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_expired", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "old"}, Failed: true},
		{Name: "test_connection_wrong_tenant", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: token, Params: map[string]string{"tenant_id": "11111111-2222-3333-4444-555555555555"}}, Failed: true},
		{Name: "list_contacts_page1", Action: "list_contacts", Input: `{"page_size":2,"where":"ContactStatus==\"ACTIVE\""}`, Creds: pinned},
		{Name: "list_contacts_page2", Action: "list_contacts", Input: `{"page_size":2,"page":2,"where":"ContactStatus==\"ACTIVE\""}`, Creds: pinned},
		{Name: "create_contact", Action: "create_contact", Input: `{"name":"ABC Limited","email":"a@abc.example"}`, Creds: pinned},
		{Name: "create_contact_invalid", Action: "create_contact", Input: `{"name":"Bad Email Ltd","email":"bad"}`, Creds: pinned, Failed: true},
		{Name: "list_invoices", Action: "list_invoices", Input: `{"statuses":["AUTHORISED","PAID"]}`, Creds: pinned},
		{Name: "create_invoice", Action: "create_invoice", Input: `{"type":"ACCREC","contact_id":"bd2270c3-8706-4c11-9cfb-000b551c3f51","due_date":"2024-06-01","status":"DRAFT","line_items":[{"description":"Consulting","quantity":4,"unit_amount":10,"account_code":"200"}]}`, Creds: pinned},
	})
}

// The tenant is looked up once and kept in the host store; a 403 for a
// stale cached tenant forgets it.
func TestTenantCachedInStore(t *testing.T) {
	fake := newFake(t)
	host := providertest.NewHost()
	creds := provider.Credentials{Type: "oauth2", AccessToken: token}
	for i := 0; i < 2; i++ {
		resp := providertest.Run(t, xero.New(), "test_connection", nil, creds, providertest.BaseURL(fake.URL), providertest.WithHost(host), providertest.OverGRPC())
		if resp.Failed() {
			t.Fatal(resp.Diagnostics)
		}
	}
	if got := string(fake.Take()); countPrefix(got, "GET /connections") != 1 {
		t.Fatalf("connections looked up more than once:\n%s", got)
	}
	_ = host.StorePut(t.Context(), "xero_tenant_id", []byte("11111111-2222-3333-4444-555555555555"))
	if resp := providertest.Run(t, xero.New(), "test_connection", nil, creds, providertest.BaseURL(fake.URL), providertest.WithHost(host)); !resp.Failed() {
		t.Fatal("stale tenant accepted")
	}
	if v, _, _ := host.StoreGet(t.Context(), "xero_tenant_id"); len(v) != 0 {
		t.Fatalf("stale tenant kept: %q", v)
	}
	if resp := providertest.Run(t, xero.New(), "test_connection", nil, creds, providertest.BaseURL(fake.URL), providertest.WithHost(host)); resp.Failed() {
		t.Fatal(resp.Diagnostics)
	}
}

func countPrefix(log, prefix string) int {
	n := 0
	for _, block := range splitBlocks(log) {
		if len(block) >= len(prefix) && block[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

func splitBlocks(log string) []string {
	var out []string
	start := 0
	for i := 0; i+1 < len(log); i++ {
		if log[i] == '\n' && log[i+1] == '\n' {
			out = append(out, log[start:i])
			start = i + 2
		}
	}
	return append(out, log[start:])
}

func TestManifest(t *testing.T) {
	m := xero.New().Manifest()
	if m.ID != "xero" || m.Version != "1.0.0" || len(m.Actions) < 5 {
		t.Fatalf("manifest %+v", m)
	}
	providertest.ClosedInputs(t, m, "test_connection")
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", m)
}
