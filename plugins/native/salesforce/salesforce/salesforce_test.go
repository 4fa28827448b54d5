package salesforce_test

import (
	"testing"

	"github.com/atomhq/atom/plugins/native/salesforce/salesforce"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

// suite runs each case in-process and over gRPC against a fresh fake,
// with the golden files in the provider's testdata/.
var suite = providertest.Suite{
	New:  func() provider.Provider { return salesforce.New() },
	Fake: newFake,
	Dir:  "../testdata",
	GRPC: true,
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, TokenType: "Bearer"}
	providertest.RunCases(t, suite, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_expired", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "expired"}, Failed: true},
		{Name: "run_query_page1", Action: "run_query", Input: `{"query":"SELECT Id, Name FROM Contact","batch_size":200}`, Creds: creds},
		{Name: "run_query_page2", Action: "run_query", Input: `{"cursor":"/services/data/v61.0/query/01gFAKE0000001-2"}`, Creds: creds},
		{Name: "run_query_all_empty", Action: "run_query", Input: `{"query":"SELECT Id FROM Account WHERE IsDeleted = true","include_deleted":true}`, Creds: creds},
		{Name: "run_query_bad_type", Action: "run_query", Input: `{"query":"SELECT Id FROM Nope"}`, Creds: creds, Failed: true},
		{Name: "run_query_foreign_cursor", Action: "run_query", Input: `{"cursor":"https://evil.example/steal"}`, Creds: creds, Failed: true},
		{Name: "get_record", Action: "get_record", Input: `{"sobject":"Account","id":"001000000000001AAA","fields":["Name","Industry"]}`, Creds: creds},
		{Name: "get_record_bad_name", Action: "get_record", Input: `{"sobject":"../limits","id":"001000000000001AAA"}`, Creds: creds, Failed: true},
		{Name: "create_record", Action: "create_record", Input: `{"sobject":"Account","fields":{"Name":"Globex","NumberOfEmployees":42}}`, Creds: creds},
		{Name: "create_record_missing_field", Action: "create_record", Input: `{"sobject":"Account","fields":{"Industry":"Energy"}}`, Creds: creds, Failed: true},
		{Name: "update_record", Action: "update_record", Input: `{"sobject":"Account","id":"001000000000001AAA","fields":{"Industry":"Energy"}}`, Creds: creds},
		{Name: "delete_record", Action: "delete_record", Input: `{"sobject":"Account","id":"001000000000001AAA"}`, Creds: creds},
		{Name: "delete_record_missing", Action: "delete_record", Input: `{"sobject":"Account","id":"001000000000404AAA"}`, Creds: creds, Failed: true},
		{Name: "describe_sobject", Action: "describe_sobject", Input: `{"sobject":"Account"}`, Creds: creds},
	})
}

// Without a base URL from the host, the org's instance_url from the token
// response is the API host.
func TestInstanceURLFromMetadata(t *testing.T) {
	fake := newFake(t)
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, Metadata: map[string]string{"instance_url": fake.URL + "/"}}
	var out map[string]any
	providertest.Output(t, providertest.Run(t, salesforce.New(), "test_connection", nil, creds), &out)
	if out["instance_url"] != fake.URL || out["api_usage"] != "25/15000" {
		t.Fatalf("out %v", out)
	}
	resp := providertest.Run(t, salesforce.New(), "test_connection", nil, provider.Credentials{Type: "oauth2", AccessToken: token})
	if !resp.Failed() || string(fake.Take()) != "GET /services/data/v61.0/\nheader Authorization: Bearer "+token+"\n" {
		t.Fatalf("without instance_url: %+v", resp)
	}
}

func TestErrorDiagnostic(t *testing.T) {
	fake := newFake(t)
	resp := providertest.Run(t, salesforce.New(), "create_record", `{"sobject":"Account","fields":{"Industry":"x"}}`,
		provider.Credentials{Type: "oauth2", AccessToken: token}, providertest.BaseURL(fake.URL))
	d := resp.Diagnostics[0]
	if d.Field != "Name" || d.Status != 400 || d.Summary != "Required fields are missing: [Name]" {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestRefreshAfterExpiredSession(t *testing.T) {
	fake := newFake(t)
	host := providertest.NewHost()
	host.RefreshCredentials = provider.Credentials{Type: "oauth2", AccessToken: token}
	resp := providertest.Run(t, salesforce.New(), "test_connection", nil, provider.Credentials{Type: "oauth2", AccessToken: "expired"},
		providertest.BaseURL(fake.URL), providertest.WithHost(host), providertest.OverGRPC())
	if resp.Failed() || host.Refreshes() != 1 {
		t.Fatalf("resp %+v refreshes %d", resp, host.Refreshes())
	}
}

func TestManifest(t *testing.T) {
	m := salesforce.New().Manifest()
	providertest.ClosedInputs(t, m, "test_connection")
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", m)
}
