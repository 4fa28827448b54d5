// Package teams is the Microsoft Teams provider over Microsoft Graph v1.0
// (https://learn.microsoft.com/graph/api/resources/teams-api-overview),
// built only on the public SDK: teams, channels, channel messages and chat
// messages with delegated permissions. Paths carry "/v1.0" because the
// catalog's base URL is the Graph host; listings follow "@odata.nextLink"
// as an opaque cursor; Graph's error body becomes a diagnostic.
package teams

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is the Microsoft Graph host, used when the host supplies none.
const BaseURL = "https://graph.microsoft.com"

const v1 = "/v1.0"

// New returns the Microsoft Teams provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "microsoft-teams",
		Name:         "Microsoft Teams",
		Version:      Version,
		Description:  "Teams, channels and messages in Microsoft Teams.",
		Categories:   []string{"communication", "productivity"},
		AllowedHosts: []string{"graph.microsoft.com"},
	}).
		HTTP(provider.HTTPOptions{
			BaseURL:   BaseURL,
			UserAgent: "atom-provider-microsoft-teams/" + Version,
		}).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the signed-in user (GET /me).",
			Output:      provider.Schema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"id":{"type":"string"},"display_name":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_joined_teams",
			DisplayName: "List joined teams",
			Description: "Lists the teams the signed-in user is a member of.",
			Input:       provider.Schema(`{"type":"object","additionalProperties":false,"properties":{"cursor":{"type":"string"}}}`),
			Output:      pageSchema,
			Handle:      provider.Typed(listTeams),
		}).
		Action(provider.ActionDef{
			Name:        "list_channels",
			DisplayName: "List channels",
			Description: "Lists the channels of a team, optionally filtered by membership type.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["team_id"],"properties":{
				"team_id":{"type":"string","minLength":1},
				"membership_type":{"type":"string","enum":["standard","private","shared"]}}}`),
			Output: pageSchema,
			Handle: provider.Typed(listChannels),
		}).
		Action(provider.ActionDef{
			Name:        "list_channel_messages",
			DisplayName: "List channel messages",
			Description: "Lists the root messages of a channel, newest first, one page at a time.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["team_id","channel_id"],"properties":{
				"team_id":{"type":"string","minLength":1},
				"channel_id":{"type":"string","minLength":1},
				"top":{"type":"integer","minimum":1,"maximum":50},
				"cursor":{"type":"string"}}}`),
			Output: pageSchema,
			Handle: provider.Typed(listMessages),
		}).
		Action(provider.ActionDef{
			Name:        "send_channel_message",
			DisplayName: "Send channel message",
			Description: "Posts a message to a channel, or a reply to one of its messages.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["team_id","channel_id","content"],"properties":{
				"team_id":{"type":"string","minLength":1},
				"channel_id":{"type":"string","minLength":1},
				"reply_to_id":{"type":"string","description":"Id of the root message to reply to"},
				"subject":{"type":"string"},
				"content":{"type":"string","minLength":1},
				"html":{"type":"boolean"}}}`),
			Output: messageSchema,
			Handle: provider.Typed(sendChannelMessage),
		}).
		Action(provider.ActionDef{
			Name:        "send_chat_message",
			DisplayName: "Send chat message",
			Description: "Sends a message in a one-on-one or group chat.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["chat_id","content"],"properties":{
				"chat_id":{"type":"string","minLength":1},
				"content":{"type":"string","minLength":1},
				"html":{"type":"boolean"}}}`),
			Output: messageSchema,
			Handle: provider.Typed(sendChatMessage),
		})
}

var pageSchema = provider.Schema(`{"type":"object","required":["value"],"properties":{
	"value":{"type":"array","items":{"type":"object"}},
	"next_cursor":{"type":"string"}}}`)

var messageSchema = provider.Schema(`{"type":"object","properties":{"id":{"type":"string"},"createdDateTime":{"type":"string"},"webUrl":{"type":"string"},"body":{"type":"object"}}}`)

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var u struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
	}
	if err := c.HTTP().GetJSON(ctx, v1+"/me", url.Values{"$select": {"id,displayName"}}, &u); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "id": u.ID, "display_name": u.DisplayName}, nil
}

type page struct {
	Value      []json.RawMessage `json:"value"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

func list(ctx context.Context, c *provider.Call, path string, q url.Values, cursor string) (any, error) {
	p, err := c.HTTP().GetODataPage(ctx, path, q, "cursor", cursor)
	if err != nil {
		return nil, err
	}
	return page{p.Value, p.NextLink}, nil
}

type cursorIn struct {
	Cursor string `json:"cursor"`
}

func listTeams(ctx context.Context, c *provider.Call, in cursorIn) (any, error) {
	return list(ctx, c, v1+"/me/joinedTeams", nil, in.Cursor)
}

type channelsIn struct {
	TeamID         string `json:"team_id"`
	MembershipType string `json:"membership_type"`
}

func teamPath(id string) string { return v1 + "/teams/" + url.PathEscape(id) }

func channelPath(team, channel string) string {
	return teamPath(team) + "/channels/" + url.PathEscape(channel)
}

func listChannels(ctx context.Context, c *provider.Call, in channelsIn) (any, error) {
	if _, err := provider.PathSegments("team_id", in.TeamID); err != nil {
		return nil, err
	}
	q := url.Values{}
	if in.MembershipType != "" {
		q.Set("$filter", "membershipType eq '"+in.MembershipType+"'")
	}
	return list(ctx, c, teamPath(in.TeamID)+"/channels", q, "")
}

type messagesIn struct {
	TeamID    string `json:"team_id"`
	ChannelID string `json:"channel_id"`
	Top       int    `json:"top"`
	Cursor    string `json:"cursor"`
}

func listMessages(ctx context.Context, c *provider.Call, in messagesIn) (any, error) {
	if _, err := provider.PathSegments("team_id", in.TeamID, "channel_id", in.ChannelID); err != nil {
		return nil, err
	}
	q := url.Values{}
	if in.Top != 0 {
		q.Set("$top", strconv.Itoa(in.Top))
	}
	return list(ctx, c, channelPath(in.TeamID, in.ChannelID)+"/messages", q, in.Cursor)
}

type itemBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

type chatMessage struct {
	Subject string   `json:"subject,omitempty"`
	Body    itemBody `json:"body"`
}

func newMessage(subject, content string, html bool) chatMessage {
	ct := "text"
	if html {
		ct = "html"
	}
	return chatMessage{Subject: subject, Body: itemBody{ct, content}}
}

type channelMessageIn struct {
	TeamID    string `json:"team_id"`
	ChannelID string `json:"channel_id"`
	ReplyToID string `json:"reply_to_id"`
	Subject   string `json:"subject"`
	Content   string `json:"content"`
	HTML      bool   `json:"html"`
}

func sendChannelMessage(ctx context.Context, c *provider.Call, in channelMessageIn) (any, error) {
	if _, err := provider.PathSegments("team_id", in.TeamID, "channel_id", in.ChannelID); err != nil {
		return nil, err
	}
	if in.ReplyToID != "" {
		if _, err := provider.PathSegment("reply_to_id", in.ReplyToID); err != nil {
			return nil, err
		}
	}
	path := channelPath(in.TeamID, in.ChannelID) + "/messages"
	if in.ReplyToID != "" {
		if in.Subject != "" {
			return nil, provider.UserError("subject", "replies have no subject")
		}
		path += "/" + url.PathEscape(in.ReplyToID) + "/replies"
	}
	var out json.RawMessage
	if err := c.HTTP().PostJSON(ctx, path, newMessage(in.Subject, in.Content, in.HTML), &out); err != nil {
		return nil, err
	}
	return out, nil
}

type chatMessageIn struct {
	ChatID  string `json:"chat_id"`
	Content string `json:"content"`
	HTML    bool   `json:"html"`
}

func sendChatMessage(ctx context.Context, c *provider.Call, in chatMessageIn) (any, error) {
	if _, err := provider.PathSegments("chat_id", in.ChatID); err != nil {
		return nil, err
	}
	var out json.RawMessage
	path := v1 + "/chats/" + url.PathEscape(in.ChatID) + "/messages"
	if err := c.HTTP().PostJSON(ctx, path, newMessage("", in.Content, in.HTML), &out); err != nil {
		return nil, err
	}
	return out, nil
}
