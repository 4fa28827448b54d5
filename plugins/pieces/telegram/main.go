// Command telegram is the Telegram Bot API piece: it sends messages with
// POST https://api.telegram.org/bot<token>/sendMessage.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bin/pieces/telegram.wasm ./plugins/pieces/telegram
package main

import (
	"encoding/json"

	"github.com/atomhq/atom/sdk/piece"
)

func init() {
	piece.Register(piece.Define(piece.Piece{
		ID: "telegram", Name: "Telegram", Version: "1.0.0",
		Description: "Send messages with a Telegram bot.",
		Categories:  []string{"communication"},
		Auth:        piece.AuthSpec{Kind: "api_key", Fields: []string{"apiKey"}},
		Hosts:       []string{"api.telegram.org"},
		Actions: []piece.Action{{
			Name: "send_message", DisplayName: "Send text message",
			Description: "Send a text message to a chat, group or channel.",
			Props: []piece.Prop{
				piece.ShortText("chat_id", "Chat ID").Required().Describe("Chat id or @channelusername"),
				piece.LongText("text", "Message").Required(),
				piece.StaticDropdown("parse_mode", "Format",
					piece.Option{Label: "Plain", Value: ""}, piece.Option{Label: "MarkdownV2", Value: "MarkdownV2"}, piece.Option{Label: "HTML", Value: "HTML"}),
				piece.Number("message_thread_id", "Topic id"),
				piece.Checkbox("disable_notification", "Silent"),
				piece.JSON("reply_markup", "Reply markup"),
			},
			Run: sendMessage,
		}},
	}))
}

func sendMessage(c *piece.Context) (any, error) {
	var in map[string]any
	if err := c.Bind(&in); err != nil {
		return nil, err
	}
	chat, err := c.Require("chat_id")
	if err != nil {
		return nil, err
	}
	if _, err := c.Require("text"); err != nil {
		return nil, err
	}
	body := map[string]any{"chat_id": chat}
	for _, k := range []string{"text", "parse_mode", "message_thread_id", "disable_notification", "reply_markup"} {
		if v, ok := in[k]; ok && v != "" && v != nil {
			body[k] = v
		}
	}
	cr, err := c.Credentials()
	if err != nil {
		return nil, err
	}
	token := cr.Secret()
	if token == "" {
		return nil, piece.Errorf("the connection has no bot token")
	}
	resp, err := c.JSON("POST", "https://api.telegram.org/bot"+token+"/sendMessage", nil, body)
	if err != nil {
		return nil, err
	}
	var out struct {
		OK          bool            `json:"ok"`
		Result      json.RawMessage `json:"result"`
		ErrorCode   int             `json:"error_code"`
		Description string          `json:"description"`
	}
	if err := resp.Decode(&out); err != nil {
		return nil, err
	}
	if !out.OK {
		return nil, &piece.Error{Summary: "Telegram: " + out.Description, Status: resp.Status}
	}
	return out.Result, nil
}

func main() {}
