package figma_test

import (
	"encoding/json"
	"testing"

	"github.com/atomhq/atom/plugins/native/figma/figma"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	pat := provider.Credentials{Type: "api_key", APIKey: "figd_valid"}
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "figu_oauth", TokenType: "bearer"}
	cases := []struct {
		name, action, input string
		creds               provider.Credentials
		failed              bool
	}{
		{"test_connection", "test_connection", `{}`, pat, false},
		{"test_connection_oauth", "test_connection", `{}`, oauth, false},
		{"test_connection_bad_token", "test_connection", `{}`, provider.Credentials{Type: "api_key", APIKey: "figd_revoked"}, true},
		{"rate_limited", "test_connection", `{}`, provider.Credentials{Type: "api_key", APIKey: "figd_limited"}, true},
		{"get_file", "get_file", `{"file_key":"FdQ8kZ1n2S3t4U","depth":2}`, pat, false},
		{"get_file_missing", "get_file", `{"file_key":"Nope123"}`, pat, true},
		{"get_file_nodes", "get_file_nodes", `{"file_key":"FdQ8kZ1n2S3t4U","ids":["1:2","1:3"]}`, oauth, false},
		{"list_file_versions_page1", "list_file_versions", `{"file_key":"FdQ8kZ1n2S3t4U","page_size":2}`, pat, false},
		{"list_file_versions_page2", "list_file_versions", `{"file_key":"FdQ8kZ1n2S3t4U","page_size":2,"before":"1004"}`, pat, false},
		{"list_file_versions_last_page", "list_file_versions", `{"file_key":"FdQ8kZ1n2S3t4U","page_size":2,"before":"1002"}`, pat, false},
		{"render_images", "render_images", `{"file_key":"FdQ8kZ1n2S3t4U","ids":["1:2","9:9"],"format":"png","scale":2}`, pat, false},
		{"list_comments", "list_comments", `{"file_key":"FdQ8kZ1n2S3t4U"}`, pat, false},
		{"post_comment", "post_comment", `{"file_key":"FdQ8kZ1n2S3t4U","message":"Can we use the brand blue?","node_id":"1:2"}`, oauth, false},
		{"post_comment_reply_missing", "post_comment", `{"file_key":"FdQ8kZ1n2S3t4U","message":"+1","comment_id":"c9"}`, oauth, true},
	}
	for _, transport := range []string{"direct", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			var via []providertest.Option
			if transport == "grpc" {
				via = append(via, providertest.Using(providertest.Serve(t, figma.New())))
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fake := newFakeFigma(t)
					opts := append([]providertest.Option{providertest.BaseURL(fake.URL)}, via...)
					resp := providertest.Run(t, figma.New(), tc.action, tc.input, tc.creds, opts...)
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
	b, err := json.MarshalIndent(figma.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}
