// Command discord is the Discord piece: it posts messages through a
// channel webhook (POST /api/webhooks/{id}/{token}).
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bin/pieces/discord.wasm ./plugins/pieces/discord
package main

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/atomhq/atom/sdk/piece"
)

func init() {
	piece.Register(piece.Define(piece.Piece{
		ID: "discord", Name: "Discord", Version: "1.0.0",
		Description: "Send messages to Discord channels through webhooks.",
		Categories:  []string{"communication"},
		Auth:        piece.AuthSpec{Kind: "custom", Fields: []string{"webhook_url"}},
		Hosts:       []string{"discord.com", "discordapp.com"},
		Actions: []piece.Action{{
			Name: "send_message", DisplayName: "Send message",
			Description: "Post a message to a channel through its webhook.",
			Props: []piece.Prop{
				piece.ShortText("webhook_url", "Webhook URL").Describe("https://discord.com/api/webhooks/{id}/{token}; defaults to the connection's webhook_url"),
				piece.LongText("content", "Message").Required(),
				piece.ShortText("username", "Username"),
				piece.ShortText("avatar_url", "Avatar URL"),
				piece.Checkbox("tts", "Text to speech"),
				piece.Array("embeds", "Embeds", piece.JSON("embed", "Embed")),
				piece.Checkbox("wait", "Wait for the message").Describe("Return the created message (?wait=true)"),
			},
			Run: sendMessage,
		}},
	}))
}

type message struct {
	Content   string            `json:"content"`
	Username  string            `json:"username,omitempty"`
	AvatarURL string            `json:"avatar_url,omitempty"`
	TTS       bool              `json:"tts,omitempty"`
	Embeds    []json.RawMessage `json:"embeds,omitempty"`
}

func sendMessage(c *piece.Context) (any, error) {
	var in struct {
		message
		WebhookURL string `json:"webhook_url"`
		Wait       bool   `json:"wait"`
	}
	if err := c.Bind(&in); err != nil {
		return nil, err
	}
	if in.WebhookURL == "" {
		cr, err := c.Credentials()
		if err != nil {
			return nil, err
		}
		in.WebhookURL = cr.Lookup("webhook_url")
	}
	u, err := url.Parse(in.WebhookURL)
	if err != nil || u.Scheme != "https" || !strings.HasPrefix(u.Path, "/api/webhooks/") {
		return nil, piece.FieldError("webhook_url", "webhook_url must be a Discord webhook URL (https://discord.com/api/webhooks/…)")
	}
	if in.Content == "" && len(in.Embeds) == 0 {
		return nil, piece.FieldError("content", "content is required")
	}
	if len(in.Content) > 2000 {
		return nil, piece.FieldError("content", "content must be at most 2000 characters")
	}
	if in.Wait {
		q := u.Query()
		q.Set("wait", "true")
		u.RawQuery = q.Encode()
	}
	resp, err := c.JSON("POST", u.String(), nil, in.message)
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		var e struct {
			Message    string  `json:"message"`
			Code       int     `json:"code"`
			RetryAfter float64 `json:"retry_after"`
		}
		_ = json.Unmarshal(resp.Bytes(), &e)
		if e.Message != "" {
			return nil, &piece.Error{Summary: "Discord: " + e.Message, Detail: string(resp.Bytes()), Status: resp.Status}
		}
		return nil, resp.Fail("Discord webhook failed")
	}
	if resp.Status == 204 || len(resp.Bytes()) == 0 {
		return map[string]any{"sent": true}, nil
	}
	return resp.Output()
}

func main() {}
