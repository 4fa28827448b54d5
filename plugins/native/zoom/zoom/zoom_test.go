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
	writeJSON(w, status, out)
}

// fakeZoom serves the v2 endpoints the provider uses: page_size and
// next_page_token paging, 201 on create and 204 on delete, validation
// errors with an errors[] list, Zoom's error codes and the daily
// rate-limit 429 with Retry-After.
func fakeZoom(t *testing.T) *recorder {
	meetings := []map[string]any{
		{"id": 85746065001, "uuid": "aDYlohsHRtCd4ii1uC2+hA==", "topic": "Standup", "type": 8, "start_time": "2024-05-06T09:00:00Z", "duration": 15},
		{"id": 85746065002, "uuid": "bDYlohsHRtCd4ii1uC2+hA==", "topic": "Planning", "type": 2, "start_time": "2024-05-07T14:00:00Z", "duration": 60},
		{"id": 85746065003, "uuid": "cDYlohsHRtCd4ii1uC2+hA==", "topic": "Retro", "type": 2, "start_time": "2024-05-10T15:00:00Z", "duration": 45},
	}
	return newRecorder(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
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
			writeJSON(w, 200, map[string]any{"id": "KDcuGIm1QgePTO8WbOqwIQ", "email": "ada@example.com", "account_id": "q6gBJVO5TzexKYTb_I2rpg", "type": 2})
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
			writeJSON(w, 200, map[string]any{"page_size": size, "total_records": len(meetings), "next_page_token": next, "meetings": meetings[start:end]})
		case r.Method == "GET" && strings.HasPrefix(p, "/meetings/"):
			id := strings.TrimPrefix(p, "/meetings/")
			for _, m := range meetings {
				if strconv.FormatInt(int64(m["id"].(int)), 10) == id {
					out := map[string]any{"join_url": "https://us05web.zoom.us/j/" + id, "settings": map[string]any{"waiting_room": true}}
					for k, v := range m {
						out[k] = v
					}
					writeJSON(w, 200, out)
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
			writeJSON(w, 201, in)
		case r.Method == "DELETE" && p == "/meetings/85746065002":
			w.WriteHeader(http.StatusNoContent)
		case r.Method == "DELETE":
			zoomError(w, 404, 3001, "Meeting does not exist: "+strings.TrimPrefix(p, "/meetings/")+".", nil)
		case r.Method == "GET" && p == "/users/me/recordings":
			writeJSON(w, 200, map[string]any{"from": q.Get("from"), "to": q.Get("to"), "page_size": 30, "total_records": 1, "next_page_token": "",
				"meetings": []map[string]any{{"uuid": "aDYlohsHRtCd4ii1uC2+hA==", "topic": "Standup", "recording_count": 2, "total_size": 1048576}}})
		default:
			zoomError(w, 404, 404, "No handler found for "+p, nil)
		}
	})
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, TokenType: "bearer"}
	cases := []struct {
		name, action, input string
		creds               provider.Credentials
		failed              bool
	}{
		{"test_connection", "test_connection", `{}`, creds, false},
		{"test_connection_invalid_token", "test_connection", `{}`, provider.Credentials{Type: "oauth2", AccessToken: "expired"}, true},
		{"test_connection_rate_limited", "test_connection", `{}`, provider.Credentials{Type: "oauth2", AccessToken: "limited"}, true},
		{"list_meetings_page1", "list_meetings", `{"type":"scheduled","page_size":2}`, creds, false},
		{"list_meetings_page2", "list_meetings", `{"type":"scheduled","page_size":2,"next_page_token":"IAfJX3jsOLW7w3dokmFl84zOa0MAVGyMEB2"}`, creds, false},
		{"get_meeting", "get_meeting", `{"meeting_id":"85746065002"}`, creds, false},
		{"get_meeting_missing", "get_meeting", `{"meeting_id":"1"}`, creds, true},
		{"create_meeting", "create_meeting", `{"topic":"Design review","start_time":"2024-05-20T16:00:00Z","duration":30,"timezone":"Europe/Berlin","waiting_room":true}`, creds, false},
		{"create_meeting_instant", "create_meeting", `{"topic":"Quick sync"}`, creds, false},
		{"create_meeting_bad_time", "create_meeting", `{"topic":"x","start_time":"tomorrow"}`, creds, true},
		{"delete_meeting", "delete_meeting", `{"meeting_id":"85746065002","cancel_meeting_reminder":true}`, creds, false},
		{"list_recordings", "list_recordings", `{"from":"2024-05-01","to":"2024-05-31","page_size":30}`, creds, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeZoom(t)
			resp := providertest.Run(t, zoom.New(), tc.action, tc.input, tc.creds, providertest.BaseURL(fake.URL+"/v2"))
			if resp.Failed() != tc.failed {
				t.Fatalf("failed = %v, want %v: %+v", resp.Failed(), tc.failed, resp.Diagnostics)
			}
			golden(t, tc.name+".request.golden", fake.take())
			golden(t, tc.name+".response.golden", pretty(t, resp))
		})
	}
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
	b, err := json.MarshalIndent(zoom.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}
