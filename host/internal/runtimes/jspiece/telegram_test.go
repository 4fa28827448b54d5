package jspiece

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

// TestTelegramSendTextMessage runs a piece of the old framework
// (@activepieces/framework 0.2, axios 1.2 without a fetch adapter: its
// requests go through the XMLHttpRequest shim), whose auth is an action
// prop: the tenant's api_key connection fills bot_token.
func TestTelegramSendTextMessage(t *testing.T) {
	srv, requests := fakeUpstream(t, `{"ok":true,"result":{"message_id":42,"chat":{"id":-1001},"text":"Build green"}}`)
	p := loadNPM(t, "@activepieces/piece-telegram-bot", "telegram-bot", []string{"api.telegram.org"}, srv)
	var schema struct {
		Required   []string
		Properties map[string]any
	}
	for _, a := range p.Manifest().Actions {
		if a.Name == "send_text_message" {
			if err := json.Unmarshal(a.Input, &schema); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, ok := schema.Properties["bot_token"]; ok || !reflect.DeepEqual(schema.Required, []string{"chat_id"}) {
		t.Fatalf("send_text_message schema: %+v (the auth prop must not be input)", schema)
	}
	if kinds := p.Spec().ConnectionKinds(); !reflect.DeepEqual(kinds, []string{"api_key"}) {
		t.Fatalf("connection kinds = %v", kinds)
	}
	h := newMemHost()
	resp, err := p.Execute(context.Background(), provider.Request{TenantID: "t1", ExecutionID: "ex-1", Action: "send_text_message",
		Input:       json.RawMessage(`{"chat_id":"-1001","message":"Build green"}`),
		Credentials: provider.Credentials{Type: "api_key", APIKey: "123456:ABC-tenant"}}, h)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Failed() {
		t.Fatalf("diagnostics %+v, logs %q", resp.Diagnostics, h.logs)
	}
	var out struct {
		Status int
		Body   struct {
			OK     bool
			Result struct {
				MessageID int `json:"message_id"`
			}
		}
	}
	if err := json.Unmarshal(resp.Output, &out); err != nil || out.Status != 200 || !out.Body.OK || out.Body.Result.MessageID != 42 {
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
	if got[0].Method != "POST" || got[0].Path != "/bot123456:ABC-tenant/sendMessage" || got[0].ContentType != "application/json" ||
		!reflect.DeepEqual(body, map[string]any{"chat_id": "-1001", "text": "Build green"}) {
		t.Fatalf("upstream request %+v", got[0])
	}
}
