// Package gdrive is the Google Drive provider: files and folders over the
// Drive API v3 (https://developers.google.com/drive/api/reference/rest/v3),
// built only on the public SDK. OAuth access tokens are sent as Bearer
// tokens; listings page with pageToken/nextPageToken; Google's error body
// becomes a diagnostic naming the offending parameter.
package gdrive

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is the Google APIs host the Drive API lives on, used when the
// host supplies none.
const BaseURL = "https://www.googleapis.com"

// fileFields is the partial response asked for every file.
const fileFields = "id,name,mimeType,parents,size,modifiedTime,createdTime,webViewLink,trashed"

// FolderMIME is the MIME type Drive gives folders.
const FolderMIME = "application/vnd.google-apps.folder"

// uploadBoundary separates the parts of a multipart upload.
const uploadBoundary = "atom-drive-upload-boundary"

var httpOptions = provider.HTTPOptions{
	BaseURL:     BaseURL,
	UserAgent:   "atom-provider-google-drive/" + Version,
	DecodeError: provider.DecodeGoogleError,
}

// New returns the Google Drive provider.
func New() *provider.Builder {
	return withTriggers(provider.New(provider.Manifest{
		ID:           "google-drive",
		Name:         "Google Drive",
		Version:      Version,
		Description:  "Files and folders in Google Drive.",
		Categories:   []string{"productivity", "storage"},
		AllowedHosts: []string{"www.googleapis.com"},
	}).
		HTTP(httpOptions).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the Drive user (about.get).",
			Output:      provider.Schema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"email":{"type":"string"},"display_name":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_files",
			DisplayName: "List files",
			Description: "Lists files matching a Drive query, one page at a time.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"properties":{
				"q":{"type":"string","description":"Drive search query, e.g. name contains 'report' and trashed = false"},
				"folder_id":{"type":"string","description":"Only files directly in this folder"},
				"page_size":{"type":"integer","minimum":1,"maximum":1000},
				"page_token":{"type":"string"},
				"order_by":{"type":"string"},
				"include_shared_drives":{"type":"boolean"}}}`),
			Output: provider.Schema(`{"type":"object","required":["files"],"properties":{
				"files":{"type":"array","items":` + fileSchema + `},
				"next_page_token":{"type":"string"},
				"incomplete_search":{"type":"boolean"}}}`),
			Handle: provider.Typed(listFiles),
		}).
		Action(provider.ActionDef{
			Name:        "get_file",
			DisplayName: "Get file or folder",
			Description: "Reads the metadata of a file or folder by id.",
			Input:       provider.Schema(`{"type":"object","additionalProperties":false,"required":["file_id"],"properties":{"file_id":{"type":"string","minLength":1}}}`),
			Output:      provider.Schema(fileSchema),
			Handle:      provider.Typed(getFile),
		}).
		Action(provider.ActionDef{
			Name:        "create_folder",
			DisplayName: "Create folder",
			Description: "Creates a folder, optionally inside a parent folder.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["name"],"properties":{
				"name":{"type":"string","minLength":1},
				"parent_id":{"type":"string"}}}`),
			Output: provider.Schema(fileSchema),
			Handle: provider.Typed(createFolder),
		}).
		Action(provider.ActionDef{
			Name:        "upload_file",
			DisplayName: "Upload file",
			Description: "Uploads a file (up to 5 MB) with its metadata in one multipart request.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["name"],"properties":{
				"name":{"type":"string","minLength":1},
				"mime_type":{"type":"string"},
				"parent_id":{"type":"string"},
				"content":{"type":"string","description":"Text content"},
				"content_base64":{"type":"string","description":"Binary content, base64-encoded"}}}`),
			Output: provider.Schema(fileSchema),
			Handle: provider.Typed(uploadFile),
		}).
		Action(provider.ActionDef{
			Name:        "delete_file",
			DisplayName: "Delete file",
			Description: "Permanently deletes a file or folder the user owns, skipping the trash.",
			Input:       provider.Schema(`{"type":"object","additionalProperties":false,"required":["file_id"],"properties":{"file_id":{"type":"string","minLength":1}}}`),
			Output:      provider.Schema(`{"type":"object","required":["deleted"],"properties":{"deleted":{"type":"boolean"},"file_id":{"type":"string"}}}`),
			Handle:      provider.Typed(deleteFile),
		}))
}

const fileSchema = `{"type":"object","properties":{"id":{"type":"string"},"name":{"type":"string"},"mimeType":{"type":"string"},"parents":{"type":"array","items":{"type":"string"}},"size":{"type":"string"},"modifiedTime":{"type":"string"},"webViewLink":{"type":"string"}}}`

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var about struct {
		User struct {
			DisplayName  string `json:"displayName"`
			EmailAddress string `json:"emailAddress"`
		} `json:"user"`
	}
	if err := c.HTTP().GetJSON(ctx, "/drive/v3/about", url.Values{"fields": {"user"}}, &about); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "email": about.User.EmailAddress, "display_name": about.User.DisplayName}, nil
}

type listIn struct {
	Q                   string `json:"q"`
	FolderID            string `json:"folder_id"`
	PageSize            int    `json:"page_size"`
	PageToken           string `json:"page_token"`
	OrderBy             string `json:"order_by"`
	IncludeSharedDrives bool   `json:"include_shared_drives"`
}

type listOut struct {
	Files            []json.RawMessage `json:"files"`
	NextPageToken    string            `json:"next_page_token,omitempty"`
	IncompleteSearch bool              `json:"incomplete_search,omitempty"`
}

func listFiles(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	q := url.Values{"fields": {"nextPageToken,incompleteSearch,files(" + fileFields + ")"}}
	query := in.Q
	if in.FolderID != "" {
		clause := quote(in.FolderID) + " in parents"
		if query != "" {
			query = "(" + query + ") and " + clause
		} else {
			query = clause
		}
	}
	if query != "" {
		q.Set("q", query)
	}
	if in.PageSize != 0 {
		q.Set("pageSize", strconv.Itoa(in.PageSize))
	}
	if in.PageToken != "" {
		q.Set("pageToken", in.PageToken)
	}
	if in.OrderBy != "" {
		q.Set("orderBy", in.OrderBy)
	}
	if in.IncludeSharedDrives {
		q.Set("supportsAllDrives", "true")
		q.Set("includeItemsFromAllDrives", "true")
	}
	var page struct {
		Files            []json.RawMessage `json:"files"`
		NextPageToken    string            `json:"nextPageToken"`
		IncompleteSearch bool              `json:"incompleteSearch"`
	}
	if err := c.HTTP().GetJSON(ctx, "/drive/v3/files", q, &page); err != nil {
		return nil, err
	}
	if page.Files == nil {
		page.Files = []json.RawMessage{}
	}
	return listOut{Files: page.Files, NextPageToken: page.NextPageToken, IncompleteSearch: page.IncompleteSearch}, nil
}

// quote renders s as a Drive query string literal.
func quote(s string) string {
	var b bytes.Buffer
	b.WriteByte('\'')
	for _, r := range s {
		if r == '\'' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

type idIn struct {
	FileID string `json:"file_id"`
}

func filePath(id string) string { return "/drive/v3/files/" + url.PathEscape(id) }

func getFile(ctx context.Context, c *provider.Call, in idIn) (any, error) {
	if _, err := provider.PathSegments("file_id", in.FileID); err != nil {
		return nil, err
	}
	var out json.RawMessage
	q := url.Values{"fields": {fileFields}, "supportsAllDrives": {"true"}}
	if err := c.HTTP().GetJSON(ctx, filePath(in.FileID), q, &out); err != nil {
		return nil, err
	}
	return out, nil
}

type folderIn struct {
	Name     string `json:"name"`
	ParentID string `json:"parent_id"`
}

type fileMeta struct {
	Name     string   `json:"name"`
	MimeType string   `json:"mimeType,omitempty"`
	Parents  []string `json:"parents,omitempty"`
}

func createFolder(ctx context.Context, c *provider.Call, in folderIn) (any, error) {
	meta := fileMeta{Name: in.Name, MimeType: FolderMIME}
	if in.ParentID != "" {
		meta.Parents = []string{in.ParentID}
	}
	var out json.RawMessage
	q := url.Values{"fields": {fileFields}, "supportsAllDrives": {"true"}}
	if err := c.HTTP().SendJSON(ctx, http.MethodPost, "/drive/v3/files", q, meta, &out); err != nil {
		return nil, err
	}
	return out, nil
}

type uploadIn struct {
	Name     string `json:"name"`
	MimeType string `json:"mime_type"`
	ParentID string `json:"parent_id"`
	provider.Upload
}

// maxUpload is the largest file a multipart upload may carry.
const maxUpload = 5 << 20

func uploadFile(ctx context.Context, c *provider.Call, in uploadIn) (any, error) {
	data, err := in.Bytes(maxUpload, "is larger than 5 MB; use a resumable upload")
	if err != nil {
		return nil, err
	}
	mt := in.MediaType(in.MimeType)
	meta := fileMeta{Name: in.Name, MimeType: in.MimeType}
	if in.ParentID != "" {
		meta.Parents = []string{in.ParentID}
	}
	metaJSON, _ := json.Marshal(meta)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.SetBoundary(uploadBoundary); err != nil {
		return nil, err
	}
	part, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/json; charset=UTF-8"}})
	_, _ = part.Write(metaJSON)
	part, _ = mw.CreatePart(textproto.MIMEHeader{"Content-Type": {mt}})
	_, _ = part.Write(data)
	_ = mw.Close()
	q := url.Values{"uploadType": {"multipart"}, "fields": {fileFields}, "supportsAllDrives": {"true"}}
	var out json.RawMessage
	if err := c.HTTP().Send(ctx, http.MethodPost, "/upload/drive/v3/files", q, "multipart/related; boundary="+uploadBoundary, body.Bytes(), &out); err != nil {
		return nil, err
	}
	return out, nil
}

func deleteFile(ctx context.Context, c *provider.Call, in idIn) (any, error) {
	if _, err := provider.PathSegments("file_id", in.FileID); err != nil {
		return nil, err
	}
	q := url.Values{"supportsAllDrives": {"true"}}
	if err := c.HTTP().Send(ctx, http.MethodDelete, filePath(in.FileID), q, "", nil, nil); err != nil {
		return nil, err
	}
	return map[string]any{"deleted": true, "file_id": in.FileID}, nil
}
