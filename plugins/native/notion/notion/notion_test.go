package notion_test

import (
	"testing"

	"github.com/atomhq/atom/plugins/native/notion/notion"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "ntn_oauth_valid", TokenType: "bearer", Metadata: map[string]string{"workspace_id": "ws-1"}}
	internal := provider.Credentials{Type: "custom", Fields: map[string]string{"accessToken": "secret_internal"}}
	cases := []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: oauth},
		{Name: "test_connection_internal_token", Action: "test_connection", Input: `{}`, Creds: internal},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "ntn_revoked"}, Failed: true},
		{Name: "rate_limited", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "ntn_limited"}, Failed: true},
		{Name: "search_page1", Action: "search", Input: `{"query":"Task","object":"page","page_size":2}`, Creds: oauth},
		{Name: "search_page2", Action: "search", Input: `{"query":"Task","object":"page","page_size":2,"start_cursor":"page-3"}`, Creds: oauth},
		{Name: "query_database", Action: "query_database", Input: `{"database_id":"db-1","filter":{"property":"Done","checkbox":{"equals":false}},"sorts":[{"property":"Name","direction":"ascending"}]}`, Creds: oauth},
		{Name: "query_database_not_shared", Action: "query_database", Input: `{"database_id":"db-9"}`, Creds: oauth, Failed: true},
		{Name: "get_page", Action: "get_page", Input: `{"page_id":"page-2"}`, Creds: internal},
		{Name: "create_page", Action: "create_page", Input: `{"database_id":"db-1","properties":{"Name":{"title":[{"text":{"content":"New task"}}]}}}`, Creds: oauth},
		{Name: "create_page_invalid", Action: "create_page", Input: `{"database_id":"db-1","properties":{"Title":{"title":[]}}}`, Creds: oauth, Failed: true},
		{Name: "create_page_no_parent", Action: "create_page", Input: `{"properties":{}}`, Creds: oauth, Failed: true},
		{Name: "append_blocks", Action: "append_blocks", Input: `{"block_id":"page-1","children":[{"object":"block","type":"paragraph","paragraph":{"rich_text":[{"type":"text","text":{"content":"Hello"}}]}}]}`, Creds: oauth},
		{Name: "list_block_children_page1", Action: "list_block_children", Input: `{"block_id":"page-1","page_size":2}`, Creds: oauth},
		{Name: "list_block_children_page2", Action: "list_block_children", Input: `{"block_id":"page-1","page_size":2,"start_cursor":"block-3"}`, Creds: oauth},
	}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return notion.New() },
		Fake: func(t testing.TB) *providertest.Recorder { return newFakeNotion(t).Recorder },
		Dir:  "../testdata",
		GRPC: true,
	}, cases)
}

func TestErrorCodeInDiagnostic(t *testing.T) {
	fake := newFakeNotion(t)
	resp := providertest.Run(t, notion.New(), "query_database", `{"database_id":"db-9"}`,
		provider.Credentials{Type: "oauth2", AccessToken: "ntn_oauth_valid"}, providertest.BaseURL(fake.URL))
	d := resp.Diagnostics[0]
	if d.Status != 404 || d.Detail != "POST /v1/databases/db-9/query returned HTTP 404; code object_not_found" {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", notion.New().Manifest())
}
