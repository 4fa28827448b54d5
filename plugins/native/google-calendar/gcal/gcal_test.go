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

// fakeCalendar serves the Calendar v3 endpoints the provider uses, with
// maxResults/pageToken paging, event time validation as Google does it,
// patch semantics and Google's error body.
func fakeCalendar(t testing.TB) *providertest.Recorder {
	events := []map[string]any{
		{"id": "ev1", "status": "confirmed", "summary": "Standup", "start": map[string]string{"dateTime": "2024-05-06T09:00:00Z"}, "end": map[string]string{"dateTime": "2024-05-06T09:15:00Z"}},
		{"id": "ev2", "status": "confirmed", "summary": "Lunch", "start": map[string]string{"dateTime": "2024-05-06T12:00:00Z"}, "end": map[string]string{"dateTime": "2024-05-06T13:00:00Z"}},
		{"id": "ev3", "status": "confirmed", "summary": "Holiday", "start": map[string]string{"date": "2024-05-07"}, "end": map[string]string{"date": "2024-05-08"}},
	}
	return providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			providertest.WriteGoogleError(w, 401, "UNAUTHENTICATED", "authError", "Invalid Credentials", "", "")
			return
		}
		q := r.URL.Query()
		p := r.URL.Path
		switch {
		case r.Method == "GET" && p == "/calendar/v3/calendars/primary":
			providertest.WriteJSON(w, 200, map[string]any{"kind": "calendar#calendar", "id": "ada@example.com", "summary": "ada@example.com", "timeZone": "Europe/London"})
		case r.Method == "GET" && p == "/calendar/v3/users/me/calendarList":
			providertest.WriteJSON(w, 200, map[string]any{"kind": "calendar#calendarList", "items": []map[string]any{
				{"id": "ada@example.com", "summary": "Ada", "primary": true, "accessRole": "owner"},
				{"id": "team@group.calendar.google.com", "summary": "Team", "accessRole": "writer"}}})
		case r.Method == "GET" && strings.HasSuffix(p, "/events") && strings.HasPrefix(p, "/calendar/v3/calendars/"):
			if q.Get("orderBy") == "startTime" && q.Get("singleEvents") != "true" {
				providertest.WriteGoogleError(w, 400, "INVALID_ARGUMENT", "badRequest", "The requested ordering is not available for the particular query.", "", "")
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
			providertest.WriteJSON(w, 200, out)
		case r.Method == "POST" && strings.HasSuffix(p, "/events"):
			var ev map[string]any
			_ = json.Unmarshal(body, &ev)
			st, _ := ev["start"].(map[string]any)
			en, _ := ev["end"].(map[string]any)
			if st == nil || en == nil {
				providertest.WriteGoogleError(w, 400, "INVALID_ARGUMENT", "required", "Missing end time.", "", "")
				return
			}
			ev["id"], ev["status"], ev["htmlLink"] = "evnew", "confirmed", "https://www.google.com/calendar/event?eid=evnew"
			providertest.WriteJSON(w, 200, ev)
		case r.Method == "PATCH" && strings.Contains(p, "/events/"):
			id := p[strings.LastIndex(p, "/")+1:]
			for _, ev := range events {
				if ev["id"] == id {
					var patch map[string]any
					_ = json.Unmarshal(body, &patch)
					for k, v := range patch {
						ev[k] = v
					}
					providertest.WriteJSON(w, 200, ev)
					return
				}
			}
			providertest.WriteGoogleError(w, 404, "NOT_FOUND", "notFound", "Not Found", "", "")
		case r.Method == "DELETE" && strings.Contains(p, "/events/"):
			if strings.HasSuffix(p, "/ev1") {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			providertest.WriteGoogleError(w, 410, "GONE", "deleted", "Resource has been deleted", "", "")
		default:
			providertest.WriteGoogleError(w, 404, "NOT_FOUND", "notFound", "Not Found", "", "")
		}
	})
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, TokenType: "Bearer"}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return gcal.New() },
		Fake: fakeCalendar,
		Dir:  "../testdata",
	}, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "bad"}, Failed: true},
		{Name: "list_calendars", Action: "list_calendars", Input: `{"min_access_role":"writer","max_results":10}`, Creds: creds},
		{Name: "list_events_page1", Action: "list_events", Input: `{"time_min":"2024-05-06T00:00:00Z","single_events":true,"order_by":"startTime","max_results":2}`, Creds: creds},
		{Name: "list_events_page2", Action: "list_events", Input: `{"time_min":"2024-05-06T00:00:00Z","single_events":true,"order_by":"startTime","max_results":2,"page_token":"2"}`, Creds: creds},
		{Name: "list_events_order_needs_single", Action: "list_events", Input: `{"calendar_id":"team@group.calendar.google.com","order_by":"startTime"}`, Creds: creds, Failed: true},
		{Name: "create_event", Action: "create_event", Input: `{"calendar_id":"team@group.calendar.google.com","summary":"Review","location":"Room 1","start":{"date_time":"2024-05-09T15:00:00+01:00","time_zone":"Europe/London"},"end":{"date_time":"2024-05-09T16:00:00+01:00"},"attendees":["bob@example.com"],"send_updates":"all"}`, Creds: creds},
		{Name: "create_event_all_day", Action: "create_event", Input: `{"summary":"Offsite","start":{"date":"2024-06-01"},"end":{"date":"2024-06-02"}}`, Creds: creds},
		{Name: "create_event_bad_time", Action: "create_event", Input: `{"summary":"x","start":{"date":"2024-06-01","date_time":"2024-06-01T10:00:00Z"},"end":{"date":"2024-06-02"}}`, Creds: creds, Failed: true},
		{Name: "update_event", Action: "update_event", Input: `{"event_id":"ev2","summary":"Long lunch"}`, Creds: creds},
		{Name: "update_event_missing", Action: "update_event", Input: `{"event_id":"nope","summary":"x"}`, Creds: creds, Failed: true},
		{Name: "delete_event", Action: "delete_event", Input: `{"event_id":"ev1","send_updates":"none"}`, Creds: creds},
		{Name: "delete_event_gone", Action: "delete_event", Input: `{"event_id":"ev9"}`, Creds: creds, Failed: true},
	})
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
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", gcal.New().Manifest())
}
