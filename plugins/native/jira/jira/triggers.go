package jira

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// caller is what a call to the site's API needs: *provider.Call for
// actions, triggerCall for triggers.
type caller interface {
	HTTP() *provider.HTTPClient
	Credentials() provider.Credentials
	Log(level, msg string)
}

// triggerCall is a trigger call seen as a caller.
type triggerCall struct{ ctx context.Context }

func (t triggerCall) HTTP() *provider.HTTPClient { return provider.Client(t.ctx, httpOptions) }

func (t triggerCall) Credentials() provider.Credentials {
	cr, _ := provider.CredentialsFrom(t.ctx)
	return cr
}

func (t triggerCall) Log(level, msg string) { provider.HostFrom(t.ctx).Log(t.ctx, level, msg) }

// Bounds of one poll.
const (
	pollPages = 5
	// jqlMargin widens the JQL time bound: JQL reads "yyyy/MM/dd HH:mm"
	// in the user's time zone (UTC-12 to UTC+14) to the minute, so the
	// query reaches back far enough for any zone and the exact created
	// time of each issue decides.
	jqlMargin = 15 * time.Hour
)

// jiraTime is the layout of Jira's timestamps ("2026-01-02T03:04:05.000+0000").
const jiraTime = "2006-01-02T15:04:05.000-0700"

// The new-issue trigger polls the JQL search (GET /rest/api/3/search/jql)
// for issues matching the tenant's JQL created at or after the newest
// creation time seen, newest first, stopping at the first older issue.
// Its state is that time; the first poll only records the time it ran.
// A poll reads at most five pages of 100 issues.
func withTriggers(b *provider.Builder) *provider.Builder {
	return b.Trigger(provider.TriggerDef{
		Name:        "new_issue",
		DisplayName: "New issue matching JQL",
		Description: "An issue was created that matches a JQL query (e.g. project = ENG AND issuetype = Bug).",
		Kind:        provider.TriggerPolling,
		Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
			"jql":{"type":"string","maxLength":2000,"description":"JQL filter without ORDER BY; every new issue the user can see when empty."}}}`),
		Output: provider.SortedSchema(`{"type":"object","required":["id","key","fields"],"properties":{
			"id":{"type":"string"},"key":{"type":"string"},"self":{"type":"string"},"fields":{"type":"object"}}}`),
		Sample: json.RawMessage(`{"id":"10002","key":"ENG-3","self":"https://api.atlassian.com/ex/jira/11223344-a1b2-3b33-c444-def123456789/rest/api/3/issue/10002","fields":{"summary":"Crash on start","status":{"name":"To Do"},"issuetype":{"name":"Bug"},"project":{"key":"ENG"},"created":"2026-01-02T03:04:05.000+0000"}}`),
		Poll:   pollNewIssues,
	})
}

type newIssueInput struct {
	JQL string `json:"jql"`
}

type newIssueState struct {
	Since time.Time `json:"since"`
}

func pollNewIssues(ctx context.Context, req provider.TriggerRequest, state json.RawMessage) (provider.PollResult, error) {
	var in newIssueInput
	_ = json.Unmarshal(req.Input, &in)
	var st newIssueState
	if len(state) > 0 {
		if err := json.Unmarshal(state, &st); err != nil {
			return provider.PollResult{}, fmt.Errorf("jira: poll state: %w", err)
		}
	}
	if st.Since.IsZero() {
		st.Since = time.Now().UTC().Truncate(time.Millisecond)
		raw, err := json.Marshal(st)
		return provider.PollResult{State: raw}, err
	}
	jql := `created >= "` + st.Since.Add(-jqlMargin).UTC().Format("2006/01/02 15:04") + `" ORDER BY created DESC`
	if in.JQL != "" {
		jql = "(" + in.JQL + ") AND " + jql
	}
	tc := triggerCall{ctx}
	var out provider.PollResult
	next := st.Since
	token := ""
pages:
	for page := 0; page < pollPages; page++ {
		q := url.Values{"jql": {jql}, "maxResults": {"100"},
			"fields": {"summary,status,issuetype,priority,assignee,reporter,project,labels,created,updated"}}
		if token != "" {
			q.Set("nextPageToken", token)
		}
		var res struct {
			Issues []struct {
				ID     string `json:"id"`
				Fields struct {
					Created string `json:"created"`
				} `json:"fields"`
			} `json:"issues"`
			NextPageToken string `json:"nextPageToken"`
			IsLast        bool   `json:"isLast"`
		}
		var raws struct {
			Issues []json.RawMessage `json:"issues"`
		}
		var body json.RawMessage
		if _, err := send(ctx, tc, http.MethodGet, "/search/jql", q, nil, &body); err != nil {
			return provider.PollResult{}, err
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return provider.PollResult{}, fmt.Errorf("jira: search: %w", err)
		}
		_ = json.Unmarshal(body, &raws)
		for i, is := range res.Issues {
			at, err := time.Parse(jiraTime, is.Fields.Created)
			if err != nil || is.ID == "" {
				continue
			}
			if at.Before(st.Since) {
				break pages // newest first: the rest is older
			}
			out.Events = append(out.Events, provider.Event{ID: is.ID, OccurredAt: at.UTC(), Payload: raws.Issues[i]})
			if at.After(next) {
				next = at
			}
		}
		token = res.NextPageToken
		if token == "" || res.IsLast {
			break
		}
	}
	st.Since = next.UTC()
	raw, err := json.Marshal(st)
	out.State = raw
	return out, err
}
