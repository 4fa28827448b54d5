package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// pollPages bounds the search pages one poll reads; the next poll goes on
// from the newest time seen.
const pollPages = 5

// The contact trigger polls the CRM search API
// (POST /crm/v3/objects/contacts/search) for contacts whose
// lastmodifieddate (createdate with only_new) is at or after the newest
// one seen, sorted ascending, 100 a page. Its state is that time in Unix
// milliseconds; the first poll only records the time it ran, so enabling
// the trigger does not report the existing contacts. An update is a new
// event: the id is the contact's id and its modification time.
func withTriggers(b *provider.Builder) *provider.Builder {
	return b.Trigger(provider.TriggerDef{
		Name:        "new_or_updated_contact",
		DisplayName: "New or updated contact",
		Description: "A contact was created or changed (or only created, with only_new).",
		Kind:        provider.TriggerPolling,
		Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
			"only_new":{"type":"boolean","description":"Report created contacts only, not updates."},
			"properties":{"type":"array","maxItems":50,"uniqueItems":true,"description":"Contact properties to return besides email, firstname, lastname, createdate and lastmodifieddate.",
				"items":{"type":"string","pattern":"^[a-z0-9_]{1,100}$"}}}}`),
		Output: provider.SortedSchema(`{"type":"object","required":["id","properties"],"properties":{
			"id":{"type":"string"},"properties":{"type":"object"},"createdAt":{"type":"string"},"updatedAt":{"type":"string"},"archived":{"type":"boolean"}}}`),
		Sample: json.RawMessage(`{"id":"512","properties":{"email":"bh@hubspot.com","firstname":"Brian","lastname":"Halligan","createdate":"2026-01-02T03:04:05.000Z","lastmodifieddate":"2026-01-02T03:04:05.000Z","hs_object_id":"512"},"createdAt":"2026-01-02T03:04:05.000Z","updatedAt":"2026-01-02T03:04:05.000Z","archived":false}`),
		Poll:   pollContacts,
	})
}

type contactInput struct {
	OnlyNew    bool     `json:"only_new"`
	Properties []string `json:"properties"`
}

type contactState struct {
	// Since is the newest modification (or creation) time seen, in Unix
	// milliseconds.
	Since int64 `json:"since"`
}

// contact is the part of a search result the trigger reads; the event's
// payload is the result as HubSpot sent it.
type contact struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
	CreatedAt  time.Time         `json:"createdAt"`
	UpdatedAt  time.Time         `json:"updatedAt"`
}

func pollContacts(ctx context.Context, req provider.TriggerRequest, state json.RawMessage) (provider.PollResult, error) {
	var in contactInput
	_ = json.Unmarshal(req.Input, &in)
	var st contactState
	if len(state) > 0 {
		if err := json.Unmarshal(state, &st); err != nil {
			return provider.PollResult{}, fmt.Errorf("hubspot: poll state: %w", err)
		}
	}
	if st.Since == 0 {
		st.Since = time.Now().UnixMilli()
		raw, err := json.Marshal(st)
		return provider.PollResult{State: raw}, err
	}
	prop := "lastmodifieddate"
	if in.OnlyNew {
		prop = "createdate"
	}
	props := append([]string{"email", "firstname", "lastname", "createdate", "lastmodifieddate"}, in.Properties...)
	hc := provider.Client(ctx, httpOptions)
	var out provider.PollResult
	next := st.Since
	after := ""
	for page := 0; page < pollPages; page++ {
		body := map[string]any{
			"filterGroups": []any{map[string]any{"filters": []any{map[string]any{"propertyName": prop, "operator": "GTE", "value": strconv.FormatInt(st.Since, 10)}}}},
			"sorts":        []any{map[string]any{"propertyName": prop, "direction": "ASCENDING"}},
			"properties":   props,
			"limit":        100,
		}
		if after != "" {
			body["after"] = after
		}
		var res struct {
			Results []json.RawMessage `json:"results"`
			Paging  struct {
				Next struct {
					After string `json:"after"`
				} `json:"next"`
			} `json:"paging"`
		}
		if err := hc.SendJSON(ctx, http.MethodPost, "/crm/v3/objects/contacts/search", nil, body, &res); err != nil {
			return provider.PollResult{}, err
		}
		for _, raw := range res.Results {
			var c contact
			if err := json.Unmarshal(raw, &c); err != nil || c.ID == "" {
				continue
			}
			at, _ := time.Parse(time.RFC3339, c.Properties[prop])
			if at.IsZero() {
				at = c.UpdatedAt
				if in.OnlyNew {
					at = c.CreatedAt
				}
			}
			id := c.ID
			if !in.OnlyNew {
				id += "@" + strconv.FormatInt(at.UnixMilli(), 10)
			}
			out.Events = append(out.Events, provider.Event{ID: id, OccurredAt: at, Payload: raw})
			if ms := at.UnixMilli(); ms > next {
				next = ms
			}
		}
		after = res.Paging.Next.After
		if after == "" {
			break
		}
	}
	st.Since = next
	raw, err := json.Marshal(st)
	out.State = raw
	return out, err
}
