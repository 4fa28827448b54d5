package jspiece

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

var (
	extraMu     sync.Mutex
	extraBundle = map[string][]byte{}
)

// bundledAny bundles pkg from the pinned test packages (bin/jspieces) when
// they hold it, else from the survey's install (bin/jspieces-survey, made
// by scripts/jspieces-survey.sh). When neither holds it the test is
// skipped: the survey is not part of `make test`.
func bundledAny(t *testing.T, pkg string) []byte {
	t.Helper()
	extraMu.Lock()
	defer extraMu.Unlock()
	if b, ok := extraBundle[pkg]; ok {
		return b
	}
	dir := npmPieces(t)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
		dir = filepath.Join(filepath.Dir(dir), "jspieces-survey")
		if _, err := os.Stat(filepath.Join(dir, ".installed")); err != nil && os.Getenv("ATOM_JSPIECE_SURVEY") == "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not among the pinned test packages (testdata/npm/package.json): pin it", pkg)
			}
			t.Skipf("%s is not among the pinned test packages; run scripts/jspieces-survey.sh (or set ATOM_JSPIECE_SURVEY=1) to test it", pkg)
		}
		dir = surveyPieces(t)
	}
	b, err := Bundle(dir, pkg)
	if err != nil {
		t.Fatal(err)
	}
	extraBundle[pkg] = b
	return b
}

// TestOpenAIAskChatGPT runs OpenAI's ask_chatgpt: the openai SDK's web
// runtime over fetch, its tiktoken import served by js-tiktoken (the
// token count of the history is computed after the completion).
func TestOpenAIAskChatGPT(t *testing.T) {
	srv, requests := fakeUpstream(t, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-3.5-turbo",`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}`)
	p := loadSrc(t, bundledAny(t, "@activepieces/piece-openai"), "@activepieces/piece-openai", "openai", []string{"api.openai.com"}, srv)
	if kinds := p.Spec().ConnectionKinds(); !reflect.DeepEqual(kinds, []string{"custom"}) {
		t.Fatalf("connection kinds = %v", kinds)
	}
	h := newMemHost()
	resp, err := p.Execute(context.Background(), provider.Request{TenantID: "t1", ExecutionID: "ex-1", Action: "ask_chatgpt",
		Input:       json.RawMessage(`{"model":"gpt-3.5-turbo","prompt":"What is the capital of France?","maxTokens":50,"temperature":0.2,"memoryKey":"chat-1"}`),
		Credentials: provider.Credentials{Type: "custom", Fields: map[string]string{"apiKey": "sk-tenant-1", "baseUrl": "https://api.openai.com/v1"}}}, h)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Failed() {
		t.Fatalf("diagnostics %+v, logs %q", resp.Diagnostics, h.logs)
	}
	if string(resp.Output) != `"Paris."` {
		t.Fatalf("output %s", resp.Output)
	}
	got := requests()
	if len(got) != 1 {
		t.Fatalf("upstream got %+v", got)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(got[0].Body), &body); err != nil {
		t.Fatalf("body %q: %v", got[0].Body, err)
	}
	want := map[string]any{"model": "gpt-3.5-turbo", "max_tokens": 50.0, "temperature": 0.2,
		"messages": []any{map[string]any{"role": "system", "content": "You are a helpful assistant."},
			map[string]any{"role": "user", "content": "What is the capital of France?"}}}
	for k, v := range want {
		if !reflect.DeepEqual(body[k], v) {
			t.Fatalf("upstream body %s: %s = %v, want %v", got[0].Body, k, body[k], v)
		}
	}
	if got[0].Method != "POST" || got[0].Path != "/v1/chat/completions" || got[0].Authorization != "Bearer sk-tenant-1" {
		t.Fatalf("upstream request %+v", got[0])
	}
	// The history went to the tenant's store.
	var hist []map[string]any
	if err := json.Unmarshal(h.store["chat-1"], &hist); err != nil || len(hist) != 2 || hist[1]["content"] != "Paris." {
		t.Fatalf("stored history %s", h.store["chat-1"])
	}
}

// TestDeepSeekAskOverNodeHTTP runs DeepSeek's ask_deepseek, whose bundle
// carries the openai SDK's Node runtime: node-fetch over http.request,
// served over fetch and the host.
func TestDeepSeekAskOverNodeHTTP(t *testing.T) {
	srv, requests := fakeUpstream(t, `{"id":"c1","object":"chat.completion","created":1,"model":"deepseek-chat",`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":"hi there"},"finish_reason":"stop"}]}`)
	p := loadSrc(t, bundledAny(t, "@activepieces/piece-deepseek"), "@activepieces/piece-deepseek", "deepseek", []string{"api.deepseek.com"}, srv)
	h := newMemHost()
	resp, err := p.Execute(context.Background(), provider.Request{TenantID: "t1", ExecutionID: "ex-1", Action: "ask_deepseek",
		Input:       json.RawMessage(`{"model":"deepseek-chat","prompt":"Say hi","maxTokens":10}`),
		Credentials: provider.Credentials{Type: "api_key", APIKey: "sk-ds-1"}}, h)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Failed() || string(resp.Output) != `"hi there"` {
		t.Fatalf("output %s diagnostics %+v logs %q", resp.Output, resp.Diagnostics, h.logs)
	}
	got := requests()
	if len(got) != 1 || got[0].Method != "POST" || got[0].Path != "/chat/completions" || got[0].Authorization != "Bearer sk-ds-1" {
		t.Fatalf("upstream %+v", got)
	}
	var body struct {
		Model    string
		Messages []map[string]any
	}
	if err := json.Unmarshal([]byte(got[0].Body), &body); err != nil || body.Model != "deepseek-chat" ||
		len(body.Messages) == 0 || body.Messages[len(body.Messages)-1]["content"] != "Say hi" {
		t.Fatalf("upstream body %s", got[0].Body)
	}
}
