package zoom_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/plugins/native/zoom/zoom"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const token = "eyJzdiI6IjAwMDAwMSIsImFsZyI6IkhTNTEyIn0.zoom"

func zoomError(w http.ResponseWriter, status, code int, msg string, errs []map[string]string) {
	out := map[string]any{"code": code, "message": msg}
	if errs != nil {
		out["errors"] = errs
	}
	providertest.WriteJSON(w, status, out)
}

// fakeZoom serves the v2 endpoints the provider uses: page_size and
// next_page_token paging, 201 on create and 204 on delete, validation
// errors with an errors[] list, Zoom's error codes and the daily
// rate-limit 429 with Retry-After.
func fakeZoom(t testing.TB) *providertest.Recorder {
	meetings := []map[string]any{
		{"id": 85746065001, "uuid": "aDYlohsHRtCd4ii1uC2+hA==", "topic": "Standup", "type": 8, "start_time": "2024-05-06T09:00:00Z", "duration": 15},
		{"id": 85746065002, "uuid": "bDYlohsHRtCd4ii1uC2+hA==", "topic": "Planning", "type": 2, "start_time": "2024-05-07T14:00:00Z", "duration": 60},
		{"id": 85746065003, "uuid": "cDYlohsHRtCd4ii1uC2+hA==", "topic": "Retro", "type": 2, "start_time": "2024-05-10T15:00:00Z", "duration": 45},
	}
	return providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch r.Header.Get("Authorization") {
		case "Bearer " + token:
		case "Bearer limited":
			w.Header().Set("Retry-After", "60")
			w.Header().Set("X-RateLimit-Type", "Daily-limit")
			zoomError(w, 429, 429, "You have reached the maximum daily rate limit for this API.", nil)
			return
		default:
			zoomError(w, 401, 124, "Invalid access token.", nil)
			return
		}
		q := r.URL.Query()
		p, ok := strings.CutPrefix(r.URL.Path, "/v2/")
		if !ok {
			zoomError(w, 404, 404, "Not Found", nil)
			return
		}
		p = "/" + p
		switch {
		case r.Method == "GET" && p == "/users/me":
			providertest.WriteJSON(w, 200, map[string]any{"id": "KDcuGIm1QgePTO8WbOqwIQ", "email": "ada@example.com", "account_id": "q6gBJVO5TzexKYTb_I2rpg", "type": 2})
		case r.Method == "GET" && p == "/users/me/meetings":
			size := 30
			if s := q.Get("page_size"); s != "" {
				size, _ = strconv.Atoi(s)
			}
			start := 0
			if tok := q.Get("next_page_token"); tok != "" {
				n, err := strconv.Atoi(strings.TrimPrefix(tok, "IAfJX3jsOLW7w3dokmFl84zOa0MAVGyMEB"))
				if err != nil {
					zoomError(w, 400, 300, "Invalid next_page_token.", nil)
					return
				}
				start = n
			}
			end := min(start+size, len(meetings))
			next := ""
			if end < len(meetings) {
				next = "IAfJX3jsOLW7w3dokmFl84zOa0MAVGyMEB" + strconv.Itoa(end)
			}
			providertest.WriteJSON(w, 200, map[string]any{"page_size": size, "total_records": len(meetings), "next_page_token": next, "meetings": meetings[start:end]})
		case r.Method == "GET" && strings.HasPrefix(p, "/meetings/"):
			id := strings.TrimPrefix(p, "/meetings/")
			for _, m := range meetings {
				if strconv.FormatInt(int64(m["id"].(int)), 10) == id {
					out := map[string]any{"join_url": "https://us05web.zoom.us/j/" + id, "settings": map[string]any{"waiting_room": true}}
					for k, v := range m {
						out[k] = v
					}
					providertest.WriteJSON(w, 200, out)
					return
				}
			}
			zoomError(w, 404, 3001, "Meeting does not exist: "+id+".", nil)
		case r.Method == "POST" && p == "/users/me/meetings":
			var in map[string]any
			_ = json.Unmarshal(body, &in)
			if st, ok := in["start_time"].(string); ok {
				if _, err := time.Parse(time.RFC3339, st); err != nil {
					zoomError(w, 400, 300, "Validation Failed.", []map[string]string{{"field": "start_time", "message": "Invalid field."}})
					return
				}
			}
			in["id"], in["join_url"] = 85746065999, "https://us05web.zoom.us/j/85746065999"
			providertest.WriteJSON(w, 201, in)
		case r.Method == "DELETE" && p == "/meetings/85746065002":
			w.WriteHeader(http.StatusNoContent)
		case r.Method == "DELETE":
			zoomError(w, 404, 3001, "Meeting does not exist: "+strings.TrimPrefix(p, "/meetings/")+".", nil)
		case r.Method == "GET" && p == "/users/me/recordings":
			providertest.WriteJSON(w, 200, map[string]any{"from": q.Get("from"), "to": q.Get("to"), "page_size": 30, "total_records": 1, "next_page_token": "",
				"meetings": []map[string]any{{"uuid": "aDYlohsHRtCd4ii1uC2+hA==", "topic": "Standup", "recording_count": 2, "total_size": 1048576}}})
		default:
			zoomError(w, 404, 404, "No handler found for "+p, nil)
		}
	})
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, TokenType: "bearer"}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return zoom.New() },
		Fake: fakeZoom,
		Dir:  "../testdata",
		Path: "/v2",
	}, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_invalid_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "expired"}, Failed: true},
		{Name: "test_connection_rate_limited", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "limited"}, Failed: true},
		{Name: "list_meetings_page1", Action: "list_meetings", Input: `{"type":"scheduled","page_size":2}`, Creds: creds},
		{Name: "list_meetings_page2", Action: "list_meetings", Input: `{"type":"scheduled","page_size":2,"next_page_token":"IAfJX3jsOLW7w3dokmFl84zOa0MAVGyMEB2"}`, Creds: creds},
		{Name: "get_meeting", Action: "get_meeting", Input: `{"meeting_id":"85746065002"}`, Creds: creds},
		{Name: "get_meeting_missing", Action: "get_meeting", Input: `{"meeting_id":"1"}`, Creds: creds, Failed: true},
		{Name: "create_meeting", Action: "create_meeting", Input: `{"topic":"Design review","start_time":"2024-05-20T16:00:00Z","duration":30,"timezone":"Europe/Berlin","waiting_room":true}`, Creds: creds},
		{Name: "create_meeting_instant", Action: "create_meeting", Input: `{"topic":"Quick sync"}`, Creds: creds},
		{Name: "create_meeting_bad_time", Action: "create_meeting", Input: `{"topic":"x","start_time":"tomorrow"}`, Creds: creds, Failed: true},
		{Name: "delete_meeting", Action: "delete_meeting", Input: `{"meeting_id":"85746065002","cancel_meeting_reminder":true}`, Creds: creds},
		{Name: "list_recordings", Action: "list_recordings", Input: `{"from":"2024-05-01","to":"2024-05-31","page_size":30}`, Creds: creds},
	})
}

func TestValidationErrorNamesField(t *testing.T) {
	fake := fakeZoom(t)
	resp := providertest.Run(t, zoom.New(), "create_meeting", `{"topic":"x","start_time":"tomorrow"}`,
		provider.Credentials{Type: "oauth2", AccessToken: token}, providertest.BaseURL(fake.URL+"/v2"), providertest.OverGRPC())
	d := resp.Diagnostics[0]
	if d.Status != 400 || d.Field != "start_time" || !strings.Contains(d.Detail, "code 300") {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", zoom.New().Manifest())
}
