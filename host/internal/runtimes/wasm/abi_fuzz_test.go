package wasm

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

// recordingOutbound answers every request with an empty 200 and remembers
// the last host it was asked to reach.
type recordingOutbound struct{ hosts []string }

func (o *recordingOutbound) Do(_ context.Context, req *http.Request) (*http.Response, error) {
	o.hosts = append(o.hosts, req.URL.Hostname())
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}"))}, nil
}

// FuzzHTTPRequest decodes guest-supplied http_request payloads: whatever
// the guest sends, the host never panics and never reaches a host the
// piece did not declare.
func FuzzHTTPRequest(f *testing.F) {
	for _, s := range []string{
		`{"method":"GET","url":"https://allowed.test/x"}`,
		`{"method":"POST","url":"https://api.wild.test/y","headers":{"Host":["evil.test"]},"body":"hi"}`,
		`{"url":"https://evil.test/"}`,
		`{"url":"http://user:pw@allowed.test/"}`,
		`{"url":"https://allowed.test.evil.test/"}`,
		`{"url":"https://ALLOWED.test/","body_base64":"!!"}`,
		`{"url":"//allowed.test"}`,
		`{"method":"G\nET","url":"https://allowed.test/"}`,
		`{"url":"https://allowed.test:99999/"}`,
		`not json`, `null`, `[]`, `{"url":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := &recordingOutbound{}
		rt := &Runtime{cfg: Config{MaxHTTPPerCall: 50, MaxRequestBytes: 1 << 20, MaxResponseBytes: 1 << 20, Outbound: out}}
		p := &Piece{rt: rt}
		p.spec.ID = "fuzz"
		p.spec.Hosts = []string{"allowed.test", "*.wild.test"}
		st := &callState{piece: p, req: &provider.Request{}}
		res := st.httpRequest(context.Background(), in)
		for _, h := range out.hosts {
			h = strings.ToLower(h)
			if h != "allowed.test" && !strings.HasSuffix(h, ".wild.test") {
				t.Fatalf("request to undeclared host %q from %q", h, in)
			}
		}
		if len(out.hosts) == 0 && res.err == nil {
			t.Fatalf("no request sent and no error for %q", in)
		}
	})
}

// FuzzManifest decodes the manifest a guest returns from atom_manifest:
// it never panics, and an accepted manifest has an id and only valid host
// patterns.
func FuzzManifest(f *testing.F) {
	for _, s := range []string{
		`{"id":"x","name":"X","version":"1.0.0","hosts":["a.test","*.b.test"],"actions":[{"name":"a"}]}`,
		`{"id":"x","hosts":["*"]}`, `{"id":"x","hosts":["a.*.test"]}`, `{"id":"x","abi":99}`,
		`{"id":""}`, `{}`, `null`, `{"id":"x","actions":[{"name":1}]}`, `{"id":"x","hosts":[""]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p := &Piece{}
		if err := p.setManifest(in); err != nil {
			return
		}
		if p.spec.ID == "" {
			t.Fatalf("accepted a manifest without id: %q", in)
		}
		for _, h := range p.spec.Hosts {
			if validHostPattern(h) != nil {
				t.Fatalf("accepted invalid host pattern %q", h)
			}
		}
	})
}
