package notion_test

import (
	"encoding/json"
	"testing"

	"github.com/atomhq/atom/plugins/native/notion/notion"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "ntn_oauth_valid", TokenType: "bearer", Metadata: map[string]string{"workspace_id": "ws-1"}}
	internal := provider.Credentials{Type: "custom", Fields: map[string]string{"accessToken": "secret_internal"}}
	cases := []struct {
		name, action, input string
		creds               provider.Credentials
		failed              bool
	}{
		{"test_connection", "test_connection", `{}`, oauth, false},
		{"test_connection_internal_token", "test_connection", `{}`, internal, false},
		{"test_connection_bad_token", "test_connection", `{}`, provider.Credentials{Type: "oauth2", AccessToken: "ntn_revoked"}, true},
		{"rate_limited", "test_connection", `{}`, provider.Credentials{Type: "oauth2", AccessToken: "ntn_limited"}, true},
		{"search_page1", "search", `{"query":"Task","object":"page","page_size":2}`, oauth, false},
		{"search_page2", "search", `{"query":"Task","object":"page","page_size":2,"start_cursor":"page-3"}`, oauth, false},
		{"query_database", "query_database", `{"database_id":"db-1","filter":{"property":"Done","checkbox":{"equals":false}},"sorts":[{"property":"Name","direction":"ascending"}]}`, oauth, false},
		{"query_database_not_shared", "query_database", `{"database_id":"db-9"}`, oauth, true},
		{"get_page", "get_page", `{"page_id":"page-2"}`, internal, false},
		{"create_page", "create_page", `{"database_id":"db-1","properties":{"Name":{"title":[{"text":{"content":"New task"}}]}}}`, oauth, false},
		{"create_page_invalid", "create_page", `{"database_id":"db-1","properties":{"Title":{"title":[]}}}`, oauth, true},
		{"create_page_no_parent", "create_page", `{"properties":{}}`, oauth, true},
		{"append_blocks", "append_blocks", `{"block_id":"page-1","children":[{"object":"block","type":"paragraph","paragraph":{"rich_text":[{"type":"text","text":{"content":"Hello"}}]}}]}`, oauth, false},
		{"list_block_children_page1", "list_block_children", `{"block_id":"page-1","page_size":2}`, oauth, false},
		{"list_block_children_page2", "list_block_children", `{"block_id":"page-1","page_size":2,"start_cursor":"block-3"}`, oauth, false},
	}
	for _, transport := range []string{"direct", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			var via []providertest.Option
			if transport == "grpc" {
				via = append(via, providertest.Using(providertest.Serve(t, notion.New())))
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fake := newFakeNotion(t)
					opts := append([]providertest.Option{providertest.BaseURL(fake.URL)}, via...)
					resp := providertest.Run(t, notion.New(), tc.action, tc.input, tc.creds, opts...)
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
	b, err := json.MarshalIndent(notion.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}
