// Command monday is the monday.com piece: items are created through the
// GraphQL API at POST https://api.monday.com/v2.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bin/pieces/monday.wasm ./plugins/pieces/monday
package main

import (
	"encoding/json"
	"strings"

	"github.com/atomhq/atom/sdk/piece"
)

// apiVersion pins the monday.com API version (API-Version header).
const apiVersion = "2024-10"

const createItem = `mutation ($board: ID!, $group: String, $name: String!, $columns: JSON, $create_labels: Boolean) {
  create_item(board_id: $board, group_id: $group, item_name: $name, column_values: $columns, create_labels_if_missing: $create_labels) { id name url }
}`

func init() {
	piece.Register(piece.Define(piece.Piece{
		ID: "monday", Name: "monday.com", Version: "1.0.0",
		Description: "Work with monday.com boards.",
		Categories:  []string{"productivity"},
		Auth:        piece.AuthSpec{Kind: "oauth2", Scopes: []string{"boards:write"}},
		Hosts:       []string{"api.monday.com"},
		Actions: []piece.Action{{
			Name: "monday_create_item", DisplayName: "Create item",
			Description: "Create an item on a board.",
			Props: []piece.Prop{
				piece.ShortText("board_id", "Board ID").Required(),
				piece.ShortText("group_id", "Group ID"),
				piece.ShortText("item_name", "Item name").Required(),
				piece.JSON("column_values", "Column values").Describe(`Object of column id to value, e.g. {"status": {"label": "Done"}}`),
				piece.Checkbox("create_labels_if_missing", "Create missing labels"),
			},
			Run: create,
		}},
	}))
}

func create(c *piece.Context) (any, error) {
	var in struct {
		BoardID       string          `json:"board_id"`
		GroupID       string          `json:"group_id"`
		ItemName      string          `json:"item_name"`
		ColumnValues  json.RawMessage `json:"column_values"`
		CreateMissing bool            `json:"create_labels_if_missing"`
	}
	if err := c.Bind(&in); err != nil {
		return nil, err
	}
	if in.BoardID == "" || in.ItemName == "" {
		return nil, piece.FieldError("item_name", "board_id and item_name are required")
	}
	vars := map[string]any{"board": in.BoardID, "name": in.ItemName, "create_labels": in.CreateMissing}
	if in.GroupID != "" {
		vars["group"] = in.GroupID
	}
	if cv := strings.TrimSpace(string(in.ColumnValues)); cv != "" && cv != "null" {
		// column_values is a JSON scalar holding a JSON-encoded string.
		if strings.HasPrefix(cv, `"`) {
			vars["columns"] = in.ColumnValues
		} else {
			vars["columns"] = cv
		}
	}
	cr, err := c.Credentials()
	if err != nil {
		return nil, err
	}
	resp, err := c.JSON("POST", "https://api.monday.com/v2",
		map[string]string{"Authorization": cr.Secret(), "API-Version": apiVersion},
		map[string]any{"query": createItem, "variables": vars})
	if err != nil {
		return nil, err
	}
	var out struct {
		Data struct {
			CreateItem json.RawMessage `json:"create_item"`
		} `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
		ErrorMessage string `json:"error_message"`
	}
	if err := json.Unmarshal(resp.Bytes(), &out); err != nil {
		return nil, resp.Fail("monday.com request failed")
	}
	// GraphQL errors arrive with HTTP 200.
	if len(out.Errors) > 0 {
		return nil, &piece.Error{Summary: "monday.com: " + out.Errors[0].Message, Detail: string(resp.Bytes()), Status: resp.Status}
	}
	if out.ErrorMessage != "" {
		return nil, &piece.Error{Summary: "monday.com: " + out.ErrorMessage, Status: resp.Status}
	}
	if !resp.OK() {
		return nil, resp.Fail("monday.com request failed")
	}
	return out.Data.CreateItem, nil
}

func main() {}
