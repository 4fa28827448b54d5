package clickup_test

import (
	"testing"

	"github.com/atomhq/atom/plugins/native/clickup/clickup"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	pat := provider.Credentials{Type: "api_key", APIKey: "pk_12345_VALID"}
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "oauth-valid", TokenType: "Bearer"}
	cases := []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: pat},
		{Name: "test_connection_oauth", Action: "test_connection", Input: `{}`, Creds: oauth},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "api_key", APIKey: "pk_revoked"}, Failed: true},
		{Name: "list_workspaces", Action: "list_workspaces", Input: `{}`, Creds: pat},
		{Name: "list_spaces", Action: "list_spaces", Input: `{"workspace_id":"9001"}`, Creds: pat},
		{Name: "list_spaces_not_authorized", Action: "list_spaces", Input: `{"workspace_id":"9002"}`, Creds: pat, Failed: true},
		{Name: "list_tasks_page0", Action: "list_tasks", Input: `{"list_id":"900100","include_closed":true,"statuses":["to do","in progress"]}`, Creds: pat},
		{Name: "list_tasks_page1", Action: "list_tasks", Input: `{"list_id":"900100","include_closed":true,"statuses":["to do","in progress"],"page":1}`, Creds: pat},
		{Name: "get_task", Action: "get_task", Input: `{"task_id":"86a2","include_subtasks":true}`, Creds: oauth},
		{Name: "create_task", Action: "create_task", Input: `{"list_id":"900100","name":"Prepare demo","description":"For Friday","priority":2,"due_date":1719792000000,"tags":["demo"]}`, Creds: pat},
		{Name: "create_task_invalid_name", Action: "create_task", Input: `{"list_id":"900100","name":""}`, Creds: pat, Failed: true},
		{Name: "update_task", Action: "update_task", Input: `{"task_id":"86a1","status":"complete"}`, Creds: pat},
		{Name: "create_task_comment", Action: "create_task_comment", Input: `{"task_id":"86a1","comment_text":"Shipped","notify_all":true}`, Creds: pat},
	}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return clickup.New() },
		Fake: func(t testing.TB) *providertest.Recorder { return newFakeClickUp(t).Recorder },
		Dir:  "../testdata",
		GRPC: true,
	}, cases)
}

func TestECodeInDiagnostic(t *testing.T) {
	fake := newFakeClickUp(t)
	resp := providertest.Run(t, clickup.New(), "list_spaces", `{"workspace_id":"9002"}`,
		provider.Credentials{Type: "api_key", APIKey: "pk_12345_VALID"}, providertest.BaseURL(fake.URL))
	d := resp.Diagnostics[0]
	if d.Summary != "Team not authorized" || d.Status != 401 || d.Detail != "GET /api/v2/team/9002/space returned HTTP 401; code OAUTH_027" {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", clickup.New().Manifest())
}

func TestBareTokenAfterRefresh(t *testing.T) {
	fake := newFakeClickUp(t)
	resp := providertest.RunRefreshing(t, clickup.New(), "test_connection", nil,
		provider.Credentials{Type: "oauth2", AccessToken: "expired", TokenType: "Bearer"},
		provider.Credentials{Type: "oauth2", AccessToken: "oauth-valid", TokenType: "Bearer"},
		providertest.BaseURL(fake.URL), providertest.OverGRPC())
	var out map[string]any
	providertest.Output(t, resp, &out)
}
