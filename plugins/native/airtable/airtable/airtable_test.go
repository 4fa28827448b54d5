package airtable_test

import (
	"testing"

	"github.com/atomhq/atom/plugins/native/airtable/airtable"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	pat := provider.Credentials{Type: "api_key", APIKey: "patValid.0123"}
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "oaaValid", TokenType: "Bearer"}
	cases := []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: oauth},
		{Name: "test_connection_pat", Action: "test_connection", Input: `{}`, Creds: pat},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "api_key", APIKey: "patRevoked"}, Failed: true},
		{Name: "list_bases_page1", Action: "list_bases", Input: `{}`, Creds: pat},
		{Name: "list_bases_page2", Action: "list_bases", Input: `{"offset":"itrBases/2"}`, Creds: pat},
		{Name: "get_base_schema", Action: "get_base_schema", Input: `{"base_id":"appSales123"}`, Creds: pat},
		{Name: "list_records_page1", Action: "list_records", Input: `{"base_id":"appSales123","table":"Leads","page_size":2,"view":"Grid view","filter_by_formula":"{Status}='Open'","fields":["Name","Status"],"sort":[{"field":"Name","direction":"desc"}]}`, Creds: pat},
		{Name: "list_records_page2", Action: "list_records", Input: `{"base_id":"appSales123","table":"Leads","page_size":2,"offset":"itrLeads/rec003"}`, Creds: pat},
		{Name: "list_records_unknown_table", Action: "list_records", Input: `{"base_id":"appSales123","table":"Deals"}`, Creds: pat, Failed: true},
		{Name: "list_records_unknown_base", Action: "list_records", Input: `{"base_id":"appNope","table":"Leads"}`, Creds: pat, Failed: true},
		{Name: "get_record", Action: "get_record", Input: `{"base_id":"appSales123","table":"tblLeads","record_id":"rec002"}`, Creds: oauth},
		{Name: "get_record_missing", Action: "get_record", Input: `{"base_id":"appSales123","table":"tblLeads","record_id":"rec999"}`, Creds: oauth, Failed: true},
		{Name: "create_records", Action: "create_records", Input: `{"base_id":"appSales123","table":"Leads","records":[{"Name":"Lead 4"},{"Name":"Lead 5","Status":"Won"}],"typecast":true}`, Creds: pat},
		{Name: "create_records_unknown_field", Action: "create_records", Input: `{"base_id":"appSales123","table":"Leads","records":[{"Nmae":"typo"}]}`, Creds: pat, Failed: true},
		{Name: "update_record", Action: "update_record", Input: `{"base_id":"appSales123","table":"Leads","record_id":"rec001","fields":{"Status":"Won"}}`, Creds: pat},
		{Name: "delete_record", Action: "delete_record", Input: `{"base_id":"appSales123","table":"Leads","record_id":"rec003"}`, Creds: pat},
	}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return airtable.New() },
		Fake: func(t testing.TB) *providertest.Recorder { return newFakeAirtable(t).Recorder },
		Dir:  "../testdata",
		GRPC: true,
	}, cases)
}

func TestErrorTypeInDiagnostic(t *testing.T) {
	fake := newFakeAirtable(t)
	resp := providertest.Run(t, airtable.New(), "create_records", `{"base_id":"appSales123","table":"Leads","records":[{"Nmae":"x"}]}`,
		provider.Credentials{Type: "api_key", APIKey: "patValid.0123"}, providertest.BaseURL(fake.URL))
	d := resp.Diagnostics[0]
	if d.Status != 422 || d.Summary != `Unknown field name: "Nmae"` || d.Detail != "POST /v0/appSales123/Leads returned HTTP 422; type UNKNOWN_FIELD_NAME" {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", airtable.New().Manifest())
}
