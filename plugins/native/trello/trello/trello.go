// Package trello is the Trello provider: the member, boards, lists, cards
// and comments over Trello's REST API
// (https://developer.atlassian.com/cloud/trello/rest/), built only on the
// public SDK.
//
// Trello authorizes a request with an application key and a user token.
// Both travel in the documented header
// `Authorization: OAuth oauth_consumer_key="<key>", oauth_token="<token>"`
// rather than the query string, so they never appear in URLs. The key and
// token come from the connection: basic (username = key, password =
// token), custom fields "key" and "token", an api_key (the token) with the
// field "key", or an OAuth 1.0a connection whose access token is used with
// the application key kept as metadata "consumer_key". Trello answers
// most errors in plain text ("invalid token"), which becomes the
// diagnostic's summary. Board actions page backwards with limit and
// before=<id of the oldest action seen>.
package trello

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is Trello's API base URL, used when the host supplies none.
// Paths start with /1.
const BaseURL = "https://api.trello.com"

var httpOptions = provider.HTTPOptions{
	BaseURL:   BaseURL,
	UserAgent: "atom-provider-trello/" + Version,
}

// New returns the Trello provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "trello",
		Name:         "Trello",
		Version:      Version,
		Description:  "Kanban boards: boards, lists, cards and comments.",
		Categories:   []string{"productivity"},
		AllowedHosts: []string{"api.trello.com"},
	}).
		HTTP(httpOptions).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the key and token by reading the member they belong to (GET /1/members/me).",
			Output: provider.SortedSchema(`{"type":"object","required":["ok"],"properties":{
				"ok":{"type":"boolean"},"id":{"type":"string"},"username":{"type":"string"},"full_name":{"type":"string"}}}`),
			Handle: testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_boards",
			DisplayName: "List boards",
			Description: "Lists the member's boards.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"filter":{"type":"string","enum":["all","open","closed","members","organization","public","starred"]}}}`),
			Output: itemsSchema("boards"),
			Handle: provider.Typed(listBoards),
		}).
		Action(provider.ActionDef{
			Name:        "list_lists",
			DisplayName: "List lists",
			Description: "Lists a board's lists.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["board_id"],"properties":{
				"board_id":{"type":"string","minLength":1},"filter":{"type":"string","enum":["all","open","closed"]}}}`),
			Output: itemsSchema("lists"),
			Handle: provider.Typed(listLists),
		}).
		Action(provider.ActionDef{
			Name:        "list_board_actions",
			DisplayName: "List board activity",
			Description: "Lists a board's actions (activity), newest first, one page at a time.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["board_id"],"properties":{
				"board_id":{"type":"string","minLength":1},
				"filter":{"type":"string","description":"Comma-separated action types, e.g. commentCard,createCard."},
				"limit":{"type":"integer","minimum":1,"maximum":1000},
				"before":{"type":"string","description":"Return actions older than this action id."}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["actions"],"properties":{
				"actions":{"type":"array","items":{"type":"object"}},
				"next_before":{"type":"string","description":"Pass as before to get the next (older) page."}}}`),
			Handle: provider.Typed(listBoardActions),
		}).
		Action(provider.ActionDef{
			Name:        "get_card",
			DisplayName: "Get card",
			Description: "Returns one card.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["card_id"],"properties":{"card_id":{"type":"string","minLength":1}}}`),
			Output:      cardSchema,
			Handle:      provider.Typed(getCard),
		}).
		Action(provider.ActionDef{
			Name:        "create_card",
			DisplayName: "Create card",
			Description: "Creates a card in a list.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["list_id","name"],"properties":{
				"list_id":{"type":"string","minLength":1},"name":{"type":"string","minLength":1},"desc":{"type":"string"},
				"pos":{"type":"string","description":"top, bottom or a positive number."},
				"due":{"type":"string","format":"date-time"},
				"member_ids":{"type":"array","items":{"type":"string"}},"label_ids":{"type":"array","items":{"type":"string"}}}}`),
			Output: cardSchema,
			Handle: provider.Typed(createCard),
		}).
		Action(provider.ActionDef{
			Name:        "update_card",
			DisplayName: "Update card",
			Description: "Renames, describes, moves, archives or sets the due date of a card.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["card_id"],"properties":{
				"card_id":{"type":"string","minLength":1},"name":{"type":"string"},"desc":{"type":"string"},
				"list_id":{"type":"string"},"closed":{"type":"boolean"},"due":{"type":"string"},"due_complete":{"type":"boolean"}}}`),
			Output: cardSchema,
			Handle: provider.Typed(updateCard),
		}).
		Action(provider.ActionDef{
			Name:        "add_comment",
			DisplayName: "Comment on card",
			Description: "Adds a comment to a card.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["card_id","text"],"properties":{
				"card_id":{"type":"string","minLength":1},"text":{"type":"string","minLength":1,"maxLength":16384}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"type":{"type":"string"},"data":{"type":"object"}}}`),
			Handle: provider.Typed(addComment),
		})
}

var cardSchema = provider.SortedSchema(`{"type":"object","required":["id"],"properties":{
	"id":{"type":"string"},"name":{"type":"string"},"idList":{"type":"string"},"url":{"type":"string"},"closed":{"type":"boolean"}}}`)

func itemsSchema(key string) json.RawMessage {
	return provider.SortedSchema(`{"type":"object","required":["` + key + `"],"properties":{"` + key + `":{"type":"array","items":{"type":"object"}}}}`)
}

// keyToken returns the application key and user token of a connection.
func keyToken(cr provider.Credentials) (key, token string) {
	first := func(vs ...string) string {
		for _, v := range vs {
			if v != "" {
				return v
			}
		}
		return ""
	}
	key = first(cr.Fields["key"], cr.Fields["apiKey"], cr.Fields["api_key"], cr.Metadata["consumer_key"], cr.Params["key"])
	switch cr.Type {
	case "basic":
		key, token = first(cr.Username, key), cr.Password
	case "api_key":
		token = first(cr.Fields["token"], cr.APIKey)
	case "oauth1", "oauth2":
		token = cr.AccessToken
	default:
		token = first(cr.Fields["token"], cr.Fields["apiToken"], cr.AccessToken)
	}
	return key, token
}

// client returns an HTTP client that sends the key and token in Trello's
// OAuth Authorization header. The SDK's own credential handling is turned
// off for it: Trello's tokens do not refresh.
func client(ctx context.Context, c *provider.Call) (*provider.HTTPClient, error) {
	key, token := keyToken(c.Credentials())
	if key == "" {
		return nil, provider.UserError("", "the Trello connection has no application key (credential field \"key\" or metadata \"consumer_key\")")
	}
	if token == "" {
		return nil, provider.UserError("", "the Trello connection has no user token")
	}
	if strings.ContainsAny(key+token, "\"\\\r\n") {
		return nil, provider.UserError("", "the Trello connection's key or token is malformed")
	}
	req := c.Request()
	req.Credentials = provider.Credentials{Type: "none"}
	h := provider.Client(provider.WithRequest(ctx, req), httpOptions)
	return h.WithHeader("Authorization", `OAuth oauth_consumer_key="`+key+`", oauth_token="`+token+`"`), nil
}

func send(ctx context.Context, c *provider.Call, method, path string, q url.Values, out any) error {
	h, err := client(ctx, c)
	if err != nil {
		return err
	}
	return h.Send(ctx, method, "/1"+path, q, "", nil, out)
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var me struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		FullName string `json:"fullName"`
	}
	if err := send(ctx, c, http.MethodGet, "/members/me", url.Values{"fields": {"id,username,fullName"}}, &me); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "id": me.ID, "username": me.Username, "full_name": me.FullName}, nil
}

func items(ctx context.Context, c *provider.Call, path string, q url.Values, key string) (any, error) {
	var out []json.RawMessage
	if err := send(ctx, c, http.MethodGet, path, q, &out); err != nil {
		return nil, err
	}
	return provider.ListOutput(key, out), nil
}

type boardsIn struct {
	Filter string `json:"filter"`
}

func listBoards(ctx context.Context, c *provider.Call, in boardsIn) (any, error) {
	q := url.Values{"fields": {"name,desc,url,closed,idOrganization"}}
	if in.Filter != "" {
		q.Set("filter", in.Filter)
	}
	return items(ctx, c, "/members/me/boards", q, "boards")
}

type boardIn struct {
	BoardID string `json:"board_id"`
	Filter  string `json:"filter"`
	Limit   int    `json:"limit"`
	Before  string `json:"before"`
}

func listLists(ctx context.Context, c *provider.Call, in boardIn) (any, error) {
	id, err := provider.PathSegment("board_id", in.BoardID)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if in.Filter != "" {
		q.Set("filter", in.Filter)
	}
	return items(ctx, c, "/boards/"+id+"/lists", q, "lists")
}

func listBoardActions(ctx context.Context, c *provider.Call, in boardIn) (any, error) {
	id, err := provider.PathSegment("board_id", in.BoardID)
	if err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if in.Filter != "" {
		q.Set("filter", in.Filter)
	}
	if in.Before != "" {
		q.Set("before", in.Before)
	}
	var actions []json.RawMessage
	if err := send(ctx, c, http.MethodGet, "/boards/"+id+"/actions", q, &actions); err != nil {
		return nil, err
	}
	out := provider.ListOutput("actions", actions)
	// A full page may have older actions behind it.
	if len(actions) == limit {
		var last struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(actions[len(actions)-1], &last) == nil && last.ID != "" {
			out["next_before"] = last.ID
		}
	}
	return out, nil
}

type cardIn struct {
	CardID      string   `json:"card_id"`
	ListID      string   `json:"list_id"`
	Name        *string  `json:"name"`
	Desc        *string  `json:"desc"`
	Pos         string   `json:"pos"`
	Due         string   `json:"due"`
	DueComplete *bool    `json:"due_complete"`
	Closed      *bool    `json:"closed"`
	MemberIDs   []string `json:"member_ids"`
	LabelIDs    []string `json:"label_ids"`
	Text        string   `json:"text"`
}

func (in cardIn) path(rest string) (string, error) {
	id, err := provider.PathSegment("card_id", in.CardID)
	if err != nil {
		return "", err
	}
	return "/cards/" + id + rest, nil
}

func getCard(ctx context.Context, c *provider.Call, in cardIn) (any, error) {
	p, err := in.path("")
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = send(ctx, c, http.MethodGet, p, nil, &out)
	return out, err
}

// query holds the card fields Trello takes as query parameters.
func (in cardIn) query() url.Values {
	q := url.Values{}
	if in.ListID != "" {
		q.Set("idList", in.ListID)
	}
	if in.Name != nil {
		q.Set("name", *in.Name)
	}
	if in.Desc != nil {
		q.Set("desc", *in.Desc)
	}
	if in.Pos != "" {
		q.Set("pos", in.Pos)
	}
	if in.Due != "" {
		q.Set("due", in.Due)
	}
	if in.DueComplete != nil {
		q.Set("dueComplete", strconv.FormatBool(*in.DueComplete))
	}
	if in.Closed != nil {
		q.Set("closed", strconv.FormatBool(*in.Closed))
	}
	for k, ids := range map[string][]string{"idMembers": in.MemberIDs, "idLabels": in.LabelIDs} {
		if len(ids) > 0 {
			v := ids[0]
			for _, id := range ids[1:] {
				v += "," + id
			}
			q.Set(k, v)
		}
	}
	return q
}

func createCard(ctx context.Context, c *provider.Call, in cardIn) (any, error) {
	if in.ListID == "" {
		return nil, provider.UserError("list_id", "is required")
	}
	var out json.RawMessage
	err := send(ctx, c, http.MethodPost, "/cards", in.query(), &out)
	return out, err
}

func updateCard(ctx context.Context, c *provider.Call, in cardIn) (any, error) {
	p, err := in.path("")
	if err != nil {
		return nil, err
	}
	q := in.query()
	if len(q) == 0 {
		return nil, provider.UserError("", "nothing to update: give name, desc, list_id, closed, due or due_complete")
	}
	var out json.RawMessage
	err = send(ctx, c, http.MethodPut, p, q, &out)
	return out, err
}

func addComment(ctx context.Context, c *provider.Call, in cardIn) (any, error) {
	p, err := in.path("/actions/comments")
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = send(ctx, c, http.MethodPost, p, url.Values{"text": {in.Text}}, &out)
	return out, err
}
