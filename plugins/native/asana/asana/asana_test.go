package asana_test

import (
	"testing"

	"github.com/atomhq/atom/plugins/native/asana/asana"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "2/oauth-valid", TokenType: "bearer"}
	pat := provider.Credentials{Type: "api_key", APIKey: "1/pat-valid"}
	cases := []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: oauth},
		{Name: "test_connection_pat", Action: "test_connection", Input: `{}`, Creds: pat},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "2/revoked"}, Failed: true},
		{Name: "rate_limited", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "2/limited"}, Failed: true},
		{Name: "list_workspaces", Action: "list_workspaces", Input: `{}`, Creds: oauth},
		{Name: "list_projects_page1", Action: "list_projects", Input: `{"workspace":"ws1","limit":2}`, Creds: oauth},
		{Name: "list_projects_page2", Action: "list_projects", Input: `{"workspace":"ws1","limit":2,"offset":"eyJ2"}`, Creds: oauth},
		{Name: "list_projects_bad_workspace", Action: "list_projects", Input: `{"workspace":"ws9"}`, Creds: oauth, Failed: true},
		{Name: "list_tasks", Action: "list_tasks", Input: `{"project":"p1","completed_since":"now"}`, Creds: pat},
		{Name: "get_task", Action: "get_task", Input: `{"task_gid":"1002"}`, Creds: oauth},
		{Name: "get_task_missing", Action: "get_task", Input: `{"task_gid":"9999"}`, Creds: oauth, Failed: true},
		{Name: "create_task", Action: "create_task", Input: `{"name":"Write launch post","notes":"Draft by Friday","projects":["p1"],"due_on":"2024-06-07"}`, Creds: oauth},
		{Name: "create_task_no_container", Action: "create_task", Input: `{"name":"Orphan"}`, Creds: oauth, Failed: true},
		{Name: "update_task", Action: "update_task", Input: `{"task_gid":"1001","completed":true}`, Creds: oauth},
		{Name: "add_comment", Action: "add_comment", Input: `{"task_gid":"1001","text":"Done, see PR."}`, Creds: oauth},
	}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return asana.New() },
		Fake: func(t testing.TB) *providertest.Recorder { return newFakeAsana(t).Recorder },
		Dir:  "../testdata",
		GRPC: true,
	}, cases)
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
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", asana.New().Manifest())
}
