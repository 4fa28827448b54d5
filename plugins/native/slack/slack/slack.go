// Package slack is the Slack provider over the Web API
// (https://api.slack.com/web), built only on the public SDK.
//
// Slack answers almost every failure with HTTP 200 and
// {"ok":false,"error":"channel_not_found"}; the provider turns that into a
// diagnostic (naming the input field when the error code says which) and
// surfaces Slack's "warning" and response_metadata warnings as warnings.
// Listings page with cursor/response_metadata.next_cursor, search with
// page numbers. A rotated token that expired ("token_expired") is
// refreshed through the host once and the call retried.
//
// Tokens: the catalog's Slack connection reads the user token from
// authed_user and keeps the bot token beside it as the credential field
// "root_access_token". Bot-scoped methods use the bot token when there is
// one; search.messages, which only accepts a user token, uses the
// connection's access token (or the metadata "authed_user.access_token"
// of connections made elsewhere). A custom connection's fields botToken
// and userToken are used the same way.
package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is the Slack Web API base, used when the host supplies none.
const BaseURL = "https://slack.com/api"

// UserTokenKey is the connection metadata key holding the user token.
const UserTokenKey = "authed_user.access_token"

// BotTokenField is the credential field holding the bot token when the
// connection's access token is the user's.
const BotTokenField = "root_access_token"

// CustomBotTokenField and CustomUserTokenField are the credential fields
// of a custom connection (the catalog's "custom" way), holding tokens
// copied from the Slack app's settings.
const (
	CustomBotTokenField  = "botToken"
	CustomUserTokenField = "userToken"
)

var httpOpts = provider.HTTPOptions{
	BaseURL:   BaseURL,
	UserAgent: "atom-provider-slack/" + Version,
}

// New returns the Slack provider.
func New() *provider.Builder {
	return withTriggers(provider.New(provider.Manifest{
		ID:           "slack",
		Name:         "Slack",
		Version:      Version,
		Description:  "Post and read messages, channels and users in a Slack workspace.",
		Categories:   []string{"communication", "productivity"},
		AllowedHosts: []string{"slack.com", "files.slack.com"},
	}).
		HTTP(httpOpts).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token with auth.test and returns the workspace and identity it belongs to.",
			Output:      provider.Schema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"team":{"type":"string"},"team_id":{"type":"string"},"user":{"type":"string"},"user_id":{"type":"string"},"bot_id":{"type":"string"},"url":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "post_message",
			DisplayName: "Post message",
			Description: "Posts a message to a channel, DM or thread (chat.postMessage).",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["channel"],"properties":{
				"channel":{"type":"string","minLength":1,"description":"Channel, DM or user id"},
				"text":{"type":"string"},
				"blocks":{"type":"array","items":{"type":"object"}},
				"thread_ts":{"type":"string"},
				"reply_broadcast":{"type":"boolean"},
				"unfurl_links":{"type":"boolean"},
				"mrkdwn":{"type":"boolean"}}}`),
			Output: provider.Schema(`{"type":"object","properties":{"channel":{"type":"string"},"ts":{"type":"string"},"message":{"type":"object"}}}`),
			Handle: provider.Typed(postMessage),
		}).
		Action(provider.ActionDef{
			Name:        "list_conversations",
			DisplayName: "List conversations",
			Description: "Lists channels the token can see, one page at a time (conversations.list).",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"properties":{
				"types":{"type":"array","items":{"type":"string","enum":["public_channel","private_channel","mpim","im"]}},
				"exclude_archived":{"type":"boolean"},
				"limit":{"type":"integer","minimum":1,"maximum":1000},
				"cursor":{"type":"string"}}}`),
			Output: provider.Schema(`{"type":"object","required":["channels"],"properties":{"channels":{"type":"array","items":{"type":"object"}},"next_cursor":{"type":"string"}}}`),
			Handle: provider.Typed(listConversations),
		}).
		Action(provider.ActionDef{
			Name:        "get_conversation_history",
			DisplayName: "Get conversation history",
			Description: "Reads messages of a conversation, newest first, one page at a time (conversations.history).",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["channel"],"properties":{
				"channel":{"type":"string","minLength":1},
				"oldest":{"type":"string"},
				"latest":{"type":"string"},
				"inclusive":{"type":"boolean"},
				"limit":{"type":"integer","minimum":1,"maximum":999},
				"cursor":{"type":"string"}}}`),
			Output: provider.Schema(`{"type":"object","required":["messages"],"properties":{"messages":{"type":"array","items":{"type":"object"}},"has_more":{"type":"boolean"},"next_cursor":{"type":"string"}}}`),
			Handle: provider.Typed(history),
		}).
		Action(provider.ActionDef{
			Name:        "list_users",
			DisplayName: "List users",
			Description: "Lists the workspace's members, one page at a time (users.list).",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"properties":{
				"limit":{"type":"integer","minimum":1,"maximum":1000},
				"cursor":{"type":"string"}}}`),
			Output: provider.Schema(`{"type":"object","required":["members"],"properties":{"members":{"type":"array","items":{"type":"object"}},"next_cursor":{"type":"string"}}}`),
			Handle: provider.Typed(listUsers),
		}).
		Action(provider.ActionDef{
			Name:        "search_messages",
			DisplayName: "Search messages",
			Description: "Searches messages with Slack's search syntax; needs a user token (search.messages).",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["query"],"properties":{
				"query":{"type":"string","minLength":1},
				"sort":{"type":"string","enum":["score","timestamp"]},
				"sort_dir":{"type":"string","enum":["asc","desc"]},
				"count":{"type":"integer","minimum":1,"maximum":100},
				"page":{"type":"integer","minimum":1,"maximum":100}}}`),
			Output: provider.Schema(`{"type":"object","required":["matches"],"properties":{"matches":{"type":"array","items":{"type":"object"}},"total":{"type":"integer"},"page":{"type":"integer"},"next_page":{"type":"integer"}}}`),
			Handle: provider.Typed(searchMessages),
		}))
}

// envelope is the part of every Web API response the provider inspects.
type envelope struct {
	OK               bool   `json:"ok"`
	Error            string `json:"error"`
	Warning          string `json:"warning"`
	Needed           string `json:"needed"`
	ResponseMetadata struct {
		NextCursor string   `json:"next_cursor"`
		Messages   []string `json:"messages"`
		Warnings   []string `json:"warnings"`
	} `json:"response_metadata"`
}

// errorFields names the input field a Slack error code is about.
var errorFields = map[string]string{
	"channel_not_found": "channel", "not_in_channel": "channel", "is_archived": "channel",
	"thread_not_found": "thread_ts", "invalid_blocks": "blocks", "no_text": "text",
	"msg_too_long": "text", "invalid_cursor": "cursor", "invalid_ts_oldest": "oldest",
	"invalid_ts_latest": "latest", "invalid_limit": "limit",
}

// authErrors are the error codes that mean the credentials are unusable.
var authErrors = map[string]bool{
	"not_authed": true, "invalid_auth": true, "account_inactive": true,
	"token_revoked": true, "token_expired": true, "no_permission": true, "missing_scope": true, "not_allowed_token_type": true,
}

// client returns an HTTP client for the execution's current credentials
// with the token Slack expects: the user token from metadata when user is
// set and one is kept, the access token otherwise. Slack's token response
// says token_type "bot" or "user", but every token is sent as
// "Authorization: Bearer".
func client(ctx context.Context, c *provider.Call, user bool) *provider.HTTPClient {
	creds := c.Credentials()
	if creds.Type == "custom" {
		// A custom connection holds the tokens a Slack app's settings
		// page shows: the bot token (xoxb-) for bot-scoped methods and
		// the user token (xoxp-) for the user-only ones; either stands in
		// for the other when it is the only one.
		bot, usr := creds.Fields[CustomBotTokenField], creds.Fields[CustomUserTokenField]
		if user && usr != "" || bot == "" {
			bot = usr
		}
		creds = provider.Credentials{Type: "oauth2", AccessToken: bot, Params: creds.Params}
	}
	if creds.Type != "oauth2" {
		return c.HTTP()
	}
	if tok := creds.Metadata[UserTokenKey]; user && tok != "" {
		creds.AccessToken = tok
	}
	if tok := creds.Fields[BotTokenField]; !user && tok != "" {
		creds.AccessToken = tok
	}
	creds.TokenType = "Bearer"
	req := c.Request()
	req.Credentials = creds
	return provider.Client(provider.WithRequest(ctx, req), httpOpts)
}

// call invokes a Web API method and decodes its body into out. A GET
// carries params in the query; a POST sends body as JSON. user selects
// the user token (see client).
func call(ctx context.Context, c *provider.Call, user bool, method string, params url.Values, body any, out any) (envelope, error) {
	var env envelope
	for attempt := 0; ; attempt++ {
		hc := client(ctx, c, user)
		var raw json.RawMessage
		var err error
		if body != nil {
			var b []byte
			if b, err = json.Marshal(body); err != nil {
				return env, err
			}
			err = hc.Send(ctx, http.MethodPost, method, nil, "application/json; charset=utf-8", b, &raw)
		} else {
			err = hc.GetJSON(ctx, method, params, &raw)
		}
		if err != nil {
			return env, err
		}
		env = envelope{}
		if err := json.Unmarshal(raw, &env); err != nil {
			return env, fmt.Errorf("slack %s: decode response: %w", method, err)
		}
		if !env.OK && env.Error == "token_expired" && attempt == 0 {
			if _, rerr := provider.Refresh(ctx); rerr == nil {
				continue
			}
		}
		if !env.OK {
			return env, slackError(method, env)
		}
		if env.Warning != "" {
			c.Warn("Slack warning: " + env.Warning)
		}
		for _, w := range env.ResponseMetadata.Warnings {
			if w != env.Warning {
				c.Warn("Slack warning: " + w)
			}
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return env, fmt.Errorf("slack %s: decode response: %w", method, err)
			}
		}
		return env, nil
	}
}

func slackError(method string, env envelope) error {
	d := provider.Diagnostic{
		Severity: provider.SeverityError,
		Summary:  env.Error,
		Detail:   "Slack method " + method + " returned error " + env.Error,
		Field:    errorFields[env.Error],
	}
	if env.Needed != "" {
		d.Detail += "; needed scope " + env.Needed
	}
	for _, m := range env.ResponseMetadata.Messages {
		d.Detail += "; " + m
	}
	if authErrors[env.Error] {
		d.Status = http.StatusUnauthorized
		if env.Error == "missing_scope" || env.Error == "no_permission" || env.Error == "not_allowed_token_type" {
			d.Status = http.StatusForbidden
		}
	}
	return provider.Diagnose(d)
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var out struct {
		OK     bool   `json:"ok"`
		URL    string `json:"url"`
		Team   string `json:"team"`
		User   string `json:"user"`
		TeamID string `json:"team_id"`
		UserID string `json:"user_id"`
		BotID  string `json:"bot_id,omitempty"`
	}
	if _, err := call(ctx, c, false, "auth.test", nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

type postIn struct {
	Channel        string            `json:"channel"`
	Text           string            `json:"text,omitempty"`
	Blocks         []json.RawMessage `json:"blocks,omitempty"`
	ThreadTS       string            `json:"thread_ts,omitempty"`
	ReplyBroadcast bool              `json:"reply_broadcast,omitempty"`
	UnfurlLinks    *bool             `json:"unfurl_links,omitempty"`
	Mrkdwn         *bool             `json:"mrkdwn,omitempty"`
}

func postMessage(ctx context.Context, c *provider.Call, in postIn) (any, error) {
	if in.Text == "" && len(in.Blocks) == 0 {
		return nil, provider.UserError("text", "give text or blocks")
	}
	if in.ReplyBroadcast && in.ThreadTS == "" {
		return nil, provider.UserError("reply_broadcast", "only applies to thread replies (thread_ts)")
	}
	var out struct {
		Channel string          `json:"channel"`
		TS      string          `json:"ts"`
		Message json.RawMessage `json:"message"`
	}
	if _, err := call(ctx, c, false, "chat.postMessage", nil, in, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// pageQuery holds the cursor paging parameters every listing shares.
func pageQuery(limit int, cursor string) url.Values {
	q := url.Values{}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return q
}

type conversationsIn struct {
	Types           []string `json:"types"`
	ExcludeArchived bool     `json:"exclude_archived"`
	Limit           int      `json:"limit"`
	Cursor          string   `json:"cursor"`
}

func listConversations(ctx context.Context, c *provider.Call, in conversationsIn) (any, error) {
	q := pageQuery(in.Limit, in.Cursor)
	if len(in.Types) > 0 {
		q.Set("types", strings.Join(in.Types, ","))
	}
	if in.ExcludeArchived {
		q.Set("exclude_archived", "true")
	}
	var out struct {
		Channels []json.RawMessage `json:"channels"`
	}
	env, err := call(ctx, c, false, "conversations.list", q, nil, &out)
	if err != nil {
		return nil, err
	}
	return withCursor(map[string]any{"channels": nonNil(out.Channels)}, env), nil
}

type historyIn struct {
	Channel   string `json:"channel"`
	Oldest    string `json:"oldest"`
	Latest    string `json:"latest"`
	Inclusive bool   `json:"inclusive"`
	Limit     int    `json:"limit"`
	Cursor    string `json:"cursor"`
}

func history(ctx context.Context, c *provider.Call, in historyIn) (any, error) {
	q := pageQuery(in.Limit, in.Cursor)
	q.Set("channel", in.Channel)
	if in.Oldest != "" {
		q.Set("oldest", in.Oldest)
	}
	if in.Latest != "" {
		q.Set("latest", in.Latest)
	}
	if in.Inclusive {
		q.Set("inclusive", "true")
	}
	var out struct {
		Messages []json.RawMessage `json:"messages"`
		HasMore  bool              `json:"has_more"`
	}
	env, err := call(ctx, c, false, "conversations.history", q, nil, &out)
	if err != nil {
		return nil, err
	}
	return withCursor(map[string]any{"messages": nonNil(out.Messages), "has_more": out.HasMore}, env), nil
}

type usersIn struct {
	Limit  int    `json:"limit"`
	Cursor string `json:"cursor"`
}

func listUsers(ctx context.Context, c *provider.Call, in usersIn) (any, error) {
	var out struct {
		Members []json.RawMessage `json:"members"`
	}
	env, err := call(ctx, c, false, "users.list", pageQuery(in.Limit, in.Cursor), nil, &out)
	if err != nil {
		return nil, err
	}
	return withCursor(map[string]any{"members": nonNil(out.Members)}, env), nil
}

type searchIn struct {
	Query   string `json:"query"`
	Sort    string `json:"sort"`
	SortDir string `json:"sort_dir"`
	Count   int    `json:"count"`
	Page    int    `json:"page"`
}

func searchMessages(ctx context.Context, c *provider.Call, in searchIn) (any, error) {
	q := url.Values{"query": {in.Query}}
	if in.Sort != "" {
		q.Set("sort", in.Sort)
	}
	if in.SortDir != "" {
		q.Set("sort_dir", in.SortDir)
	}
	if in.Count != 0 {
		q.Set("count", strconv.Itoa(in.Count))
	}
	if in.Page != 0 {
		q.Set("page", strconv.Itoa(in.Page))
	}
	var out struct {
		Messages struct {
			Matches []json.RawMessage `json:"matches"`
			Total   int               `json:"total"`
			Paging  struct {
				Page  int `json:"page"`
				Pages int `json:"pages"`
			} `json:"paging"`
		} `json:"messages"`
	}
	if _, err := call(ctx, c, true, "search.messages", q, nil, &out); err != nil {
		return nil, err
	}
	m := out.Messages
	res := map[string]any{"matches": nonNil(m.Matches), "total": m.Total, "page": m.Paging.Page}
	if m.Paging.Page < m.Paging.Pages {
		res["next_page"] = m.Paging.Page + 1
	}
	return res, nil
}

func nonNil(v []json.RawMessage) []json.RawMessage {
	if v == nil {
		return []json.RawMessage{}
	}
	return v
}

// withCursor adds the next page's cursor to out; Slack sends an empty one
// on the last page.
func withCursor(out map[string]any, env envelope) map[string]any {
	if env.ResponseMetadata.NextCursor != "" {
		out["next_cursor"] = env.ResponseMetadata.NextCursor
	}
	return out
}
