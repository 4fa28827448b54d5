// Command convertkit is the ConvertKit (Kit) v3 API piece: it subscribes
// people to forms with POST https://api.convertkit.com/v3/forms/{id}/subscribe.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bin/pieces/convertkit.wasm ./plugins/pieces/convertkit
package main

import (
	"encoding/json"
	"net/url"

	"github.com/atomhq/atom/sdk/piece"
)

func init() {
	piece.Register(piece.Define(piece.Piece{
		ID: "convertkit", Name: "ConvertKit", Version: "1.0.0",
		Description: "Grow ConvertKit audiences.",
		Categories:  []string{"marketing"},
		Auth:        piece.AuthSpec{Kind: "api_key"},
		Hosts:       []string{"api.convertkit.com"},
		Actions: []piece.Action{{
			Name: "forms_add_subscriber_to_form", DisplayName: "Add subscriber to form",
			Props: []piece.Prop{
				piece.ShortText("form_id", "Form ID").Required(),
				piece.ShortText("email", "Email").Required(),
				piece.ShortText("first_name", "First name"),
				piece.Array("tags", "Tag IDs", piece.Number("tag", "Tag ID")),
				piece.Object("fields", "Custom fields"),
			},
			Run: subscribe,
		}},
	}))
}

func subscribe(c *piece.Context) (any, error) {
	var in struct {
		FormID    string         `json:"form_id"`
		Email     string         `json:"email"`
		FirstName string         `json:"first_name"`
		Tags      []int64        `json:"tags"`
		Fields    map[string]any `json:"fields"`
	}
	if err := c.Bind(&in); err != nil {
		return nil, err
	}
	if in.FormID == "" {
		return nil, piece.FieldError("form_id", "form_id is required")
	}
	if in.Email == "" {
		return nil, piece.FieldError("email", "email is required")
	}
	cr, err := c.Credentials()
	if err != nil {
		return nil, err
	}
	body := map[string]any{"api_key": cr.Secret(), "email": in.Email}
	if in.FirstName != "" {
		body["first_name"] = in.FirstName
	}
	if len(in.Tags) > 0 {
		body["tags"] = in.Tags
	}
	if len(in.Fields) > 0 {
		body["fields"] = in.Fields
	}
	resp, err := c.JSON("POST", "https://api.convertkit.com/v3/forms/"+url.PathEscape(in.FormID)+"/subscribe", nil, body)
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		if json.Unmarshal(resp.Bytes(), &e) == nil && e.Error != "" {
			return nil, &piece.Error{Summary: "ConvertKit: " + e.Error, Detail: e.Message, Status: resp.Status}
		}
		return nil, resp.Fail("ConvertKit request failed")
	}
	var out struct {
		Subscription json.RawMessage `json:"subscription"`
	}
	if err := resp.Decode(&out); err != nil {
		return nil, err
	}
	return out.Subscription, nil
}

func main() {}
