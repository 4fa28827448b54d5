package onedrive_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/one-drive/onedrive"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const token = "eyJ0eXAiOiJKV1QiLCJub25jZSI6Im9uZWRyaXZlIn0"

func graphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]string{"date": "2024-05-06T10:00:00", "request-id": "e5f6"}}})
}

// fakeOneDrive serves the Graph drive endpoints the provider uses: $top
// paging through absolute @odata.nextLink URLs with $skiptoken, path-based
// PUT uploads (root:/name:/content), conflict behaviour on folder
// creation, the search function and Graph's error body.
func fakeOneDrive(t *testing.T) *recorder {
	items := []map[string]any{
		{"id": "01A", "name": "Documents", "folder": map[string]int{"childCount": 2}},
		{"id": "01B", "name": "budget.xlsx", "size": 2048, "file": map[string]string{"mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}},
		{"id": "01C", "name": "notes.txt", "size": 12, "file": map[string]string{"mimeType": "text/plain"}},
	}
	var rec *recorder
	rec = newRecorder(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			graphError(w, 401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.")
			return
		}
		q := r.URL.Query()
		p := r.URL.Path
		switch {
		case r.Method == "GET" && p == "/v1.0/me/drive":
			writeJSON(w, 200, map[string]any{"id": "b!t18F8ybsHUq1z3LTz8xvZq", "driveType": "business",
				"owner": map[string]any{"user": map[string]string{"displayName": "Megan Bowen"}}, "quota": map[string]int64{"total": 1099511627776, "used": 3072}})
		case r.Method == "GET" && (p == "/v1.0/me/drive/root/children" || p == "/v1.0/me/drive/root/search(q='budget ''24')"):
			top := 200
			if s := q.Get("$top"); s != "" {
				top, _ = strconv.Atoi(s)
			}
			skip, _ := strconv.Atoi(q.Get("$skiptoken"))
			list := items
			if strings.Contains(p, "search") {
				list = items[1:2]
			}
			end := min(skip+top, len(list))
			out := map[string]any{"value": list[skip:end]}
			if end < len(list) {
				out["@odata.nextLink"] = rec.URL + r.URL.EscapedPath() + "?$top=" + strconv.Itoa(top) + "&$skiptoken=" + strconv.Itoa(end)
			}
			writeJSON(w, 200, out)
		case r.Method == "GET" && strings.HasPrefix(p, "/v1.0/me/drive/items/"):
			id := strings.TrimPrefix(p, "/v1.0/me/drive/items/")
			for _, it := range items {
				if it["id"] == id {
					out := map[string]any{"@microsoft.graph.downloadUrl": "https://contoso-my.sharepoint.com/download.aspx?tempauth=x"}
					for k, v := range it {
						out[k] = v
					}
					writeJSON(w, 200, out)
					return
				}
			}
			graphError(w, 404, "itemNotFound", "The resource could not be found.")
		case r.Method == "POST" && p == "/v1.0/me/drive/items/01A/children":
			var in map[string]any
			_ = json.Unmarshal(body, &in)
			if in["folder"] == nil {
				graphError(w, 400, "invalidRequest", "Must provide one of the following facets to create an item: Bundle, File, Folder, RemoteItem")
				return
			}
			if in["name"] == "Existing" && in["@microsoft.graph.conflictBehavior"] == "fail" {
				graphError(w, 409, "nameAlreadyExists", "An item with the same name already exists under the parent")
				return
			}
			writeJSON(w, 201, map[string]any{"id": "01NEW", "name": in["name"], "folder": map[string]int{"childCount": 0}, "parentReference": map[string]string{"id": "01A"}})
		case r.Method == "PUT" && strings.HasSuffix(p, ":/content"):
			name := strings.TrimSuffix(p[strings.Index(p, ":/")+2:], ":/content")
			writeJSON(w, 201, map[string]any{"id": "01UP", "name": name, "size": len(body), "file": map[string]string{"mimeType": r.Header.Get("Content-Type")}})
		case r.Method == "DELETE" && p == "/v1.0/me/drive/items/01C":
			w.WriteHeader(http.StatusNoContent)
		case r.Method == "DELETE":
			graphError(w, 404, "itemNotFound", "The resource could not be found.")
		default:
			graphError(w, 400, "invalidRequest", "Invalid request")
		}
	})
	return rec
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, TokenType: "Bearer"}
	cases := []struct {
		name, action string
		input        func(base string) string
		creds        provider.Credentials
		failed       bool
	}{
		{"test_connection", "test_connection", fixed(`{}`), creds, false},
		{"test_connection_bad_token", "test_connection", fixed(`{}`), provider.Credentials{Type: "oauth2", AccessToken: "x"}, true},
		{"list_children_page1", "list_children", fixed(`{"top":2}`), creds, false},
		{"list_children_page2", "list_children", func(base string) string {
			return `{"cursor":"` + base + `/v1.0/me/drive/root/children?$top=2&$skiptoken=2"}`
		}, creds, false},
		{"list_children_foreign_cursor", "list_children", fixed(`{"cursor":"https://graph.microsoft.com.evil.example/v1.0/me/drive/root/children"}`), creds, true},
		{"get_item", "get_item", fixed(`{"item_id":"01B"}`), creds, false},
		{"get_item_not_found", "get_item", fixed(`{"item_id":"01Z"}`), creds, true},
		{"create_folder", "create_folder", fixed(`{"name":"Invoices","parent_id":"01A","conflict_behavior":"rename"}`), creds, false},
		{"create_folder_conflict", "create_folder", fixed(`{"name":"Existing","parent_id":"01A"}`), creds, true},
		{"upload_file_root", "upload_file", fixed(`{"name":"hello world.txt","content":"hello"}`), creds, false},
		{"upload_file_folder", "upload_file", fixed(`{"name":"logo.png","parent_id":"01A","content_base64":"iVBORw0K","content_type":"image/png","conflict_behavior":"replace"}`), creds, false},
		{"upload_file_bad_name", "upload_file", fixed(`{"name":"a/b.txt","content":"x"}`), creds, true},
		{"search_items", "search_items", fixed(`{"query":"budget '24"}`), creds, false},
		{"delete_item", "delete_item", fixed(`{"item_id":"01C"}`), creds, false},
		{"delete_item_dot_segment", "delete_item", fixed(`{"item_id":".."}`), creds, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeOneDrive(t)
			resp := providertest.Run(t, onedrive.New(), tc.action, tc.input(fake.URL), tc.creds, providertest.BaseURL(fake.URL))
			if resp.Failed() != tc.failed {
				t.Fatalf("failed = %v, want %v: %+v", resp.Failed(), tc.failed, resp.Diagnostics)
			}
			golden(t, tc.name+".request.golden", fake.take())
			golden(t, tc.name+".response.golden", []byte(strings.ReplaceAll(string(pretty(t, resp)), fake.URL, "{base}")))
		})
	}
}

func fixed(s string) func(string) string { return func(string) string { return s } }

func TestConflictOverGRPC(t *testing.T) {
	fake := fakeOneDrive(t)
	resp := providertest.Run(t, onedrive.New(), "create_folder", `{"name":"Existing","parent_id":"01A"}`,
		provider.Credentials{Type: "oauth2", AccessToken: token}, providertest.BaseURL(fake.URL), providertest.OverGRPC())
	d := resp.Diagnostics[0]
	if d.Status != 409 || !strings.Contains(d.Detail, "code nameAlreadyExists") {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	b, err := json.MarshalIndent(onedrive.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}
