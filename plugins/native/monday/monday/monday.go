// Package monday is the monday.com provider: the account, boards, items,
// column values and updates over monday's GraphQL API
// (https://developer.monday.com/api-reference), built only on the public
// SDK.
//
// Every call is a POST to /v2 with a query and variables and an
// API-Version header. The token, personal API token or OAuth access token
// alike, goes bare in the Authorization header. Errors arrive in errors[] with HTTP
// 200 (extensions.code, e.g. ComplexityException) or, for older failures,
// as {"error_code","error_message","status_code"}; both become
// diagnostics. Items page with items_page/next_items_page cursors, handed
// back as next_cursor; boards page by page number.
package monday

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// APIVersion is the monday API version requests are pinned to.
const APIVersion = "2024-10"

// BaseURL is monday's API base URL, used when the host supplies none.
const BaseURL = "https://api.monday.com"

const endpoint = "/v2"

var httpOptions = provider.HTTPOptions{
	BaseURL: BaseURL,
	// Personal API tokens go bare in Authorization; so do OAuth access
	// tokens, moved out of the Bearer scheme per request (after a refresh
	// too, for apps on monday's expiring-token OAuth flow).
	APIKey:      provider.APIKeyHeader("Authorization", ""),
	Client:      provider.TokenHeader("Authorization", "", nil),
	Header:      http.Header{"Api-Version": {APIVersion}},
	UserAgent:   "atom-provider-monday/" + Version,
	DecodeError: decodeError,
}

// New returns the monday.com provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "monday",
		Name:         "monday.com",
		Version:      Version,
		Description:  "Work OS: boards, items, column values and updates.",
		Categories:   []string{"productivity"},
		AllowedHosts: []string{"api.monday.com"},
	}).
		HTTP(httpOptions).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the user and account (query me).",
			Output: provider.SortedSchema(`{"type":"object","required":["ok"],"properties":{
				"ok":{"type":"boolean"},"user_id":{"type":"string"},"name":{"type":"string"},
				"email":{"type":"string"},"account":{"type":"string"}}}`),
			Handle: testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_boards",
			DisplayName: "List boards",
			Description: "Lists boards, one page at a time (page numbers start at 1).",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"limit":{"type":"integer","minimum":1,"maximum":500},"page":{"type":"integer","minimum":1},
				"state":{"type":"string","enum":["active","archived","deleted","all"]}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["boards"],"properties":{
				"boards":{"type":"array","items":{"type":"object"}},"next_page":{"type":"integer"}}}`),
			Handle: provider.Typed(listBoards),
		}).
		Action(provider.ActionDef{
			Name:        "list_items",
			DisplayName: "List items",
			Description: "Lists a board's items with their column values, one page at a time (cursor).",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["board_id"],"properties":{
				"board_id":{"type":"string","pattern":"^[0-9]+$"},
				"limit":{"type":"integer","minimum":1,"maximum":500},
				"cursor":{"type":"string","description":"next_cursor of the previous page."}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["items"],"properties":{
				"items":{"type":"array","items":{"type":"object"}},"next_cursor":{"type":"string"}}}`),
			Handle: provider.Typed(listItems),
		}).
		Action(provider.ActionDef{
			Name:        "create_item",
			DisplayName: "Create item",
			Description: "Creates an item on a board, optionally in a group and with column values.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["board_id","name"],"properties":{
				"board_id":{"type":"string","pattern":"^[0-9]+$"},"group_id":{"type":"string"},
				"name":{"type":"string","minLength":1},
				"column_values":{"type":"object","description":"Column values keyed by column id, e.g. {\"status\":{\"label\":\"Done\"}}."},
				"create_labels_if_missing":{"type":"boolean"}}}`),
			Output: itemSchema,
			Handle: provider.Typed(createItem),
		}).
		Action(provider.ActionDef{
			Name:        "change_column_values",
			DisplayName: "Change column values",
			Description: "Sets several column values of an item at once.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["board_id","item_id","column_values"],"properties":{
				"board_id":{"type":"string","pattern":"^[0-9]+$"},"item_id":{"type":"string","pattern":"^[0-9]+$"},
				"column_values":{"type":"object","minProperties":1},"create_labels_if_missing":{"type":"boolean"}}}`),
			Output: itemSchema,
			Handle: provider.Typed(changeColumnValues),
		}).
		Action(provider.ActionDef{
			Name:        "create_update",
			DisplayName: "Post update",
			Description: "Posts an update (comment) on an item.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["item_id","body"],"properties":{
				"item_id":{"type":"string","pattern":"^[0-9]+$"},"body":{"type":"string","minLength":1}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"body":{"type":"string"},"created_at":{"type":"string"}}}`),
			Handle: provider.Typed(createUpdate),
		})
}

var itemSchema = provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"name":{"type":"string"}}}`)

// decodeError reads monday's {"error_code","error_message","status_code"}
// and, failing that, the common shapes ({"errors":[...]}, {"message"}).
func decodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		ErrorCode    string          `json:"error_code"`
		ErrorMessage string          `json:"error_message"`
		Errors       json.RawMessage `json:"errors"`
		Message      string          `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		e.Message = provider.ErrorText(body)
		return
	}
	e.Message, e.Code = v.ErrorMessage, v.ErrorCode
	if e.Message == "" {
		var errs []struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(v.Errors, &errs) == nil && len(errs) > 0 {
			e.Message = errs[0].Message
		}
	}
	if e.Message == "" {
		e.Message = v.Message
	}
}

// gql runs one GraphQL call.
func gql(ctx context.Context, c *provider.Call, query string, vars map[string]any, out any) error {
	return c.HTTP().GraphQL(ctx, endpoint, query, vars, out)
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var out struct {
		Me struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Email   string `json:"email"`
			Account struct {
				Name string `json:"name"`
			} `json:"account"`
		} `json:"me"`
	}
	if err := gql(ctx, c, `query { me { id name email account { id name slug } } }`, nil, &out); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "user_id": out.Me.ID, "name": out.Me.Name, "email": out.Me.Email, "account": out.Me.Account.Name}, nil
}

type boardsIn struct {
	Limit int    `json:"limit"`
	Page  int    `json:"page"`
	State string `json:"state"`
}

const boardsQuery = `query ($limit: Int, $page: Int, $state: State) {
  boards(limit: $limit, page: $page, state: $state) { id name state board_kind workspace_id }
}`

func listBoards(ctx context.Context, c *provider.Call, in boardsIn) (any, error) {
	if in.Limit == 0 {
		in.Limit = 25
	}
	if in.Page == 0 {
		in.Page = 1
	}
	vars := map[string]any{"limit": in.Limit, "page": in.Page}
	if in.State != "" {
		vars["state"] = in.State
	}
	var out struct {
		Boards []json.RawMessage `json:"boards"`
	}
	if err := gql(ctx, c, boardsQuery, vars, &out); err != nil {
		return nil, err
	}
	res := provider.ListOutput("boards", out.Boards)
	if len(out.Boards) == in.Limit {
		res["next_page"] = in.Page + 1
	}
	return res, nil
}

const itemFields = `id name group { id title } column_values { id type text value }`

const firstItemsQuery = `query ($board: [ID!], $limit: Int!) {
  boards(ids: $board) { items_page(limit: $limit) { cursor items { ` + itemFields + ` } } }
}`

const nextItemsQuery = `query ($cursor: String!, $limit: Int!) {
  next_items_page(cursor: $cursor, limit: $limit) { cursor items { ` + itemFields + ` } }
}`

type itemsPage struct {
	Cursor string            `json:"cursor"`
	Items  []json.RawMessage `json:"items"`
}

type itemsIn struct {
	BoardID string `json:"board_id"`
	Limit   int    `json:"limit"`
	Cursor  string `json:"cursor"`
}

func listItems(ctx context.Context, c *provider.Call, in itemsIn) (any, error) {
	if in.Limit == 0 {
		in.Limit = 50
	}
	var page itemsPage
	if in.Cursor != "" {
		var out struct {
			Next itemsPage `json:"next_items_page"`
		}
		if err := gql(ctx, c, nextItemsQuery, map[string]any{"cursor": in.Cursor, "limit": in.Limit}, &out); err != nil {
			return nil, err
		}
		page = out.Next
	} else {
		var out struct {
			Boards []struct {
				ItemsPage itemsPage `json:"items_page"`
			} `json:"boards"`
		}
		if err := gql(ctx, c, firstItemsQuery, map[string]any{"board": []string{in.BoardID}, "limit": in.Limit}, &out); err != nil {
			return nil, err
		}
		if len(out.Boards) == 0 {
			return nil, provider.UserError("board_id", "no board "+in.BoardID+" is visible to this connection")
		}
		page = out.Boards[0].ItemsPage
	}
	res := provider.ListOutput("items", page.Items)
	if page.Cursor != "" {
		res["next_cursor"] = page.Cursor
	}
	return res, nil
}

// columnValues encodes column values as the JSON string monday's JSON
// scalar expects.
func columnValues(v json.RawMessage) (any, error) {
	if len(v) == 0 {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(v, &obj); err != nil {
		return nil, provider.UserError("column_values", "must be an object keyed by column id")
	}
	return string(v), nil
}

type itemIn struct {
	BoardID               string          `json:"board_id"`
	ItemID                string          `json:"item_id"`
	GroupID               string          `json:"group_id"`
	Name                  string          `json:"name"`
	ColumnValues          json.RawMessage `json:"column_values"`
	CreateLabelsIfMissing bool            `json:"create_labels_if_missing"`
}

const createItemMutation = `mutation ($board: ID!, $group: String, $name: String!, $values: JSON, $createLabels: Boolean) {
  create_item(board_id: $board, group_id: $group, item_name: $name, column_values: $values, create_labels_if_missing: $createLabels) { id name }
}`

func createItem(ctx context.Context, c *provider.Call, in itemIn) (any, error) {
	values, err := columnValues(in.ColumnValues)
	if err != nil {
		return nil, err
	}
	vars := map[string]any{"board": in.BoardID, "name": in.Name}
	if in.GroupID != "" {
		vars["group"] = in.GroupID
	}
	if values != nil {
		vars["values"] = values
	}
	if in.CreateLabelsIfMissing {
		vars["createLabels"] = true
	}
	var out struct {
		Item json.RawMessage `json:"create_item"`
	}
	if err := gql(ctx, c, createItemMutation, vars, &out); err != nil {
		return nil, err
	}
	return out.Item, nil
}

const changeValuesMutation = `mutation ($board: ID!, $item: ID!, $values: JSON!, $createLabels: Boolean) {
  change_multiple_column_values(board_id: $board, item_id: $item, column_values: $values, create_labels_if_missing: $createLabels) { id name }
}`

func changeColumnValues(ctx context.Context, c *provider.Call, in itemIn) (any, error) {
	values, err := columnValues(in.ColumnValues)
	if err != nil {
		return nil, err
	}
	if values == nil {
		return nil, provider.UserError("column_values", "is required")
	}
	vars := map[string]any{"board": in.BoardID, "item": in.ItemID, "values": values}
	if in.CreateLabelsIfMissing {
		vars["createLabels"] = true
	}
	var out struct {
		Item json.RawMessage `json:"change_multiple_column_values"`
	}
	if err := gql(ctx, c, changeValuesMutation, vars, &out); err != nil {
		return nil, err
	}
	return out.Item, nil
}

type updateIn struct {
	ItemID string `json:"item_id"`
	Body   string `json:"body"`
}

const createUpdateMutation = `mutation ($item: ID!, $body: String!) {
  create_update(item_id: $item, body: $body) { id body created_at }
}`

func createUpdate(ctx context.Context, c *provider.Call, in updateIn) (any, error) {
	var out struct {
		Update json.RawMessage `json:"create_update"`
	}
	if err := gql(ctx, c, createUpdateMutation, map[string]any{"item": in.ItemID, "body": in.Body}, &out); err != nil {
		return nil, err
	}
	return out.Update, nil
}
