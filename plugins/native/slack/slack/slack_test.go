package slack_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/slack/slack"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const (
	botToken  = "xoxb-1111-2222-bot"
	userToken = "xoxp-1111-3333-user"
)

func slackErr(w http.ResponseWriter, code string, extra map[string]any) {
	out := map[string]any{"ok": false, "error": code}
	for k, v := range extra {
		out[k] = v
	}
	providertest.WriteJSON(w, 200, out)
}

// fakeSlack serves the Web API methods the provider uses the way Slack
// does: Bearer tokens of two kinds, HTTP 200 with ok:false for failures,
// cursor paging with response_metadata.next_cursor ("" on the last page),
// page-numbered search for user tokens only, a missing_charset warning for
// JSON bodies without a charset, and 429 with Retry-After.
func fakeSlack(t testing.TB) *providertest.Recorder {
	channels := []map[string]any{{"id": "C01", "name": "general", "is_channel": true}, {"id": "C02", "name": "random", "is_channel": true}, {"id": "C03", "name": "ops", "is_private": true}}
	return providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch tok {
		case botToken, userToken:
		case "xoxb-rate-limited":
			w.Header().Set("Retry-After", "30")
			providertest.WriteJSON(w, 429, map[string]any{"ok": false, "error": "ratelimited"})
			return
		case "xoxe.xoxb-expired":
			slackErr(w, "token_expired", nil)
			return
		case "":
			slackErr(w, "not_authed", nil)
			return
		default:
			slackErr(w, "invalid_auth", nil)
			return
		}
		q := r.URL.Query()
		method, ok := strings.CutPrefix(r.URL.Path, "/api/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch "/" + method {
		case "/auth.test":
			out := map[string]any{"ok": true, "url": "https://acme.slack.com/", "team": "Acme", "team_id": "T01", "user": "atom", "user_id": "U01"}
			if tok == botToken {
				out["bot_id"] = "B01"
			}
			providertest.WriteJSON(w, 200, out)
		case "/chat.postMessage":
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				slackErr(w, "invalid_arguments", nil)
				return
			}
			var in map[string]any
			_ = json.Unmarshal(body, &in)
			if in["channel"] != "C01" {
				slackErr(w, "channel_not_found", nil)
				return
			}
			out := map[string]any{"ok": true, "channel": "C01", "ts": "1715000000.000200",
				"message": map[string]any{"type": "message", "text": in["text"], "user": "U01", "ts": "1715000000.000200", "thread_ts": in["thread_ts"]}}
			if !strings.Contains(r.Header.Get("Content-Type"), "charset") {
				out["warning"] = "missing_charset"
				out["response_metadata"] = map[string]any{"warnings": []string{"missing_charset"}}
			}
			providertest.WriteJSON(w, 200, out)
		case "/conversations.list":
			limit := 100
			if s := q.Get("limit"); s != "" {
				limit, _ = strconv.Atoi(s)
			}
			start := 0
			if c := q.Get("cursor"); c != "" {
				n, err := strconv.Atoi(strings.TrimPrefix(c, "dGVhbTpD"))
				if err != nil {
					slackErr(w, "invalid_cursor", nil)
					return
				}
				start = n
			}
			end := min(start+limit, len(channels))
			next := ""
			if end < len(channels) {
				next = "dGVhbTpD" + strconv.Itoa(end)
			}
			providertest.WriteJSON(w, 200, map[string]any{"ok": true, "channels": channels[start:end], "response_metadata": map[string]string{"next_cursor": next}})
		case "/conversations.history":
			if q.Get("channel") != "C01" {
				slackErr(w, "channel_not_found", nil)
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{"ok": true, "has_more": true, "pin_count": 0,
				"messages":          []map[string]any{{"type": "message", "user": "U02", "text": "deploy done", "ts": "1715000000.000100"}},
				"response_metadata": map[string]string{"next_cursor": "bmV4dF90czoxNzE0"}})
		case "/users.list":
			providertest.WriteJSON(w, 200, map[string]any{"ok": true, "members": []map[string]any{{"id": "U01", "name": "atom", "is_bot": true}, {"id": "U02", "name": "ada", "real_name": "Ada Lovelace"}},
				"response_metadata": map[string]string{"next_cursor": ""}})
		case "/search.messages":
			if tok != userToken {
				slackErr(w, "not_allowed_token_type", nil)
				return
			}
			page, _ := strconv.Atoi(q.Get("page"))
			if page == 0 {
				page = 1
			}
			providertest.WriteJSON(w, 200, map[string]any{"ok": true, "query": q.Get("query"), "messages": map[string]any{
				"total":   3,
				"matches": []map[string]any{{"iid": "m" + strconv.Itoa(page), "text": "deploy done", "channel": map[string]string{"id": "C01", "name": "general"}, "ts": "1715000000.000100"}},
				"paging":  map[string]int{"count": 1, "total": 3, "page": page, "pages": 3}}})
		default:
			slackErr(w, "unknown_method", nil)
		}
	})
}

func TestActions(t *testing.T) {
	bot := provider.Credentials{Type: "oauth2", AccessToken: botToken, TokenType: "bot"}
	both := provider.Credentials{Type: "oauth2", AccessToken: botToken, TokenType: "bot", Metadata: map[string]string{slack.UserTokenKey: userToken, "team.id": "T01"}}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return slack.New() },
		Fake: fakeSlack,
		Dir:  "../testdata",
		Path: "/api",
	}, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: bot},
		{Name: "test_connection_invalid_auth", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "xoxb-wrong"}, Failed: true},
		{Name: "test_connection_rate_limited", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "xoxb-rate-limited"}, Failed: true},
		{Name: "post_message", Action: "post_message", Input: `{"channel":"C01","text":"hello *world*","thread_ts":"1715000000.000100","reply_broadcast":true}`, Creds: bot},
		{Name: "post_message_blocks", Action: "post_message", Input: `{"channel":"C01","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}],"unfurl_links":false}`, Creds: bot},
		{Name: "post_message_no_channel", Action: "post_message", Input: `{"channel":"C99","text":"x"}`, Creds: bot, Failed: true},
		{Name: "post_message_empty", Action: "post_message", Input: `{"channel":"C01"}`, Creds: bot, Failed: true},
		{Name: "list_conversations_page1", Action: "list_conversations", Input: `{"types":["public_channel","private_channel"],"exclude_archived":true,"limit":2}`, Creds: bot},
		{Name: "list_conversations_page2", Action: "list_conversations", Input: `{"types":["public_channel","private_channel"],"exclude_archived":true,"limit":2,"cursor":"dGVhbTpD2"}`, Creds: bot},
		{Name: "list_conversations_bad_cursor", Action: "list_conversations", Input: `{"cursor":"zzz"}`, Creds: bot, Failed: true},
		{Name: "get_conversation_history", Action: "get_conversation_history", Input: `{"channel":"C01","oldest":"1714000000.000000","limit":1}`, Creds: bot},
		{Name: "list_users", Action: "list_users", Input: `{"limit":200}`, Creds: bot},
		{Name: "search_messages_user_token", Action: "search_messages", Input: `{"query":"deploy in:#general","sort":"timestamp","count":1,"page":2}`, Creds: both},
		{Name: "search_messages_bot_token", Action: "search_messages", Input: `{"query":"deploy"}`, Creds: bot, Failed: true},
	})
}

func TestTokenExpiredRefreshes(t *testing.T) {
	fake := fakeSlack(t)
	resp := providertest.RunRefreshing(t, slack.New(), "test_connection", nil, provider.Credentials{Type: "oauth2", AccessToken: "xoxe.xoxb-expired"}, provider.Credentials{Type: "oauth2", AccessToken: botToken},
		providertest.BaseURL(fake.URL+"/api"), providertest.OverGRPC())
	var out map[string]any
	providertest.Output(t, resp, &out)
	if out["bot_id"] != "B01" {
		t.Fatalf("out %v", out)
	}
}

func TestSlackErrorDiagnostic(t *testing.T) {
	fake := fakeSlack(t)
	resp := providertest.Run(t, slack.New(), "post_message", `{"channel":"C99","text":"x"}`,
		provider.Credentials{Type: "oauth2", AccessToken: botToken}, providertest.BaseURL(fake.URL+"/api"), providertest.OverGRPC())
	d := resp.Diagnostics[0]
	if d.Summary != "channel_not_found" || d.Field != "channel" {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", slack.New().Manifest())
}
