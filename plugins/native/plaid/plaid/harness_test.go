package plaid_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/atomhq/atom/plugins/native/plaid/plaid"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
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

// fakeAPI is an httptest server that records every request (method, path,
// sorted query, the listed headers and a canonical body) for golden files
// and hands it to serve.
type fakeAPI struct {
	*httptest.Server
	headers []string

	mu       sync.Mutex
	requests []string
}

func newFakeAPI(t *testing.T, headers []string, serve func(w http.ResponseWriter, r *http.Request, body []byte)) *fakeAPI {
	f := &fakeAPI{headers: headers}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.record(r, body)
		serve(w, r, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) record(r *http.Request, body []byte) {
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
	for _, h := range f.headers {
		if v := r.Header.Get(h); v != "" {
			fmt.Fprintf(&b, "header %s: %s\n", h, v)
		}
	}
	if len(body) > 0 {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch mt {
		case "application/x-www-form-urlencoded":
			form, _ := url.ParseQuery(string(body))
			fk := make([]string, 0, len(form))
			for k := range form {
				fk = append(fk, k)
			}
			sort.Strings(fk)
			for _, k := range fk {
				fmt.Fprintf(&b, "form %s=%s\n", k, strings.Join(form[k], ","))
			}
		default:
			var v any
			if json.Unmarshal(body, &v) == nil {
				body, _ = json.Marshal(v)
			}
			fmt.Fprintf(&b, "body %s\n", body)
		}
	}
	f.mu.Lock()
	f.requests = append(f.requests, b.String())
	f.mu.Unlock()
}

func (f *fakeAPI) takeRequests() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := strings.Join(f.requests, "\n")
	f.requests = nil
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type testCase struct {
	name, action, input string
	creds               provider.Credentials
	failed              bool
	opts                []providertest.Option
}

// runCases runs every case directly and over gRPC against a fresh fake
// each, comparing the requests the fake saw and the response with golden
// files (the fake's URL reads {fake} in them).
func runCases(t *testing.T, newFake func(t *testing.T) *fakeAPI, cases []testCase) {
	for _, transport := range []string{"direct", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			var via []providertest.Option
			if transport == "grpc" {
				via = append(via, providertest.Using(providertest.Serve(t, plaid.New())))
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fake := newFake(t)
					opts := append([]providertest.Option{providertest.BaseURL(fake.URL)}, via...)
					opts = append(opts, tc.opts...)
					resp := providertest.Run(t, plaid.New(), tc.action, tc.input, tc.creds, opts...)
					if resp.Failed() != tc.failed {
						t.Fatalf("failed = %v, want %v: %+v", resp.Failed(), tc.failed, resp.Diagnostics)
					}
					golden(t, tc.name+".request.golden", bytes.ReplaceAll([]byte(fake.takeRequests()), []byte(fake.URL), []byte("{fake}")))
					golden(t, tc.name+".response.golden", bytes.ReplaceAll(pretty(t, resp), []byte(fake.URL), []byte("{fake}")))
				})
			}
		})
	}
}

func TestManifest(t *testing.T) {
	m := plaid.New().Manifest()
	if m.ID != "plaid" || m.Version != "1.0.0" || len(m.Actions) < 5 {
		t.Fatalf("manifest %+v", m)
	}
	for _, a := range m.Actions {
		var in map[string]any
		if err := json.Unmarshal(a.Input, &in); err != nil || (len(a.Input) > 0 && in["additionalProperties"] != false && a.Name != "test_connection") {
			t.Errorf("action %s: input schema must be a closed object: %s", a.Name, a.Input)
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}
