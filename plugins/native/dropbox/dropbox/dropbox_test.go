package dropbox_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/dropbox/dropbox"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const token = "sl.BAbCdEfGhIjKlMnOpQrStUvWxYz"

func routeError(w http.ResponseWriter, status int, summary string, errObj any) {
	providertest.WriteJSON(w, status, map[string]any{"error_summary": summary, "error": errObj})
}

// fakeDropbox serves the RPC and content routes the provider uses the way
// Dropbox does: POST only, JSON arguments (none for get_current_account,
// where a JSON content type with an empty body is a 400), plain-text 400s
// for malformed arguments, 409 route errors, cursor paging through
// list_folder/continue, Dropbox-API-Arg uploads and 429 with Retry-After.
func fakeDropbox(t testing.TB) *providertest.Recorder {
	entries := []map[string]any{
		{".tag": "folder", "name": "Reports", "path_lower": "/reports", "path_display": "/Reports", "id": "id:a4ayc_80_OEAAAAAAAAAXw"},
		{".tag": "file", "name": "q1.pdf", "path_lower": "/reports/q1.pdf", "path_display": "/Reports/q1.pdf", "id": "id:a4ayc_80_OEAAAAAAAAAXz", "size": 7212, "rev": "a1c10ce0dd78"},
		{".tag": "file", "name": "notes.txt", "path_lower": "/notes.txt", "path_display": "/notes.txt", "id": "id:a4ayc_80_OEAAAAAAAAAYa", "size": 12, "rev": "a1c10ce0dd79"},
	}
	return providertest.NewRecorder(t, []string{"Authorization", "Content-Type", "Dropbox-API-Arg"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch r.Header.Get("Authorization") {
		case "Bearer " + token:
		case "Bearer sl.limited":
			w.Header().Set("Retry-After", "300")
			routeError(w, 429, "too_many_requests/..", map[string]any{"reason": map[string]string{".tag": "too_many_requests"}, "retry_after": 300})
			return
		default:
			routeError(w, 401, "invalid_access_token/...", map[string]string{".tag": "invalid_access_token"})
			return
		}
		if r.Method != http.MethodPost {
			w.WriteHeader(405)
			return
		}
		route := strings.TrimPrefix(r.URL.Path, "/2/")
		var arg map[string]any
		if route != "users/get_current_account" && route != "files/upload" {
			if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &arg) != nil {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(400)
				_, _ = w.Write([]byte(`Error in call to API function "` + route + `": Bad HTTP "Content-Type" header: "` + r.Header.Get("Content-Type") + `".  Expecting one of "application/json", "application/json; charset=utf-8", "text/plain; charset=dropbox-cors-hack".`))
				return
			}
		}
		path, _ := arg["path"].(string)
		find := func(p string) map[string]any {
			for _, e := range entries {
				if e["path_lower"] == strings.ToLower(p) || e["id"] == p {
					return e
				}
			}
			return nil
		}
		switch route {
		case "users/get_current_account":
			if len(body) > 0 || r.Header.Get("Content-Type") != "" {
				w.WriteHeader(400)
				_, _ = w.Write([]byte(`Error in call to API function "users/get_current_account": request body: could not decode input as JSON`))
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{"account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc", "email": "franz@dropbox.com",
				"name": map[string]string{"display_name": "Franz Ferdinand (Personal)"}, "account_type": map[string]string{".tag": "basic"}})
		case "files/list_folder":
			if path != "" && !strings.HasPrefix(path, "/") {
				w.WriteHeader(400)
				_, _ = w.Write([]byte(`Error in call to API function "files/list_folder": request body: path: '` + path + `' did not match pattern '(/(.|[\r\n])*)?|id:.*|(ns:[0-9]+(/.*)?)'`))
				return
			}
			limit := len(entries)
			if l, ok := arg["limit"].(float64); ok {
				limit = int(l)
			}
			end := min(limit, len(entries))
			providertest.WriteJSON(w, 200, map[string]any{"entries": entries[:end], "cursor": "ZtkX9_EHj3x7PMkVuFIhwKYXEpwpLwyxp9vMKomUhllil9q7eWiAu-" + strconv.Itoa(end), "has_more": end < len(entries)})
		case "files/list_folder/continue":
			cur, _ := arg["cursor"].(string)
			n, err := strconv.Atoi(strings.TrimPrefix(cur, "ZtkX9_EHj3x7PMkVuFIhwKYXEpwpLwyxp9vMKomUhllil9q7eWiAu-"))
			if err != nil {
				routeError(w, 409, "reset/..", map[string]string{".tag": "reset"})
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{"entries": entries[n:], "cursor": "ZtkX9_EHj3x7PMkVuFIhwKYXEpwpLwyxp9vMKomUhllil9q7eWiAu-3", "has_more": false})
		case "files/get_metadata":
			if e := find(path); e != nil {
				providertest.WriteJSON(w, 200, e)
				return
			}
			routeError(w, 409, "path/not_found/..", map[string]any{".tag": "path", "path": map[string]string{".tag": "not_found"}})
		case "files/create_folder_v2":
			if find(path) != nil {
				routeError(w, 409, "path/conflict/folder/...", map[string]any{".tag": "path", "path": map[string]any{".tag": "conflict", "conflict": map[string]string{".tag": "folder"}}})
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{"metadata": map[string]any{"name": path[strings.LastIndex(path, "/")+1:], "path_display": path, "path_lower": strings.ToLower(path), "id": "id:new"}})
		case "files/delete_v2":
			e := find(path)
			if e == nil {
				routeError(w, 409, "path_lookup/not_found/", map[string]any{".tag": "path_lookup", "path_lookup": map[string]string{".tag": "not_found"}})
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{"metadata": e})
		case "files/upload":
			var up struct {
				Path string `json:"path"`
				Mode string `json:"mode"`
			}
			if r.Header.Get("Content-Type") != "application/octet-stream" || json.Unmarshal([]byte(r.Header.Get("Dropbox-API-Arg")), &up) != nil {
				w.WriteHeader(400)
				_, _ = w.Write([]byte(`Error in call to API function "files/upload": Bad HTTP "Dropbox-API-Arg" header`))
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{".tag": "file", "name": up.Path[strings.LastIndex(up.Path, "/")+1:], "path_display": up.Path, "size": len(body), "id": "id:up", "rev": "015f"})
		default:
			w.WriteHeader(404)
			_, _ = w.Write([]byte("Unknown API function: " + route))
		}
	})
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, TokenType: "bearer"}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return dropbox.New() },
		Fake: fakeDropbox,
		Dir:  "../testdata",
	}, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_invalid_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "revoked"}, Failed: true},
		{Name: "test_connection_rate_limited", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "sl.limited"}, Failed: true},
		{Name: "list_folder_page1", Action: "list_folder", Input: `{"path":"","recursive":true,"limit":2}`, Creds: creds},
		{Name: "list_folder_page2", Action: "list_folder", Input: `{"cursor":"ZtkX9_EHj3x7PMkVuFIhwKYXEpwpLwyxp9vMKomUhllil9q7eWiAu-2"}`, Creds: creds},
		{Name: "list_folder_bad_path", Action: "list_folder", Input: `{"path":"Reports"}`, Creds: creds, Failed: true},
		{Name: "list_folder_reset_cursor", Action: "list_folder", Input: `{"cursor":"stale"}`, Creds: creds, Failed: true},
		{Name: "get_metadata", Action: "get_metadata", Input: `{"path":"/Reports/Q1.pdf"}`, Creds: creds},
		{Name: "get_metadata_not_found", Action: "get_metadata", Input: `{"path":"/missing.txt"}`, Creds: creds, Failed: true},
		{Name: "create_folder", Action: "create_folder", Input: `{"path":"/Invoices","autorename":true}`, Creds: creds},
		{Name: "create_folder_conflict", Action: "create_folder", Input: `{"path":"/Reports"}`, Creds: creds, Failed: true},
		{Name: "upload_file", Action: "upload_file", Input: `{"path":"/Notes/café ☕ 🎉.txt","content":"hello","mode":"overwrite","mute":true}`, Creds: creds},
		{Name: "delete", Action: "delete", Input: `{"path":"/notes.txt"}`, Creds: creds},
	})
}

func TestRouteErrorNamesPath(t *testing.T) {
	fake := fakeDropbox(t)
	resp := providertest.Run(t, dropbox.New(), "get_metadata", `{"path":"/missing.txt"}`,
		provider.Credentials{Type: "oauth2", AccessToken: token}, providertest.BaseURL(fake.URL), providertest.OverGRPC())
	d := resp.Diagnostics[0]
	if d.Status != 409 || d.Field != "path" || d.Summary != "path/not_found" {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestRefreshAfterExpiredToken(t *testing.T) {
	fake := fakeDropbox(t)
	resp := providertest.RunRefreshing(t, dropbox.New(), "upload_file", `{"path":"/a.txt","content":"x"}`, provider.Credentials{Type: "oauth2", AccessToken: "expired"}, provider.Credentials{Type: "oauth2", AccessToken: token},
		providertest.BaseURL(fake.URL))
	var out map[string]any
	providertest.Output(t, resp, &out)
	if out["id"] != "id:up" {
		t.Fatalf("out %v", out)
	}
}

func TestAPIArgIsASCII(t *testing.T) {
	got, err := dropbox.APIArg(map[string]string{"path": "/é/😀"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"path":"/\u00e9/\ud83d\ude00"}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	var back map[string]string
	if err := json.Unmarshal([]byte(got), &back); err != nil || back["path"] != "/é/😀" {
		t.Fatalf("round trip %v %v", back, err)
	}
}

func TestManifest(t *testing.T) {
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", dropbox.New().Manifest())
}
