package linear_test

import (
	"testing"

	"github.com/atomhq/atom/plugins/native/linear/linear"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "lin_oauth_valid", TokenType: "Bearer"}
	key := provider.Credentials{Type: "api_key", APIKey: "lin_api_valid"}
	cases := []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: oauth},
		{Name: "test_connection_api_key", Action: "test_connection", Input: `{}`, Creds: key},
		{Name: "test_connection_bad_key", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "api_key", APIKey: "lin_api_revoked"}, Failed: true},
		{Name: "list_teams_page1", Action: "list_teams", Input: `{"first":2}`, Creds: oauth},
		{Name: "list_teams_page2", Action: "list_teams", Input: `{"first":2,"after":"team-2"}`, Creds: oauth},
		{Name: "list_issues_team", Action: "list_issues", Input: `{"team_id":"team-1","first":10}`, Creds: key},
		{Name: "create_issue", Action: "create_issue", Input: `{"team_id":"team-1","title":"Login fails","description":"**Steps**","priority":2}`, Creds: oauth},
		{Name: "create_issue_unknown_team", Action: "create_issue", Input: `{"team_id":"team-9","title":"x"}`, Creds: oauth, Failed: true},
		{Name: "update_issue", Action: "update_issue", Input: `{"id":"ENG-2","title":"Bug 2 (renamed)","priority":1}`, Creds: oauth},
		{Name: "update_issue_nothing", Action: "update_issue", Input: `{"id":"ENG-2"}`, Creds: oauth, Failed: true},
		{Name: "create_comment", Action: "create_comment", Input: `{"issue_id":"issue-1","body":"Looking into it."}`, Creds: oauth},
	}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return linear.New() },
		Fake: func(t testing.TB) *providertest.Recorder { return newFakeLinear(t).Recorder },
		Dir:  "../testdata",
		GRPC: true,
	}, cases)
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
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", linear.New().Manifest())
}
