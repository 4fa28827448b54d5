package linear_test

import (
	"encoding/json"
	"testing"

	"github.com/atomhq/atom/plugins/native/linear/linear"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "lin_oauth_valid", TokenType: "Bearer"}
	key := provider.Credentials{Type: "api_key", APIKey: "lin_api_valid"}
	cases := []struct {
		name, action, input string
		creds               provider.Credentials
		failed              bool
	}{
		{"test_connection", "test_connection", `{}`, oauth, false},
		{"test_connection_api_key", "test_connection", `{}`, key, false},
		{"test_connection_bad_key", "test_connection", `{}`, provider.Credentials{Type: "api_key", APIKey: "lin_api_revoked"}, true},
		{"list_teams_page1", "list_teams", `{"first":2}`, oauth, false},
		{"list_teams_page2", "list_teams", `{"first":2,"after":"team-2"}`, oauth, false},
		{"list_issues_team", "list_issues", `{"team_id":"team-1","first":10}`, key, false},
		{"create_issue", "create_issue", `{"team_id":"team-1","title":"Login fails","description":"**Steps**","priority":2}`, oauth, false},
		{"create_issue_unknown_team", "create_issue", `{"team_id":"team-9","title":"x"}`, oauth, true},
		{"update_issue", "update_issue", `{"id":"ENG-2","title":"Bug 2 (renamed)","priority":1}`, oauth, false},
		{"update_issue_nothing", "update_issue", `{"id":"ENG-2"}`, oauth, true},
		{"create_comment", "create_comment", `{"issue_id":"issue-1","body":"Looking into it."}`, oauth, false},
	}
	for _, transport := range []string{"direct", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			var via []providertest.Option
			if transport == "grpc" {
				via = append(via, providertest.Using(providertest.Serve(t, linear.New())))
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fake := newFakeLinear(t)
					opts := append([]providertest.Option{providertest.BaseURL(fake.URL)}, via...)
					resp := providertest.Run(t, linear.New(), tc.action, tc.input, tc.creds, opts...)
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

func TestGraphQLErrorBecomesDiagnostic(t *testing.T) {
	fake := newFakeLinear(t)
	resp := providertest.Run(t, linear.New(), "create_issue", `{"team_id":"team-9","title":"x"}`,
		provider.Credentials{Type: "oauth2", AccessToken: "lin_oauth_valid"}, providertest.BaseURL(fake.URL))
	d := resp.Diagnostics[0]
	if d.Summary != "Entity not found: Team" || d.Status != 200 || d.Detail != "code INVALID_INPUT" {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	b, err := json.MarshalIndent(linear.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}
