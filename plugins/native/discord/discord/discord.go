// Package discord is the Discord provider over the HTTP API v10
// (https://discord.com/developers/docs/reference), built only on the
// public SDK.
//
// Two kinds of connection work: a bot token (api_key connection, sent as
// "Authorization: Bot <token>") for guild channels and messages, and a
// user's OAuth token (Bearer) for the user and their guilds. Listings page
// by snowflake id (after/before). Discord's error body, whose "errors"
// object nests the failing field ({"content":{"_errors":[...]}}), becomes
// a diagnostic naming that field; an exhausted rate-limit bucket
// (X-RateLimit-Remaining: 0) is reported as a warning.
package discord

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is Discord's host, used when the host supplies none; paths
// carry the API version.
const BaseURL = "https://discord.com"

const api = "/api/v10"

// New returns the Discord provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "discord",
		Name:         "Discord",
		Version:      Version,
		Description:  "Guilds, channels and messages on Discord.",
		Categories:   []string{"communication"},
		AllowedHosts: []string{"discord.com"},
	}).
		HTTP(provider.HTTPOptions{
			BaseURL:     BaseURL,
			APIKey:      provider.APIKeyHeader("Authorization", "Bot "),
			UserAgent:   "DiscordBot (https://github.com/atomhq/atom, " + Version + ")",
			DecodeError: decodeError,
		}).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the current user or bot (GET /users/@me).",
			Output:      provider.Schema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"id":{"type":"string"},"username":{"type":"string"},"bot":{"type":"boolean"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_guilds",
			DisplayName: "List guilds",
			Description: "Lists the guilds the user or bot is in, by ascending id, one page at a time.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"properties":{
				"limit":{"type":"integer","minimum":1,"maximum":200},
				"after":{"type":"string","description":"Guild id to start after (next_after of the previous page)"},
				"with_counts":{"type":"boolean"}}}`),
			Output: provider.Schema(`{"type":"object","required":["guilds"],"properties":{"guilds":{"type":"array","items":{"type":"object"}},"next_after":{"type":"string"}}}`),
			Handle: provider.Typed(listGuilds),
		}).
		Action(provider.ActionDef{
			Name:        "list_channels",
			DisplayName: "List guild channels",
			Description: "Lists a guild's channels (bot token).",
			Input:       provider.Schema(`{"type":"object","additionalProperties":false,"required":["guild_id"],"properties":{"guild_id":{"type":"string","pattern":"^[0-9]+$"}}}`),
			Output:      provider.Schema(`{"type":"object","required":["channels"],"properties":{"channels":{"type":"array","items":{"type":"object"}}}}`),
			Handle:      provider.Typed(listChannels),
		}).
		Action(provider.ActionDef{
			Name:        "send_message",
			DisplayName: "Send message",
			Description: "Posts a message to a channel, optionally as a reply (bot token).",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["channel_id"],"properties":{
				"channel_id":{"type":"string","pattern":"^[0-9]+$"},
				"content":{"type":"string","maxLength":2000},
				"embeds":{"type":"array","maxItems":10,"items":{"type":"object"}},
				"tts":{"type":"boolean"},
				"reply_to":{"type":"string","description":"Message id to reply to"},
				"allow_mentions":{"type":"boolean","description":"Let @everyone, roles and users in content ping (off by default)"}}}`),
			Output: provider.Schema(`{"type":"object","properties":{"id":{"type":"string"},"channel_id":{"type":"string"},"content":{"type":"string"},"timestamp":{"type":"string"}}}`),
			Handle: provider.Typed(sendMessage),
		}).
		Action(provider.ActionDef{
			Name:        "list_messages",
			DisplayName: "List messages",
			Description: "Reads a channel's messages, newest first, paging backwards with before (bot token).",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["channel_id"],"properties":{
				"channel_id":{"type":"string","pattern":"^[0-9]+$"},
				"limit":{"type":"integer","minimum":1,"maximum":100},
				"before":{"type":"string"},
				"after":{"type":"string"}}}`),
			Output: provider.Schema(`{"type":"object","required":["messages"],"properties":{"messages":{"type":"array","items":{"type":"object"}},"next_before":{"type":"string"}}}`),
			Handle: provider.Typed(listMessages),
		})
}

// decodeError reads Discord's error body, {"code":50035,"message":"Invalid
// Form Body","errors":{"content":{"_errors":[{"code","message"}]}}}, and a
// rate-limit body {"message","retry_after","global"}.
func decodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Code       json.Number     `json:"code"`
		Message    string          `json:"message"`
		Errors     json.RawMessage `json:"errors"`
		Global     bool            `json:"global"`
		RetryAfter float64         `json:"retry_after"`
	}
	if json.Unmarshal(body, &v) != nil || v.Message == "" {
		if t := strings.TrimSpace(string(body)); t != "" && !strings.HasPrefix(t, "<") && len(t) < 300 {
			e.Message = t
		}
		return
	}
	e.Message = v.Message
	e.Code = v.Code.String()
	if e.Code == "0" {
		e.Code = ""
	}
	if v.Global {
		e.Type = "global_rate_limit"
	}
	if len(v.Errors) > 0 {
		var tree any
		if json.Unmarshal(v.Errors, &tree) == nil {
			if path, msg := firstFieldError(tree, nil); msg != "" {
				e.Field = strings.Join(path, ".")
				e.Message += ": " + msg
			}
		}
	}
}

// firstFieldError walks Discord's nested error object in key order and
// returns the path to, and message of, the first "_errors" entry.
func firstFieldError(node any, path []string) ([]string, string) {
	m, ok := node.(map[string]any)
	if !ok {
		return nil, ""
	}
	if list, ok := m["_errors"].([]any); ok && len(list) > 0 {
		if first, ok := list[0].(map[string]any); ok {
			msg, _ := first["message"].(string)
			return path, msg
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "_errors" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if p, msg := firstFieldError(m[k], append(path, k)); msg != "" {
			return p, msg
		}
	}
	return nil, ""
}

// send performs a request and warns when the rate-limit bucket is empty.
func send(ctx context.Context, c *provider.Call, method, path string, q url.Values, body any, out any) error {
	h, err := c.HTTP().ExchangeJSON(ctx, method, path, q, body, out)
	if err != nil {
		return err
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		c.Warn("Discord rate limit bucket " + h.Get("X-RateLimit-Bucket") + " is exhausted; it resets in " + h.Get("X-RateLimit-Reset-After") + "s")
	}
	return nil
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var u struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Bot      bool   `json:"bot"`
	}
	if err := send(ctx, c, http.MethodGet, api+"/users/@me", nil, nil, &u); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "id": u.ID, "username": u.Username, "bot": u.Bot}, nil
}

type guildsIn struct {
	Limit      int    `json:"limit"`
	After      string `json:"after"`
	WithCounts bool   `json:"with_counts"`
}

// lastID returns the id of the last item when a page is full, the cursor
// of the next page.
func lastID(items []json.RawMessage, limit int) string {
	if len(items) == 0 || len(items) < limit {
		return ""
	}
	var last struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(items[len(items)-1], &last)
	return last.ID
}

func listGuilds(ctx context.Context, c *provider.Call, in guildsIn) (any, error) {
	limit := in.Limit
	if limit == 0 {
		limit = 200
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if in.After != "" {
		q.Set("after", in.After)
	}
	if in.WithCounts {
		q.Set("with_counts", "true")
	}
	var guilds []json.RawMessage
	if err := send(ctx, c, http.MethodGet, api+"/users/@me/guilds", q, nil, &guilds); err != nil {
		return nil, err
	}
	out := map[string]any{"guilds": nonNil(guilds)}
	if next := lastID(guilds, limit); next != "" {
		out["next_after"] = next
	}
	return out, nil
}

type guildIn struct {
	GuildID string `json:"guild_id"`
}

func listChannels(ctx context.Context, c *provider.Call, in guildIn) (any, error) {
	if _, err := provider.PathSegments("guild_id", in.GuildID); err != nil {
		return nil, err
	}
	var chans []json.RawMessage
	if err := send(ctx, c, http.MethodGet, api+"/guilds/"+url.PathEscape(in.GuildID)+"/channels", nil, nil, &chans); err != nil {
		return nil, err
	}
	return map[string]any{"channels": nonNil(chans)}, nil
}

type sendIn struct {
	ChannelID     string            `json:"channel_id"`
	Content       string            `json:"content"`
	Embeds        []json.RawMessage `json:"embeds"`
	TTS           bool              `json:"tts"`
	ReplyTo       string            `json:"reply_to"`
	AllowMentions bool              `json:"allow_mentions"`
}

type messageRef struct {
	MessageID       string `json:"message_id"`
	FailIfNotExists bool   `json:"fail_if_not_exists"`
}

type createMessage struct {
	Content          string            `json:"content,omitempty"`
	Embeds           []json.RawMessage `json:"embeds,omitempty"`
	TTS              bool              `json:"tts,omitempty"`
	MessageReference *messageRef       `json:"message_reference,omitempty"`
	AllowedMentions  map[string]any    `json:"allowed_mentions"`
}

func sendMessage(ctx context.Context, c *provider.Call, in sendIn) (any, error) {
	if _, err := provider.PathSegments("channel_id", in.ChannelID); err != nil {
		return nil, err
	}
	if in.Content == "" && len(in.Embeds) == 0 {
		return nil, provider.UserError("content", "give content or embeds")
	}
	msg := createMessage{Content: in.Content, Embeds: in.Embeds, TTS: in.TTS,
		AllowedMentions: map[string]any{"parse": []string{}}}
	if in.AllowMentions {
		msg.AllowedMentions = map[string]any{"parse": []string{"users", "roles", "everyone"}}
	}
	if in.ReplyTo != "" {
		msg.MessageReference = &messageRef{MessageID: in.ReplyTo, FailIfNotExists: true}
	}
	var out json.RawMessage
	if err := send(ctx, c, http.MethodPost, api+"/channels/"+url.PathEscape(in.ChannelID)+"/messages", nil, msg, &out); err != nil {
		return nil, err
	}
	return out, nil
}

type messagesIn struct {
	ChannelID string `json:"channel_id"`
	Limit     int    `json:"limit"`
	Before    string `json:"before"`
	After     string `json:"after"`
}

func listMessages(ctx context.Context, c *provider.Call, in messagesIn) (any, error) {
	if _, err := provider.PathSegments("channel_id", in.ChannelID); err != nil {
		return nil, err
	}
	if in.Before != "" && in.After != "" {
		return nil, provider.UserError("after", "give before or after, not both")
	}
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if in.Before != "" {
		q.Set("before", in.Before)
	}
	if in.After != "" {
		q.Set("after", in.After)
	}
	var msgs []json.RawMessage
	if err := send(ctx, c, http.MethodGet, api+"/channels/"+url.PathEscape(in.ChannelID)+"/messages", q, nil, &msgs); err != nil {
		return nil, err
	}
	out := map[string]any{"messages": nonNil(msgs)}
	if in.After == "" {
		if next := lastID(msgs, limit); next != "" {
			out["next_before"] = next
		}
	}
	return out, nil
}

func nonNil(v []json.RawMessage) []json.RawMessage {
	if v == nil {
		return []json.RawMessage{}
	}
	return v
}
