package box_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/box/box"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const token = "T9cE5asGnuyYCCqIZFoWjFHvNbvVqHjl"

func boxError(w http.ResponseWriter, status int, code, msg string, ctxInfo any) {
	out := map[string]any{"type": "error", "status": status, "code": code, "message": msg,
		"help_url": "http://developers.box.com/docs/#errors", "request_id": "abcdef123456"}
	if ctxInfo != nil {
		out["context_info"] = ctxInfo
	}
	providertest.WriteJSON(w, status, out)
}

// fakeBox serves the 2.0 endpoints the provider uses: marker paging for
// folder items (usemarker/next_marker), offset paging for search, 201 on
// folder creation with 409 item_name_in_use, If-Match preconditions on
// delete, and Box's error body.
func fakeBox(t testing.TB) *providertest.Recorder {
	items := []map[string]any{
		{"type": "folder", "id": "11446498", "name": "Pictures", "etag": "1"},
		{"type": "file", "id": "12345", "name": "Contract.pdf", "size": 629644, "etag": "3"},
		{"type": "file", "id": "12346", "name": "Budget.xlsx", "size": 2048, "etag": "1"},
	}
	return providertest.NewRecorder(t, []string{"Authorization", "Content-Type", "If-Match"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", `Bearer realm="Service", error="invalid_token", error_description="The access token provided is invalid."`)
			w.WriteHeader(401)
			return
		}
		q := r.URL.Query()
		p := r.URL.Path
		switch {
		case r.Method == "GET" && p == "/2.0/users/me":
			providertest.WriteJSON(w, 200, map[string]any{"type": "user", "id": "11446498", "login": "ceo@example.com", "name": "Aaron Levie"})
		case r.Method == "GET" && p == "/2.0/folders/0/items":
			if q.Get("usemarker") != "true" {
				boxError(w, 400, "bad_request", "usemarker required", nil)
				return
			}
			limit, _ := strconv.Atoi(q.Get("limit"))
			if limit == 0 {
				limit = 100
			}
			start := 0
			if m := q.Get("marker"); m != "" {
				n, err := strconv.Atoi(strings.TrimPrefix(m, "JV9IRGZmieiBasejOG9yDCRNgd2ymoZIbjsxbJMjIs3kioVii"))
				if err != nil {
					boxError(w, 400, "bad_request", "Bad Request", map[string]any{"errors": []map[string]string{{"reason": "invalid_parameter", "name": "marker", "message": "Invalid value '" + m + "'."}}})
					return
				}
				start = n
			}
			end := min(start+limit, len(items))
			out := map[string]any{"entries": items[start:end], "limit": limit, "next_marker": nil}
			if end < len(items) {
				out["next_marker"] = "JV9IRGZmieiBasejOG9yDCRNgd2ymoZIbjsxbJMjIs3kioVii" + strconv.Itoa(end)
			}
			providertest.WriteJSON(w, 200, out)
		case r.Method == "GET" && strings.HasPrefix(p, "/2.0/files/"):
			id := strings.TrimPrefix(p, "/2.0/files/")
			for _, it := range items {
				if it["id"] == id && it["type"] == "file" {
					providertest.WriteJSON(w, 200, it)
					return
				}
			}
			boxError(w, 404, "not_found", "Could not find the specified resource", nil)
		case r.Method == "POST" && p == "/2.0/folders":
			var in struct {
				Name   string `json:"name"`
				Parent struct {
					ID string `json:"id"`
				} `json:"parent"`
			}
			_ = json.Unmarshal(body, &in)
			if in.Name == "Pictures" && in.Parent.ID == "0" {
				boxError(w, 409, "item_name_in_use", "Item with the same name already exists",
					map[string]any{"conflicts": []map[string]string{{"type": "folder", "id": "11446498", "name": "Pictures"}}})
				return
			}
			providertest.WriteJSON(w, 201, map[string]any{"type": "folder", "id": "99999", "name": in.Name, "etag": "0", "parent": map[string]string{"type": "folder", "id": in.Parent.ID}})
		case r.Method == "GET" && p == "/2.0/search":
			limit, _ := strconv.Atoi(q.Get("limit"))
			offset, _ := strconv.Atoi(q.Get("offset"))
			var files []map[string]any
			for _, it := range items {
				if q.Get("type") == "" || it["type"] == q.Get("type") {
					files = append(files, it)
				}
			}
			end := min(offset+limit, len(files))
			providertest.WriteJSON(w, 200, map[string]any{"total_count": len(files), "limit": limit, "offset": offset, "entries": files[min(offset, end):end]})
		case r.Method == "DELETE" && p == "/2.0/files/12345":
			if m := r.Header.Get("If-Match"); m != "" && m != "3" {
				boxError(w, 412, "precondition_failed", "The resource has been modified. Please retrieve the resource again and retry", nil)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			boxError(w, 404, "not_found", "Not Found", nil)
		}
	})
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, TokenType: "bearer"}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return box.New() },
		Fake: fakeBox,
		Dir:  "../testdata",
	}, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "x"}, Failed: true},
		{Name: "list_folder_items_page1", Action: "list_folder_items", Input: `{"limit":2}`, Creds: creds},
		{Name: "list_folder_items_page2", Action: "list_folder_items", Input: `{"limit":2,"marker":"JV9IRGZmieiBasejOG9yDCRNgd2ymoZIbjsxbJMjIs3kioVii2"}`, Creds: creds},
		{Name: "list_folder_items_bad_marker", Action: "list_folder_items", Input: `{"marker":"zzz"}`, Creds: creds, Failed: true},
		{Name: "get_file", Action: "get_file", Input: `{"file_id":"12345"}`, Creds: creds},
		{Name: "get_file_not_found", Action: "get_file", Input: `{"file_id":"1"}`, Creds: creds, Failed: true},
		{Name: "create_folder", Action: "create_folder", Input: `{"name":"Invoices","parent_id":"11446498"}`, Creds: creds},
		{Name: "create_folder_conflict", Action: "create_folder", Input: `{"name":"Pictures"}`, Creds: creds, Failed: true},
		{Name: "create_folder_bad_name", Action: "create_folder", Input: `{"name":"a/b"}`, Creds: creds, Failed: true},
		{Name: "search_page1", Action: "search", Input: `{"query":"budget","type":"file","file_extensions":["pdf","xlsx"],"limit":1}`, Creds: creds},
		{Name: "search_page2", Action: "search", Input: `{"query":"budget","type":"file","file_extensions":["pdf","xlsx"],"limit":1,"offset":1}`, Creds: creds},
		{Name: "delete_file", Action: "delete_file", Input: `{"file_id":"12345","etag":"3"}`, Creds: creds},
		{Name: "delete_file_stale_etag", Action: "delete_file", Input: `{"file_id":"12345","etag":"1"}`, Creds: creds, Failed: true},
		{Name: "get_file_dot_segment", Action: "get_file", Input: `{"file_id":".."}`, Creds: creds, Failed: true},
	})
}

func TestBoxErrorNamesField(t *testing.T) {
	fake := fakeBox(t)
	resp := providertest.Run(t, box.New(), "list_folder_items", `{"marker":"zzz"}`,
		provider.Credentials{Type: "oauth2", AccessToken: token}, providertest.BaseURL(fake.URL), providertest.OverGRPC())
	d := resp.Diagnostics[0]
	if d.Status != 400 || d.Field != "marker" || d.Summary != "Bad Request: Invalid value 'zzz'." {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestRefreshAfter401(t *testing.T) {
	fake := fakeBox(t)
	resp := providertest.RunRefreshing(t, box.New(), "test_connection", nil, provider.Credentials{Type: "oauth2", AccessToken: "expired"}, provider.Credentials{Type: "oauth2", AccessToken: token},
		providertest.BaseURL(fake.URL))
	var out map[string]any
	providertest.Output(t, resp, &out)
	if out["login"] != "ceo@example.com" {
		t.Fatalf("out %v", out)
	}
}

func TestManifest(t *testing.T) {
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", box.New().Manifest())
}
