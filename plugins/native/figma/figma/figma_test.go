package figma_test

import (
	"testing"

	"github.com/atomhq/atom/plugins/native/figma/figma"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	pat := provider.Credentials{Type: "api_key", APIKey: "figd_valid"}
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "figu_oauth", TokenType: "bearer"}
	cases := []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: pat},
		{Name: "test_connection_oauth", Action: "test_connection", Input: `{}`, Creds: oauth},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "api_key", APIKey: "figd_revoked"}, Failed: true},
		{Name: "rate_limited", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "api_key", APIKey: "figd_limited"}, Failed: true},
		{Name: "get_file", Action: "get_file", Input: `{"file_key":"FdQ8kZ1n2S3t4U","depth":2}`, Creds: pat},
		{Name: "get_file_missing", Action: "get_file", Input: `{"file_key":"Nope123"}`, Creds: pat, Failed: true},
		{Name: "get_file_nodes", Action: "get_file_nodes", Input: `{"file_key":"FdQ8kZ1n2S3t4U","ids":["1:2","1:3"]}`, Creds: oauth},
		{Name: "list_file_versions_page1", Action: "list_file_versions", Input: `{"file_key":"FdQ8kZ1n2S3t4U","page_size":2}`, Creds: pat},
		{Name: "list_file_versions_page2", Action: "list_file_versions", Input: `{"file_key":"FdQ8kZ1n2S3t4U","page_size":2,"before":"1004"}`, Creds: pat},
		{Name: "list_file_versions_last_page", Action: "list_file_versions", Input: `{"file_key":"FdQ8kZ1n2S3t4U","page_size":2,"before":"1002"}`, Creds: pat},
		{Name: "render_images", Action: "render_images", Input: `{"file_key":"FdQ8kZ1n2S3t4U","ids":["1:2","9:9"],"format":"png","scale":2}`, Creds: pat},
		{Name: "list_comments", Action: "list_comments", Input: `{"file_key":"FdQ8kZ1n2S3t4U"}`, Creds: pat},
		{Name: "post_comment", Action: "post_comment", Input: `{"file_key":"FdQ8kZ1n2S3t4U","message":"Can we use the brand blue?","node_id":"1:2"}`, Creds: oauth},
		{Name: "post_comment_reply_missing", Action: "post_comment", Input: `{"file_key":"FdQ8kZ1n2S3t4U","message":"+1","comment_id":"c9"}`, Creds: oauth, Failed: true},
	}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return figma.New() },
		Fake: func(t testing.TB) *providertest.Recorder { return newFakeFigma(t).Recorder },
		Dir:  "../testdata",
		GRPC: true,
	}, cases)
}

func TestFigmaErrorBecomesDiagnostic(t *testing.T) {
	fake := newFakeFigma(t)
	resp := providertest.Run(t, figma.New(), "test_connection", nil,
		provider.Credentials{Type: "api_key", APIKey: "figd_revoked"}, providertest.BaseURL(fake.URL))
	d := resp.Diagnostics[0]
	if d.Summary != "Invalid token" || d.Status != 403 {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", figma.New().Manifest())
}
