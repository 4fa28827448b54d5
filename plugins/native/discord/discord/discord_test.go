package discord_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/discord/discord"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const (
	botToken  = "MTExMTExMTExMTExMTExMTEx.Gabcde.bot-secret"
	userToken = "user-oauth-token"
)

func discordError(w http.ResponseWriter, status int, code int, msg string, errs any) {
	out := map[string]any{"code": code, "message": msg}
	if errs != nil {
		out["errors"] = errs
	}
	providertest.WriteJSON(w, status, out)
}

// fakeDiscord serves the v10 endpoints the provider uses: "Bot" and
// "Bearer" authorization, snowflake paging with limit/after/before,
// rate-limit headers, the nested Invalid Form Body error, JSON error codes
// and 429 bodies with retry_after.
func fakeDiscord(t testing.TB) *providertest.Recorder {
	guilds := []map[string]any{{"id": "100", "name": "Alpha"}, {"id": "200", "name": "Beta"}, {"id": "300", "name": "Gamma"}}
	msgs := []map[string]any{{"id": "903", "content": "three"}, {"id": "902", "content": "two"}, {"id": "901", "content": "one"}}
	return providertest.NewRecorder(t, []string{"Authorization", "Content-Type", "User-Agent"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		auth := r.Header.Get("Authorization")
		isBot := auth == "Bot "+botToken
		if !isBot && auth != "Bearer "+userToken {
			discordError(w, 401, 0, "401: Unauthorized", nil)
			return
		}
		w.Header().Set("X-RateLimit-Limit", "5")
		w.Header().Set("X-RateLimit-Remaining", "4")
		w.Header().Set("X-RateLimit-Reset-After", "1.000")
		w.Header().Set("X-RateLimit-Bucket", "abcd1234")
		q := r.URL.Query()
		p := r.URL.Path
		limit, _ := strconv.Atoi(q.Get("limit"))
		switch {
		case r.Method == "GET" && p == "/api/v10/users/@me":
			if isBot {
				providertest.WriteJSON(w, 200, map[string]any{"id": "111", "username": "atom-bot", "bot": true, "discriminator": "0"})
			} else {
				providertest.WriteJSON(w, 200, map[string]any{"id": "222", "username": "ada", "discriminator": "0"})
			}
		case r.Method == "GET" && p == "/api/v10/users/@me/guilds":
			var out []map[string]any
			for _, g := range guilds {
				if q.Get("after") == "" || g["id"].(string) > q.Get("after") {
					out = append(out, g)
				}
			}
			if len(out) > limit {
				out = out[:limit]
			}
			if q.Get("after") != "" {
				w.Header().Set("X-RateLimit-Remaining", "0")
			}
			providertest.WriteJSON(w, 200, out)
		case r.Method == "GET" && strings.HasSuffix(p, "/channels") && strings.HasPrefix(p, "/api/v10/guilds/"):
			if !isBot {
				discordError(w, 401, 0, "401: Unauthorized", nil)
				return
			}
			if p != "/api/v10/guilds/100/channels" {
				discordError(w, 404, 10004, "Unknown Guild", nil)
				return
			}
			providertest.WriteJSON(w, 200, []map[string]any{{"id": "500", "type": 0, "name": "general", "guild_id": "100"}, {"id": "501", "type": 2, "name": "Voice", "guild_id": "100"}})
		case p == "/api/v10/channels/429/messages":
			w.Header().Set("Retry-After", "2")
			w.Header().Set("X-RateLimit-Scope", "user")
			providertest.WriteJSON(w, 429, map[string]any{"message": "You are being rate limited.", "retry_after": 1.5, "global": false})
		case r.Method == "POST" && p == "/api/v10/channels/500/messages":
			var in struct {
				Content string `json:"content"`
				Embeds  []struct {
					Title string `json:"title"`
				} `json:"embeds"`
			}
			_ = json.Unmarshal(body, &in)
			for i, e := range in.Embeds {
				if len(e.Title) > 256 {
					discordError(w, 400, 50035, "Invalid Form Body", map[string]any{"embeds": map[string]any{strconv.Itoa(i): map[string]any{"title": map[string]any{
						"_errors": []map[string]string{{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}}}}}})
					return
				}
			}
			providertest.WriteJSON(w, 200, map[string]any{"id": "904", "channel_id": "500", "content": in.Content, "timestamp": "2024-05-06T10:00:00.000000+00:00", "author": map[string]any{"id": "111", "bot": true}})
		case r.Method == "GET" && p == "/api/v10/channels/500/messages":
			var out []map[string]any
			for _, m := range msgs {
				if q.Get("before") == "" || m["id"].(string) < q.Get("before") {
					out = append(out, m)
				}
			}
			if len(out) > limit {
				out = out[:limit]
			}
			providertest.WriteJSON(w, 200, out)
		default:
			discordError(w, 404, 0, "404: Not Found", nil)
		}
	})
}

func TestActions(t *testing.T) {
	bot := provider.Credentials{Type: "api_key", APIKey: botToken}
	user := provider.Credentials{Type: "oauth2", AccessToken: userToken, TokenType: "Bearer"}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return discord.New() },
		Fake: fakeDiscord,
		Dir:  "../testdata",
	}, []providertest.Case{
		{Name: "test_connection_bot", Action: "test_connection", Input: `{}`, Creds: bot},
		{Name: "test_connection_oauth", Action: "test_connection", Input: `{}`, Creds: user},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "api_key", APIKey: "nope"}, Failed: true},
		{Name: "list_guilds_page1", Action: "list_guilds", Input: `{"limit":2,"with_counts":true}`, Creds: user},
		{Name: "list_guilds_page2", Action: "list_guilds", Input: `{"limit":2,"after":"200"}`, Creds: user},
		{Name: "list_channels", Action: "list_channels", Input: `{"guild_id":"100"}`, Creds: bot},
		{Name: "list_channels_unknown_guild", Action: "list_channels", Input: `{"guild_id":"999"}`, Creds: bot, Failed: true},
		{Name: "send_message", Action: "send_message", Input: `{"channel_id":"500","content":"@everyone deploy done","reply_to":"903"}`, Creds: bot},
		{Name: "send_message_invalid_form", Action: "send_message", Input: `{"channel_id":"500","embeds":[{"title":"` + strings.Repeat("x", 300) + `"}]}`, Creds: bot, Failed: true},
		{Name: "send_message_rate_limited", Action: "send_message", Input: `{"channel_id":"429","content":"hi","allow_mentions":true}`, Creds: bot, Failed: true},
		{Name: "list_messages_page1", Action: "list_messages", Input: `{"channel_id":"500","limit":2}`, Creds: bot},
		{Name: "list_messages_page2", Action: "list_messages", Input: `{"channel_id":"500","limit":2,"before":"902"}`, Creds: bot},
	})
}

func TestInvalidFormBodyNamesField(t *testing.T) {
	fake := fakeDiscord(t)
	resp := providertest.Run(t, discord.New(), "send_message", `{"channel_id":"500","embeds":[{"title":"`+strings.Repeat("x", 300)+`"}]}`,
		provider.Credentials{Type: "api_key", APIKey: botToken}, providertest.BaseURL(fake.URL), providertest.OverGRPC())
	d := resp.Diagnostics[0]
	if d.Status != 400 || d.Field != "embeds.0.title" || d.Summary != "Invalid Form Body: Must be 256 or fewer in length." {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", discord.New().Manifest())
}
