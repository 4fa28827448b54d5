// Command pipedrive is the Pipedrive piece: it creates persons and deals
// through the v1 API, at the connection's api_domain (OAuth) or at
// https://api.pipedrive.com with an api_token.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bin/pieces/pipedrive.wasm ./plugins/pieces/pipedrive
package main

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/atomhq/atom/sdk/piece"
)

func init() {
	piece.Register(piece.Define(piece.Piece{
		ID: "pipedrive", Name: "Pipedrive", Version: "1.0.0",
		Description: "Manage Pipedrive deals and contacts.",
		Categories:  []string{"crm"},
		Auth:        piece.AuthSpec{Kind: "oauth2"},
		Hosts:       []string{"api.pipedrive.com", "*.pipedrive.com"},
		Actions: []piece.Action{
			{
				Name: "create-person", DisplayName: "Create person",
				Props: []piece.Prop{
					piece.ShortText("name", "Name").Required(),
					piece.Array("email", "Emails", piece.ShortText("email", "Email")),
					piece.Array("phone", "Phones", piece.ShortText("phone", "Phone")),
					piece.Number("org_id", "Organization ID"),
					piece.Number("owner_id", "Owner ID"),
				},
				Run: func(c *piece.Context) (any, error) { return create(c, "/v1/persons", "name") },
			},
			{
				Name: "create-deal", DisplayName: "Create deal",
				Props: []piece.Prop{
					piece.ShortText("title", "Title").Required(),
					piece.Number("value", "Value"),
					piece.ShortText("currency", "Currency"),
					piece.Number("person_id", "Person ID"),
					piece.Number("org_id", "Organization ID"),
					piece.Number("stage_id", "Stage ID"),
					piece.StaticDropdown("status", "Status",
						piece.Option{Label: "Open", Value: "open"}, piece.Option{Label: "Won", Value: "won"}, piece.Option{Label: "Lost", Value: "lost"}),
					piece.DateTime("expected_close_date", "Expected close date"),
				},
				Run: func(c *piece.Context) (any, error) { return create(c, "/v1/deals", "title") },
			},
		},
	}))
}

// apiRoot returns the API root, the auth header and a query token.
func apiRoot(cr piece.Credentials) (root string, headers map[string]string, query map[string]string) {
	if cr.AccessToken != "" {
		root = cr.Lookup("api_domain")
		if root == "" {
			root = "https://api.pipedrive.com"
		}
		return strings.TrimRight(root, "/"), map[string]string{"Authorization": "Bearer " + cr.AccessToken}, nil
	}
	return "https://api.pipedrive.com", nil, map[string]string{"api_token": cr.Secret()}
}

func create(c *piece.Context, path, required string) (any, error) {
	var body map[string]any
	if err := c.Bind(&body); err != nil {
		return nil, err
	}
	if _, err := c.Require(required); err != nil {
		return nil, err
	}
	if d, ok := body["expected_close_date"].(string); ok && len(d) > 10 {
		body["expected_close_date"] = d[:10] // the API takes YYYY-MM-DD
	}
	cr, err := c.Credentials()
	if err != nil {
		return nil, err
	}
	root, headers, query := apiRoot(cr)
	u, err := url.Parse(root)
	if err != nil || u.Scheme != "https" {
		return nil, piece.Errorf("invalid Pipedrive api_domain")
	}
	resp, err := c.JSON("POST", piece.URL(root, path, query), headers, body)
	if err != nil {
		return nil, err
	}
	var out struct {
		Success   bool            `json:"success"`
		Data      json.RawMessage `json:"data"`
		Error     string          `json:"error"`
		ErrorInfo string          `json:"error_info"`
	}
	if json.Unmarshal(resp.Bytes(), &out) != nil {
		return nil, resp.Fail("Pipedrive request failed")
	}
	if !out.Success || !resp.OK() {
		return nil, &piece.Error{Summary: "Pipedrive: " + out.Error, Detail: out.ErrorInfo, Status: resp.Status}
	}
	return out.Data, nil
}

func main() {}
