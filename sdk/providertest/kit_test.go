package providertest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

// echo is a provider with one action, "put", that sends its input to the
// API's /items/{id} and returns what the API answered.
func echo() provider.Provider {
	type putIn struct {
		ID   string         `json:"id"`
		Data map[string]any `json:"data"`
	}
	return provider.New(provider.Manifest{ID: "echo", Version: "1.0.0"}).
		HTTP(provider.HTTPOptions{Header: http.Header{"X-Api-Version": {"7"}}}).
		Action(provider.ActionDef{
			Name:  "put",
			Input: provider.Schema(`{"type":"object","properties":{"id":{"type":"string"}}}`),
			Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in putIn) (any, error) {
				seg, err := provider.PathSegment("id", in.ID)
				if err != nil {
					return nil, err
				}
				var out map[string]any
				err = c.HTTP().SendJSON(ctx, http.MethodPut, "/items/"+seg, url.Values{"b": {"2", "1"}, "a": {"x"}}, in.Data, &out)
				return out, err
			}),
		})
}

// fakeItems answers PUT /items/{id} with the stored item, 404 for "gone"
// and 401 for any key but "k".
func fakeItems(t testing.TB) *providertest.Recorder {
	return providertest.NewRecorder(t, []string{"Authorization", "Content-Type", "X-Api-Version"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case r.Header.Get("Authorization") != "Bearer k":
			providertest.WriteJSON(w, 401, map[string]string{"message": "bad key"})
		case r.URL.Path == "/items/gone":
			providertest.WriteJSON(w, 404, map[string]string{"message": "no such item"})
		default:
			providertest.WriteJSON(w, 200, map[string]any{"id": strings.TrimPrefix(r.URL.Path, "/items/"), "self": "http://" + r.Host + r.URL.Path, "size": len(body)})
		}
	})
}

func TestRunCases(t *testing.T) {
	key := provider.Credentials{Type: "api_key", APIKey: "k"}
	providertest.RunCases(t, providertest.Suite{New: echo, Fake: fakeItems, GRPC: true}, []providertest.Case{
		{Name: "put", Action: "put", Input: `{"id":"a b","data":{"z":1,"y":[true]}}`, Creds: key},
		{Name: "put_gone", Action: "put", Input: `{"id":"gone"}`, Creds: key, Failed: true},
		{Name: "put_bad_key", Action: "put", Input: `{"id":"a"}`, Creds: provider.Credentials{Type: "api_key", APIKey: "nope"}, Failed: true,
			Options: []providertest.Option{providertest.Tenant("t2")}},
		{Name: "put_dot_segment", Action: "put", Input: `{"id":".."}`, Creds: key, Failed: true},
	})
	// The base URL has a path, and the input names the fake's own URL.
	providertest.RunCases(t, providertest.Suite{New: echo, Fake: fakeItems, Path: "/api", Placeholder: "{base}"}, []providertest.Case{
		{Name: "put_base_path", Action: "put", Input: `{"id":"b","data":{"link":"{base}/x"}}`, Creds: key},
	})
}

func TestRecorderRecords(t *testing.T) {
	rec := providertest.NewRecorder(t, []string{"X-Multi", "X-Absent"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.WriteHeader(http.StatusNoContent)
	})
	req, _ := http.NewRequest(http.MethodPost, rec.URL+"/a%2Fb/c?z=1&a=2&a=3", strings.NewReader("  {\"k\": 1}\n"))
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get(rec.URL + "/second")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := "POST /a%2Fb/c\nquery a=2,3\nquery z=1\nheader X-Multi: one, two\nbody {\"k\": 1}\n\nGET /second\n"
	if got := string(rec.Take()); got != want {
		t.Fatalf("recorded\n%q\nwant\n%q", got, want)
	}
	if got := rec.Take(); len(got) != 0 {
		t.Fatalf("Take did not forget: %q", got)
	}
}

func TestBodyFormats(t *testing.T) {
	form, _ := http.NewRequest(http.MethodPost, "/", nil)
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	js, _ := http.NewRequest(http.MethodPost, "/", nil)
	js.Header.Set("Content-Type", "application/json")
	cases := []struct {
		name   string
		format providertest.BodyFormat
		req    *http.Request
		body   string
		want   string
	}{
		{"trimmed", providertest.TrimmedBody, js, " {\"b\":1}\n", "body {\"b\":1}\n"},
		{"raw", providertest.RawBody, js, " {\"b\":1}\n", "body  {\"b\":1}\n\n"},
		{"canonical form", providertest.CanonicalBody, form, "b=2&a=1&b=3&c=%26", "form a=1\nform b=2,3\nform c=&\n"},
		{"canonical json", providertest.CanonicalBody, js, `{"b": 1, "a": {"d": 2, "c": 3}}`, "body {\"a\":{\"c\":3,\"d\":2},\"b\":1}\n"},
		{"canonical other", providertest.CanonicalBody, js, "not json", "body not json\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.format(tc.req, []byte(tc.body)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRecordBodyOption(t *testing.T) {
	rec := providertest.NewRecorder(t, nil, func(w http.ResponseWriter, r *http.Request, body []byte) {},
		providertest.RecordBody(providertest.CanonicalBody))
	resp, err := http.Post(rec.URL+"/f", "application/x-www-form-urlencoded", strings.NewReader("b=1&a=2"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := string(rec.Take()), "POST /f\nform a=2\nform b=1\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// failRecorder is a testing.TB that keeps failures instead of failing.
type failRecorder struct {
	testing.TB
	failures []string
}

func (f *failRecorder) Helper() {}

func (f *failRecorder) Errorf(format string, args ...any) {
	f.failures = append(f.failures, fmt.Sprintf(format, args...))
}

func TestGoldenDetectsDifferenceAndUpdates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.golden")
	old := *providertest.Update
	t.Cleanup(func() { *providertest.Update = old })

	*providertest.Update = true
	providertest.Golden(t, path, []byte("one\n"))
	if b, err := os.ReadFile(path); err != nil || string(b) != "one\n" {
		t.Fatalf("update wrote %q, %v", b, err)
	}

	*providertest.Update = false
	providertest.Golden(t, path, []byte("one\n"))
	f := &failRecorder{TB: t}
	providertest.Golden(f, path, []byte("two\n"))
	if len(f.failures) != 1 || !strings.Contains(f.failures[0], "--- want\none\n\n--- got\ntwo\n") {
		t.Fatalf("failures %q", f.failures)
	}
}

func TestGoldenJSONAndPretty(t *testing.T) {
	providertest.GoldenJSON(t, "testdata/manifest.golden.json", echo().Manifest())
	resp := provider.Response{Output: []byte(`{"b":1,"a":[2]}`), Diagnostics: []provider.Diagnostic{{Severity: "warning", Summary: "slow"}}}
	providertest.Golden(t, "testdata/pretty.golden", providertest.Pretty(t, resp))
}

func TestRunRefreshing(t *testing.T) {
	fake := fakeItems(t)
	resp := providertest.RunRefreshing(t, echo(), "put", `{"id":"r","data":{}}`,
		provider.Credentials{Type: "oauth2", AccessToken: "stale"}, provider.Credentials{Type: "oauth2", AccessToken: "k"},
		providertest.BaseURL(fake.URL))
	var out map[string]any
	providertest.Output(t, resp, &out)
	if out["id"] != "r" || !strings.Contains(string(fake.Take()), "Bearer stale") {
		t.Fatalf("out %v", out)
	}
}

func ExampleWriteGoogleError() {
	rec := httptest.NewRecorder()
	providertest.WriteGoogleError(rec, 404, "NOT_FOUND", "notFound", "File not found: x.", "fileId", "parameter")
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output: 404 {"error":{"code":404,"errors":[{"domain":"global","location":"fileId","locationType":"parameter","message":"File not found: x.","reason":"notFound"}],"message":"File not found: x.","status":"NOT_FOUND"}}
}
