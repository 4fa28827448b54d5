package gdrive_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/google-drive/gdrive"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const token = "ya29.drive-token"

// fakeDrive serves the Drive v3 endpoints the provider uses, with the
// required fields parameter, pageSize/pageToken paging, multipart/related
// uploads and Google's error body.
func fakeDrive(t testing.TB) *providertest.Recorder {
	files := []map[string]any{
		{"id": "f1", "name": "Q1 report.pdf", "mimeType": "application/pdf", "parents": []string{"root"}, "size": "1024"},
		{"id": "f2", "name": "Notes", "mimeType": "application/vnd.google-apps.document", "parents": []string{"root"}},
		{"id": "f3", "name": "Photos", "mimeType": gdrive.FolderMIME, "parents": []string{"root"}},
	}
	return providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			providertest.WriteGoogleError(w, 401, "UNAUTHENTICATED", "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token.", "Authorization", "header")
			return
		}
		q := r.URL.Query()
		path := r.URL.Path
		switch {
		case r.Method == "GET" && path == "/drive/v3/about":
			if q.Get("fields") == "" {
				providertest.WriteGoogleError(w, 400, "INVALID_ARGUMENT", "required", "The 'fields' parameter is required for this method.", "fields", "parameter")
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{"user": map[string]any{"kind": "drive#user", "displayName": "Ada Lovelace", "emailAddress": "ada@example.com"}})
		case r.Method == "GET" && path == "/drive/v3/files":
			size := 100
			if s := q.Get("pageSize"); s != "" {
				size, _ = strconv.Atoi(s)
			}
			start := 0
			if tok := q.Get("pageToken"); tok != "" {
				n, err := strconv.Atoi(strings.TrimPrefix(tok, "page-"))
				if err != nil {
					providertest.WriteGoogleError(w, 400, "INVALID_ARGUMENT", "invalid", "Invalid Value", "pageToken", "parameter")
					return
				}
				start = n
			}
			end := min(start+size, len(files))
			out := map[string]any{"kind": "drive#fileList", "incompleteSearch": false, "files": files[start:end]}
			if end < len(files) {
				out["nextPageToken"] = "page-" + strconv.Itoa(end)
			}
			providertest.WriteJSON(w, 200, out)
		case r.Method == "GET" && strings.HasPrefix(path, "/drive/v3/files/"):
			id := strings.TrimPrefix(path, "/drive/v3/files/")
			for _, f := range files {
				if f["id"] == id {
					providertest.WriteJSON(w, 200, f)
					return
				}
			}
			providertest.WriteGoogleError(w, 404, "NOT_FOUND", "notFound", "File not found: "+id+".", "fileId", "parameter")
		case r.Method == "POST" && path == "/drive/v3/files":
			var meta map[string]any
			if json.Unmarshal(body, &meta) != nil {
				providertest.WriteGoogleError(w, 400, "INVALID_ARGUMENT", "parseError", "Parse Error", "", "")
				return
			}
			meta["id"] = "new-folder"
			providertest.WriteJSON(w, 200, meta)
		case r.Method == "POST" && path == "/upload/drive/v3/files":
			mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if q.Get("uploadType") != "multipart" || mt != "multipart/related" {
				providertest.WriteGoogleError(w, 400, "INVALID_ARGUMENT", "badContent", "Unsupported content with type: "+mt, "", "")
				return
			}
			mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
			metaPart, err := mr.NextPart()
			if err != nil {
				providertest.WriteGoogleError(w, 400, "INVALID_ARGUMENT", "badContent", "missing metadata part", "", "")
				return
			}
			var meta map[string]any
			_ = json.NewDecoder(metaPart).Decode(&meta)
			media, err := mr.NextPart()
			if err != nil {
				providertest.WriteGoogleError(w, 400, "INVALID_ARGUMENT", "badContent", "missing media part", "", "")
				return
			}
			data, _ := io.ReadAll(media)
			meta["id"] = "uploaded"
			meta["size"] = strconv.Itoa(len(data))
			if meta["mimeType"] == nil {
				meta["mimeType"] = media.Header.Get("Content-Type")
			}
			providertest.WriteJSON(w, 200, meta)
		case r.Method == "DELETE" && strings.HasPrefix(path, "/drive/v3/files/"):
			if strings.TrimPrefix(path, "/drive/v3/files/") != "f1" {
				providertest.WriteGoogleError(w, 404, "NOT_FOUND", "notFound", "File not found: x.", "fileId", "parameter")
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			providertest.WriteGoogleError(w, 404, "NOT_FOUND", "notFound", fmt.Sprintf("Not Found: %s %s", r.Method, path), "", "")
		}
	})
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, TokenType: "Bearer"}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return gdrive.New() },
		Fake: fakeDrive,
		Dir:  "../testdata",
	}, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "expired"}, Failed: true},
		{Name: "list_files_page1", Action: "list_files", Input: `{"page_size":2,"q":"trashed = false","order_by":"name"}`, Creds: creds},
		{Name: "list_files_page2", Action: "list_files", Input: `{"page_size":2,"q":"trashed = false","order_by":"name","page_token":"page-2"}`, Creds: creds},
		{Name: "list_files_folder", Action: "list_files", Input: `{"folder_id":"it's","include_shared_drives":true}`, Creds: creds},
		{Name: "get_file", Action: "get_file", Input: `{"file_id":"f1"}`, Creds: creds},
		{Name: "get_file_not_found", Action: "get_file", Input: `{"file_id":"nope"}`, Creds: creds, Failed: true},
		{Name: "create_folder", Action: "create_folder", Input: `{"name":"Invoices","parent_id":"f3"}`, Creds: creds},
		{Name: "upload_file", Action: "upload_file", Input: `{"name":"hello.txt","content":"hello, drive","parent_id":"f3"}`, Creds: creds},
		{Name: "upload_file_base64", Action: "upload_file", Input: `{"name":"a.bin","content_base64":"AAEC","mime_type":"application/octet-stream"}`, Creds: creds},
		{Name: "upload_file_bad_base64", Action: "upload_file", Input: `{"name":"a.bin","content_base64":"***"}`, Creds: creds, Failed: true},
		{Name: "delete_file", Action: "delete_file", Input: `{"file_id":"f1"}`, Creds: creds},
		{Name: "delete_file_dot_segment", Action: "delete_file", Input: `{"file_id":".."}`, Creds: creds, Failed: true},
	})
}

func TestGoogleErrorBecomesDiagnostic(t *testing.T) {
	fake := fakeDrive(t)
	resp := providertest.Run(t, gdrive.New(), "get_file", `{"file_id":"nope"}`,
		provider.Credentials{Type: "oauth2", AccessToken: token}, providertest.BaseURL(fake.URL), providertest.OverGRPC())
	d := resp.Diagnostics[0]
	if d.Status != 404 || d.Field != "fileId" || d.Summary != "File not found: nope." || !strings.Contains(d.Detail, "NOT_FOUND") {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestRefreshAfter401(t *testing.T) {
	fake := fakeDrive(t)
	resp := providertest.RunRefreshing(t, gdrive.New(), "test_connection", nil, provider.Credentials{Type: "oauth2", AccessToken: "expired"}, provider.Credentials{Type: "oauth2", AccessToken: token},
		providertest.BaseURL(fake.URL))
	var out map[string]any
	providertest.Output(t, resp, &out)
	if out["email"] != "ada@example.com" {
		t.Fatalf("out %v", out)
	}
}

func TestManifest(t *testing.T) {
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", gdrive.New().Manifest())
}
