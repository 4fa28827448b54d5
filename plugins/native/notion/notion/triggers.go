package notion

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// pollPages bounds the query pages one poll reads; the next poll goes on
// from the newest edit time seen.
const pollPages = 5

// The updated-page trigger polls a database
// (POST /v1/databases/{id}/query) filtered on last_edited_time on or after
// the newest edit time seen and sorted on it ascending, 100 a page. Notion
// rounds last_edited_time down to the minute, so the filter repeats the
// last minute's pages and the event id, the page id with its edit time,
// tells an edit already reported from a new one. The first poll only
// records the time it ran.
func withTriggers(b *provider.Builder) *provider.Builder {
	return b.Trigger(provider.TriggerDef{
		Name:        "updated_page_in_database",
		DisplayName: "Updated page in database",
		Description: "A page (database item) was created or edited in a database.",
		Kind:        provider.TriggerPolling,
		Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["database_id"],"properties":{
			"database_id":{"type":"string","minLength":1,"maxLength":100,"description":"The database's id (shared with the integration)."}}}`),
		Output: provider.SortedSchema(`{"type":"object","required":["object","id","last_edited_time"],"properties":{
			"object":{"const":"page"},"id":{"type":"string"},"created_time":{"type":"string"},"last_edited_time":{"type":"string"},
			"archived":{"type":"boolean"},"properties":{"type":"object"},"parent":{"type":"object"},"url":{"type":"string"}}}`),
		Sample: json.RawMessage(`{"object":"page","id":"59833787-2cf9-4fdf-8782-e53db20768a5","created_time":"2026-01-02T03:04:00.000Z","last_edited_time":"2026-01-02T03:04:00.000Z","archived":false,"parent":{"type":"database_id","database_id":"d9824bdc-8445-4327-be8b-5b47500af6ce"},"properties":{"Name":{"id":"title","type":"title","title":[{"plain_text":"Tuscan kale"}]}},"url":"https://www.notion.so/Tuscan-kale-598337872cf94fdf8782e53db20768a5"}`),
		Poll:   pollUpdatedPages,
	})
}

type updatedPagesInput struct {
	DatabaseID string `json:"database_id"`
}

type updatedPagesState struct {
	Since time.Time `json:"since"`
}

func pollUpdatedPages(ctx context.Context, req provider.TriggerRequest, state json.RawMessage) (provider.PollResult, error) {
	var in updatedPagesInput
	_ = json.Unmarshal(req.Input, &in)
	id, err := provider.PathSegment("database_id", in.DatabaseID)
	if err != nil {
		return provider.PollResult{}, err
	}
	var st updatedPagesState
	if len(state) > 0 {
		if err := json.Unmarshal(state, &st); err != nil {
			return provider.PollResult{}, fmt.Errorf("notion: poll state: %w", err)
		}
	}
	if st.Since.IsZero() {
		// Pages edited during the minute the trigger starts are reported:
		// Notion's times carry no finer grain.
		st.Since = time.Now().UTC().Truncate(time.Minute)
		raw, err := json.Marshal(st)
		return provider.PollResult{State: raw}, err
	}
	hc := withToken(provider.Client(ctx, httpOptions), req.Credentials)
	var out provider.PollResult
	next := st.Since
	cursor := ""
	for page := 0; page < pollPages; page++ {
		body := map[string]any{
			"filter":    map[string]any{"timestamp": "last_edited_time", "last_edited_time": map[string]any{"on_or_after": st.Since.UTC().Format(time.RFC3339)}},
			"sorts":     []any{map[string]any{"timestamp": "last_edited_time", "direction": "ascending"}},
			"page_size": 100,
		}
		if cursor != "" {
			body["start_cursor"] = cursor
		}
		var res struct {
			Results    []json.RawMessage `json:"results"`
			HasMore    bool              `json:"has_more"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := hc.SendJSON(ctx, http.MethodPost, "/v1/databases/"+id+"/query", nil, body, &res); err != nil {
			return provider.PollResult{}, err
		}
		for _, raw := range res.Results {
			var p struct {
				ID             string    `json:"id"`
				LastEditedTime time.Time `json:"last_edited_time"`
			}
			if err := json.Unmarshal(raw, &p); err != nil || p.ID == "" {
				continue
			}
			out.Events = append(out.Events, provider.Event{ID: p.ID + "@" + p.LastEditedTime.UTC().Format(time.RFC3339), OccurredAt: p.LastEditedTime, Payload: raw})
			if p.LastEditedTime.After(next) {
				next = p.LastEditedTime
			}
		}
		cursor = res.NextCursor
		if !res.HasMore || cursor == "" {
			break
		}
	}
	st.Since = next.UTC()
	raw, err := json.Marshal(st)
	out.State = raw
	return out, err
}
