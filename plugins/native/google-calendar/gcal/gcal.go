// Package gcal is the Google Calendar provider: calendars and events over
// the Calendar API v3 (https://developers.google.com/calendar/api/v3/reference),
// built only on the public SDK. Listings page with pageToken/nextPageToken,
// event writes take sendUpdates, and Google's error body becomes a
// diagnostic.
package gcal

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is the Google APIs host the Calendar API lives on, used when the
// host supplies none.
const BaseURL = "https://www.googleapis.com"

const api = "/calendar/v3"

// New returns the Google Calendar provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "google-calendar",
		Name:         "Google Calendar",
		Version:      Version,
		Description:  "Calendars and events in Google Calendar.",
		Categories:   []string{"productivity"},
		AllowedHosts: []string{"www.googleapis.com"},
	}).
		HTTP(provider.HTTPOptions{
			BaseURL:     BaseURL,
			UserAgent:   "atom-provider-google-calendar/" + Version,
			DecodeError: provider.DecodeGoogleError,
		}).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the primary calendar.",
			Output:      provider.Schema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"calendar_id":{"type":"string"},"time_zone":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_calendars",
			DisplayName: "List calendars",
			Description: "Lists the calendars on the user's calendar list, one page at a time.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"properties":{
				"max_results":{"type":"integer","minimum":1,"maximum":250},
				"page_token":{"type":"string"},
				"min_access_role":{"type":"string","enum":["freeBusyReader","owner","reader","writer"]}}}`),
			Output: pageSchema,
			Handle: provider.Typed(listCalendars),
		}).
		Action(provider.ActionDef{
			Name:        "list_events",
			DisplayName: "List events",
			Description: "Lists events of a calendar in a time range, one page at a time.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"properties":{
				"calendar_id":{"type":"string","description":"Defaults to primary"},
				"time_min":{"type":"string","format":"date-time"},
				"time_max":{"type":"string","format":"date-time"},
				"q":{"type":"string"},
				"single_events":{"type":"boolean","description":"Expand recurring events into instances"},
				"order_by":{"type":"string","enum":["startTime","updated"]},
				"max_results":{"type":"integer","minimum":1,"maximum":2500},
				"page_token":{"type":"string"}}}`),
			Output: pageSchema,
			Handle: provider.Typed(listEvents),
		}).
		Action(provider.ActionDef{
			Name:        "create_event",
			DisplayName: "Create event",
			Description: "Creates an event, optionally inviting attendees.",
			Input:       eventSchema(`"required":["summary","start","end"],`),
			Output:      provider.Schema(eventOut),
			Handle:      provider.Typed(createEvent),
		}).
		Action(provider.ActionDef{
			Name:        "update_event",
			DisplayName: "Update event",
			Description: "Changes the given fields of an event (patch semantics).",
			Input:       eventSchema(`"required":["event_id"],`),
			Output:      provider.Schema(eventOut),
			Handle:      provider.Typed(updateEvent),
		}).
		Action(provider.ActionDef{
			Name:        "delete_event",
			DisplayName: "Delete event",
			Description: "Deletes an event.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["event_id"],"properties":{
				"calendar_id":{"type":"string"},
				"event_id":{"type":"string","minLength":1},
				"send_updates":{"type":"string","enum":["all","externalOnly","none"]}}}`),
			Output: provider.Schema(`{"type":"object","required":["deleted"],"properties":{"deleted":{"type":"boolean"},"event_id":{"type":"string"}}}`),
			Handle: provider.Typed(deleteEvent),
		})
}

var pageSchema = provider.Schema(`{"type":"object","required":["items"],"properties":{
	"items":{"type":"array","items":{"type":"object"}},
	"next_page_token":{"type":"string"},
	"time_zone":{"type":"string"}}}`)

const eventOut = `{"type":"object","properties":{"id":{"type":"string"},"status":{"type":"string"},"htmlLink":{"type":"string"},"summary":{"type":"string"},"start":{"type":"object"},"end":{"type":"object"},"attendees":{"type":"array"}}}`

const timeSchema = `{"type":"object","additionalProperties":false,"properties":{"date_time":{"type":"string","format":"date-time"},"date":{"type":"string","format":"date"},"time_zone":{"type":"string"}}}`

func eventSchema(required string) json.RawMessage {
	return provider.Schema(`{"type":"object","additionalProperties":false,` + required + `"properties":{
		"calendar_id":{"type":"string","description":"Defaults to primary"},
		"event_id":{"type":"string","minLength":1},
		"summary":{"type":"string"},
		"description":{"type":"string"},
		"location":{"type":"string"},
		"start":` + timeSchema + `,
		"end":` + timeSchema + `,
		"attendees":{"type":"array","items":{"type":"string"}},
		"send_updates":{"type":"string","enum":["all","externalOnly","none"]}}}`)
}

func calPath(id string) string {
	if id == "" {
		id = "primary"
	}
	return api + "/calendars/" + url.PathEscape(id)
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var cal struct {
		ID       string `json:"id"`
		TimeZone string `json:"timeZone"`
	}
	if err := c.HTTP().GetJSON(ctx, calPath("primary"), nil, &cal); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "calendar_id": cal.ID, "time_zone": cal.TimeZone}, nil
}

// page is one page of a Calendar collection.
type page struct {
	Items         []json.RawMessage `json:"items"`
	NextPageToken string            `json:"next_page_token,omitempty"`
	TimeZone      string            `json:"time_zone,omitempty"`
}

func getPage(ctx context.Context, c *provider.Call, path string, q url.Values) (any, error) {
	var p struct {
		Items         []json.RawMessage `json:"items"`
		NextPageToken string            `json:"nextPageToken"`
		TimeZone      string            `json:"timeZone"`
	}
	if err := c.HTTP().GetJSON(ctx, path, q, &p); err != nil {
		return nil, err
	}
	if p.Items == nil {
		p.Items = []json.RawMessage{}
	}
	return page{p.Items, p.NextPageToken, p.TimeZone}, nil
}

type calendarsIn struct {
	MaxResults    int    `json:"max_results"`
	PageToken     string `json:"page_token"`
	MinAccessRole string `json:"min_access_role"`
}

func listCalendars(ctx context.Context, c *provider.Call, in calendarsIn) (any, error) {
	q := url.Values{}
	set(q, "maxResults", in.MaxResults)
	set(q, "pageToken", in.PageToken)
	set(q, "minAccessRole", in.MinAccessRole)
	return getPage(ctx, c, api+"/users/me/calendarList", q)
}

type eventsIn struct {
	CalendarID   string `json:"calendar_id"`
	TimeMin      string `json:"time_min"`
	TimeMax      string `json:"time_max"`
	Q            string `json:"q"`
	SingleEvents bool   `json:"single_events"`
	OrderBy      string `json:"order_by"`
	MaxResults   int    `json:"max_results"`
	PageToken    string `json:"page_token"`
}

func listEvents(ctx context.Context, c *provider.Call, in eventsIn) (any, error) {
	if in.CalendarID != "" {
		if _, err := provider.PathSegment("calendar_id", in.CalendarID); err != nil {
			return nil, err
		}
	}
	if in.OrderBy == "startTime" && !in.SingleEvents {
		return nil, provider.UserError("order_by", "startTime ordering needs single_events")
	}
	q := url.Values{}
	set(q, "timeMin", in.TimeMin)
	set(q, "timeMax", in.TimeMax)
	set(q, "q", in.Q)
	if in.SingleEvents {
		q.Set("singleEvents", "true")
	}
	set(q, "orderBy", in.OrderBy)
	set(q, "maxResults", in.MaxResults)
	set(q, "pageToken", in.PageToken)
	return getPage(ctx, c, calPath(in.CalendarID)+"/events", q)
}

// set adds a non-zero string or int to q.
func set[T string | int](q url.Values, key string, v T) {
	var zero T
	if v == zero {
		return
	}
	switch x := any(v).(type) {
	case string:
		q.Set(key, x)
	case int:
		q.Set(key, strconv.Itoa(x))
	}
}

type timeIn struct {
	DateTime string `json:"date_time"`
	Date     string `json:"date"`
	TimeZone string `json:"time_zone"`
}

type eventIn struct {
	CalendarID  string   `json:"calendar_id"`
	EventID     string   `json:"event_id"`
	Summary     string   `json:"summary"`
	Description string   `json:"description"`
	Location    string   `json:"location"`
	Start       *timeIn  `json:"start"`
	End         *timeIn  `json:"end"`
	Attendees   []string `json:"attendees"`
	SendUpdates string   `json:"send_updates"`
}

type eventTime struct {
	DateTime string `json:"dateTime,omitempty"`
	Date     string `json:"date,omitempty"`
	TimeZone string `json:"timeZone,omitempty"`
}

type attendee struct {
	Email string `json:"email"`
}

type event struct {
	Summary     string     `json:"summary,omitempty"`
	Description string     `json:"description,omitempty"`
	Location    string     `json:"location,omitempty"`
	Start       *eventTime `json:"start,omitempty"`
	End         *eventTime `json:"end,omitempty"`
	Attendees   []attendee `json:"attendees,omitempty"`
}

func toEventTime(field string, t *timeIn) (*eventTime, error) {
	if t == nil {
		return nil, nil
	}
	if (t.DateTime == "") == (t.Date == "") {
		return nil, provider.UserError(field, "needs exactly one of date_time (timed event) or date (all-day event)")
	}
	return &eventTime{DateTime: t.DateTime, Date: t.Date, TimeZone: t.TimeZone}, nil
}

func (in eventIn) body() (*event, error) {
	if in.CalendarID != "" {
		if _, err := provider.PathSegment("calendar_id", in.CalendarID); err != nil {
			return nil, err
		}
	}
	if in.EventID != "" {
		if _, err := provider.PathSegment("event_id", in.EventID); err != nil {
			return nil, err
		}
	}
	start, err := toEventTime("start", in.Start)
	if err != nil {
		return nil, err
	}
	end, err := toEventTime("end", in.End)
	if err != nil {
		return nil, err
	}
	ev := event{Summary: in.Summary, Description: in.Description, Location: in.Location, Start: start, End: end}
	for _, a := range in.Attendees {
		ev.Attendees = append(ev.Attendees, attendee{Email: a})
	}
	return &ev, nil
}

func (in eventIn) query() url.Values {
	q := url.Values{}
	set(q, "sendUpdates", in.SendUpdates)
	return q
}

func createEvent(ctx context.Context, c *provider.Call, in eventIn) (any, error) {
	if in.EventID != "" {
		return nil, provider.UserError("event_id", "is chosen by Google on create; use update_event to change an event")
	}
	body, err := in.body()
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = c.HTTP().SendJSON(ctx, http.MethodPost, calPath(in.CalendarID)+"/events", in.query(), body, &out)
	return out, err
}

func updateEvent(ctx context.Context, c *provider.Call, in eventIn) (any, error) {
	body, err := in.body()
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = c.HTTP().SendJSON(ctx, http.MethodPatch, calPath(in.CalendarID)+"/events/"+url.PathEscape(in.EventID), in.query(), body, &out)
	return out, err
}

type deleteIn struct {
	CalendarID  string `json:"calendar_id"`
	EventID     string `json:"event_id"`
	SendUpdates string `json:"send_updates"`
}

func deleteEvent(ctx context.Context, c *provider.Call, in deleteIn) (any, error) {
	if in.CalendarID != "" {
		if _, err := provider.PathSegment("calendar_id", in.CalendarID); err != nil {
			return nil, err
		}
	}
	if _, err := provider.PathSegments("event_id", in.EventID); err != nil {
		return nil, err
	}
	q := url.Values{}
	set(q, "sendUpdates", in.SendUpdates)
	if err := c.HTTP().Send(ctx, http.MethodDelete, calPath(in.CalendarID)+"/events/"+url.PathEscape(in.EventID), q, "", nil, nil); err != nil {
		return nil, err
	}
	return map[string]any{"deleted": true, "event_id": in.EventID}, nil
}
