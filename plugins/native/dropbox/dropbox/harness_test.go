package dropbox_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// recorder is an httptest server that writes down every request it gets
// (method, path, sorted query, the headers that matter, body) before
// handing it to the fake API.
type recorder struct {
	*httptest.Server
	headers []string

	mu   sync.Mutex
	seen []string
}

func newRecorder(t *testing.T, headers []string, h func(w http.ResponseWriter, r *http.Request, body []byte)) *recorder {
	rec := &recorder{headers: headers}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.note(r, body)
		h(w, r, body)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) note(r *http.Request, body []byte) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL.EscapedPath())
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "query %s=%s\n", k, strings.Join(q[k], ","))
	}
	for _, h := range rec.headers {
		if v := r.Header.Get(h); v != "" {
			fmt.Fprintf(&b, "header %s: %s\n", h, v)
		}
	}
	if len(body) > 0 {
		fmt.Fprintf(&b, "body %s\n", bytes.TrimSpace(body))
	}
	rec.mu.Lock()
	rec.seen = append(rec.seen, b.String())
	rec.mu.Unlock()
}

func (rec *recorder) take() []byte {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := strings.Join(rec.seen, "\n")
	rec.seen = nil
	return []byte(out)
}

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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
