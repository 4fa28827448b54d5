// Package notion is the Notion provider: search, databases, pages and
// blocks over Notion's REST API (https://developers.notion.com/reference),
// built only on the public SDK.
//
// Every request carries the Notion-Version header. Public integrations
// connect with OAuth (Bearer access token); internal integrations give a
// secret token, kept as the custom credential field "accessToken" (or an
// api_key), sent the same way. Lists paginate with start_cursor/page_size
// and answer has_more/next_cursor, which is handed back as next_cursor.
// Notion's error body {"object":"error","status","code","message"}
// becomes a diagnostic carrying the code.
package notion

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// APIVersion is the Notion-Version requests are pinned to.
const APIVersion = "2022-06-28"

// BaseURL is Notion's API base URL, used when the host supplies none.
const BaseURL = "https://api.notion.com"

var httpOptions = provider.HTTPOptions{
	BaseURL:   BaseURL,
	APIKey:    provider.APIKeyHeader("Authorization", "Bearer "),
	Header:    http.Header{"Notion-Version": {APIVersion}},
	UserAgent: "atom-provider-notion/" + Version,
}

// New returns the Notion provider.
func New() *provider.Builder {
	return withTriggers(provider.New(provider.Manifest{
		ID:           "notion",
		Name:         "Notion",
		Version:      Version,
		Description:  "Workspace: search, databases, pages and blocks.",
		Categories:   []string{"productivity"},
		AllowedHosts: []string{"api.notion.com"},
	}).
		HTTP(httpOptions).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the integration's bot user (GET /v1/users/me).",
			Output: provider.SortedSchema(`{"type":"object","required":["ok"],"properties":{
				"ok":{"type":"boolean"},"bot_id":{"type":"string"},"name":{"type":"string"},"workspace_name":{"type":"string"}}}`),
			Handle: testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "search",
			DisplayName: "Search",
			Description: "Searches pages and databases shared with the integration by title, one page at a time.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"query":{"type":"string"},
				"object":{"type":"string","enum":["page","database"]},
				"sort_direction":{"type":"string","enum":["ascending","descending"]},
				"start_cursor":{"type":"string"},"page_size":{"type":"integer","minimum":1,"maximum":100}}}`),
			Output: listSchema,
			Handle: provider.Typed(search),
		}).
		Action(provider.ActionDef{
			Name:        "query_database",
			DisplayName: "Query database",
			Description: "Returns a database's pages matching a Notion filter and sorts, one page at a time.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["database_id"],"properties":{
				"database_id":{"type":"string","minLength":1},
				"filter":{"type":"object","description":"A Notion database filter object."},
				"sorts":{"type":"array","items":{"type":"object"}},
				"start_cursor":{"type":"string"},"page_size":{"type":"integer","minimum":1,"maximum":100}}}`),
			Output: listSchema,
			Handle: provider.Typed(queryDatabase),
		}).
		Action(provider.ActionDef{
			Name:        "get_page",
			DisplayName: "Get page",
			Description: "Returns a page's properties.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["page_id"],"properties":{
				"page_id":{"type":"string","minLength":1}}}`),
			Output: objectSchema,
			Handle: provider.Typed(getPage),
		}).
		Action(provider.ActionDef{
			Name:        "create_page",
			DisplayName: "Create page",
			Description: "Creates a page in a database (a database item) or under a page.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["properties"],"properties":{
				"database_id":{"type":"string"},"parent_page_id":{"type":"string"},
				"properties":{"type":"object","description":"Notion property values keyed by property name."},
				"children":{"type":"array","items":{"type":"object"},"maxItems":100},
				"icon":{"type":"object"},"cover":{"type":"object"}}}`),
			Output: objectSchema,
			Handle: provider.Typed(createPage),
		}).
		Action(provider.ActionDef{
			Name:        "append_blocks",
			DisplayName: "Append blocks",
			Description: "Appends block children (paragraphs, headings, to-dos...) to a page or block.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["block_id","children"],"properties":{
				"block_id":{"type":"string","minLength":1},
				"children":{"type":"array","items":{"type":"object"},"minItems":1,"maxItems":100},
				"after":{"type":"string"}}}`),
			Output: listSchema,
			Handle: provider.Typed(appendBlocks),
		}).
		Action(provider.ActionDef{
			Name:        "list_block_children",
			DisplayName: "List block children",
			Description: "Lists a page's or block's children, one page at a time.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["block_id"],"properties":{
				"block_id":{"type":"string","minLength":1},
				"start_cursor":{"type":"string"},"page_size":{"type":"integer","minimum":1,"maximum":100}}}`),
			Output: listSchema,
			Handle: provider.Typed(listBlockChildren),
		}))
}

var objectSchema = provider.SortedSchema(`{"type":"object","required":["id","object"],"properties":{
	"id":{"type":"string"},"object":{"type":"string"},"url":{"type":"string"}}}`)

var listSchema = provider.SortedSchema(`{"type":"object","required":["results","has_more"],"properties":{
	"results":{"type":"array","items":{"type":"object"}},
	"has_more":{"type":"boolean"},
	"next_cursor":{"type":"string","description":"Pass as start_cursor to get the next page."}}}`)

// client returns the HTTP client, sending an internal integration's
// token (a custom credential field) as Bearer too.
func client(c *provider.Call) *provider.HTTPClient {
	return withToken(c.HTTP(), c.Credentials())
}

// withToken sends the token of a custom connection (creds) with h.
func withToken(h *provider.HTTPClient, creds provider.Credentials) *provider.HTTPClient {
	if creds.Type == "custom" {
		tok := creds.Fields["accessToken"]
		if tok == "" {
			tok = creds.Fields["access_token"]
		}
		if tok != "" {
			h = h.WithHeader("Authorization", "Bearer "+tok)
		}
	}
	return h
}

func send(ctx context.Context, c *provider.Call, method, path string, query url.Values, in, out any) error {
	return client(c).SendJSON(ctx, method, path, query, in, out)
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var me struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Bot  struct {
			WorkspaceName string `json:"workspace_name"`
		} `json:"bot"`
	}
	if err := send(ctx, c, http.MethodGet, "/v1/users/me", nil, nil, &me); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "bot_id": me.ID, "name": me.Name, "workspace_name": me.Bot.WorkspaceName}, nil
}

// list is a Notion list object.
type list struct {
	Results    []json.RawMessage `json:"results"`
	HasMore    bool              `json:"has_more"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

func (l list) out() list {
	if l.Results == nil {
		l.Results = []json.RawMessage{}
	}
	if !l.HasMore {
		l.NextCursor = ""
	}
	return l
}

type pageIn struct {
	StartCursor string `json:"start_cursor"`
	PageSize    int    `json:"page_size"`
}

func (p pageIn) body(m map[string]any) map[string]any {
	if p.StartCursor != "" {
		m["start_cursor"] = p.StartCursor
	}
	if p.PageSize > 0 {
		m["page_size"] = p.PageSize
	}
	return m
}

type searchIn struct {
	pageIn
	Query         string `json:"query"`
	Object        string `json:"object"`
	SortDirection string `json:"sort_direction"`
}

func search(ctx context.Context, c *provider.Call, in searchIn) (any, error) {
	body := in.body(map[string]any{})
	if in.Query != "" {
		body["query"] = in.Query
	}
	if in.Object != "" {
		body["filter"] = map[string]string{"property": "object", "value": in.Object}
	}
	if in.SortDirection != "" {
		body["sort"] = map[string]string{"direction": in.SortDirection, "timestamp": "last_edited_time"}
	}
	var l list
	if err := send(ctx, c, http.MethodPost, "/v1/search", nil, body, &l); err != nil {
		return nil, err
	}
	return l.out(), nil
}

type queryIn struct {
	pageIn
	DatabaseID string           `json:"database_id"`
	Filter     json.RawMessage  `json:"filter"`
	Sorts      []map[string]any `json:"sorts"`
}

func queryDatabase(ctx context.Context, c *provider.Call, in queryIn) (any, error) {
	id, err := provider.PathSegment("database_id", in.DatabaseID)
	if err != nil {
		return nil, err
	}
	body := in.body(map[string]any{})
	if len(in.Filter) > 0 {
		body["filter"] = in.Filter
	}
	if len(in.Sorts) > 0 {
		body["sorts"] = in.Sorts
	}
	var l list
	if err := send(ctx, c, http.MethodPost, "/v1/databases/"+id+"/query", nil, body, &l); err != nil {
		return nil, err
	}
	return l.out(), nil
}

type pageRef struct {
	PageID string `json:"page_id"`
}

func getPage(ctx context.Context, c *provider.Call, in pageRef) (any, error) {
	id, err := provider.PathSegment("page_id", in.PageID)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = send(ctx, c, http.MethodGet, "/v1/pages/"+id, nil, nil, &out)
	return out, err
}

type createPageIn struct {
	DatabaseID   string          `json:"database_id"`
	ParentPageID string          `json:"parent_page_id"`
	Properties   json.RawMessage `json:"properties"`
	Children     json.RawMessage `json:"children"`
	Icon         json.RawMessage `json:"icon"`
	Cover        json.RawMessage `json:"cover"`
}

func createPage(ctx context.Context, c *provider.Call, in createPageIn) (any, error) {
	body := map[string]any{"properties": in.Properties}
	switch {
	case in.DatabaseID != "" && in.ParentPageID != "":
		return nil, provider.UserError("parent_page_id", "give either database_id or parent_page_id, not both")
	case in.DatabaseID != "":
		body["parent"] = map[string]string{"database_id": in.DatabaseID}
	case in.ParentPageID != "":
		body["parent"] = map[string]string{"page_id": in.ParentPageID}
	default:
		return nil, provider.UserError("database_id", "give database_id or parent_page_id")
	}
	for k, v := range map[string]json.RawMessage{"children": in.Children, "icon": in.Icon, "cover": in.Cover} {
		if len(v) > 0 {
			body[k] = v
		}
	}
	var out json.RawMessage
	err := send(ctx, c, http.MethodPost, "/v1/pages", nil, body, &out)
	return out, err
}

type appendIn struct {
	BlockID  string          `json:"block_id"`
	Children json.RawMessage `json:"children"`
	After    string          `json:"after"`
}

func appendBlocks(ctx context.Context, c *provider.Call, in appendIn) (any, error) {
	id, err := provider.PathSegment("block_id", in.BlockID)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"children": in.Children}
	if in.After != "" {
		body["after"] = in.After
	}
	var l list
	if err := send(ctx, c, http.MethodPatch, "/v1/blocks/"+id+"/children", nil, body, &l); err != nil {
		return nil, err
	}
	return l.out(), nil
}

type childrenIn struct {
	BlockID     string `json:"block_id"`
	StartCursor string `json:"start_cursor"`
	PageSize    int    `json:"page_size"`
}

func listBlockChildren(ctx context.Context, c *provider.Call, in childrenIn) (any, error) {
	id, err := provider.PathSegment("block_id", in.BlockID)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if in.StartCursor != "" {
		q.Set("start_cursor", in.StartCursor)
	}
	if in.PageSize > 0 {
		q.Set("page_size", strconv.Itoa(in.PageSize))
	}
	var l list
	if err := send(ctx, c, http.MethodGet, "/v1/blocks/"+id+"/children", q, nil, &l); err != nil {
		return nil, err
	}
	return l.out(), nil
}
