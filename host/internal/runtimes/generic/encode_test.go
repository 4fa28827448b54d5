package generic

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/sdk/provider"
)

// replies serves a body chosen by the path: /<kind>?n=<bytes>.
func replies(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		var body []byte
		ctype := "application/octet-stream"
		switch strings.TrimPrefix(r.URL.Path, "/stripe/") {
		case "ones": // valid UTF-8, every byte a control character
			body = bytes.Repeat([]byte{1}, n)
		case "nul":
			body = bytes.Repeat([]byte{0}, n)
		case "binary":
			body = make([]byte, n)
			for i := range body {
				body[i] = byte(i * 7)
			}
		case "html":
			body, ctype = bytes.Repeat([]byte("<a&b>"), n/5), "text/html"
		case "jsonhtml":
			body, ctype = []byte(`{"s":"`+strings.Repeat("<>&", n/3)+`"}`), "application/json"
		case "text":
			body, ctype = []byte("héllo \"world\"\n\tback\\slash"), "text/plain; charset=utf-8"
		case "latin1":
			body, ctype = []byte("caf\xe9"), "text/plain; charset=iso-8859-1"
		case "chunked":
			w.Header().Set("Content-Type", ctype)
			chunk := bytes.Repeat([]byte{2}, 64<<10)
			for i := 0; i < n/len(chunk)+1; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newCapped(t *testing.T, upstream string, max int64) *Runtime {
	env := map[string]string{"STRIPE_API_BASE_URL": upstream + "/stripe"}
	return New(Config{
		Catalog: func() *catalog.Catalog { return testCatalog },
		Client:  outbound.New(outbound.Config{AllowPrivateHosts: []string{"127.0.0.1"}}),
		Env:     func(k string) string { return env[k] },
		MaxBody: max,
	})
}

func call(r *Runtime, path string) (provider.Response, error) {
	impl, _ := r.For("stripe")
	return impl.Execute(context.Background(), provider.Request{TenantID: "t1", Action: ActionName,
		Input: json.RawMessage(`{"method":"GET","path":"` + path + `"}`), Credentials: provider.Credentials{Type: "api_key", APIKey: "k"}}, nil)
}

// Every reply is encoded within 4/3 of its size plus headers (twice for
// text of quotes), and binary or control-character bodies come back
// byte-exact as body_base64.
func TestEncodeBoundsGrowth(t *testing.T) {
	srv := replies(t)
	r := newCapped(t, srv.URL, 1<<20)
	const n = 300_000
	for _, kind := range []string{"ones", "nul", "binary", "html", "jsonhtml", "latin1", "text"} {
		resp, err := call(r, "/"+kind+"?n="+strconv.Itoa(n))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if !json.Valid(resp.Output) {
			t.Fatalf("%s: output is not JSON", kind)
		}
		if len(resp.Output) > n*4/3+1024 {
			t.Errorf("%s: a %d-byte reply became a %d-byte output", kind, n, len(resp.Output))
		}
		var o Output
		if err := json.Unmarshal(resp.Output, &o); err != nil {
			t.Fatal(err)
		}
		switch kind {
		case "ones", "nul", "binary", "latin1":
			if o.BodyBase64 == "" || o.Body != nil {
				t.Fatalf("%s: want body_base64, got %.80s", kind, resp.Output)
			}
			raw, err := base64.StdEncoding.DecodeString(o.BodyBase64)
			if err != nil || (kind == "ones" && !bytes.Equal(raw, bytes.Repeat([]byte{1}, n))) {
				t.Fatalf("%s: body_base64 does not decode to the reply", kind)
			}
			if o.Headers["content-type"] == "" {
				t.Errorf("%s: content-type missing", kind)
			}
		case "text":
			var s string
			if err := json.Unmarshal(o.Body, &s); err != nil || s != "héllo \"world\"\n\tback\\slash" {
				t.Fatalf("text body %s", o.Body)
			}
		case "html", "jsonhtml":
			if bytes.Contains(resp.Output, []byte(`\u003c`)) {
				t.Errorf("%s: HTML-escaped output", kind)
			}
		}
	}
}

// A reply over the cap fails with a TooLargeError, whether or not it
// announces its length, and the host reads no more than cap+1 bytes.
func TestReplyCap(t *testing.T) {
	srv := replies(t)
	const max = 100_000
	r := newCapped(t, srv.URL, max)
	for _, path := range []string{"/binary?n=100001", "/chunked?n=5000000", "/ones?n=2000000"} {
		_, err := call(r, path)
		var tl *TooLargeError
		if !errors.As(err, &tl) || tl.Code != CodeUpstreamTooLarge || tl.Limit != max {
			t.Fatalf("%s: err = %v, want a TooLargeError", path, err)
		}
		if !strings.Contains(err.Error(), "ATOM_MAX_UPSTREAM_BODY") {
			t.Errorf("message does not say what to change: %v", err)
		}
	}
	if _, err := call(r, "/binary?n=100000"); err != nil {
		t.Fatalf("a reply of exactly the cap: %v", err)
	}
}
