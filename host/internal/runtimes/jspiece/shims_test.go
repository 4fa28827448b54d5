package jspiece

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

// loadShims bundles testdata/shims.js as a piece would be (Buffer
// injected, Node built-ins left to the runtime) and loads it.
func loadShims(t *testing.T, srv *httptest.Server) *Piece {
	t.Helper()
	abs, err := filepath.Abs("testdata/shims.js")
	if err != nil {
		t.Fatal(err)
	}
	src, err := Bundle(npmPieces(t), abs)
	if err != nil {
		t.Fatal(err)
	}
	return loadSrc(t, src, "", "shims", []string{"api.example.com"}, srv)
}

func runShim(t *testing.T, p *Piece, action string, out any) {
	t.Helper()
	h := newMemHost()
	resp, err := p.Execute(context.Background(), provider.Request{TenantID: "t", ExecutionID: "e", Action: action, Input: json.RawMessage(`{}`)}, h)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Failed() {
		t.Fatalf("%s: %+v (logs %q)", action, resp.Diagnostics, h.logs)
	}
	if err := json.Unmarshal(resp.Output, out); err != nil {
		t.Fatalf("%s: %s: %v", action, resp.Output, err)
	}
}

// TestShims checks the runtime's crypto, stream, http.Agent, __dirname and
// Buffer stand-ins against the values Node gives.
func TestShims(t *testing.T) {
	srv, requests := fakeUpstream(t, `{"echo":true}`)
	p := loadShims(t, srv)
	var c map[string]any
	runShim(t, p, "crypto", &c)
	want := map[string]any{
		"sha256":     "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
		"md5":        "kAFQmDzST7DWlj99KOF/cg==",
		"sha1":       "a9993e364706816aba3e25717850c26c9cd0d89d",
		"sha512len":  64.0,
		"hmac":       "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
		"hmacB64url": "KgDo6DQ9-GxMGIsmPuyjMa-jFUg",
		"safeEqual":  true,
		"unknown":    `Digest method not supported: "whirlpool" (md5, sha1, sha224, sha256, sha384, sha512)`,
		"random":     16.0,
		"uuid":       true,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("crypto:\n got %v\nwant %v", c, want)
	}
	var n map[string]any
	runShim(t, p, "node", &n)
	if want := map[string]any{"inheritsStream": true, "agent": true, "dirname": "string", "buffer": "hi", "zlibClass": true}; !reflect.DeepEqual(n, want) {
		t.Fatalf("node:\n got %v\nwant %v", n, want)
	}
	// A package left out of the bundle loads as a stand-in that fails
	// only when used.
	var u string
	runShim(t, p, "unavailable", &u)
	if u != "sharp is not available to pieces (it needs a native addon)" {
		t.Fatalf("unavailable: %q", u)
	}

	// http.request goes out through fetch and the host.
	var h map[string]any
	runShim(t, p, "nodehttp", &h)
	if want := map[string]any{"status": 200.0, "type": "application/json", "body": map[string]any{"echo": true}}; !reflect.DeepEqual(h, want) {
		t.Fatalf("nodehttp:\n got %v\nwant %v", h, want)
	}
	got := requests()
	if len(got) != 1 || got[0].Method != "POST" || got[0].Path != "/v1/echo" || got[0].Body != `{"a":1}` || got[0].ContentType != "application/json" {
		t.Fatalf("upstream got %+v", got)
	}
}
