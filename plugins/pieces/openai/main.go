// Command openai is the OpenAI piece: chat completions with
// POST https://api.openai.com/v1/chat/completions.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bin/pieces/openai.wasm ./plugins/pieces/openai
package main

import (
	"encoding/json"

	"github.com/atomhq/atom/sdk/piece"
)

func init() {
	piece.Register(piece.Define(piece.Piece{
		ID: "openai", Name: "OpenAI", Version: "1.0.0",
		Description: "Ask OpenAI models.",
		Categories:  []string{"ai"},
		Auth:        piece.AuthSpec{Kind: "api_key"},
		Hosts:       []string{"api.openai.com"},
		Limits:      piece.Limits{TimeoutMS: 120000},
		Actions: []piece.Action{{
			Name: "ask_chatgpt", DisplayName: "Ask ChatGPT",
			Description: "Send a prompt to a chat model and return its answer.",
			Props: []piece.Prop{
				piece.ShortText("model", "Model").WithDefault("gpt-4o-mini"),
				piece.LongText("prompt", "Prompt").Required(),
				piece.LongText("system", "System message"),
				piece.Number("temperature", "Temperature"),
				piece.Number("max_tokens", "Maximum tokens"),
				piece.ShortText("organization", "Organization"),
			},
			Run: ask,
		}},
	}))
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

func ask(c *piece.Context) (any, error) {
	var in struct {
		Model        string   `json:"model"`
		Prompt       string   `json:"prompt"`
		System       string   `json:"system"`
		Temperature  *float64 `json:"temperature"`
		MaxTokens    *int     `json:"max_tokens"`
		Organization string   `json:"organization"`
	}
	if err := c.Bind(&in); err != nil {
		return nil, err
	}
	if in.Prompt == "" {
		return nil, piece.FieldError("prompt", "prompt is required")
	}
	if in.Model == "" {
		in.Model = "gpt-4o-mini"
	}
	msgs := []chatMessage{}
	if in.System != "" {
		msgs = append(msgs, chatMessage{"system", in.System})
	}
	msgs = append(msgs, chatMessage{"user", in.Prompt})
	body := map[string]any{"model": in.Model, "messages": msgs}
	if in.Temperature != nil {
		body["temperature"] = *in.Temperature
	}
	if in.MaxTokens != nil {
		body["max_completion_tokens"] = *in.MaxTokens
	}
	cr, err := c.Credentials()
	if err != nil {
		return nil, err
	}
	resp, err := c.JSON("POST", "https://api.openai.com/v1/chat/completions",
		map[string]string{"Authorization": "Bearer " + cr.Secret(), "OpenAI-Organization": in.Organization}, body)
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		var e struct {
			Error struct {
				Message string `json:"message"`
				Type    string `json:"type"`
				Code    any    `json:"code"`
			} `json:"error"`
		}
		if json.Unmarshal(resp.Bytes(), &e) == nil && e.Error.Message != "" {
			return nil, &piece.Error{Summary: "OpenAI: " + e.Error.Message, Detail: e.Error.Type, Status: resp.Status}
		}
		return nil, resp.Fail("OpenAI request failed")
	}
	var out struct {
		ID      string `json:"id"`
		Model   string `json:"model"`
		Choices []struct {
			Message      chatMessage `json:"message"`
			FinishReason string      `json:"finish_reason"`
		} `json:"choices"`
		Usage json.RawMessage `json:"usage"`
	}
	if err := resp.Decode(&out); err != nil {
		return nil, err
	}
	if len(out.Choices) == 0 {
		return nil, &piece.Error{Summary: "OpenAI returned no choices", Status: resp.Status}
	}
	return map[string]any{
		"id": out.ID, "model": out.Model, "content": out.Choices[0].Message.Content,
		"finish_reason": out.Choices[0].FinishReason, "usage": out.Usage,
	}, nil
}

func main() {}
