package monday_test

import (
	"testing"

	"github.com/atomhq/atom/plugins/native/monday/monday"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	pat := provider.Credentials{Type: "api_key", APIKey: "mon_pat_valid"}
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "mon_oauth_valid", TokenType: "Bearer"}
	cases := []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: pat},
		{Name: "test_connection_oauth", Action: "test_connection", Input: `{}`, Creds: oauth},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "api_key", APIKey: "mon_revoked"}, Failed: true},
		{Name: "list_boards_page1", Action: "list_boards", Input: `{"limit":2}`, Creds: pat},
		{Name: "list_boards_page2", Action: "list_boards", Input: `{"limit":2,"page":2}`, Creds: pat},
		{Name: "list_items_page1", Action: "list_items", Input: `{"board_id":"1001","limit":2}`, Creds: pat},
		{Name: "list_items_page2", Action: "list_items", Input: `{"board_id":"1001","limit":2,"cursor":"MSw5NzI4MDA5MDAsaV9YcmxJb0p1VEdYc1VWeGlxeF9kLDg4MiwzNXw0MTQ1NzU1MTE5-2"}`, Creds: pat},
		{Name: "list_items_unknown_board", Action: "list_items", Input: `{"board_id":"9999"}`, Creds: pat, Failed: true},
		{Name: "create_item", Action: "create_item", Input: `{"board_id":"1001","group_id":"topics","name":"New lead","column_values":{"status":{"label":"Done"},"date4":{"date":"2024-07-01"}}}`, Creds: oauth},
		{Name: "create_item_bad_board", Action: "create_item", Input: `{"board_id":"2002","name":"x"}`, Creds: oauth, Failed: true},
		{Name: "change_column_values", Action: "change_column_values", Input: `{"board_id":"1001","item_id":"501","column_values":{"status":{"label":"Stuck"}}}`, Creds: pat},
		{Name: "create_update", Action: "create_update", Input: `{"item_id":"501","body":"Called the client"}`, Creds: pat},
	}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return monday.New() },
		Fake: func(t testing.TB) *providertest.Recorder { return newFakeMonday(t).Recorder },
		Dir:  "../testdata",
		GRPC: true,
	}, cases)
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
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", monday.New().Manifest())
}

func TestBareTokenAfterRefresh(t *testing.T) {
	fake := newFakeMonday(t)
	resp := providertest.RunRefreshing(t, monday.New(), "test_connection", nil,
		provider.Credentials{Type: "oauth2", AccessToken: "expired", TokenType: "Bearer"},
		provider.Credentials{Type: "oauth2", AccessToken: "mon_oauth_valid", TokenType: "Bearer"},
		providertest.BaseURL(fake.URL), providertest.OverGRPC())
	var out map[string]any
	providertest.Output(t, resp, &out)
}
