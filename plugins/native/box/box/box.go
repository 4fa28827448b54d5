// Package box is the Box provider over the Box Platform API 2.0
// (https://developer.box.com/reference/), built only on the public SDK:
// the user, folders, files and search. Folder listings page with markers
// (usemarker/next_marker), search with offset/limit/total_count; Box's
// error body {"type":"error","status","code","message","context_info"}
// becomes a diagnostic naming the offending field when Box says which.
package box

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

// BaseURL is the Box API host, used when the host supplies none; paths
// carry the API version.
const BaseURL = "https://api.box.com"

const api = "/2.0"

// itemFields is the field selection asked for files and folders.
const itemFields = "type,id,name,size,modified_at,parent,etag,sha1,path_collection"

// New returns the Box provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "box",
		Name:         "Box",
		Version:      Version,
		Description:  "Files and folders in Box.",
		Categories:   []string{"storage", "productivity"},
		AllowedHosts: []string{"api.box.com", "upload.box.com"},
	}).
		HTTP(provider.HTTPOptions{
			BaseURL:     BaseURL,
			UserAgent:   "atom-provider-box/" + Version,
			DecodeError: decodeError,
		}).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the current user (GET /users/me).",
			Output:      provider.Schema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"id":{"type":"string"},"login":{"type":"string"},"name":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_folder_items",
			DisplayName: "List folder items",
			Description: "Lists the files, folders and web links in a folder (the root, id 0, by default), one page at a time.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"properties":{
				"folder_id":{"type":"string","pattern":"^[0-9]+$"},
				"limit":{"type":"integer","minimum":1,"maximum":1000},
				"marker":{"type":"string","description":"next_marker of the previous page"}}}`),
			Output: provider.Schema(`{"type":"object","required":["entries"],"properties":{"entries":{"type":"array","items":` + itemSchema + `},"next_marker":{"type":"string"}}}`),
			Handle: provider.Typed(listFolderItems),
		}).
		Action(provider.ActionDef{
			Name:        "get_file",
			DisplayName: "Get file",
			Description: "Reads a file's metadata.",
			Input:       provider.Schema(`{"type":"object","additionalProperties":false,"required":["file_id"],"properties":{"file_id":{"type":"string","pattern":"^[0-9]+$"}}}`),
			Output:      provider.Schema(itemSchema),
			Handle:      provider.Typed(getFile),
		}).
		Action(provider.ActionDef{
			Name:        "create_folder",
			DisplayName: "Create folder",
			Description: "Creates a folder inside a parent folder (the root, id 0, by default).",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["name"],"properties":{
				"name":{"type":"string","minLength":1,"maxLength":255},
				"parent_id":{"type":"string","pattern":"^[0-9]+$"}}}`),
			Output: provider.Schema(itemSchema),
			Handle: provider.Typed(createFolder),
		}).
		Action(provider.ActionDef{
			Name:        "search",
			DisplayName: "Search",
			Description: "Searches files and folders by name, description and content, one page at a time.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["query"],"properties":{
				"query":{"type":"string","minLength":1},
				"type":{"type":"string","enum":["file","folder","web_link"]},
				"ancestor_folder_ids":{"type":"array","items":{"type":"string"}},
				"file_extensions":{"type":"array","items":{"type":"string"}},
				"limit":{"type":"integer","minimum":1,"maximum":200},
				"offset":{"type":"integer","minimum":0}}}`),
			Output: provider.Schema(`{"type":"object","required":["entries"],"properties":{"entries":{"type":"array","items":` + itemSchema + `},"total_count":{"type":"integer"},"next_offset":{"type":"integer"}}}`),
			Handle: provider.Typed(search),
		}).
		Action(provider.ActionDef{
			Name:        "delete_file",
			DisplayName: "Delete file",
			Description: "Moves a file to the trash; with etag, only if it has not changed since.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["file_id"],"properties":{
				"file_id":{"type":"string","pattern":"^[0-9]+$"},
				"etag":{"type":"string"}}}`),
			Output: provider.Schema(`{"type":"object","required":["deleted"],"properties":{"deleted":{"type":"boolean"},"file_id":{"type":"string"}}}`),
			Handle: provider.Typed(deleteFile),
		})
}

const itemSchema = `{"type":"object","properties":{"type":{"type":"string"},"id":{"type":"string"},"name":{"type":"string"},"size":{"type":"integer"},"modified_at":{"type":"string"},"etag":{"type":"string"},"parent":{"type":["object","null"]}}}`

// decodeError reads Box's client error body.
func decodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Type        string `json:"type"`
		Code        string `json:"code"`
		Message     string `json:"message"`
		ContextInfo struct {
			Errors []struct {
				Reason  string `json:"reason"`
				Name    string `json:"name"`
				Message string `json:"message"`
			} `json:"errors"`
		} `json:"context_info"`
		// OAuth failures use the RFC 6749 shape.
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if json.Unmarshal(body, &v) != nil {
		return
	}
	e.Message, e.Code = v.Message, v.Code
	if e.Message == "" {
		e.Message, e.Code = v.ErrorDescription, v.Error
	}
	if len(v.ContextInfo.Errors) > 0 {
		fe := v.ContextInfo.Errors[0]
		e.Field = fe.Name
		if fe.Message != "" {
			e.Message += ": " + fe.Message
		}
	}
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var u struct {
		ID    string `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := c.HTTP().GetJSON(ctx, api+"/users/me", url.Values{"fields": {"id,login,name"}}, &u); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "id": u.ID, "login": u.Login, "name": u.Name}, nil
}

type folderItemsIn struct {
	FolderID string `json:"folder_id"`
	Limit    int    `json:"limit"`
	Marker   string `json:"marker"`
}

func orRoot(id string) string {
	if id == "" {
		return "0"
	}
	return id
}

func listFolderItems(ctx context.Context, c *provider.Call, in folderItemsIn) (any, error) {
	if in.FolderID != "" {
		if _, err := provider.PathSegment("folder_id", in.FolderID); err != nil {
			return nil, err
		}
	}
	q := url.Values{"usemarker": {"true"}, "fields": {itemFields}}
	if in.Limit != 0 {
		q.Set("limit", strconv.Itoa(in.Limit))
	}
	if in.Marker != "" {
		q.Set("marker", in.Marker)
	}
	var p struct {
		Entries    []json.RawMessage `json:"entries"`
		NextMarker *string           `json:"next_marker"`
	}
	if err := c.HTTP().GetJSON(ctx, api+"/folders/"+url.PathEscape(orRoot(in.FolderID))+"/items", q, &p); err != nil {
		return nil, err
	}
	out := map[string]any{"entries": nonNil(p.Entries)}
	if p.NextMarker != nil && *p.NextMarker != "" {
		out["next_marker"] = *p.NextMarker
	}
	return out, nil
}

type fileIn struct {
	FileID string `json:"file_id"`
	ETag   string `json:"etag"`
}

func getFile(ctx context.Context, c *provider.Call, in fileIn) (any, error) {
	if _, err := provider.PathSegments("file_id", in.FileID); err != nil {
		return nil, err
	}
	var out json.RawMessage
	if err := c.HTTP().GetJSON(ctx, api+"/files/"+url.PathEscape(in.FileID), url.Values{"fields": {itemFields}}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

type folderIn struct {
	Name     string `json:"name"`
	ParentID string `json:"parent_id"`
}

func createFolder(ctx context.Context, c *provider.Call, in folderIn) (any, error) {
	if strings.ContainsAny(in.Name, `/\`) || in.Name == "." || in.Name == ".." || strings.TrimSpace(in.Name) != in.Name {
		return nil, provider.UserError("name", `may not contain / or \, be "." or "..", or start or end with spaces`)
	}
	body := map[string]any{"name": in.Name, "parent": map[string]string{"id": orRoot(in.ParentID)}}
	var out json.RawMessage
	if err := c.HTTP().SendJSON(ctx, http.MethodPost, api+"/folders", url.Values{"fields": {itemFields}}, body, &out); err != nil {
		return nil, err
	}
	return out, nil
}

type searchIn struct {
	Query             string   `json:"query"`
	Type              string   `json:"type"`
	AncestorFolderIDs []string `json:"ancestor_folder_ids"`
	FileExtensions    []string `json:"file_extensions"`
	Limit             int      `json:"limit"`
	Offset            int      `json:"offset"`
}

func search(ctx context.Context, c *provider.Call, in searchIn) (any, error) {
	limit := in.Limit
	if limit == 0 {
		limit = 30
	}
	q := url.Values{"query": {in.Query}, "limit": {strconv.Itoa(limit)}, "fields": {itemFields}}
	if in.Offset != 0 {
		if in.Offset%limit != 0 {
			return nil, provider.UserError("offset", "must be a multiple of limit")
		}
		q.Set("offset", strconv.Itoa(in.Offset))
	}
	if in.Type != "" {
		q.Set("type", in.Type)
	}
	if len(in.AncestorFolderIDs) > 0 {
		q.Set("ancestor_folder_ids", strings.Join(in.AncestorFolderIDs, ","))
	}
	if len(in.FileExtensions) > 0 {
		q.Set("file_extensions", strings.Join(in.FileExtensions, ","))
	}
	var p struct {
		Entries    []json.RawMessage `json:"entries"`
		TotalCount int               `json:"total_count"`
		Offset     int               `json:"offset"`
		Limit      int               `json:"limit"`
	}
	if err := c.HTTP().GetJSON(ctx, api+"/search", q, &p); err != nil {
		return nil, err
	}
	out := map[string]any{"entries": nonNil(p.Entries), "total_count": p.TotalCount}
	if next := p.Offset + len(p.Entries); len(p.Entries) > 0 && next < p.TotalCount {
		out["next_offset"] = next
	}
	return out, nil
}

func deleteFile(ctx context.Context, c *provider.Call, in fileIn) (any, error) {
	if _, err := provider.PathSegments("file_id", in.FileID); err != nil {
		return nil, err
	}
	client := c.HTTP()
	if in.ETag != "" {
		client = client.WithHeader("If-Match", in.ETag)
	}
	if err := client.Send(ctx, http.MethodDelete, api+"/files/"+url.PathEscape(in.FileID), nil, "", nil, nil); err != nil {
		return nil, err
	}
	return map[string]any{"deleted": true, "file_id": in.FileID}, nil
}

func nonNil(v []json.RawMessage) []json.RawMessage {
	if v == nil {
		return []json.RawMessage{}
	}
	return v
}
