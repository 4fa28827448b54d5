package airtable_test

import (
	"encoding/json"
	"testing"

	"github.com/atomhq/atom/plugins/native/airtable/airtable"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	pat := provider.Credentials{Type: "api_key", APIKey: "patValid.0123"}
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "oaaValid", TokenType: "Bearer"}
	cases := []struct {
		name, action, input string
		creds               provider.Credentials
		failed              bool
	}{
		{"test_connection", "test_connection", `{}`, oauth, false},
		{"test_connection_pat", "test_connection", `{}`, pat, false},
		{"test_connection_bad_token", "test_connection", `{}`, provider.Credentials{Type: "api_key", APIKey: "patRevoked"}, true},
		{"list_bases_page1", "list_bases", `{}`, pat, false},
		{"list_bases_page2", "list_bases", `{"offset":"itrBases/2"}`, pat, false},
		{"get_base_schema", "get_base_schema", `{"base_id":"appSales123"}`, pat, false},
		{"list_records_page1", "list_records", `{"base_id":"appSales123","table":"Leads","page_size":2,"view":"Grid view","filter_by_formula":"{Status}='Open'","fields":["Name","Status"],"sort":[{"field":"Name","direction":"desc"}]}`, pat, false},
		{"list_records_page2", "list_records", `{"base_id":"appSales123","table":"Leads","page_size":2,"offset":"itrLeads/rec003"}`, pat, false},
		{"list_records_unknown_table", "list_records", `{"base_id":"appSales123","table":"Deals"}`, pat, true},
		{"list_records_unknown_base", "list_records", `{"base_id":"appNope","table":"Leads"}`, pat, true},
		{"get_record", "get_record", `{"base_id":"appSales123","table":"tblLeads","record_id":"rec002"}`, oauth, false},
		{"get_record_missing", "get_record", `{"base_id":"appSales123","table":"tblLeads","record_id":"rec999"}`, oauth, true},
		{"create_records", "create_records", `{"base_id":"appSales123","table":"Leads","records":[{"Name":"Lead 4"},{"Name":"Lead 5","Status":"Won"}],"typecast":true}`, pat, false},
		{"create_records_unknown_field", "create_records", `{"base_id":"appSales123","table":"Leads","records":[{"Nmae":"typo"}]}`, pat, true},
		{"update_record", "update_record", `{"base_id":"appSales123","table":"Leads","record_id":"rec001","fields":{"Status":"Won"}}`, pat, false},
		{"delete_record", "delete_record", `{"base_id":"appSales123","table":"Leads","record_id":"rec003"}`, pat, false},
	}
	for _, transport := range []string{"direct", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			var via []providertest.Option
			if transport == "grpc" {
				via = append(via, providertest.Using(providertest.Serve(t, airtable.New())))
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fake := newFakeAirtable(t)
					opts := append([]providertest.Option{providertest.BaseURL(fake.URL)}, via...)
					resp := providertest.Run(t, airtable.New(), tc.action, tc.input, tc.creds, opts...)
					if resp.Failed() != tc.failed {
						t.Fatalf("failed = %v, want %v: %+v", resp.Failed(), tc.failed, resp.Diagnostics)
					}
					golden(t, tc.name+".request.golden", []byte(fake.take()))
					golden(t, tc.name+".response.golden", pretty(t, resp))
				})
			}
		})
	}
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
	b, err := json.MarshalIndent(airtable.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}
