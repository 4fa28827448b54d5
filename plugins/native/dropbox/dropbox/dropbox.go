// Package dropbox is the Dropbox provider over the Dropbox API v2
// (https://www.dropbox.com/developers/documentation/http/documentation),
// built only on the public SDK.
//
// Dropbox is RPC-style: every call is a POST with a JSON body to
// api.dropboxapi.com/2/<namespace>/<route>, except content uploads, which
// go to content.dropboxapi.com with their arguments as JSON in the
// Dropbox-API-Arg header (non-ASCII characters escaped as \uXXXX, since
// headers carry ASCII only) and the file as an octet-stream body. When the
// host overrides the API base URL (a proxy or a test), uploads go to that
// same base. Folder listings page with a cursor passed to
// list_folder/continue. Dropbox's error body
// {"error_summary":"path/not_found/..","error":{".tag":"path",...}}
// becomes a diagnostic; a 400 arrives as plain text.
package dropbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is the Dropbox RPC endpoint host, used when the host supplies
// none.
const BaseURL = "https://api.dropboxapi.com"

// ContentURL is the content endpoint host uploads go to.
const ContentURL = "https://content.dropboxapi.com"

// maxUpload is the largest file one upload call may carry (150 MB per
// Dropbox; actions carry inline content, so far less in practice).
const maxUpload = 150 << 20

var httpOpts = provider.HTTPOptions{
	BaseURL:     BaseURL,
	UserAgent:   "atom-provider-dropbox/" + Version,
	DecodeError: decodeError,
}

// New returns the Dropbox provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "dropbox",
		Name:         "Dropbox",
		Version:      Version,
		Description:  "Files and folders in Dropbox.",
		Categories:   []string{"storage", "productivity"},
		AllowedHosts: []string{"api.dropboxapi.com", "content.dropboxapi.com"},
	}).
		HTTP(httpOpts).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the current account (users/get_current_account).",
			Output:      provider.Schema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"account_id":{"type":"string"},"email":{"type":"string"},"name":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_folder",
			DisplayName: "List folder",
			Description: "Lists a folder's entries (\"\" is the root), or continues a listing from its cursor.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"properties":{
				"path":{"type":"string","description":"Folder path such as /Reports, or \"\" for the root"},
				"recursive":{"type":"boolean"},
				"limit":{"type":"integer","minimum":1,"maximum":2000},
				"cursor":{"type":"string","description":"cursor of the previous page; path and other options are then ignored"}}}`),
			Output: provider.Schema(`{"type":"object","required":["entries","cursor","has_more"],"properties":{"entries":{"type":"array","items":` + metaSchema + `},"cursor":{"type":"string"},"has_more":{"type":"boolean"}}}`),
			Handle: provider.Typed(listFolder),
		}).
		Action(provider.ActionDef{
			Name:        "get_metadata",
			DisplayName: "Get metadata",
			Description: "Reads the metadata of a file or folder by path or id (id:...).",
			Input:       provider.Schema(`{"type":"object","additionalProperties":false,"required":["path"],"properties":{"path":{"type":"string","minLength":1}}}`),
			Output:      provider.Schema(metaSchema),
			Handle:      provider.Typed(getMetadata),
		}).
		Action(provider.ActionDef{
			Name:        "create_folder",
			DisplayName: "Create folder",
			Description: "Creates a folder at a path.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["path"],"properties":{
				"path":{"type":"string","pattern":"^/"},
				"autorename":{"type":"boolean"}}}`),
			Output: provider.Schema(metaSchema),
			Handle: provider.Typed(createFolder),
		}).
		Action(provider.ActionDef{
			Name:        "upload_file",
			DisplayName: "Upload file",
			Description: "Uploads a file to a path, adding it or overwriting the existing one.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["path"],"properties":{
				"path":{"type":"string","pattern":"^/"},
				"content":{"type":"string"},
				"content_base64":{"type":"string"},
				"mode":{"type":"string","enum":["add","overwrite"]},
				"autorename":{"type":"boolean"},
				"mute":{"type":"boolean"}}}`),
			Output: provider.Schema(metaSchema),
			Handle: provider.Typed(uploadFile),
		}).
		Action(provider.ActionDef{
			Name:        "delete",
			DisplayName: "Delete file or folder",
			Description: "Deletes a file or a folder with everything in it.",
			Input:       provider.Schema(`{"type":"object","additionalProperties":false,"required":["path"],"properties":{"path":{"type":"string","minLength":2}}}`),
			Output:      provider.Schema(metaSchema),
			Handle:      provider.Typed(deletePath),
		})
}

const metaSchema = `{"type":"object","properties":{".tag":{"type":"string"},"id":{"type":"string"},"name":{"type":"string"},"path_display":{"type":"string"},"path_lower":{"type":"string"},"size":{"type":"integer"},"rev":{"type":"string"},"server_modified":{"type":"string"}}}`

// decodeError reads Dropbox's error bodies: a route error (409), an auth
// or rate-limit error (401, 429) as JSON, and a bad-input error (400) as
// plain text.
func decodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		ErrorSummary string          `json:"error_summary"`
		Error        json.RawMessage `json:"error"`
		UserMessage  struct {
			Text string `json:"text"`
		} `json:"user_message"`
	}
	if json.Unmarshal(body, &v) != nil || v.ErrorSummary == "" {
		if t := strings.TrimSpace(string(body)); t != "" && !strings.HasPrefix(t, "<") {
			if len(t) > 300 {
				t = t[:300]
			}
			e.Message = t
		}
		return
	}
	e.Message = strings.TrimRight(v.ErrorSummary, "./")
	if v.UserMessage.Text != "" {
		e.Message += ": " + v.UserMessage.Text
	}
	var tag struct {
		Tag string `json:".tag"`
	}
	if json.Unmarshal(v.Error, &tag) == nil {
		e.Code = tag.Tag
		switch tag.Tag {
		case "path", "path_lookup", "path_write", "from_lookup", "to":
			e.Field = "path"
		}
	}
}

// rpc calls an RPC route with a JSON argument (or none when arg is nil).
func rpc(ctx context.Context, c *provider.Call, route string, arg, out any) error {
	if arg == nil {
		return c.HTTP().Send(ctx, http.MethodPost, "/2/"+route, nil, "", nil, out)
	}
	return c.HTTP().PostJSON(ctx, "/2/"+route, arg, out)
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var a struct {
		AccountID string `json:"account_id"`
		Email     string `json:"email"`
		Name      struct {
			DisplayName string `json:"display_name"`
		} `json:"name"`
	}
	if err := rpc(ctx, c, "users/get_current_account", nil, &a); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "account_id": a.AccountID, "email": a.Email, "name": a.Name.DisplayName}, nil
}

type listIn struct {
	Path      string `json:"path"`
	Recursive bool   `json:"recursive"`
	Limit     int    `json:"limit"`
	Cursor    string `json:"cursor"`
}

type listArg struct {
	Path      string `json:"path"`
	Recursive bool   `json:"recursive,omitempty"`
	Limit     int    `json:"limit,omitempty"`
}

type listOut struct {
	Entries []json.RawMessage `json:"entries"`
	Cursor  string            `json:"cursor"`
	HasMore bool              `json:"has_more"`
}

func listFolder(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	var out listOut
	var err error
	if in.Cursor != "" {
		err = rpc(ctx, c, "files/list_folder/continue", map[string]string{"cursor": in.Cursor}, &out)
	} else {
		if in.Path == "/" {
			in.Path = ""
		}
		err = rpc(ctx, c, "files/list_folder", listArg{in.Path, in.Recursive, in.Limit}, &out)
	}
	if err != nil {
		return nil, err
	}
	if out.Entries == nil {
		out.Entries = []json.RawMessage{}
	}
	return out, nil
}

type pathIn struct {
	Path       string `json:"path"`
	Autorename bool   `json:"autorename"`
}

func getMetadata(ctx context.Context, c *provider.Call, in pathIn) (any, error) {
	var out json.RawMessage
	if err := rpc(ctx, c, "files/get_metadata", map[string]string{"path": in.Path}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// metadataResult unwraps the {"metadata":{...}} of the _v2 routes.
type metadataResult struct {
	Metadata json.RawMessage `json:"metadata"`
}

func createFolder(ctx context.Context, c *provider.Call, in pathIn) (any, error) {
	var out metadataResult
	if err := rpc(ctx, c, "files/create_folder_v2", map[string]any{"path": in.Path, "autorename": in.Autorename}, &out); err != nil {
		return nil, err
	}
	return out.Metadata, nil
}

func deletePath(ctx context.Context, c *provider.Call, in pathIn) (any, error) {
	var out metadataResult
	if err := rpc(ctx, c, "files/delete_v2", map[string]string{"path": in.Path}, &out); err != nil {
		return nil, err
	}
	return out.Metadata, nil
}

type uploadIn struct {
	Path       string `json:"path"`
	Mode       string `json:"mode"`
	Autorename bool   `json:"autorename"`
	Mute       bool   `json:"mute"`
	provider.Upload
}

type uploadArg struct {
	Path       string `json:"path"`
	Mode       string `json:"mode"`
	Autorename bool   `json:"autorename"`
	Mute       bool   `json:"mute"`
}

// APIArg renders v as the value of a Dropbox-API-Arg header: JSON with
// every non-ASCII character escaped as \uXXXX (a surrogate pair beyond
// the BMP).
func APIArg(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r < 0x80:
			sb.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&sb, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&sb, `\u%04x`, r)
		}
	}
	return sb.String(), nil
}

// contentClient returns a client for the content host: the real one when
// the RPC base is Dropbox's own, else the overridden base itself.
func contentClient(ctx context.Context, c *provider.Call) *provider.HTTPClient {
	req := c.Request()
	base := req.BaseURL
	if u, err := url.Parse(base); base == "" || (err == nil && strings.EqualFold(u.Host, "api.dropboxapi.com")) {
		base = ContentURL
	}
	req.BaseURL = base
	req.Credentials = c.Credentials()
	return provider.Client(provider.WithRequest(ctx, req), httpOpts)
}

func uploadFile(ctx context.Context, c *provider.Call, in uploadIn) (any, error) {
	data, err := in.Bytes(maxUpload, "is larger than 150 MB; use an upload session")
	if err != nil {
		return nil, err
	}
	mode := in.Mode
	if mode == "" {
		mode = "add"
	}
	arg, err := APIArg(uploadArg{Path: in.Path, Mode: mode, Autorename: in.Autorename, Mute: in.Mute})
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = contentClient(ctx, c).WithHeader("Dropbox-API-Arg", arg).
		Send(ctx, http.MethodPost, "/2/files/upload", nil, "application/octet-stream", data, &out)
	if err != nil {
		return nil, err
	}
	return out, nil
}
