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
	providertest.WriteJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]string{"date": "2024-05-06T10:00:00", "request-id": "e5f6"}}})
}

// fakeOneDrive serves the Graph drive endpoints the provider uses: $top
// paging through absolute @odata.nextLink URLs with $skiptoken, path-based
// PUT uploads (root:/name:/content), conflict behaviour on folder
// creation, the search function and Graph's error body.
func fakeOneDrive(t testing.TB) *providertest.Recorder {
	items := []map[string]any{
		{"id": "01A", "name": "Documents", "folder": map[string]int{"childCount": 2}},
		{"id": "01B", "name": "budget.xlsx", "size": 2048, "file": map[string]string{"mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}},
		{"id": "01C", "name": "notes.txt", "size": 12, "file": map[string]string{"mimeType": "text/plain"}},
	}
	var rec *providertest.Recorder
	rec = providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			graphError(w, 401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.")
			return
		}
		q := r.URL.Query()
		p := r.URL.Path
		switch {
		case r.Method == "GET" && p == "/v1.0/me/drive":
			providertest.WriteJSON(w, 200, map[string]any{"id": "b!t18F8ybsHUq1z3LTz8xvZq", "driveType": "business",
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
			providertest.WriteJSON(w, 200, out)
		case r.Method == "GET" && strings.HasPrefix(p, "/v1.0/me/drive/items/"):
			id := strings.TrimPrefix(p, "/v1.0/me/drive/items/")
			for _, it := range items {
				if it["id"] == id {
					out := map[string]any{"@microsoft.graph.downloadUrl": "https://contoso-my.sharepoint.com/download.aspx?tempauth=x"}
					for k, v := range it {
						out[k] = v
					}
					providertest.WriteJSON(w, 200, out)
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
			providertest.WriteJSON(w, 201, map[string]any{"id": "01NEW", "name": in["name"], "folder": map[string]int{"childCount": 0}, "parentReference": map[string]string{"id": "01A"}})
		case r.Method == "PUT" && strings.HasSuffix(p, ":/content"):
			name := strings.TrimSuffix(p[strings.Index(p, ":/")+2:], ":/content")
			providertest.WriteJSON(w, 201, map[string]any{"id": "01UP", "name": name, "size": len(body), "file": map[string]string{"mimeType": r.Header.Get("Content-Type")}})
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
	providertest.RunCases(t, providertest.Suite{
		New:         func() provider.Provider { return onedrive.New() },
		Fake:        fakeOneDrive,
		Dir:         "../testdata",
		Placeholder: "{base}",
	}, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "x"}, Failed: true},
		{Name: "list_children_page1", Action: "list_children", Input: `{"top":2}`, Creds: creds},
		{Name: "list_children_page2", Action: "list_children", Input: `{"cursor":"{base}/v1.0/me/drive/root/children?$top=2&$skiptoken=2"}`, Creds: creds},
		{Name: "list_children_foreign_cursor", Action: "list_children", Input: `{"cursor":"https://graph.microsoft.com.evil.example/v1.0/me/drive/root/children"}`, Creds: creds, Failed: true},
		{Name: "get_item", Action: "get_item", Input: `{"item_id":"01B"}`, Creds: creds},
		{Name: "get_item_not_found", Action: "get_item", Input: `{"item_id":"01Z"}`, Creds: creds, Failed: true},
		{Name: "create_folder", Action: "create_folder", Input: `{"name":"Invoices","parent_id":"01A","conflict_behavior":"rename"}`, Creds: creds},
		{Name: "create_folder_conflict", Action: "create_folder", Input: `{"name":"Existing","parent_id":"01A"}`, Creds: creds, Failed: true},
		{Name: "upload_file_root", Action: "upload_file", Input: `{"name":"hello world.txt","content":"hello"}`, Creds: creds},
		{Name: "upload_file_folder", Action: "upload_file", Input: `{"name":"logo.png","parent_id":"01A","content_base64":"iVBORw0K","content_type":"image/png","conflict_behavior":"replace"}`, Creds: creds},
		{Name: "upload_file_bad_name", Action: "upload_file", Input: `{"name":"a/b.txt","content":"x"}`, Creds: creds, Failed: true},
		{Name: "search_items", Action: "search_items", Input: `{"query":"budget '24"}`, Creds: creds},
		{Name: "delete_item", Action: "delete_item", Input: `{"item_id":"01C"}`, Creds: creds},
		{Name: "delete_item_dot_segment", Action: "delete_item", Input: `{"item_id":".."}`, Creds: creds, Failed: true},
	})
}

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
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", onedrive.New().Manifest())
}
