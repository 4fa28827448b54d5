package provider_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

func ExampleSchema() {
	fmt.Println(string(provider.Schema(`{
		"type": "object",
		"properties": {"b": {"type": "string"}, "a": {"type": "integer"}}
	}`)))
	// Output: {"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}}}
}

func ExampleSortedSchema() {
	fmt.Println(string(provider.SortedSchema(`{"type": "object", "properties": {"b": {}, "a": {}}}`)))
	// Output: {"properties":{"a":{},"b":{}},"type":"object"}
}

func TestSchemaPanicsOnBadJSON(t *testing.T) {
	for name, f := range map[string]func(string) []byte{
		"Schema":       func(s string) []byte { return provider.Schema(s) },
		"SortedSchema": func(s string) []byte { return provider.SortedSchema(s) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Fatal("no panic for a broken schema")
				}
			}()
			f(`{"type":`)
		})
	}
}

func ExampleHTTPClient_SendJSON() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"method":%q,"type":%q,"got":%q,"q":%q}`, r.Method, r.Header.Get("Content-Type"), body, r.URL.RawQuery)
	}))
	defer api.Close()
	ctx := provider.WithRequest(context.Background(), provider.Request{BaseURL: api.URL})
	c := provider.Client(ctx, provider.HTTPOptions{})

	var out map[string]string
	err := c.SendJSON(ctx, http.MethodPatch, "/items/1", url.Values{"v": {"2"}}, map[string]string{"name": "x"}, &out)
	fmt.Println(out, err)
	err = c.SendJSON(ctx, http.MethodDelete, "/items/1", nil, nil, &out)
	fmt.Println(out, err)
	// Output:
	// map[got:{"name":"x"} method:PATCH q:v=2 type:application/json] <nil>
	// map[got: method:DELETE q: type:] <nil>
}

func TestExchangeJSONReturnsHeadersAndErrors(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Remaining", "0")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"message":"name is taken"}`)
	}))
	defer api.Close()
	ctx := provider.WithRequest(context.Background(), provider.Request{BaseURL: api.URL})
	h, err := provider.Client(ctx, provider.HTTPOptions{}).ExchangeJSON(ctx, http.MethodPost, "/items", nil, map[string]int{"n": 1}, nil)
	if h.Get("X-Remaining") != "0" {
		t.Fatalf("headers %v", h)
	}
	e, ok := err.(*provider.HTTPError)
	if !ok || e.Status != 422 {
		t.Fatalf("err %#v", err)
	}
	if _, err := provider.Client(ctx, provider.HTTPOptions{}).ExchangeJSON(ctx, http.MethodPost, "/items", nil, make(chan int), nil); err == nil {
		t.Fatal("an unencodable body was sent")
	}
}

func ExampleUpload() {
	var in struct {
		Name string `json:"name"`
		provider.Upload
	}
	in.ContentBase64 = "AAEC"
	data, err := in.Bytes(5<<20, "is larger than 5 MB")
	fmt.Println(data, err, in.MediaType(""), in.MediaType("image/png"))
	// Output: [0 1 2] <nil> application/octet-stream image/png
}

func TestUploadBytes(t *testing.T) {
	cases := []struct {
		name  string
		up    provider.Upload
		want  string
		field string
		mt    string
	}{
		{"text", provider.Upload{Content: "hello"}, "hello", "", "text/plain"},
		{"base64", provider.Upload{ContentBase64: "aGk="}, "hi", "", "application/octet-stream"},
		{"empty", provider.Upload{}, "", "", "text/plain"},
		{"both", provider.Upload{Content: "a", ContentBase64: "YQ=="}, "", "content_base64", "application/octet-stream"},
		{"bad base64", provider.Upload{ContentBase64: "***"}, "", "content_base64", "application/octet-stream"},
		{"too large", provider.Upload{Content: "123456"}, "", "content", "text/plain"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := tc.up.Bytes(5, "is larger than 5 bytes")
			ds := provider.Diagnostics(err)
			switch {
			case tc.field == "" && (err != nil || string(data) != tc.want):
				t.Fatalf("data %q err %v", data, err)
			case tc.field != "" && (len(ds) != 1 || ds[0].Field != tc.field || data != nil):
				t.Fatalf("diagnostics %+v data %q", ds, data)
			}
			if got := tc.up.MediaType(""); got != tc.mt {
				t.Fatalf("media type %q, want %q", got, tc.mt)
			}
		})
	}
}

// TestEgressErrorDiagnostic: a request the host could not send becomes a
// diagnostic carrying its class, so the host's failure table and the
// plugin agree on it.
func TestEgressErrorDiagnostic(t *testing.T) {
	for code, want := range map[string]int{provider.EgressRateLimited: 429, provider.EgressTransport: 502,
		provider.EgressHostNotAllowed: 0, provider.EgressAddressForbidden: 0} {
		err := fmt.Errorf("call: %w", &provider.EgressError{Code: code, Message: "m"})
		ds := provider.Diagnostics(err)
		if len(ds) != 1 || ds[0].Status != want || ds[0].Severity != provider.SeverityError {
			t.Errorf("%s: %+v, want status %d", code, ds, want)
		}
	}
}
