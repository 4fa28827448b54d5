// Package onedrive is the OneDrive (for Business) provider over Microsoft
// Graph v1.0 (https://learn.microsoft.com/graph/api/resources/onedrive),
// built only on the public SDK: the signed-in user's drive, its items,
// folders, simple uploads and search. Paths carry "/v1.0" because the
// catalog's base URL is the Graph host; listings follow "@odata.nextLink"
// as an opaque cursor; Graph's error body becomes a diagnostic.
package onedrive

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

// BaseURL is the Microsoft Graph host, used when the host supplies none.
const BaseURL = "https://graph.microsoft.com"

const drive = "/v1.0/me/drive"

// maxSimpleUpload is the largest file a single PUT uploads; bigger files
// need an upload session.
const maxSimpleUpload = 4 << 20

// New returns the OneDrive provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "one-drive",
		Name:         "OneDrive for Business",
		Version:      Version,
		Description:  "Files and folders in the user's OneDrive.",
		Categories:   []string{"productivity", "storage"},
		AllowedHosts: []string{"graph.microsoft.com", "*.sharepoint.com"},
	}).
		HTTP(provider.HTTPOptions{
			BaseURL:   BaseURL,
			UserAgent: "atom-provider-one-drive/" + Version,
		}).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the user's drive (GET /me/drive).",
			Output:      provider.Schema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"drive_id":{"type":"string"},"drive_type":{"type":"string"},"owner":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_children",
			DisplayName: "List folder contents",
			Description: "Lists the items in a folder (the root by default), one page at a time.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"properties":{
				"item_id":{"type":"string","description":"Folder id; the drive root when empty"},
				"top":{"type":"integer","minimum":1,"maximum":1000},
				"cursor":{"type":"string"}}}`),
			Output: pageSchema,
			Handle: provider.Typed(listChildren),
		}).
		Action(provider.ActionDef{
			Name:        "get_item",
			DisplayName: "Get item",
			Description: "Reads a file's or folder's metadata, including its download URL.",
			Input:       provider.Schema(`{"type":"object","additionalProperties":false,"required":["item_id"],"properties":{"item_id":{"type":"string","minLength":1}}}`),
			Output:      provider.Schema(itemSchema),
			Handle:      provider.Typed(getItem),
		}).
		Action(provider.ActionDef{
			Name:        "create_folder",
			DisplayName: "Create folder",
			Description: "Creates a folder inside a parent folder (the root by default).",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["name"],"properties":{
				"name":{"type":"string","minLength":1},
				"parent_id":{"type":"string"},
				"conflict_behavior":{"type":"string","enum":["fail","rename","replace"]}}}`),
			Output: provider.Schema(itemSchema),
			Handle: provider.Typed(createFolder),
		}).
		Action(provider.ActionDef{
			Name:        "upload_file",
			DisplayName: "Upload file",
			Description: "Uploads a file of up to 4 MB into a folder in one request.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["name"],"properties":{
				"name":{"type":"string","minLength":1},
				"parent_id":{"type":"string"},
				"content":{"type":"string"},
				"content_base64":{"type":"string"},
				"content_type":{"type":"string"},
				"conflict_behavior":{"type":"string","enum":["fail","rename","replace"]}}}`),
			Output: provider.Schema(itemSchema),
			Handle: provider.Typed(uploadFile),
		}).
		Action(provider.ActionDef{
			Name:        "search_items",
			DisplayName: "Search",
			Description: "Searches the drive for items whose name or content matches the text.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["query"],"properties":{
				"query":{"type":"string","minLength":1},
				"top":{"type":"integer","minimum":1,"maximum":1000},
				"cursor":{"type":"string"}}}`),
			Output: pageSchema,
			Handle: provider.Typed(search),
		}).
		Action(provider.ActionDef{
			Name:        "delete_item",
			DisplayName: "Delete item",
			Description: "Moves a file or folder to the recycle bin.",
			Input:       provider.Schema(`{"type":"object","additionalProperties":false,"required":["item_id"],"properties":{"item_id":{"type":"string","minLength":1}}}`),
			Output:      provider.Schema(`{"type":"object","required":["deleted"],"properties":{"deleted":{"type":"boolean"},"item_id":{"type":"string"}}}`),
			Handle:      provider.Typed(deleteItem),
		})
}

var pageSchema = provider.Schema(`{"type":"object","required":["value"],"properties":{
	"value":{"type":"array","items":` + itemSchema + `},
	"next_cursor":{"type":"string"}}}`)

const itemSchema = `{"type":"object","properties":{"id":{"type":"string"},"name":{"type":"string"},"size":{"type":"integer"},"webUrl":{"type":"string"},"folder":{"type":"object"},"file":{"type":"object"},"parentReference":{"type":"object"},"@microsoft.graph.downloadUrl":{"type":"string"}}}`

// itemPath addresses an item by id, or the root when id is empty.
func itemPath(id string) string {
	if id == "" || id == "root" {
		return drive + "/root"
	}
	return drive + "/items/" + url.PathEscape(id)
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var d struct {
		ID        string `json:"id"`
		DriveType string `json:"driveType"`
		Owner     struct {
			User struct {
				DisplayName string `json:"displayName"`
			} `json:"user"`
		} `json:"owner"`
	}
	if err := c.HTTP().GetJSON(ctx, drive, nil, &d); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "drive_id": d.ID, "drive_type": d.DriveType, "owner": d.Owner.User.DisplayName}, nil
}

type page struct {
	Value      []json.RawMessage `json:"value"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

func list(ctx context.Context, c *provider.Call, path string, top int, cursor string) (any, error) {
	q := url.Values{}
	if top != 0 {
		q.Set("$top", strconv.Itoa(top))
	}
	p, err := c.HTTP().GetODataPage(ctx, path, q, "cursor", cursor)
	if err != nil {
		return nil, err
	}
	return page{p.Value, p.NextLink}, nil
}

type childrenIn struct {
	ItemID string `json:"item_id"`
	Top    int    `json:"top"`
	Cursor string `json:"cursor"`
}

func listChildren(ctx context.Context, c *provider.Call, in childrenIn) (any, error) {
	if in.ItemID != "" {
		if _, err := provider.PathSegment("item_id", in.ItemID); err != nil {
			return nil, err
		}
	}
	return list(ctx, c, itemPath(in.ItemID)+"/children", in.Top, in.Cursor)
}

type searchIn struct {
	Query  string `json:"query"`
	Top    int    `json:"top"`
	Cursor string `json:"cursor"`
}

func search(ctx context.Context, c *provider.Call, in searchIn) (any, error) {
	// The OData function parameter is a string literal: quotes are doubled.
	lit := "'" + strings.ReplaceAll(in.Query, "'", "''") + "'"
	return list(ctx, c, drive+"/root/search(q="+url.PathEscape(lit)+")", in.Top, in.Cursor)
}

type idIn struct {
	ItemID string `json:"item_id"`
}

func getItem(ctx context.Context, c *provider.Call, in idIn) (any, error) {
	if _, err := provider.PathSegments("item_id", in.ItemID); err != nil {
		return nil, err
	}
	var out json.RawMessage
	if err := c.HTTP().GetJSON(ctx, itemPath(in.ItemID), nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

type folderIn struct {
	Name             string `json:"name"`
	ParentID         string `json:"parent_id"`
	ConflictBehavior string `json:"conflict_behavior"`
}

func createFolder(ctx context.Context, c *provider.Call, in folderIn) (any, error) {
	if in.ParentID != "" {
		if _, err := provider.PathSegment("parent_id", in.ParentID); err != nil {
			return nil, err
		}
	}
	cb := in.ConflictBehavior
	if cb == "" {
		cb = "fail"
	}
	body := map[string]any{"name": in.Name, "folder": map[string]any{}, "@microsoft.graph.conflictBehavior": cb}
	var out json.RawMessage
	if err := c.HTTP().PostJSON(ctx, itemPath(in.ParentID)+"/children", body, &out); err != nil {
		return nil, err
	}
	return out, nil
}

type uploadIn struct {
	Name             string `json:"name"`
	ParentID         string `json:"parent_id"`
	ContentType      string `json:"content_type"`
	ConflictBehavior string `json:"conflict_behavior"`
	provider.Upload
}

func uploadFile(ctx context.Context, c *provider.Call, in uploadIn) (any, error) {
	if strings.ContainsAny(in.Name, `/\:*?"<>|`) {
		return nil, provider.UserError("name", `may not contain / \ : * ? " < > |`)
	}
	if in.ParentID != "" {
		if _, err := provider.PathSegment("parent_id", in.ParentID); err != nil {
			return nil, err
		}
	}
	if _, err := provider.PathSegments("name", in.Name); err != nil {
		return nil, err
	}
	data, err := in.Bytes(maxSimpleUpload, "is larger than 4 MB; use an upload session")
	if err != nil {
		return nil, err
	}
	ct := in.MediaType(in.ContentType)
	q := url.Values{}
	if in.ConflictBehavior != "" {
		q.Set("@microsoft.graph.conflictBehavior", in.ConflictBehavior)
	}
	path := itemPath(in.ParentID) + ":/" + url.PathEscape(in.Name) + ":/content"
	var out json.RawMessage
	if err := c.HTTP().Send(ctx, http.MethodPut, path, q, ct, data, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func deleteItem(ctx context.Context, c *provider.Call, in idIn) (any, error) {
	if _, err := provider.PathSegments("item_id", in.ItemID); err != nil {
		return nil, err
	}
	if in.ItemID == "root" {
		return nil, provider.UserError("item_id", "the drive root cannot be deleted")
	}
	if err := c.HTTP().Send(ctx, http.MethodDelete, itemPath(in.ItemID), nil, "", nil, nil); err != nil {
		return nil, err
	}
	return map[string]any{"deleted": true, "item_id": in.ItemID}, nil
}
