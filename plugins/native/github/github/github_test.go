package github_test

import (
	"testing"

	"github.com/atomhq/atom/plugins/native/github/github"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "gho_valid", TokenType: "bearer"}
	pat := provider.Credentials{Type: "api_key", APIKey: "ghp_pat"}
	cases := []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: oauth},
		{Name: "test_connection_pat", Action: "test_connection", Input: `{}`, Creds: pat},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "gho_revoked"}, Failed: true},
		{Name: "rate_limited", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "gho_limited"}, Failed: true},
		{Name: "list_repositories_page1", Action: "list_repositories", Input: `{"per_page":2,"sort":"full_name"}`, Creds: oauth},
		{Name: "list_repositories_page2", Action: "list_repositories", Input: `{"per_page":2,"sort":"full_name","page":2}`, Creds: oauth},
		{Name: "list_repositories_last_page", Action: "list_repositories", Input: `{"per_page":2,"sort":"full_name","page":3}`, Creds: oauth},
		{Name: "list_issues", Action: "list_issues", Input: `{"owner":"atomhq","repo":"atom","state":"open"}`, Creds: oauth},
		{Name: "list_issues_missing_repo", Action: "list_issues", Input: `{"owner":"atomhq","repo":"nope"}`, Creds: oauth, Failed: true},
		{Name: "list_issues_dot_segment", Action: "list_issues", Input: `{"owner":"atomhq","repo":".."}`, Creds: oauth, Failed: true},
		{Name: "get_issue", Action: "get_issue", Input: `{"owner":"atomhq","repo":"atom","issue_number":2}`, Creds: oauth},
		{Name: "create_issue", Action: "create_issue", Input: `{"owner":"atomhq","repo":"atom","title":"Crash on start","body":"Steps...","labels":["bug"]}`, Creds: oauth},
		{Name: "create_issue_validation", Action: "create_issue", Input: `{"owner":"atomhq","repo":"atom","title":""}`, Creds: oauth, Failed: true},
		{Name: "update_issue", Action: "update_issue", Input: `{"owner":"atomhq","repo":"atom","issue_number":1,"state":"closed","state_reason":"completed"}`, Creds: oauth},
		{Name: "update_issue_nothing", Action: "update_issue", Input: `{"owner":"atomhq","repo":"atom","issue_number":1}`, Creds: oauth, Failed: true},
		{Name: "create_issue_comment", Action: "create_issue_comment", Input: `{"owner":"atomhq","repo":"atom","issue_number":3,"body":"Fixed in #4."}`, Creds: oauth},
	}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return github.New() },
		Fake: func(t testing.TB) *providertest.Recorder { return newFakeGitHub(t).Recorder },
		Dir:  "../testdata",
		GRPC: true,
	}, cases)
}

func TestValidationErrorNamesField(t *testing.T) {
	fake := newFakeGitHub(t)
	resp := providertest.Run(t, github.New(), "create_issue", `{"owner":"atomhq","repo":"atom","title":""}`,
		provider.Credentials{Type: "oauth2", AccessToken: "gho_valid"}, providertest.BaseURL(fake.URL))
	d := resp.Diagnostics[0]
	if d.Field != "title" || d.Status != 422 || d.Summary != "Validation Failed: title missing field" {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestRefreshAfter401(t *testing.T) {
	fake := newFakeGitHub(t)
	resp := providertest.RunRefreshing(t, github.New(), "test_connection", nil,
		provider.Credentials{Type: "oauth2", AccessToken: "gho_expired"},
		provider.Credentials{Type: "oauth2", AccessToken: "gho_valid"},
		providertest.BaseURL(fake.URL), providertest.OverGRPC())
	var out map[string]any
	providertest.Output(t, resp, &out)
	if out["login"] != "octocat" {
		t.Fatalf("out %v", out)
	}
}

func TestManifest(t *testing.T) {
	m := github.New().Manifest()
	if len(m.Actions) < 5 {
		t.Fatalf("%d actions", len(m.Actions))
	}
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", m)
}

// BenchmarkListIssues measures one list_issues execution against the
// local fake: in-process and through the go-plugin gRPC transport.
func BenchmarkListIssues(b *testing.B) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: "gho_valid"}
	input := `{"owner":"atomhq","repo":"atom","per_page":2}`
	for _, transport := range []string{"direct", "grpc"} {
		b.Run(transport, func(b *testing.B) {
			fake := newFakeGitHub(b)
			p := github.New()
			opts := []providertest.Option{providertest.BaseURL(fake.URL)}
			if transport == "grpc" {
				opts = append(opts, providertest.Using(providertest.Serve(b, p)))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if resp := providertest.Run(b, p, "list_issues", input, creds, opts...); resp.Failed() {
					b.Fatal(resp.Diagnostics)
				}
				fake.Take()
			}
		})
	}
}
