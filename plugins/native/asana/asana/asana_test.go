package asana_test

import (
	"encoding/json"
	"testing"

	"github.com/atomhq/atom/plugins/native/asana/asana"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "2/oauth-valid", TokenType: "bearer"}
	pat := provider.Credentials{Type: "api_key", APIKey: "1/pat-valid"}
	cases := []struct {
		name, action, input string
		creds               provider.Credentials
		failed              bool
	}{
		{"test_connection", "test_connection", `{}`, oauth, false},
		{"test_connection_pat", "test_connection", `{}`, pat, false},
		{"test_connection_bad_token", "test_connection", `{}`, provider.Credentials{Type: "oauth2", AccessToken: "2/revoked"}, true},
		{"rate_limited", "test_connection", `{}`, provider.Credentials{Type: "oauth2", AccessToken: "2/limited"}, true},
		{"list_workspaces", "list_workspaces", `{}`, oauth, false},
		{"list_projects_page1", "list_projects", `{"workspace":"ws1","limit":2}`, oauth, false},
		{"list_projects_page2", "list_projects", `{"workspace":"ws1","limit":2,"offset":"eyJ2"}`, oauth, false},
		{"list_projects_bad_workspace", "list_projects", `{"workspace":"ws9"}`, oauth, true},
		{"list_tasks", "list_tasks", `{"project":"p1","completed_since":"now"}`, pat, false},
		{"get_task", "get_task", `{"task_gid":"1002"}`, oauth, false},
		{"get_task_missing", "get_task", `{"task_gid":"9999"}`, oauth, true},
		{"create_task", "create_task", `{"name":"Write launch post","notes":"Draft by Friday","projects":["p1"],"due_on":"2024-06-07"}`, oauth, false},
		{"create_task_no_container", "create_task", `{"name":"Orphan"}`, oauth, true},
		{"update_task", "update_task", `{"task_gid":"1001","completed":true}`, oauth, false},
		{"add_comment", "add_comment", `{"task_gid":"1001","text":"Done, see PR."}`, oauth, false},
	}
	for _, transport := range []string{"direct", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			var via []providertest.Option
			if transport == "grpc" {
				via = append(via, providertest.Using(providertest.Serve(t, asana.New())))
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fake := newFakeAsana(t)
					opts := append([]providertest.Option{providertest.BaseURL(fake.URL)}, via...)
					resp := providertest.Run(t, asana.New(), tc.action, tc.input, tc.creds, opts...)
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

func TestErrorNamesParam(t *testing.T) {
	fake := newFakeAsana(t)
	resp := providertest.Run(t, asana.New(), "list_projects", `{"workspace":"ws9"}`,
		provider.Credentials{Type: "oauth2", AccessToken: "2/oauth-valid"}, providertest.BaseURL(fake.URL))
	d := resp.Diagnostics[0]
	if d.Field != "workspace" || d.Status != 400 || d.Summary != "workspace: Not a recognized ID: ws9" {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	b, err := json.MarshalIndent(asana.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}
