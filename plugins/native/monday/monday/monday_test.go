package monday_test

import (
	"encoding/json"
	"testing"

	"github.com/atomhq/atom/plugins/native/monday/monday"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	pat := provider.Credentials{Type: "api_key", APIKey: "mon_pat_valid"}
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "mon_oauth_valid", TokenType: "Bearer"}
	cases := []struct {
		name, action, input string
		creds               provider.Credentials
		failed              bool
	}{
		{"test_connection", "test_connection", `{}`, pat, false},
		{"test_connection_oauth", "test_connection", `{}`, oauth, false},
		{"test_connection_bad_token", "test_connection", `{}`, provider.Credentials{Type: "api_key", APIKey: "mon_revoked"}, true},
		{"list_boards_page1", "list_boards", `{"limit":2}`, pat, false},
		{"list_boards_page2", "list_boards", `{"limit":2,"page":2}`, pat, false},
		{"list_items_page1", "list_items", `{"board_id":"1001","limit":2}`, pat, false},
		{"list_items_page2", "list_items", `{"board_id":"1001","limit":2,"cursor":"MSw5NzI4MDA5MDAsaV9YcmxJb0p1VEdYc1VWeGlxeF9kLDg4MiwzNXw0MTQ1NzU1MTE5-2"}`, pat, false},
		{"list_items_unknown_board", "list_items", `{"board_id":"9999"}`, pat, true},
		{"create_item", "create_item", `{"board_id":"1001","group_id":"topics","name":"New lead","column_values":{"status":{"label":"Done"},"date4":{"date":"2024-07-01"}}}`, oauth, false},
		{"create_item_bad_board", "create_item", `{"board_id":"2002","name":"x"}`, oauth, true},
		{"change_column_values", "change_column_values", `{"board_id":"1001","item_id":"501","column_values":{"status":{"label":"Stuck"}}}`, pat, false},
		{"create_update", "create_update", `{"item_id":"501","body":"Called the client"}`, pat, false},
	}
	for _, transport := range []string{"direct", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			var via []providertest.Option
			if transport == "grpc" {
				via = append(via, providertest.Using(providertest.Serve(t, monday.New())))
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fake := newFakeMonday(t)
					opts := append([]providertest.Option{providertest.BaseURL(fake.URL)}, via...)
					resp := providertest.Run(t, monday.New(), tc.action, tc.input, tc.creds, opts...)
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

func TestGraphQLErrorWith200(t *testing.T) {
	fake := newFakeMonday(t)
	resp := providertest.Run(t, monday.New(), "create_item", `{"board_id":"2002","name":"x"}`,
		provider.Credentials{Type: "api_key", APIKey: "mon_pat_valid"}, providertest.BaseURL(fake.URL))
	d := resp.Diagnostics[0]
	if d.Summary != "Board not found" || d.Status != 200 || d.Detail != "code InvalidBoardIdException" {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	b, err := json.MarshalIndent(monday.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}

func TestBareTokenAfterRefresh(t *testing.T) {
	fake := newFakeMonday(t)
	host := providertest.NewHost()
	host.RefreshCredentials = provider.Credentials{Type: "oauth2", AccessToken: "mon_oauth_valid", TokenType: "Bearer"}
	resp := providertest.Run(t, monday.New(), "test_connection", nil,
		provider.Credentials{Type: "oauth2", AccessToken: "expired", TokenType: "Bearer"},
		providertest.BaseURL(fake.URL), providertest.WithHost(host), providertest.OverGRPC())
	var out map[string]any
	providertest.Output(t, resp, &out)
	if host.Refreshes() != 1 {
		t.Fatalf("refreshes %d", host.Refreshes())
	}
}
