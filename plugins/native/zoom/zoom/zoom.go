// Package zoom is the Zoom provider over the Zoom Meeting API v2
// (https://developers.zoom.us/docs/api/meetings/), built only on the
// public SDK: the user, meetings and cloud recordings of the connected
// account ("me"). Listings page with page_size/next_page_token; Zoom's
// error body {"code","message","errors":[{"field","message"}]} becomes a
// diagnostic naming the field.
package zoom

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is the Zoom API base, used when the host supplies none. Paths
// are relative to it.
const BaseURL = "https://api.zoom.us/v2"

// New returns the Zoom provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "zoom",
		Name:         "Zoom",
		Version:      Version,
		Description:  "Schedule and list Zoom meetings and cloud recordings.",
		Categories:   []string{"communication", "video"},
		AllowedHosts: []string{"api.zoom.us"},
	}).
		HTTP(provider.HTTPOptions{
			BaseURL:     BaseURL,
			UserAgent:   "atom-provider-zoom/" + Version,
			DecodeError: decodeError,
		}).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the connected user (GET /users/me).",
			Output:      provider.Schema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"id":{"type":"string"},"email":{"type":"string"},"account_id":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_meetings",
			DisplayName: "List meetings",
			Description: "Lists the user's meetings of a kind, one page at a time.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"properties":{
				"type":{"type":"string","enum":["scheduled","live","upcoming","upcoming_meetings","previous_meetings"]},
				"page_size":{"type":"integer","minimum":1,"maximum":300},
				"next_page_token":{"type":"string"}}}`),
			Output: provider.Schema(`{"type":"object","required":["meetings"],"properties":{"meetings":{"type":"array","items":{"type":"object"}},"next_page_token":{"type":"string"},"total_records":{"type":"integer"}}}`),
			Handle: provider.Typed(listMeetings),
		}).
		Action(provider.ActionDef{
			Name:        "get_meeting",
			DisplayName: "Get meeting",
			Description: "Reads a meeting, including its join URL and settings.",
			Input:       provider.Schema(`{"type":"object","additionalProperties":false,"required":["meeting_id"],"properties":{"meeting_id":{"type":"string","pattern":"^[0-9]+$"}}}`),
			Output:      provider.Schema(meetingSchema),
			Handle:      provider.Typed(getMeeting),
		}).
		Action(provider.ActionDef{
			Name:        "create_meeting",
			DisplayName: "Create meeting",
			Description: "Schedules a meeting (or starts an instant one when start_time is empty).",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["topic"],"properties":{
				"topic":{"type":"string","minLength":1,"maxLength":200},
				"start_time":{"type":"string","format":"date-time"},
				"duration":{"type":"integer","minimum":1},
				"timezone":{"type":"string"},
				"agenda":{"type":"string","maxLength":2000},
				"password":{"type":"string","maxLength":10},
				"waiting_room":{"type":"boolean"},
				"join_before_host":{"type":"boolean"}}}`),
			Output: provider.Schema(meetingSchema),
			Handle: provider.Typed(createMeeting),
		}).
		Action(provider.ActionDef{
			Name:        "delete_meeting",
			DisplayName: "Delete meeting",
			Description: "Deletes a meeting, optionally e-mailing registrants.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["meeting_id"],"properties":{
				"meeting_id":{"type":"string","pattern":"^[0-9]+$"},
				"occurrence_id":{"type":"string"},
				"cancel_meeting_reminder":{"type":"boolean"}}}`),
			Output: provider.Schema(`{"type":"object","required":["deleted"],"properties":{"deleted":{"type":"boolean"},"meeting_id":{"type":"string"}}}`),
			Handle: provider.Typed(deleteMeeting),
		}).
		Action(provider.ActionDef{
			Name:        "list_recordings",
			DisplayName: "List cloud recordings",
			Description: "Lists the user's cloud recordings in a date range (at most one month), one page at a time.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"properties":{
				"from":{"type":"string","format":"date"},
				"to":{"type":"string","format":"date"},
				"page_size":{"type":"integer","minimum":1,"maximum":300},
				"next_page_token":{"type":"string"}}}`),
			Output: provider.Schema(`{"type":"object","required":["meetings"],"properties":{"meetings":{"type":"array","items":{"type":"object"}},"next_page_token":{"type":"string"},"from":{"type":"string"},"to":{"type":"string"}}}`),
			Handle: provider.Typed(listRecordings),
		})
}

const meetingSchema = `{"type":"object","properties":{"id":{"type":"integer"},"uuid":{"type":"string"},"topic":{"type":"string"},"start_time":{"type":"string"},"duration":{"type":"integer"},"join_url":{"type":"string"},"start_url":{"type":"string"},"settings":{"type":"object"}}}`

// decodeError reads Zoom's error body.
func decodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Code    json.Number `json:"code"`
		Message string      `json:"message"`
		Errors  []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &v) != nil || v.Message == "" {
		if t := bytes.TrimSpace(body); len(t) > 0 && len(t) < 300 && t[0] != '<' {
			e.Message = string(t)
		}
		return
	}
	e.Message, e.Code = v.Message, v.Code.String()
	if len(v.Errors) > 0 {
		e.Field = v.Errors[0].Field
		if v.Errors[0].Message != "" {
			e.Message += " " + v.Errors[0].Field + ": " + v.Errors[0].Message
		}
	}
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var u struct {
		ID        string `json:"id"`
		Email     string `json:"email"`
		AccountID string `json:"account_id"`
	}
	if err := c.HTTP().GetJSON(ctx, "users/me", nil, &u); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "id": u.ID, "email": u.Email, "account_id": u.AccountID}, nil
}

type pageIn struct {
	Type          string `json:"type"`
	From          string `json:"from"`
	To            string `json:"to"`
	PageSize      int    `json:"page_size"`
	NextPageToken string `json:"next_page_token"`
}

func (in pageIn) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"type": in.Type, "from": in.From, "to": in.To, "next_page_token": in.NextPageToken} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if in.PageSize != 0 {
		q.Set("page_size", strconv.Itoa(in.PageSize))
	}
	return q
}

type page struct {
	Meetings      []json.RawMessage `json:"meetings"`
	NextPageToken string            `json:"next_page_token,omitempty"`
	TotalRecords  *int              `json:"total_records,omitempty"`
	From          string            `json:"from,omitempty"`
	To            string            `json:"to,omitempty"`
}

func list(ctx context.Context, c *provider.Call, path string, in pageIn) (any, error) {
	var p page
	if err := c.HTTP().GetJSON(ctx, path, in.query(), &p); err != nil {
		return nil, err
	}
	if p.Meetings == nil {
		p.Meetings = []json.RawMessage{}
	}
	return p, nil
}

func listMeetings(ctx context.Context, c *provider.Call, in pageIn) (any, error) {
	in.From, in.To = "", ""
	return list(ctx, c, "users/me/meetings", in)
}

func listRecordings(ctx context.Context, c *provider.Call, in pageIn) (any, error) {
	in.Type = ""
	return list(ctx, c, "users/me/recordings", in)
}

type meetingIn struct {
	MeetingID string `json:"meeting_id"`
}

func meetingPath(id string) string { return "meetings/" + url.PathEscape(id) }

func getMeeting(ctx context.Context, c *provider.Call, in meetingIn) (any, error) {
	if _, err := provider.PathSegments("meeting_id", in.MeetingID); err != nil {
		return nil, err
	}
	var out json.RawMessage
	if err := c.HTTP().GetJSON(ctx, meetingPath(in.MeetingID), nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

type createIn struct {
	Topic          string `json:"topic"`
	StartTime      string `json:"start_time"`
	Duration       int    `json:"duration"`
	Timezone       string `json:"timezone"`
	Agenda         string `json:"agenda"`
	Password       string `json:"password"`
	WaitingRoom    *bool  `json:"waiting_room"`
	JoinBeforeHost *bool  `json:"join_before_host"`
}

type settings struct {
	WaitingRoom    *bool `json:"waiting_room,omitempty"`
	JoinBeforeHost *bool `json:"join_before_host,omitempty"`
}

type createBody struct {
	Topic     string    `json:"topic"`
	Type      int       `json:"type"`
	StartTime string    `json:"start_time,omitempty"`
	Duration  int       `json:"duration,omitempty"`
	Timezone  string    `json:"timezone,omitempty"`
	Agenda    string    `json:"agenda,omitempty"`
	Password  string    `json:"password,omitempty"`
	Settings  *settings `json:"settings,omitempty"`
}

// Meeting types in Zoom's API.
const (
	instantMeeting   = 1
	scheduledMeeting = 2
)

func createMeeting(ctx context.Context, c *provider.Call, in createIn) (any, error) {
	b := createBody{Topic: in.Topic, Type: instantMeeting, StartTime: in.StartTime, Duration: in.Duration,
		Timezone: in.Timezone, Agenda: in.Agenda, Password: in.Password}
	if in.StartTime != "" {
		b.Type = scheduledMeeting
	}
	if in.WaitingRoom != nil || in.JoinBeforeHost != nil {
		b.Settings = &settings{WaitingRoom: in.WaitingRoom, JoinBeforeHost: in.JoinBeforeHost}
	}
	var out json.RawMessage
	if err := c.HTTP().PostJSON(ctx, "users/me/meetings", b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

type deleteIn struct {
	MeetingID             string `json:"meeting_id"`
	OccurrenceID          string `json:"occurrence_id"`
	CancelMeetingReminder bool   `json:"cancel_meeting_reminder"`
}

func deleteMeeting(ctx context.Context, c *provider.Call, in deleteIn) (any, error) {
	if _, err := provider.PathSegments("meeting_id", in.MeetingID); err != nil {
		return nil, err
	}
	q := url.Values{}
	if in.OccurrenceID != "" {
		q.Set("occurrence_id", in.OccurrenceID)
	}
	if in.CancelMeetingReminder {
		q.Set("cancel_meeting_reminder", "true")
	}
	if err := c.HTTP().Send(ctx, http.MethodDelete, meetingPath(in.MeetingID), q, "", nil, nil); err != nil {
		return nil, err
	}
	return map[string]any{"deleted": true, "meeting_id": in.MeetingID}, nil
}
