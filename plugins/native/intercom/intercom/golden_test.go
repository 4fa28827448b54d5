package intercom_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}

// pretty renders a response for a golden file.
func pretty(t *testing.T, resp provider.Response) []byte {
	t.Helper()
	var v any
	if len(resp.Output) > 0 {
		if err := json.Unmarshal(resp.Output, &v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.MarshalIndent(map[string]any{"output": v, "diagnostics": resp.Diagnostics}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// recorder keeps a readable line-per-part record of the requests a fake
// received: method and path, sorted query, the listed headers and the
// body.
type recorder struct {
	headers []string
	mu      sync.Mutex
	reqs    []string
}

func (r *recorder) record(req *http.Request, body []byte) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", req.Method, req.URL.EscapedPath())
	q := req.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "query %s=%s\n", k, strings.Join(q[k], ","))
	}
	for _, h := range r.headers {
		if v := req.Header.Values(h); len(v) > 0 {
			fmt.Fprintf(&b, "header %s: %s\n", h, strings.Join(v, ", "))
		}
	}
	if len(body) > 0 {
		fmt.Fprintf(&b, "body %s\n", body)
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, b.String())
	r.mu.Unlock()
}

func (r *recorder) take() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := strings.Join(r.reqs, "\n")
	r.reqs = nil
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
