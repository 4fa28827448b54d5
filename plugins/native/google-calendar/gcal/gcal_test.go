package gcal_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/google-calendar/gcal"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const token = "ya29.calendar-token"

func googleError(w http.ResponseWriter, status int, statusName, reason, msg, location string) {
	e := map[string]any{"domain": "global", "reason": reason, "message": msg}
	if location != "" {
		e["location"], e["locationType"] = location, "parameter"
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg, "status": statusName, "errors": []any{e}}})
}

// fakeCalendar serves the Calendar v3 endpoints the provider uses, with
// maxResults/pageToken paging, event time validation as Google does it,
// patch semantics and Google's error body.
func fakeCalendar(t *testing.T) *recorder {
	events := []map[string]any{
		{"id": "ev1", "status": "confirmed", "summary": "Standup", "start": map[string]string{"dateTime": "2024-05-06T09:00:00Z"}, "end": map[string]string{"dateTime": "2024-05-06T09:15:00Z"}},
		{"id": "ev2", "status": "confirmed", "summary": "Lunch", "start": map[string]string{"dateTime": "2024-05-06T12:00:00Z"}, "end": map[string]string{"dateTime": "2024-05-06T13:00:00Z"}},
		{"id": "ev3", "status": "confirmed", "summary": "Holiday", "start": map[string]string{"date": "2024-05-07"}, "end": map[string]string{"date": "2024-05-08"}},
	}
	return newRecorder(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			googleError(w, 401, "UNAUTHENTICATED", "authError", "Invalid Credentials", "")
			return
		}
		q := r.URL.Query()
		p := r.URL.Path
		switch {
		case r.Method == "GET" && p == "/calendar/v3/calendars/primary":
			writeJSON(w, 200, map[string]any{"kind": "calendar#calendar", "id": "ada@example.com", "summary": "ada@example.com", "timeZone": "Europe/London"})
		case r.Method == "GET" && p == "/calendar/v3/users/me/calendarList":
			writeJSON(w, 200, map[string]any{"kind": "calendar#calendarList", "items": []map[string]any{
				{"id": "ada@example.com", "summary": "Ada", "primary": true, "accessRole": "owner"},
				{"id": "team@group.calendar.google.com", "summary": "Team", "accessRole": "writer"}}})
		case r.Method == "GET" && strings.HasSuffix(p, "/events") && strings.HasPrefix(p, "/calendar/v3/calendars/"):
			if q.Get("orderBy") == "startTime" && q.Get("singleEvents") != "true" {
				googleError(w, 400, "INVALID_ARGUMENT", "badRequest", "The requested ordering is not available for the particular query.", "")
				return
			}
			size := 250
			if s := q.Get("maxResults"); s != "" {
				size, _ = strconv.Atoi(s)
			}
			start, _ := strconv.Atoi(q.Get("pageToken"))
			end := min(start+size, len(events))
			out := map[string]any{"kind": "calendar#events", "timeZone": "Europe/London", "items": events[start:end]}
			if end < len(events) {
				out["nextPageToken"] = strconv.Itoa(end)
			}
			writeJSON(w, 200, out)
		case r.Method == "POST" && strings.HasSuffix(p, "/events"):
			var ev map[string]any
			_ = json.Unmarshal(body, &ev)
			st, _ := ev["start"].(map[string]any)
			en, _ := ev["end"].(map[string]any)
			if st == nil || en == nil {
				googleError(w, 400, "INVALID_ARGUMENT", "required", "Missing end time.", "")
				return
			}
			ev["id"], ev["status"], ev["htmlLink"] = "evnew", "confirmed", "https://www.google.com/calendar/event?eid=evnew"
			writeJSON(w, 200, ev)
		case r.Method == "PATCH" && strings.Contains(p, "/events/"):
			id := p[strings.LastIndex(p, "/")+1:]
			for _, ev := range events {
				if ev["id"] == id {
					var patch map[string]any
					_ = json.Unmarshal(body, &patch)
					for k, v := range patch {
						ev[k] = v
					}
					writeJSON(w, 200, ev)
					return
				}
			}
			googleError(w, 404, "NOT_FOUND", "notFound", "Not Found", "")
		case r.Method == "DELETE" && strings.Contains(p, "/events/"):
			if strings.HasSuffix(p, "/ev1") {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			googleError(w, 410, "GONE", "deleted", "Resource has been deleted", "")
		default:
			googleError(w, 404, "NOT_FOUND", "notFound", "Not Found", "")
		}
	})
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, TokenType: "Bearer"}
	cases := []struct {
		name, action, input string
		creds               provider.Credentials
		failed              bool
	}{
		{"test_connection", "test_connection", `{}`, creds, false},
		{"test_connection_bad_token", "test_connection", `{}`, provider.Credentials{Type: "oauth2", AccessToken: "bad"}, true},
		{"list_calendars", "list_calendars", `{"min_access_role":"writer","max_results":10}`, creds, false},
		{"list_events_page1", "list_events", `{"time_min":"2024-05-06T00:00:00Z","single_events":true,"order_by":"startTime","max_results":2}`, creds, false},
		{"list_events_page2", "list_events", `{"time_min":"2024-05-06T00:00:00Z","single_events":true,"order_by":"startTime","max_results":2,"page_token":"2"}`, creds, false},
		{"list_events_order_needs_single", "list_events", `{"calendar_id":"team@group.calendar.google.com","order_by":"startTime"}`, creds, true},
		{"create_event", "create_event", `{"calendar_id":"team@group.calendar.google.com","summary":"Review","location":"Room 1","start":{"date_time":"2024-05-09T15:00:00+01:00","time_zone":"Europe/London"},"end":{"date_time":"2024-05-09T16:00:00+01:00"},"attendees":["bob@example.com"],"send_updates":"all"}`, creds, false},
		{"create_event_all_day", "create_event", `{"summary":"Offsite","start":{"date":"2024-06-01"},"end":{"date":"2024-06-02"}}`, creds, false},
		{"create_event_bad_time", "create_event", `{"summary":"x","start":{"date":"2024-06-01","date_time":"2024-06-01T10:00:00Z"},"end":{"date":"2024-06-02"}}`, creds, true},
		{"update_event", "update_event", `{"event_id":"ev2","summary":"Long lunch"}`, creds, false},
		{"update_event_missing", "update_event", `{"event_id":"nope","summary":"x"}`, creds, true},
		{"delete_event", "delete_event", `{"event_id":"ev1","send_updates":"none"}`, creds, false},
		{"delete_event_gone", "delete_event", `{"event_id":"ev9"}`, creds, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeCalendar(t)
			resp := providertest.Run(t, gcal.New(), tc.action, tc.input, tc.creds, providertest.BaseURL(fake.URL))
			if resp.Failed() != tc.failed {
				t.Fatalf("failed = %v, want %v: %+v", resp.Failed(), tc.failed, resp.Diagnostics)
			}
			golden(t, tc.name+".request.golden", fake.take())
			golden(t, tc.name+".response.golden", pretty(t, resp))
		})
	}
}

func TestOverGRPC(t *testing.T) {
	fake := fakeCalendar(t)
	resp := providertest.Run(t, gcal.New(), "delete_event", `{"event_id":"ev9"}`,
		provider.Credentials{Type: "oauth2", AccessToken: token}, providertest.BaseURL(fake.URL), providertest.OverGRPC())
	d := resp.Diagnostics[0]
	if d.Status != 410 || d.Summary != "Resource has been deleted" {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	b, err := json.MarshalIndent(gcal.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}
