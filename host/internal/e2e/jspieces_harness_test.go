package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/runtimes/jspiece"
)

var (
	npmOnce sync.Once
	npmDir  string
	npmErr  error
	npmOut  string

	bundleMu    sync.Mutex
	bundleCache = map[string][]byte{}
)

// npmPieces returns bin/jspieces, where scripts/jspieces-npm.sh installs
// the published pieces pinned in the jspiece testdata. Without npm or the
// registry the test is skipped, except with CI=true.
func npmPieces(t testing.TB) string {
	t.Helper()
	npmOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..", "..")
		out, err := exec.Command(filepath.Join(root, "scripts", "jspieces-npm.sh")).CombinedOutput()
		npmErr, npmOut = err, string(out)
		npmDir = filepath.Join(root, "bin", "jspieces")
	})
	if npmErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("installing the npm pieces: %v\n%s", npmErr, npmOut)
		}
		t.Skipf("npm pieces not installed (run scripts/deps.sh): %v", npmErr)
	}
	return npmDir
}

// bundledPiece bundles an installed npm piece as `atom pieces add` does.
func bundledPiece(t testing.TB, pkg string) []byte {
	t.Helper()
	dir := npmPieces(t)
	bundleMu.Lock()
	defer bundleMu.Unlock()
	if b, ok := bundleCache[pkg]; ok {
		return b
	}
	b, err := jspiece.Bundle(dir, pkg)
	if err != nil {
		t.Fatal(err)
	}
	bundleCache[pkg] = b
	return b
}

// installedVersion is the version of an installed npm package.
func installedVersion(t testing.TB, pkg string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(npmPieces(t), "node_modules", pkg, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Version string }
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v.Version
}

// upstreamCall is one request a fake provider API received, as on the wire.
type upstreamCall struct {
	Method, Path, Query string
	Header              http.Header
	Body                string
}

// recorder is a fake provider API: it records every request and answers
// from a table keyed "METHOD path" (404 for anything else).
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []upstreamCall
}

// reply is a recorder's answer.
type reply struct {
	Status int
	Body   string
}

func newRecorder(t testing.TB, answers map[string]reply) *recorder {
	rc := &recorder{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.seen = append(rc.seen, upstreamCall{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(b)})
		rc.mu.Unlock()
		a, ok := answers[r.Method+" "+r.URL.Path]
		if !ok {
			http.Error(w, `{"error":"no such route in the fake"}`, http.StatusNotFound)
			return
		}
		if a.Status == 0 {
			a.Status = 200
		}
		if a.Body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(a.Status)
		io.WriteString(w, a.Body)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *recorder) requests() []upstreamCall {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]upstreamCall(nil), rc.seen...)
}

// oauthDescriptor is a catalog entry whose OAuth endpoints are the fake
// provider's and whose API is at baseURL.
func oauthDescriptor(id, name, baseURL string, fp *fakeprovider.Server) string {
	d := map[string]any{"id": id, "name": name, "categories": []string{"productivity"},
		"auth": map[string]any{"kind": "oauth2", "authorization_url": fp.URL + "/oauth/authorize", "token_url": fp.URL + "/oauth/token",
			"scope_separator": " ", "token_auth": "body", "token_body": "form"},
		"api": map[string]any{"base_url": baseURL}, "implementations": []string{"piece"}, "connectable": true}
	b, _ := json.Marshal(d)
	return string(b)
}

// connectOAuth runs an OAuth connection of tn to provider through the
// REST API: start, authorize at the fake (which approves at once), the
// callback.
func connectOAuth(h *hosttest.Host, tn hosttest.Tenant, provider string) {
	h.T.Helper()
	var res struct {
		AuthURL string `json:"authUrl"`
		State   string `json:"state"`
	}
	h.Must(h.Call("GET", "/api/integrations/"+provider+"?action=connect", tn.Key, nil, nil), 200, &res)
	resp, err := hosttest.Client.Get(res.AuthURL)
	if err != nil {
		h.T.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		h.T.Fatalf("authorize %s: %d %q", provider, resp.StatusCode, resp.Header.Get("Location"))
	}
	q := url.Values{"code": {loc.Query().Get("code")}, "state": {res.State}}
	h.Must(h.Call("GET", "/api/integrations/"+provider+"/callback?"+q.Encode(), "", nil, map[string]string{"Accept": "application/json"}), 200, nil)
}

// fakeIssued reports whether the fake provider issued bearer (an
// "Authorization: Bearer …" value) and it is still valid.
func fakeIssued(t testing.TB, fp *fakeprovider.Server, bearer string) bool {
	t.Helper()
	req, _ := http.NewRequest("GET", fp.URL+"/api/me", nil)
	req.Header.Set("Authorization", bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}
