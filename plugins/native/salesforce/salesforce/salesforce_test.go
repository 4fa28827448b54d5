package salesforce_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/atomhq/atom/plugins/native/salesforce/salesforce"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}

func pretty(t *testing.T, resp provider.Response) []byte {
	t.Helper()
	var v any
	if len(resp.Output) > 0 {
		if err := json.Unmarshal(resp.Output, &v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.MarshalIndent(map[string]any{"output": v, "diagnostics": resp.Diagnostics}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, TokenType: "Bearer"}
	cases := []struct {
		name, action, input string
		creds               provider.Credentials
		failed              bool
	}{
		{"test_connection", "test_connection", `{}`, creds, false},
		{"test_connection_expired", "test_connection", `{}`, provider.Credentials{Type: "oauth2", AccessToken: "expired"}, true},
		{"run_query_page1", "run_query", `{"query":"SELECT Id, Name FROM Contact","batch_size":200}`, creds, false},
		{"run_query_page2", "run_query", `{"cursor":"/services/data/v61.0/query/01gFAKE0000001-2"}`, creds, false},
		{"run_query_all_empty", "run_query", `{"query":"SELECT Id FROM Account WHERE IsDeleted = true","include_deleted":true}`, creds, false},
		{"run_query_bad_type", "run_query", `{"query":"SELECT Id FROM Nope"}`, creds, true},
		{"run_query_foreign_cursor", "run_query", `{"cursor":"https://evil.example/steal"}`, creds, true},
		{"get_record", "get_record", `{"sobject":"Account","id":"001000000000001AAA","fields":["Name","Industry"]}`, creds, false},
		{"get_record_bad_name", "get_record", `{"sobject":"../limits","id":"001000000000001AAA"}`, creds, true},
		{"create_record", "create_record", `{"sobject":"Account","fields":{"Name":"Globex","NumberOfEmployees":42}}`, creds, false},
		{"create_record_missing_field", "create_record", `{"sobject":"Account","fields":{"Industry":"Energy"}}`, creds, true},
		{"update_record", "update_record", `{"sobject":"Account","id":"001000000000001AAA","fields":{"Industry":"Energy"}}`, creds, false},
		{"delete_record", "delete_record", `{"sobject":"Account","id":"001000000000001AAA"}`, creds, false},
		{"delete_record_missing", "delete_record", `{"sobject":"Account","id":"001000000000404AAA"}`, creds, true},
		{"describe_sobject", "describe_sobject", `{"sobject":"Account"}`, creds, false},
	}
	for _, transport := range []string{"direct", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			var via []providertest.Option
			if transport == "grpc" {
				via = append(via, providertest.Using(providertest.Serve(t, salesforce.New())))
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fake := newFake(t)
					opts := append([]providertest.Option{providertest.BaseURL(fake.URL)}, via...)
					resp := providertest.Run(t, salesforce.New(), tc.action, tc.input, tc.creds, opts...)
					if resp.Failed() != tc.failed {
						t.Fatalf("failed = %v, want %v: %+v", resp.Failed(), tc.failed, resp.Diagnostics)
					}
					golden(t, tc.name+".request.golden", []byte(fake.takeRequests()))
					golden(t, tc.name+".response.golden", bytes.ReplaceAll(pretty(t, resp), []byte(fake.URL), []byte("{fake}")))
				})
			}
		})
	}
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
	if !resp.Failed() || fake.takeRequests() != "GET /services/data/v61.0/\nheader Authorization: Bearer "+token+"\n" {
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
	b, err := json.MarshalIndent(salesforce.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}
