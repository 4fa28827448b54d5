package jira_test

import (
	"context"
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
	cases := []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: acme},
		{Name: "test_connection_beta_site", Action: "test_connection", Input: `{}`, Creds: creds("beta.atlassian.net")},
		{Name: "test_connection_ambiguous_site", Action: "test_connection", Input: `{}`, Creds: creds(""), Failed: true},
		{Name: "test_connection_unknown_site", Action: "test_connection", Input: `{}`, Creds: creds("wiki"), Failed: true},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "atl-expired"}, Failed: true},
		{Name: "test_connection_cloud_id_param", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "atl-valid", Params: map[string]string{"cloud_id": "cloud-acme"}}},
		{Name: "list_projects_page1", Action: "list_projects", Input: `{"max_results":2}`, Creds: acme},
		{Name: "list_projects_page2", Action: "list_projects", Input: `{"max_results":2,"start_at":2}`, Creds: acme},
		{Name: "search_issues_page1", Action: "search_issues", Input: `{"jql":"project = ENG ORDER BY created","max_results":2}`, Creds: acme},
		{Name: "search_issues_page2", Action: "search_issues", Input: `{"jql":"project = ENG ORDER BY created","max_results":2,"next_page_token":"tok-2"}`, Creds: acme},
		{Name: "search_issues_bad_jql", Action: "search_issues", Input: `{"jql":"project = NOPE"}`, Creds: acme, Failed: true},
		{Name: "get_issue", Action: "get_issue", Input: `{"issue":"ENG-2","fields":["summary","status"]}`, Creds: acme},
		{Name: "get_issue_missing", Action: "get_issue", Input: `{"issue":"ENG-99"}`, Creds: acme, Failed: true},
		{Name: "create_issue", Action: "create_issue", Input: `{"project_key":"ENG","summary":"Checkout broken","issue_type":"Bug","description":"Steps:\n1. open cart\n\nExpected: works","labels":["web"],"priority":"High"}`, Creds: acme},
		{Name: "create_issue_no_summary", Action: "create_issue", Input: `{"project_key":"ENG","summary":"","issue_type":"Bug"}`, Creds: acme, Failed: true},
		{Name: "update_issue", Action: "update_issue", Input: `{"issue":"ENG-1","summary":"Issue 1 (triaged)","labels":["triaged"]}`, Creds: acme},
		{Name: "add_comment", Action: "add_comment", Input: `{"issue":"ENG-1","body":"Reproduced on staging."}`, Creds: acme},
	}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return jira.New() },
		Fake: func(t testing.TB) *providertest.Recorder { return newFakeAtlassian(t).Recorder },
		Dir:  "../testdata",
		GRPC: true,
	}, cases)
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
	reqs := string(fake.Take())
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
	providertest.Golden(t, "../testdata/stale_cloud_id.request.golden", fake.Take())
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
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", jira.New().Manifest())
}
