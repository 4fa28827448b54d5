package clickup_test

import (
	"encoding/json"
	"testing"

	"github.com/atomhq/atom/plugins/native/clickup/clickup"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	pat := provider.Credentials{Type: "api_key", APIKey: "pk_12345_VALID"}
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "oauth-valid", TokenType: "Bearer"}
	cases := []struct {
		name, action, input string
		creds               provider.Credentials
		failed              bool
	}{
		{"test_connection", "test_connection", `{}`, pat, false},
		{"test_connection_oauth", "test_connection", `{}`, oauth, false},
		{"test_connection_bad_token", "test_connection", `{}`, provider.Credentials{Type: "api_key", APIKey: "pk_revoked"}, true},
		{"list_workspaces", "list_workspaces", `{}`, pat, false},
		{"list_spaces", "list_spaces", `{"workspace_id":"9001"}`, pat, false},
		{"list_spaces_not_authorized", "list_spaces", `{"workspace_id":"9002"}`, pat, true},
		{"list_tasks_page0", "list_tasks", `{"list_id":"900100","include_closed":true,"statuses":["to do","in progress"]}`, pat, false},
		{"list_tasks_page1", "list_tasks", `{"list_id":"900100","include_closed":true,"statuses":["to do","in progress"],"page":1}`, pat, false},
		{"get_task", "get_task", `{"task_id":"86a2","include_subtasks":true}`, oauth, false},
		{"create_task", "create_task", `{"list_id":"900100","name":"Prepare demo","description":"For Friday","priority":2,"due_date":1719792000000,"tags":["demo"]}`, pat, false},
		{"create_task_invalid_name", "create_task", `{"list_id":"900100","name":""}`, pat, true},
		{"update_task", "update_task", `{"task_id":"86a1","status":"complete"}`, pat, false},
		{"create_task_comment", "create_task_comment", `{"task_id":"86a1","comment_text":"Shipped","notify_all":true}`, pat, false},
	}
	for _, transport := range []string{"direct", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			var via []providertest.Option
			if transport == "grpc" {
				via = append(via, providertest.Using(providertest.Serve(t, clickup.New())))
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fake := newFakeClickUp(t)
					opts := append([]providertest.Option{providertest.BaseURL(fake.URL)}, via...)
					resp := providertest.Run(t, clickup.New(), tc.action, tc.input, tc.creds, opts...)
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
	b, err := json.MarshalIndent(clickup.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}

func TestBareTokenAfterRefresh(t *testing.T) {
	fake := newFakeClickUp(t)
	host := providertest.NewHost()
	host.RefreshCredentials = provider.Credentials{Type: "oauth2", AccessToken: "oauth-valid", TokenType: "Bearer"}
	resp := providertest.Run(t, clickup.New(), "test_connection", nil,
		provider.Credentials{Type: "oauth2", AccessToken: "expired", TokenType: "Bearer"},
		providertest.BaseURL(fake.URL), providertest.WithHost(host), providertest.OverGRPC())
	var out map[string]any
	providertest.Output(t, resp, &out)
	if host.Refreshes() != 1 {
		t.Fatalf("refreshes %d", host.Refreshes())
	}
}
