package jspiece

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/sdk/provider"
)

func TestEngineChecksum(t *testing.T) {
	want, err := os.ReadFile("engine/quickjs.wasm.sha256")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(engineWasm)
	if got := hex.EncodeToString(sum[:]); got != strings.Fields(string(want))[0] {
		t.Fatalf("engine/quickjs.wasm has SHA-256 %s, engine/quickjs.wasm.sha256 says %s: rebuild with scripts/build-jsengine.sh", got, want)
	}
}

// upstreamRequest is what a fake provider received.
type upstreamRequest struct {
	Method, Path, Authorization, ContentType string
	Form                                     url.Values
	Body                                     string
}

// fakeUpstream records requests and answers each with answer.
func fakeUpstream(t *testing.T, answer string) (*httptest.Server, func() []upstreamRequest) {
	var mu sync.Mutex
	var got []upstreamRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ur := upstreamRequest{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"),
			ContentType: r.Header.Get("Content-Type"), Body: string(b)}
		if strings.HasPrefix(ur.ContentType, "application/x-www-form-urlencoded") {
			ur.Form, _ = url.ParseQuery(string(b))
		}
		mu.Lock()
		got = append(got, ur)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []upstreamRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]upstreamRequest(nil), got...)
	}
}

// loadNPM bundles and loads an installed npm piece whose API host is
// served by srv.
func loadNPM(t *testing.T, pkg, id string, hosts []string, srv *httptest.Server) *Piece {
	t.Helper()
	return loadSrc(t, bundled(t, pkg), pkg, id, hosts, srv)
}

// loadSrc loads a bundle whose API host is served by srv.
func loadSrc(t *testing.T, src []byte, pkg, id string, hosts []string, srv *httptest.Server) *Piece {
	t.Helper()
	u, _ := url.Parse(srv.URL)
	ob := outbound.New(outbound.Config{AllowPrivateHosts: []string{u.Host}, Rate: -1})
	t.Cleanup(ob.Close)
	rewrite := map[string]string{}
	for _, h := range hosts {
		rewrite[h] = srv.URL
	}
	r := newRuntime(t, Config{Outbound: ob, Rewrite: rewrite})
	p, err := r.Load(context.Background(), Artifact{ID: id, Package: pkg, Hosts: hosts, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestSlackSendChannelMessage(t *testing.T) {
	srv, requests := fakeUpstream(t, `{"ok":true,"channel":"C0123","ts":"1710304378.475129","message":{"text":"Deploy finished"}}`)
	p := loadNPM(t, "@activepieces/piece-slack", "slack", []string{"slack.com"}, srv)

	var send *provider.Action
	for i, a := range p.Manifest().Actions {
		if a.Name == "send_channel_message" {
			send = &p.Manifest().Actions[i]
		}
	}
	if send == nil {
		t.Fatal("the manifest lists no send_channel_message")
	}
	var schema struct {
		Required   []string
		Properties map[string]map[string]any
	}
	if err := json.Unmarshal(send.Input, &schema); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(schema.Required, []string{"channel"}) || schema.Properties["text"]["type"] != "string" ||
		schema.Properties["sendAsBot"]["type"] != "boolean" || schema.Properties["sendAsBot"]["default"] != true {
		t.Fatalf("send_channel_message input schema: %s", send.Input)
	}
	if kinds := p.Spec().ConnectionKinds(); !reflect.DeepEqual(kinds, []string{"oauth2", "custom"}) {
		t.Fatalf("connection kinds = %v", kinds)
	}

	h := newMemHost()
	resp, err := p.Execute(context.Background(), provider.Request{TenantID: "tenant-1", ExecutionID: "ex-1", Action: "send_channel_message",
		Input:       json.RawMessage(`{"channel":"C0123","text":"Deploy finished"}`),
		Credentials: provider.Credentials{Type: "oauth2", AccessToken: "xoxb-tenant-1", TokenType: "bot"}}, h)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Failed() {
		t.Fatalf("diagnostics: %+v (logs %q)", resp.Diagnostics, h.logs)
	}
	var out struct {
		OK      bool
		Channel string
		TS      string
	}
	if err := json.Unmarshal(resp.Output, &out); err != nil || !out.OK || out.Channel != "C0123" || out.TS != "1710304378.475129" {
		t.Fatalf("output %s", resp.Output)
	}
	got := requests()
	if len(got) != 1 {
		t.Fatalf("upstream got %d requests: %+v", len(got), got)
	}
	r := got[0]
	// @slack/web-api posts its arguments form-encoded, objects as JSON.
	want := upstreamRequest{Method: "POST", Path: "/api/chat.postMessage", Authorization: "Bearer xoxb-tenant-1",
		ContentType: "application/x-www-form-urlencoded",
		Form: url.Values{"channel": {"C0123"}, "text": {"Deploy finished"},
			"blocks": {`[{"type":"section","text":{"type":"mrkdwn","text":"Deploy finished"}}]`}}}
	r.Body = ""
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("upstream request\n got %+v\nwant %+v", r, want)
	}

	// Another tenant's call carries its own token, on its own instance.
	if _, err := p.Execute(context.Background(), provider.Request{TenantID: "tenant-2", ExecutionID: "ex-2", Action: "send_channel_message",
		Input:       json.RawMessage(`{"channel":"C9","text":"hi"}`),
		Credentials: provider.Credentials{Type: "oauth2", AccessToken: "xoxb-tenant-2"}}, newMemHost()); err != nil {
		t.Fatal(err)
	}
	if got := requests(); len(got) != 2 || got[1].Authorization != "Bearer xoxb-tenant-2" {
		t.Fatalf("second tenant's request: %+v", got)
	}
}
