// Command hugging-face is the Hugging Face Inference piece: text
// classification with POST https://router.huggingface.co/hf-inference/models/{model}.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bin/pieces/hugging-face.wasm ./plugins/pieces/hugging-face
package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/atomhq/atom/sdk/piece"
)

func init() {
	piece.Register(piece.Define(piece.Piece{
		ID: "hugging-face", Name: "Hugging Face", Version: "1.0.0",
		Description: "Run models on Hugging Face Inference.",
		Categories:  []string{"ai"},
		Auth:        piece.AuthSpec{Kind: "api_key"},
		Hosts:       []string{"router.huggingface.co"},
		Limits:      piece.Limits{TimeoutMS: 120000},
		Actions: []piece.Action{{
			Name: "text_classification", DisplayName: "Text classification",
			Description: "Classify a text (sentiment, topic, …) with a model.",
			Props: []piece.Prop{
				piece.ShortText("model", "Model").WithDefault("distilbert/distilbert-base-uncased-finetuned-sst-2-english"),
				piece.LongText("text", "Text").Required(),
				piece.Number("top_k", "Top labels"),
			},
			Run: classify,
		}},
	}))
}

type label struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

func classify(c *piece.Context) (any, error) {
	var in struct {
		Model string `json:"model"`
		Text  string `json:"text"`
		TopK  int    `json:"top_k"`
	}
	if err := c.Bind(&in); err != nil {
		return nil, err
	}
	if in.Text == "" {
		return nil, piece.FieldError("text", "text is required")
	}
	if in.Model == "" {
		in.Model = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
	}
	if strings.Contains(in.Model, "..") || strings.HasPrefix(in.Model, "/") {
		return nil, piece.FieldError("model", "invalid model id")
	}
	body := map[string]any{"inputs": in.Text}
	if in.TopK > 0 {
		body["parameters"] = map[string]any{"top_k": in.TopK}
	}
	cr, err := c.Credentials()
	if err != nil {
		return nil, err
	}
	resp, err := c.JSON("POST", "https://router.huggingface.co/hf-inference/models/"+in.Model,
		map[string]string{"Authorization": "Bearer " + cr.Secret()}, body)
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		var e struct {
			Error         any     `json:"error"`
			EstimatedTime float64 `json:"estimated_time"`
		}
		if json.Unmarshal(resp.Bytes(), &e) == nil && e.Error != nil {
			detail := ""
			if e.EstimatedTime > 0 {
				detail = fmt.Sprintf("model loading, retry in about %.0fs", e.EstimatedTime)
			}
			return nil, &piece.Error{Summary: fmt.Sprintf("Hugging Face: %v", e.Error), Detail: detail, Status: resp.Status}
		}
		return nil, resp.Fail("Hugging Face request failed")
	}
	// The API answers [[{label, score}, …]] for one input; older models
	// answer [{label, score}, …].
	var nested [][]label
	if err := json.Unmarshal(resp.Bytes(), &nested); err == nil && len(nested) > 0 {
		return map[string]any{"labels": nested[0]}, nil
	}
	var flat []label
	if err := resp.Decode(&flat); err != nil {
		return nil, err
	}
	return map[string]any{"labels": flat}, nil
}

func main() {}
