// Package figma is the Figma provider: the user, files, nodes, versions,
// image renders and comments over Figma's REST API
// (https://www.figma.com/developers/api), built only on the public SDK.
//
// Personal access tokens go in the X-Figma-Token header; OAuth access
// tokens are sent as Bearer. File versions page backwards through
// pagination.next_page URLs, whose "before" parameter is handed back as
// next_before. Figma's error bodies, {"status","err"} and
// {"error":true,"status","message"}, become diagnostics; 429 carries
// Retry-After.
package figma

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is Figma's API base URL, used when the host supplies none.
const BaseURL = "https://api.figma.com"

// New returns the Figma provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "figma",
		Name:         "Figma",
		Version:      Version,
		Description:  "Design: files, nodes, versions, renders and comments.",
		Categories:   []string{"productivity"},
		AllowedHosts: []string{"api.figma.com"},
	}).
		HTTP(provider.HTTPOptions{
			BaseURL:     BaseURL,
			APIKey:      provider.APIKeyHeader("X-Figma-Token", ""),
			UserAgent:   "atom-provider-figma/" + Version,
			DecodeError: decodeError,
		}).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the user (GET /v1/me).",
			Output: provider.SortedSchema(`{"type":"object","required":["ok"],"properties":{
				"ok":{"type":"boolean"},"id":{"type":"string"},"handle":{"type":"string"},"email":{"type":"string"}}}`),
			Handle: testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "get_file",
			DisplayName: "Get file",
			Description: "Returns a file's document tree (to a depth), components and styles.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["file_key"],"properties":{
				"file_key":{"type":"string","pattern":"^[A-Za-z0-9]+$"},
				"depth":{"type":"integer","minimum":1},"version":{"type":"string"},
				"ids":{"type":"array","items":{"type":"string"}}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"lastModified":{"type":"string"},"version":{"type":"string"},"document":{"type":"object"}}}`),
			Handle: provider.Typed(getFile),
		}).
		Action(provider.ActionDef{
			Name:        "get_file_nodes",
			DisplayName: "Get file nodes",
			Description: "Returns the given nodes of a file with their subtrees.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["file_key","ids"],"properties":{
				"file_key":{"type":"string","pattern":"^[A-Za-z0-9]+$"},
				"ids":{"type":"array","minItems":1,"items":{"type":"string"}},"depth":{"type":"integer","minimum":1}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["nodes"],"properties":{"name":{"type":"string"},"nodes":{"type":"object"}}}`),
			Handle: provider.Typed(getFileNodes),
		}).
		Action(provider.ActionDef{
			Name:        "list_file_versions",
			DisplayName: "List file versions",
			Description: "Lists a file's version history, newest first, one page at a time.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["file_key"],"properties":{
				"file_key":{"type":"string","pattern":"^[A-Za-z0-9]+$"},
				"page_size":{"type":"integer","minimum":1,"maximum":50},"before":{"type":"string"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["versions"],"properties":{
				"versions":{"type":"array","items":{"type":"object"}},"next_before":{"type":"string"}}}`),
			Handle: provider.Typed(listVersions),
		}).
		Action(provider.ActionDef{
			Name:        "render_images",
			DisplayName: "Render images",
			Description: "Renders nodes of a file and returns temporary image URLs by node id.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["file_key","ids"],"properties":{
				"file_key":{"type":"string","pattern":"^[A-Za-z0-9]+$"},
				"ids":{"type":"array","minItems":1,"items":{"type":"string"}},
				"format":{"type":"string","enum":["jpg","png","svg","pdf"]},"scale":{"type":"number","minimum":0.01,"maximum":4}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["images"],"properties":{"images":{"type":"object","additionalProperties":{"type":["string","null"]}}}}`),
			Handle: provider.Typed(renderImages),
		}).
		Action(provider.ActionDef{
			Name:        "list_comments",
			DisplayName: "List comments",
			Description: "Lists a file's comments.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["file_key"],"properties":{
				"file_key":{"type":"string","pattern":"^[A-Za-z0-9]+$"},"as_md":{"type":"boolean"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["comments"],"properties":{"comments":{"type":"array","items":{"type":"object"}}}}`),
			Handle: provider.Typed(listComments),
		}).
		Action(provider.ActionDef{
			Name:        "post_comment",
			DisplayName: "Post comment",
			Description: "Posts a comment on a file, or a reply to a comment.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["file_key","message"],"properties":{
				"file_key":{"type":"string","pattern":"^[A-Za-z0-9]+$"},"message":{"type":"string","minLength":1},
				"comment_id":{"type":"string","description":"Reply to this comment."},
				"node_id":{"type":"string","description":"Pin the comment to this node."}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"message":{"type":"string"},"created_at":{"type":"string"}}}`),
			Handle: provider.Typed(postComment),
		})
}

// decodeError reads Figma's {"status","err"} and
// {"error":true,"status","message"}.
func decodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Err     string `json:"err"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		e.Message = provider.ErrorText(body)
		return
	}
	e.Message = v.Err
	if e.Message == "" {
		e.Message = v.Message
	}
}

func fileKey(key string) (string, error) { return provider.PathSegment("file_key", key) }

func get(ctx context.Context, c *provider.Call, path string, q url.Values, out any) error {
	return c.HTTP().GetJSON(ctx, path, q, out)
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var me struct {
		ID     string `json:"id"`
		Handle string `json:"handle"`
		Email  string `json:"email"`
	}
	if err := get(ctx, c, "/v1/me", nil, &me); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "id": me.ID, "handle": me.Handle, "email": me.Email}, nil
}

type fileIn struct {
	FileKey   string   `json:"file_key"`
	Depth     int      `json:"depth"`
	Version   string   `json:"version"`
	IDs       []string `json:"ids"`
	PageSize  int      `json:"page_size"`
	Before    string   `json:"before"`
	Format    string   `json:"format"`
	Scale     float64  `json:"scale"`
	AsMD      bool     `json:"as_md"`
	Message   string   `json:"message"`
	CommentID string   `json:"comment_id"`
	NodeID    string   `json:"node_id"`
}

func (in fileIn) query() url.Values {
	q := url.Values{}
	if in.Depth > 0 {
		q.Set("depth", strconv.Itoa(in.Depth))
	}
	if in.Version != "" {
		q.Set("version", in.Version)
	}
	if len(in.IDs) > 0 {
		q.Set("ids", strings.Join(in.IDs, ","))
	}
	return q
}

func getFile(ctx context.Context, c *provider.Call, in fileIn) (any, error) {
	key, err := fileKey(in.FileKey)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = get(ctx, c, "/v1/files/"+key, in.query(), &out)
	return out, err
}

func getFileNodes(ctx context.Context, c *provider.Call, in fileIn) (any, error) {
	key, err := fileKey(in.FileKey)
	if err != nil {
		return nil, err
	}
	if len(in.IDs) == 0 {
		return nil, provider.UserError("ids", "give at least one node id")
	}
	var out json.RawMessage
	err = get(ctx, c, "/v1/files/"+key+"/nodes", in.query(), &out)
	return out, err
}

func listVersions(ctx context.Context, c *provider.Call, in fileIn) (any, error) {
	key, err := fileKey(in.FileKey)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if in.PageSize > 0 {
		q.Set("page_size", strconv.Itoa(in.PageSize))
	}
	if in.Before != "" {
		q.Set("before", in.Before)
	}
	var page struct {
		Versions   []json.RawMessage `json:"versions"`
		Pagination struct {
			NextPage string `json:"next_page"`
		} `json:"pagination"`
	}
	if err := get(ctx, c, "/v1/files/"+key+"/versions", q, &page); err != nil {
		return nil, err
	}
	out := provider.ListOutput("versions", page.Versions)
	if u, err := url.Parse(page.Pagination.NextPage); err == nil && u.Query().Get("before") != "" {
		out["next_before"] = u.Query().Get("before")
	}
	return out, nil
}

func renderImages(ctx context.Context, c *provider.Call, in fileIn) (any, error) {
	key, err := fileKey(in.FileKey)
	if err != nil {
		return nil, err
	}
	if len(in.IDs) == 0 {
		return nil, provider.UserError("ids", "give at least one node id")
	}
	q := url.Values{"ids": {strings.Join(in.IDs, ",")}}
	if in.Format != "" {
		q.Set("format", in.Format)
	}
	if in.Scale > 0 {
		q.Set("scale", strconv.FormatFloat(in.Scale, 'f', -1, 64))
	}
	var out struct {
		Err    *string                    `json:"err"`
		Images map[string]json.RawMessage `json:"images"`
	}
	if err := get(ctx, c, "/v1/images/"+key, q, &out); err != nil {
		return nil, err
	}
	if out.Err != nil && *out.Err != "" {
		return nil, provider.Errorf("Figma could not render: %s", *out.Err)
	}
	if out.Images == nil {
		out.Images = map[string]json.RawMessage{}
	}
	return map[string]any{"images": out.Images}, nil
}

func listComments(ctx context.Context, c *provider.Call, in fileIn) (any, error) {
	key, err := fileKey(in.FileKey)
	if err != nil {
		return nil, err
	}
	var q url.Values
	if in.AsMD {
		q = url.Values{"as_md": {"true"}}
	}
	var out struct {
		Comments []json.RawMessage `json:"comments"`
	}
	if err := get(ctx, c, "/v1/files/"+key+"/comments", q, &out); err != nil {
		return nil, err
	}
	return provider.ListOutput("comments", out.Comments), nil
}

func postComment(ctx context.Context, c *provider.Call, in fileIn) (any, error) {
	key, err := fileKey(in.FileKey)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"message": in.Message}
	if in.CommentID != "" {
		body["comment_id"] = in.CommentID
	}
	if in.NodeID != "" {
		body["client_meta"] = map[string]any{"node_id": in.NodeID, "node_offset": map[string]float64{"x": 0, "y": 0}}
	}
	var out json.RawMessage
	err = c.HTTP().PostJSON(ctx, "/v1/files/"+key+"/comments", body, &out)
	return out, err
}
