// Command dropbox is the Dropbox piece: uploads go to
// https://content.dropboxapi.com/2/files/upload (arguments in the
// Dropbox-API-Arg header), listings to https://api.dropboxapi.com/2/files/list_folder.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bin/pieces/dropbox.wasm ./plugins/pieces/dropbox
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/atomhq/atom/sdk/piece"
)

func init() {
	piece.Register(piece.Define(piece.Piece{
		ID: "dropbox", Name: "Dropbox", Version: "1.0.0",
		Description: "Store and list files in Dropbox.",
		Categories:  []string{"storage"},
		Auth:        piece.AuthSpec{Kind: "oauth2", Scopes: []string{"files.content.write", "files.metadata.read"}},
		Hosts:       []string{"api.dropboxapi.com", "content.dropboxapi.com"},
		Actions: []piece.Action{
			{
				Name: "upload_dropbox_file", DisplayName: "Upload file",
				Props: []piece.Prop{
					piece.ShortText("path", "Path").Required().Describe("Destination path, e.g. /reports/q1.csv"),
					piece.LongText("content", "Text content"),
					piece.ShortText("content_base64", "Binary content (base64)"),
					piece.StaticDropdown("mode", "Write mode", piece.Option{Label: "Add", Value: "add"}, piece.Option{Label: "Overwrite", Value: "overwrite"}).WithDefault("add"),
					piece.Checkbox("autorename", "Rename on conflict").WithDefault(true),
					piece.Checkbox("mute", "Mute notifications"),
				},
				Run: upload,
			},
			{
				Name: "list_dropbox_folder", DisplayName: "List folder",
				Props: []piece.Prop{
					piece.ShortText("path", "Folder path").Describe(`"" for the root`),
					piece.Checkbox("recursive", "Recursive"),
					piece.Number("limit", "Limit"),
				},
				Run: list,
			},
		},
	}))
}

// apiArg encodes v for the Dropbox-API-Arg header: JSON with every
// non-ASCII character escaped, as HTTP headers must be ASCII.
func apiArg(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for _, r := range string(b) {
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

func failure(resp *piece.HTTPResponse) error {
	var e struct {
		ErrorSummary string `json:"error_summary"`
	}
	if json.Unmarshal(resp.Bytes(), &e) == nil && e.ErrorSummary != "" {
		return &piece.Error{Summary: "Dropbox: " + e.ErrorSummary, Status: resp.Status}
	}
	return resp.Fail("Dropbox request failed")
}

func upload(c *piece.Context) (any, error) {
	var in struct {
		Path          string `json:"path"`
		Content       string `json:"content"`
		ContentBase64 string `json:"content_base64"`
		Mode          string `json:"mode"`
		Autorename    *bool  `json:"autorename"`
		Mute          bool   `json:"mute"`
	}
	if err := c.Bind(&in); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(in.Path, "/") {
		return nil, piece.FieldError("path", "path must start with /")
	}
	if in.Mode == "" {
		in.Mode = "add"
	}
	autorename := in.Autorename == nil || *in.Autorename
	arg, err := apiArg(map[string]any{"path": in.Path, "mode": in.Mode, "autorename": autorename, "mute": in.Mute})
	if err != nil {
		return nil, err
	}
	cr, err := c.Credentials()
	if err != nil {
		return nil, err
	}
	req := piece.HTTPRequest{
		Method: "POST", URL: "https://content.dropboxapi.com/2/files/upload",
		Headers: map[string][]string{
			"Authorization":   {"Bearer " + cr.Secret()},
			"Dropbox-API-Arg": {arg},
			"Content-Type":    {"application/octet-stream"},
		},
	}
	if in.ContentBase64 != "" {
		if _, err := base64.StdEncoding.DecodeString(in.ContentBase64); err != nil {
			return nil, piece.FieldError("content_base64", "content_base64 is not valid base64")
		}
		req.BodyBase64 = in.ContentBase64
	} else {
		req.Body = in.Content
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return nil, failure(resp)
	}
	return resp.Output()
}

func list(c *piece.Context) (any, error) {
	var in struct {
		Path      string `json:"path"`
		Recursive bool   `json:"recursive"`
		Limit     int    `json:"limit"`
	}
	if err := c.Bind(&in); err != nil {
		return nil, err
	}
	if in.Path == "/" {
		in.Path = "" // the API names the root ""
	}
	body := map[string]any{"path": in.Path, "recursive": in.Recursive}
	if in.Limit > 0 {
		body["limit"] = in.Limit
	}
	cr, err := c.Credentials()
	if err != nil {
		return nil, err
	}
	resp, err := c.JSON("POST", "https://api.dropboxapi.com/2/files/list_folder",
		map[string]string{"Authorization": "Bearer " + cr.Secret()}, body)
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return nil, failure(resp)
	}
	return resp.Output()
}

func main() {}
