// Package jira is the Jira Cloud provider: projects, JQL search, issues
// and comments over the Jira REST API v3
// (https://developer.atlassian.com/cloud/jira/platform/rest/v3/), built
// only on the public SDK.
//
// Atlassian OAuth 2.0 (3LO) tokens are not bound to a site: calls go to
// https://api.atlassian.com/ex/jira/{cloudId}/rest/api/3/..., and the
// cloudId is found once with GET /oauth/token/accessible-resources (the
// site whose URL matches the connection's "subdomain" parameter, or the
// only one) and kept in the host store. A cached cloudId the gateway
// rejects is forgotten and looked up again once. Jira's error body
// {"errorMessages":[...],"errors":{"field":"message"}} becomes a
// diagnostic naming the field.
package jira

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is the Atlassian API gateway, used when the host supplies none.
const BaseURL = "https://api.atlassian.com"

var httpOptions = provider.HTTPOptions{
	BaseURL:     BaseURL,
	UserAgent:   "atom-provider-jira/" + Version,
	DecodeError: decodeError,
}

// New returns the Jira provider.
func New() *provider.Builder {
	return withTriggers(provider.New(provider.Manifest{
		ID:           "jira",
		Name:         "Jira",
		Version:      Version,
		Description:  "Issue tracking: projects, JQL search, issues and comments.",
		Categories:   []string{"productivity", "development"},
		AllowedHosts: []string{"api.atlassian.com", "*.atlassian.net"},
	}).
		HTTP(httpOptions).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Finds the connected site and reads the current user (GET /rest/api/3/myself).",
			Output: provider.SortedSchema(`{"type":"object","required":["ok","cloud_id"],"properties":{
				"ok":{"type":"boolean"},"cloud_id":{"type":"string"},"account_id":{"type":"string"},
				"display_name":{"type":"string"},"email":{"type":"string"}}}`),
			Handle: testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_projects",
			DisplayName: "List projects",
			Description: "Lists projects visible to the user, one page at a time (startAt/maxResults).",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"query":{"type":"string"},"start_at":{"type":"integer","minimum":0},
				"max_results":{"type":"integer","minimum":1,"maximum":100}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["projects","is_last"],"properties":{
				"projects":{"type":"array","items":{"type":"object"}},"total":{"type":"integer"},
				"is_last":{"type":"boolean"},"next_start_at":{"type":"integer"}}}`),
			Handle: provider.Typed(listProjects),
		}).
		Action(provider.ActionDef{
			Name:        "search_issues",
			DisplayName: "Search issues (JQL)",
			Description: "Finds issues with a JQL query, one page at a time (nextPageToken).",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["jql"],"properties":{
				"jql":{"type":"string","minLength":1},
				"fields":{"type":"array","items":{"type":"string"}},
				"max_results":{"type":"integer","minimum":1,"maximum":5000},
				"next_page_token":{"type":"string"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["issues"],"properties":{
				"issues":{"type":"array","items":{"type":"object"}},"next_page_token":{"type":"string"}}}`),
			Handle: provider.Typed(searchIssues),
		}).
		Action(provider.ActionDef{
			Name:        "get_issue",
			DisplayName: "Get issue",
			Description: "Returns an issue by id or key.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["issue"],"properties":{
				"issue":{"type":"string","minLength":1,"description":"Issue id or key, e.g. PROJ-12."},
				"fields":{"type":"array","items":{"type":"string"}}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id","key"],"properties":{"id":{"type":"string"},"key":{"type":"string"},"fields":{"type":"object"}}}`),
			Handle: provider.Typed(getIssue),
		}).
		Action(provider.ActionDef{
			Name:        "create_issue",
			DisplayName: "Create issue",
			Description: "Creates an issue. A plain-text description is converted to Atlassian Document Format.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["project_key","summary","issue_type"],"properties":{
				"project_key":{"type":"string","minLength":1},"summary":{"type":"string"},
				"issue_type":{"type":"string","minLength":1,"description":"Issue type name, e.g. Task or Bug."},
				"description":{"type":"string"},"labels":{"type":"array","items":{"type":"string"}},
				"assignee_account_id":{"type":"string"},"priority":{"type":"string"},
				"fields":{"type":"object","description":"Extra fields (custom fields) merged into the request."}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id","key"],"properties":{"id":{"type":"string"},"key":{"type":"string"},"self":{"type":"string"}}}`),
			Handle: provider.Typed(createIssue),
		}).
		Action(provider.ActionDef{
			Name:        "update_issue",
			DisplayName: "Update issue",
			Description: "Sets fields of an issue (summary, description, labels, assignee, priority or any field).",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["issue"],"properties":{
				"issue":{"type":"string","minLength":1},"summary":{"type":"string"},"description":{"type":"string"},
				"labels":{"type":"array","items":{"type":"string"}},"assignee_account_id":{"type":"string"},
				"priority":{"type":"string"},"fields":{"type":"object"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["ok","issue"],"properties":{"ok":{"type":"boolean"},"issue":{"type":"string"}}}`),
			Handle: provider.Typed(updateIssue),
		}).
		Action(provider.ActionDef{
			Name:        "add_comment",
			DisplayName: "Comment on issue",
			Description: "Adds a plain-text comment to an issue.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["issue","body"],"properties":{
				"issue":{"type":"string","minLength":1},"body":{"type":"string","minLength":1}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"self":{"type":"string"},"created":{"type":"string"}}}`),
			Handle: provider.Typed(addComment),
		}))
}

// decodeError reads Jira's {"errorMessages":[],"errors":{}} and the
// gateway's {"code","message"}.
func decodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
		Message       string            `json:"message"`
		Code          json.RawMessage   `json:"code"`
	}
	if json.Unmarshal(body, &v) != nil {
		e.Message = provider.ErrorText(body)
		return
	}
	keys := make([]string, 0, len(v.Errors))
	for k := range v.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var msgs []string
	msgs = append(msgs, v.ErrorMessages...)
	for _, k := range keys {
		msgs = append(msgs, k+": "+v.Errors[k])
	}
	if len(keys) > 0 {
		e.Field = keys[0]
	}
	e.Message = strings.Join(msgs, "; ")
	if e.Message == "" {
		e.Message = v.Message
	}
}

// site is an entry of accessible-resources.
type site struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

func storeKey(cr provider.Credentials) string {
	return "cloud_id:" + strings.ToLower(cr.Params["subdomain"])
}

// cloudID returns the connection's Jira site id, from the connection, the
// host store or accessible-resources.
func cloudID(ctx context.Context, c caller) (string, error) {
	cr := c.Credentials()
	for _, v := range []string{cr.Params["cloud_id"], cr.Params["cloudId"], cr.Metadata["cloud_id"], cr.Metadata["cloudId"]} {
		if v != "" {
			return v, nil
		}
	}
	id, err := provider.StoreCached(ctx, storeKey(cr), func(ctx context.Context) ([]byte, error) {
		var sites []site
		if err := c.HTTP().GetJSON(ctx, "/oauth/token/accessible-resources", nil, &sites); err != nil {
			return nil, err
		}
		s, err := pickSite(sites, cr.Params["subdomain"])
		if err != nil {
			return nil, err
		}
		c.Log(provider.LevelInfo, "jira: using site "+s.URL)
		return []byte(s.ID), nil
	})
	return string(id), err
}

func pickSite(sites []site, subdomain string) (site, error) {
	var jira []site
	for _, s := range sites {
		for _, sc := range s.Scopes {
			if strings.Contains(sc, "jira") {
				jira = append(jira, s)
				break
			}
		}
	}
	if subdomain != "" {
		want := strings.ToLower(strings.TrimSuffix(subdomain, ".atlassian.net"))
		for _, s := range jira {
			u, err := url.Parse(s.URL)
			if err == nil && (strings.EqualFold(u.Hostname(), want+".atlassian.net") || strings.EqualFold(s.Name, want)) {
				return s, nil
			}
		}
		return site{}, provider.UserError("subdomain", "the connection has no access to the Jira site "+want+".atlassian.net")
	}
	switch len(jira) {
	case 0:
		return site{}, provider.Errorf("the connection has no access to any Jira site")
	case 1:
		return jira[0], nil
	}
	return site{}, provider.UserError("subdomain", "the connection can reach several Jira sites: set the subdomain connection parameter")
}

// send calls the Jira REST API of the connection's site. When the
// gateway rejects a cached cloudId (404 or 401 after the SDK's refresh),
// it forgets it and retries once with a fresh lookup.
func send(ctx context.Context, c caller, method, path string, q url.Values, in, out any) (string, error) {
	for attempt := 0; ; attempt++ {
		id, err := cloudID(ctx, c)
		if err != nil {
			return "", err
		}
		err = c.HTTP().SendJSON(ctx, method, "/ex/jira/"+url.PathEscape(id)+"/rest/api/3"+path, q, in, out)
		var he *provider.HTTPError
		if attempt == 0 && errors.As(err, &he) && (he.Status == 404 || he.Status == 401) && siteGone(he) {
			c.Log(provider.LevelWarn, "jira: cached site id rejected, looking it up again")
			_ = provider.StoreForget(ctx, storeKey(c.Credentials()))
			continue
		}
		return id, err
	}
}

// siteGone reports whether a gateway error is about the site rather than
// the requested resource.
func siteGone(he *provider.HTTPError) bool {
	var v struct {
		ErrorMessages []string `json:"errorMessages"`
	}
	return json.Unmarshal(he.Body, &v) != nil || len(v.ErrorMessages) == 0 && !strings.Contains(string(he.Body), `"errors"`)
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var me struct {
		AccountID    string `json:"accountId"`
		DisplayName  string `json:"displayName"`
		EmailAddress string `json:"emailAddress"`
	}
	id, err := send(ctx, c, http.MethodGet, "/myself", nil, nil, &me)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "cloud_id": id, "account_id": me.AccountID, "display_name": me.DisplayName, "email": me.EmailAddress}, nil
}

type projectsIn struct {
	Query      string `json:"query"`
	StartAt    int    `json:"start_at"`
	MaxResults int    `json:"max_results"`
}

func listProjects(ctx context.Context, c *provider.Call, in projectsIn) (any, error) {
	q := url.Values{"startAt": {strconv.Itoa(in.StartAt)}}
	if in.MaxResults > 0 {
		q.Set("maxResults", strconv.Itoa(in.MaxResults))
	}
	if in.Query != "" {
		q.Set("query", in.Query)
	}
	var page struct {
		Values     []json.RawMessage `json:"values"`
		StartAt    int               `json:"startAt"`
		MaxResults int               `json:"maxResults"`
		Total      int               `json:"total"`
		IsLast     bool              `json:"isLast"`
	}
	if _, err := send(ctx, c, http.MethodGet, "/project/search", q, nil, &page); err != nil {
		return nil, err
	}
	out := provider.ListOutput("projects", page.Values)
	out["total"], out["is_last"] = page.Total, page.IsLast
	if !page.IsLast {
		out["next_start_at"] = page.StartAt + len(page.Values)
	}
	return out, nil
}

type searchIn struct {
	JQL           string   `json:"jql"`
	Fields        []string `json:"fields"`
	MaxResults    int      `json:"max_results"`
	NextPageToken string   `json:"next_page_token"`
}

func searchIssues(ctx context.Context, c *provider.Call, in searchIn) (any, error) {
	q := url.Values{"jql": {in.JQL}}
	fields := in.Fields
	if len(fields) == 0 {
		fields = []string{"summary", "status", "assignee", "issuetype", "priority", "updated"}
	}
	q.Set("fields", strings.Join(fields, ","))
	if in.MaxResults > 0 {
		q.Set("maxResults", strconv.Itoa(in.MaxResults))
	}
	if in.NextPageToken != "" {
		q.Set("nextPageToken", in.NextPageToken)
	}
	var page struct {
		Issues        []json.RawMessage `json:"issues"`
		NextPageToken string            `json:"nextPageToken"`
		IsLast        bool              `json:"isLast"`
	}
	if _, err := send(ctx, c, http.MethodGet, "/search/jql", q, nil, &page); err != nil {
		return nil, err
	}
	out := provider.ListOutput("issues", page.Issues)
	if page.NextPageToken != "" && !page.IsLast {
		out["next_page_token"] = page.NextPageToken
	}
	return out, nil
}

func issuePath(key, rest string) (string, error) {
	seg, err := provider.PathSegment("issue", key)
	if err != nil {
		return "", err
	}
	return "/issue/" + seg + rest, nil
}

type getIn struct {
	Issue  string   `json:"issue"`
	Fields []string `json:"fields"`
}

func getIssue(ctx context.Context, c *provider.Call, in getIn) (any, error) {
	p, err := issuePath(in.Issue, "")
	if err != nil {
		return nil, err
	}
	var q url.Values
	if len(in.Fields) > 0 {
		q = url.Values{"fields": {strings.Join(in.Fields, ",")}}
	}
	var out json.RawMessage
	_, err = send(ctx, c, http.MethodGet, p, q, nil, &out)
	return out, err
}

// adf converts plain text to an Atlassian Document Format document: one
// paragraph per blank-line-separated block, hard breaks for single
// newlines.
func adf(text string) map[string]any {
	var paras []any
	for _, block := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		if strings.TrimSpace(block) == "" {
			continue
		}
		var content []any
		for i, line := range strings.Split(block, "\n") {
			if i > 0 {
				content = append(content, map[string]any{"type": "hardBreak"})
			}
			if line != "" {
				content = append(content, map[string]any{"type": "text", "text": line})
			}
		}
		paras = append(paras, map[string]any{"type": "paragraph", "content": content})
	}
	if paras == nil {
		paras = []any{}
	}
	return map[string]any{"type": "doc", "version": 1, "content": paras}
}

type issueIn struct {
	Issue             string                     `json:"issue"`
	ProjectKey        string                     `json:"project_key"`
	Summary           *string                    `json:"summary"`
	IssueType         string                     `json:"issue_type"`
	Description       *string                    `json:"description"`
	Labels            []string                   `json:"labels"`
	AssigneeAccountID string                     `json:"assignee_account_id"`
	Priority          string                     `json:"priority"`
	Fields            map[string]json.RawMessage `json:"fields"`
}

func (in issueIn) fields() map[string]any {
	f := map[string]any{}
	for k, v := range in.Fields {
		f[k] = v
	}
	if in.ProjectKey != "" {
		f["project"] = map[string]string{"key": in.ProjectKey}
	}
	if in.IssueType != "" {
		f["issuetype"] = map[string]string{"name": in.IssueType}
	}
	if in.Summary != nil {
		f["summary"] = *in.Summary
	}
	if in.Description != nil {
		f["description"] = adf(*in.Description)
	}
	if in.Labels != nil {
		f["labels"] = in.Labels
	}
	if in.AssigneeAccountID != "" {
		f["assignee"] = map[string]string{"accountId": in.AssigneeAccountID}
	}
	if in.Priority != "" {
		f["priority"] = map[string]string{"name": in.Priority}
	}
	return f
}

func createIssue(ctx context.Context, c *provider.Call, in issueIn) (any, error) {
	var out json.RawMessage
	_, err := send(ctx, c, http.MethodPost, "/issue", nil, map[string]any{"fields": in.fields()}, &out)
	return out, err
}

func updateIssue(ctx context.Context, c *provider.Call, in issueIn) (any, error) {
	p, err := issuePath(in.Issue, "")
	if err != nil {
		return nil, err
	}
	in.ProjectKey, in.IssueType = "", ""
	f := in.fields()
	if len(f) == 0 {
		return nil, provider.UserError("", "nothing to update: give summary, description, labels, assignee_account_id, priority or fields")
	}
	if _, err := send(ctx, c, http.MethodPut, p, nil, map[string]any{"fields": f}, nil); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "issue": in.Issue}, nil
}

type commentIn struct {
	Issue string `json:"issue"`
	Body  string `json:"body"`
}

func addComment(ctx context.Context, c *provider.Call, in commentIn) (any, error) {
	p, err := issuePath(in.Issue, "/comment")
	if err != nil {
		return nil, err
	}
	var out struct {
		ID      string `json:"id"`
		Self    string `json:"self"`
		Created string `json:"created"`
	}
	if _, err := send(ctx, c, http.MethodPost, p, nil, map[string]any{"body": adf(in.Body)}, &out); err != nil {
		return nil, err
	}
	return out, nil
}
