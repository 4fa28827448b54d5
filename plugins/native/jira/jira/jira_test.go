package jira_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/jira/jira"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func creds(subdomain string) provider.Credentials {
	return provider.Credentials{Type: "oauth2", AccessToken: "atl-valid", TokenType: "Bearer", Params: map[string]string{"subdomain": subdomain}}
}

func TestActions(t *testing.T) {
	acme := creds("acme")
	cases := []struct {
		name, action, input string
		creds               provider.Credentials
		failed              bool
	}{
		{"test_connection", "test_connection", `{}`, acme, false},
		{"test_connection_beta_site", "test_connection", `{}`, creds("beta.atlassian.net"), false},
		{"test_connection_ambiguous_site", "test_connection", `{}`, creds(""), true},
		{"test_connection_unknown_site", "test_connection", `{}`, creds("wiki"), true},
		{"test_connection_bad_token", "test_connection", `{}`, provider.Credentials{Type: "oauth2", AccessToken: "atl-expired"}, true},
		{"test_connection_cloud_id_param", "test_connection", `{}`, provider.Credentials{Type: "oauth2", AccessToken: "atl-valid", Params: map[string]string{"cloud_id": "cloud-acme"}}, false},
		{"list_projects_page1", "list_projects", `{"max_results":2}`, acme, false},
		{"list_projects_page2", "list_projects", `{"max_results":2,"start_at":2}`, acme, false},
		{"search_issues_page1", "search_issues", `{"jql":"project = ENG ORDER BY created","max_results":2}`, acme, false},
		{"search_issues_page2", "search_issues", `{"jql":"project = ENG ORDER BY created","max_results":2,"next_page_token":"tok-2"}`, acme, false},
		{"search_issues_bad_jql", "search_issues", `{"jql":"project = NOPE"}`, acme, true},
		{"get_issue", "get_issue", `{"issue":"ENG-2","fields":["summary","status"]}`, acme, false},
		{"get_issue_missing", "get_issue", `{"issue":"ENG-99"}`, acme, true},
		{"create_issue", "create_issue", `{"project_key":"ENG","summary":"Checkout broken","issue_type":"Bug","description":"Steps:\n1. open cart\n\nExpected: works","labels":["web"],"priority":"High"}`, acme, false},
		{"create_issue_no_summary", "create_issue", `{"project_key":"ENG","summary":"","issue_type":"Bug"}`, acme, true},
		{"update_issue", "update_issue", `{"issue":"ENG-1","summary":"Issue 1 (triaged)","labels":["triaged"]}`, acme, false},
		{"add_comment", "add_comment", `{"issue":"ENG-1","body":"Reproduced on staging."}`, acme, false},
	}
	for _, transport := range []string{"direct", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			var via []providertest.Option
			if transport == "grpc" {
				via = append(via, providertest.Using(providertest.Serve(t, jira.New())))
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fake := newFakeAtlassian(t)
					opts := append([]providertest.Option{providertest.BaseURL(fake.URL), providertest.WithHost(providertest.NewHost())}, via...)
					resp := providertest.Run(t, jira.New(), tc.action, tc.input, tc.creds, opts...)
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

func TestCloudIDCachedInHostStore(t *testing.T) {
	fake := newFakeAtlassian(t)
	host := providertest.NewHost()
	for i := 0; i < 2; i++ {
		resp := providertest.Run(t, jira.New(), "test_connection", nil, creds("acme"),
			providertest.BaseURL(fake.URL), providertest.WithHost(host), providertest.OverGRPC())
		if resp.Failed() {
			t.Fatal(resp.Diagnostics)
		}
	}
	reqs := fake.take()
	if n := strings.Count(reqs, "accessible-resources"); n != 1 {
		t.Fatalf("looked up the site %d times:\n%s", n, reqs)
	}
	v, ok, _ := host.StoreGet(context.Background(), "cloud_id:acme")
	if !ok || string(v) != "cloud-acme" {
		t.Fatalf("store holds %q, %v", v, ok)
	}
}

func TestStaleCloudIDLookedUpAgain(t *testing.T) {
	fake := newFakeAtlassian(t)
	host := providertest.NewHost()
	_ = host.StorePut(context.Background(), "cloud_id:acme", []byte("cloud-deleted"))
	resp := providertest.Run(t, jira.New(), "get_issue", `{"issue":"ENG-1"}`, creds("acme"),
		providertest.BaseURL(fake.URL), providertest.WithHost(host))
	if resp.Failed() {
		t.Fatal(resp.Diagnostics)
	}
	golden(t, "stale_cloud_id.request.golden", []byte(fake.take()))
	if v, _, _ := host.StoreGet(context.Background(), "cloud_id:acme"); string(v) != "cloud-acme" {
		t.Fatalf("store holds %q", v)
	}
}

func TestFieldErrorNamesField(t *testing.T) {
	fake := newFakeAtlassian(t)
	resp := providertest.Run(t, jira.New(), "create_issue", `{"project_key":"ENG","summary":"","issue_type":"Bug"}`, creds("acme"), providertest.BaseURL(fake.URL))
	d := resp.Diagnostics[0]
	if d.Field != "summary" || d.Status != 400 || d.Summary != "summary: You must specify a summary of the issue." {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	b, err := json.MarshalIndent(jira.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}
