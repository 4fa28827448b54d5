package gmail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// Bounds of one poll: list pages read, and messages fetched (oldest
// first; the next poll goes on from the newest fetched).
const (
	pollPages    = 5
	pollMessages = 100
)

// The new-email trigger polls users.messages.list with the tenant's query
// and "after:<unix seconds>", then reads each new message's metadata
// (users.messages.get format=metadata: From, To, Subject, Date). Its
// state is the newest internalDate seen, in seconds, Gmail's precision
// for after:; the first poll only records the time it ran. The list is
// newest first and carries ids only, so a poll with many new messages
// reads the oldest ones first.
func withTriggers(b *provider.Builder) *provider.Builder {
	return b.Trigger(provider.TriggerDef{
		Name:        "new_email",
		DisplayName: "New email matching a search",
		Description: "An email arrived that matches a Gmail search query (from:, subject:, label:, has:attachment, ...).",
		Kind:        provider.TriggerPolling,
		Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
			"query":{"type":"string","maxLength":1000,"description":"Gmail search query; every new message when empty."},
			"include_spam_trash":{"type":"boolean"}}}`),
		Output: provider.SortedSchema(`{"type":"object","required":["id","threadId"],"properties":{
			"id":{"type":"string"},"threadId":{"type":"string"},"labelIds":{"type":"array","items":{"type":"string"}},
			"snippet":{"type":"string"},"internalDate":{"type":"string"},"sizeEstimate":{"type":"integer"},
			"from":{"type":"string"},"to":{"type":"string"},"subject":{"type":"string"},"date":{"type":"string"},
			"payload":{"type":"object"}}}`),
		Sample: json.RawMessage(`{"id":"18c2a1b3d4e5f607","threadId":"18c2a1b3d4e5f607","labelIds":["INBOX","UNREAD"],"snippet":"Your invoice is attached","internalDate":"1767323045000","from":"Billing <billing@example.com>","to":"me@example.com","subject":"Invoice 42","date":"Fri, 02 Jan 2026 03:04:05 +0000"}`),
		Poll:   pollNewEmail,
	})
}

type newEmailInput struct {
	Query            string `json:"query"`
	IncludeSpamTrash bool   `json:"include_spam_trash"`
}

type newEmailState struct {
	// Since is the newest internalDate seen, in Unix seconds.
	Since int64 `json:"since"`
}

type metaMessage struct {
	ID           string   `json:"id"`
	ThreadID     string   `json:"threadId"`
	LabelIDs     []string `json:"labelIds"`
	Snippet      string   `json:"snippet"`
	InternalDate string   `json:"internalDate"`
	SizeEstimate int64    `json:"sizeEstimate"`
	Payload      struct {
		Headers []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"headers"`
	} `json:"payload"`
}

func pollNewEmail(ctx context.Context, req provider.TriggerRequest, state json.RawMessage) (provider.PollResult, error) {
	var in newEmailInput
	_ = json.Unmarshal(req.Input, &in)
	var st newEmailState
	if len(state) > 0 {
		if err := json.Unmarshal(state, &st); err != nil {
			return provider.PollResult{}, fmt.Errorf("google-mail: poll state: %w", err)
		}
	}
	if st.Since == 0 {
		st.Since = time.Now().Unix()
		raw, err := json.Marshal(st)
		return provider.PollResult{State: raw}, err
	}
	query := "after:" + strconv.FormatInt(st.Since, 10)
	if in.Query != "" {
		query = "(" + in.Query + ") " + query
	}
	hc := provider.Client(ctx, httpOptions)
	var ids []string
	token := ""
	for page := 0; page < pollPages; page++ {
		q := url.Values{"q": {query}, "maxResults": {"100"}}
		if in.IncludeSpamTrash {
			q.Set("includeSpamTrash", "true")
		}
		if token != "" {
			q.Set("pageToken", token)
		}
		var res struct {
			Messages []struct {
				ID string `json:"id"`
			} `json:"messages"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := hc.GetJSON(ctx, userPath+"/messages", q, &res); err != nil {
			return provider.PollResult{}, err
		}
		for _, m := range res.Messages {
			ids = append(ids, m.ID)
		}
		token = res.NextPageToken
		if token == "" {
			break
		}
	}
	slices.Reverse(ids) // oldest first
	if len(ids) > pollMessages {
		ids = ids[:pollMessages]
	}
	var out provider.PollResult
	next := st.Since
	for _, id := range ids {
		seg, err := provider.PathSegment("id", id)
		if err != nil {
			continue
		}
		q := url.Values{"format": {"metadata"}, "metadataHeaders": {"From", "To", "Subject", "Date"}}
		var raw json.RawMessage
		if err := hc.GetJSON(ctx, userPath+"/messages/"+seg, q, &raw); err != nil {
			var he *provider.HTTPError
			if errors.As(err, &he) && he.Status == 404 {
				continue // deleted since it was listed
			}
			return provider.PollResult{}, err
		}
		var m metaMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return provider.PollResult{}, fmt.Errorf("google-mail: message %s: %w", id, err)
		}
		ms, _ := strconv.ParseInt(m.InternalDate, 10, 64)
		at := time.UnixMilli(ms).UTC()
		ev := map[string]any{"id": m.ID, "threadId": m.ThreadID, "labelIds": m.LabelIDs, "snippet": m.Snippet,
			"internalDate": m.InternalDate, "sizeEstimate": m.SizeEstimate, "payload": map[string]any{"headers": m.Payload.Headers}}
		for _, h := range m.Payload.Headers {
			switch h.Name {
			case "From", "To", "Subject", "Date":
				ev[strings.ToLower(h.Name)] = h.Value
			}
		}
		payload, err := json.Marshal(ev)
		if err != nil {
			return provider.PollResult{}, err
		}
		out.Events = append(out.Events, provider.Event{ID: m.ID, OccurredAt: at, Payload: payload})
		if s := ms / 1000; s > next {
			next = s
		}
	}
	st.Since = next
	raw, err := json.Marshal(st)
	out.State = raw
	return out, err
}
