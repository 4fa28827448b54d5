package github_test

import (
	"encoding/json"
	"testing"

	"github.com/atomhq/atom/plugins/native/github/github"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "gho_valid", TokenType: "bearer"}
	pat := provider.Credentials{Type: "api_key", APIKey: "ghp_pat"}
	cases := []struct {
		name, action, input string
		creds               provider.Credentials
		failed              bool
	}{
		{"test_connection", "test_connection", `{}`, oauth, false},
		{"test_connection_pat", "test_connection", `{}`, pat, false},
		{"test_connection_bad_token", "test_connection", `{}`, provider.Credentials{Type: "oauth2", AccessToken: "gho_revoked"}, true},
		{"rate_limited", "test_connection", `{}`, provider.Credentials{Type: "oauth2", AccessToken: "gho_limited"}, true},
		{"list_repositories_page1", "list_repositories", `{"per_page":2,"sort":"full_name"}`, oauth, false},
		{"list_repositories_page2", "list_repositories", `{"per_page":2,"sort":"full_name","page":2}`, oauth, false},
		{"list_repositories_last_page", "list_repositories", `{"per_page":2,"sort":"full_name","page":3}`, oauth, false},
		{"list_issues", "list_issues", `{"owner":"atomhq","repo":"atom","state":"open"}`, oauth, false},
		{"list_issues_missing_repo", "list_issues", `{"owner":"atomhq","repo":"nope"}`, oauth, true},
		{"list_issues_dot_segment", "list_issues", `{"owner":"atomhq","repo":".."}`, oauth, true},
		{"get_issue", "get_issue", `{"owner":"atomhq","repo":"atom","issue_number":2}`, oauth, false},
		{"create_issue", "create_issue", `{"owner":"atomhq","repo":"atom","title":"Crash on start","body":"Steps...","labels":["bug"]}`, oauth, false},
		{"create_issue_validation", "create_issue", `{"owner":"atomhq","repo":"atom","title":""}`, oauth, true},
		{"update_issue", "update_issue", `{"owner":"atomhq","repo":"atom","issue_number":1,"state":"closed","state_reason":"completed"}`, oauth, false},
		{"update_issue_nothing", "update_issue", `{"owner":"atomhq","repo":"atom","issue_number":1}`, oauth, true},
		{"create_issue_comment", "create_issue_comment", `{"owner":"atomhq","repo":"atom","issue_number":3,"body":"Fixed in #4."}`, oauth, false},
	}
	for _, transport := range []string{"direct", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			var via []providertest.Option
			if transport == "grpc" {
				via = append(via, providertest.Using(providertest.Serve(t, github.New())))
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fake := newFakeGitHub(t)
					opts := append([]providertest.Option{providertest.BaseURL(fake.URL)}, via...)
					resp := providertest.Run(t, github.New(), tc.action, tc.input, tc.creds, opts...)
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
	host := providertest.NewHost()
	host.RefreshCredentials = provider.Credentials{Type: "oauth2", AccessToken: "gho_valid"}
	resp := providertest.Run(t, github.New(), "test_connection", nil,
		provider.Credentials{Type: "oauth2", AccessToken: "gho_expired"},
		providertest.BaseURL(fake.URL), providertest.WithHost(host), providertest.OverGRPC())
	var out map[string]any
	providertest.Output(t, resp, &out)
	if out["login"] != "octocat" || host.Refreshes() != 1 {
		t.Fatalf("out %v refreshes %d", out, host.Refreshes())
	}
}

func TestManifest(t *testing.T) {
	m := github.New().Manifest()
	if len(m.Actions) < 5 {
		t.Fatalf("%d actions", len(m.Actions))
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}

// BenchmarkListIssues measures one list_issues execution against the
// local fake: in-process and through the go-plugin gRPC transport.
func BenchmarkListIssues(b *testing.B) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: "gho_valid"}
	input := `{"owner":"atomhq","repo":"atom","per_page":2}`
	for _, transport := range []string{"direct", "grpc"} {
		b.Run(transport, func(b *testing.B) {
			fake := newFakeGitHubB(b)
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
				fake.take()
			}
		})
	}
}
