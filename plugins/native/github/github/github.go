// Package github is the GitHub provider: the signed-in user, repositories,
// issues and issue comments over GitHub's REST API
// (https://docs.github.com/en/rest), built only on the public SDK.
//
// OAuth and personal access tokens are both sent as
// "Authorization: Bearer <token>" with the media type
// application/vnd.github+json and a pinned X-GitHub-Api-Version. Lists
// paginate with page/per_page and a Link header; the next page number is
// handed back to the caller. GitHub's error body
// {"message","errors":[{"resource","field","code"}],"documentation_url"}
// becomes a diagnostic naming the field, and an exhausted rate limit
// (403/429 with X-RateLimit-Remaining: 0) says when the limit resets.
package github

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// APIVersion is the REST API version requests are pinned to.
const APIVersion = "2022-11-28"

// BaseURL is GitHub's API base URL, used when the host supplies none.
const BaseURL = "https://api.github.com"

var httpOptions = provider.HTTPOptions{
	BaseURL: BaseURL,
	APIKey:  provider.APIKeyHeader("Authorization", "Bearer "),
	Header: http.Header{
		"Accept":               {"application/vnd.github+json"},
		"X-Github-Api-Version": {APIVersion},
	},
	UserAgent:   "atom-provider-github/" + Version,
	DecodeError: decodeError,
}

// New returns the GitHub provider.
func New() *provider.Builder {
	return withTriggers(provider.New(provider.Manifest{
		ID:           "github",
		Name:         "GitHub",
		Version:      Version,
		Description:  "Code hosting: repositories, issues and comments.",
		Categories:   []string{"development"},
		AllowedHosts: []string{"api.github.com", "uploads.github.com"},
	}).
		HTTP(httpOptions).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the authenticated user (GET /user).",
			Output: provider.SortedSchema(`{"type":"object","required":["ok","login"],"properties":{
				"ok":{"type":"boolean"},"login":{"type":"string"},"id":{"type":"integer"},
				"scopes":{"type":"array","items":{"type":"string"}}}}`),
			Handle: testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_repositories",
			DisplayName: "List repositories",
			Description: "Lists repositories the authenticated user can access, one page at a time.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"visibility":{"type":"string","enum":["all","public","private"]},
				"affiliation":{"type":"string"},
				"sort":{"type":"string","enum":["created","updated","pushed","full_name"]},
				"direction":{"type":"string","enum":["asc","desc"]},
				"per_page":{"type":"integer","minimum":1,"maximum":100},
				"page":{"type":"integer","minimum":1}}}`),
			Output: pageSchema("repositories"),
			Handle: provider.Typed(listRepositories),
		}).
		Action(provider.ActionDef{
			Name:        "list_issues",
			DisplayName: "List issues",
			Description: "Lists a repository's issues (and pull requests), one page at a time.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["owner","repo"],"properties":{
				"owner":{"type":"string","minLength":1},"repo":{"type":"string","minLength":1},
				"state":{"type":"string","enum":["open","closed","all"]},
				"labels":{"type":"string","description":"Comma-separated label names."},
				"assignee":{"type":"string"},
				"since":{"type":"string","format":"date-time"},
				"per_page":{"type":"integer","minimum":1,"maximum":100},
				"page":{"type":"integer","minimum":1}}}`),
			Output: pageSchema("issues"),
			Handle: provider.Typed(listIssues),
		}).
		Action(provider.ActionDef{
			Name:        "get_issue",
			DisplayName: "Get issue",
			Description: "Returns one issue by number.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["owner","repo","issue_number"],"properties":{
				"owner":{"type":"string","minLength":1},"repo":{"type":"string","minLength":1},
				"issue_number":{"type":"integer","minimum":1}}}`),
			Output: issueSchema,
			Handle: provider.Typed(getIssue),
		}).
		Action(provider.ActionDef{
			Name:        "create_issue",
			DisplayName: "Create issue",
			Description: "Opens an issue in a repository.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["owner","repo","title"],"properties":{
				"owner":{"type":"string","minLength":1},"repo":{"type":"string","minLength":1},
				"title":{"type":"string","minLength":1},"body":{"type":"string"},
				"labels":{"type":"array","items":{"type":"string"}},
				"assignees":{"type":"array","items":{"type":"string"}},
				"milestone":{"type":"integer"}}}`),
			Output: issueSchema,
			Handle: provider.Typed(createIssue),
		}).
		Action(provider.ActionDef{
			Name:        "update_issue",
			DisplayName: "Update issue",
			Description: "Changes an issue's title, body, state, labels or assignees.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["owner","repo","issue_number"],"properties":{
				"owner":{"type":"string","minLength":1},"repo":{"type":"string","minLength":1},
				"issue_number":{"type":"integer","minimum":1},
				"title":{"type":"string"},"body":{"type":"string"},
				"state":{"type":"string","enum":["open","closed"]},
				"state_reason":{"type":"string","enum":["completed","not_planned","reopened"]},
				"labels":{"type":"array","items":{"type":"string"}},
				"assignees":{"type":"array","items":{"type":"string"}}}}`),
			Output: issueSchema,
			Handle: provider.Typed(updateIssue),
		}).
		Action(provider.ActionDef{
			Name:        "create_issue_comment",
			DisplayName: "Comment on issue",
			Description: "Adds a comment to an issue or pull request.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["owner","repo","issue_number","body"],"properties":{
				"owner":{"type":"string","minLength":1},"repo":{"type":"string","minLength":1},
				"issue_number":{"type":"integer","minimum":1},"body":{"type":"string","minLength":1}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"integer"},"html_url":{"type":"string"},"body":{"type":"string"}}}`),
			Handle: provider.Typed(createComment),
		}))
}

var issueSchema = provider.SortedSchema(`{"type":"object","required":["id","number"],"properties":{
	"id":{"type":"integer"},"number":{"type":"integer"},"title":{"type":"string"},
	"state":{"type":"string"},"html_url":{"type":"string"}}}`)

func pageSchema(items string) json.RawMessage {
	return provider.SortedSchema(`{"type":"object","required":["` + items + `"],"properties":{
		"` + items + `":{"type":"array","items":{"type":"object"}},
		"next_page":{"type":"integer","description":"Page to ask for next; absent on the last page."}}}`)
}

// decodeError reads GitHub's error body. A validation failure names the
// offending field and its code.
func decodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Message string `json:"message"`
		Errors  []struct {
			Resource string `json:"resource"`
			Field    string `json:"field"`
			Code     string `json:"code"`
			Message  string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &v) != nil || v.Message == "" {
		e.Message = provider.ErrorText(body)
		return
	}
	e.Message = v.Message
	if len(v.Errors) > 0 {
		first := v.Errors[0]
		e.Field, e.Code, e.Type = first.Field, first.Code, first.Resource
		switch {
		case first.Message != "":
			e.Message += ": " + first.Message
		case first.Field != "" && first.Code != "":
			e.Message += ": " + first.Field + " " + strings.ReplaceAll(first.Code, "_", " ")
		}
	}
}

// call sends one request and turns an exhausted rate limit into a
// diagnostic that says when it resets.
func call(ctx context.Context, c *provider.Call, method, path string, query url.Values, in, out any) (http.Header, error) {
	h, err := c.HTTP().ExchangeJSON(ctx, method, path, query, in, out)
	if he, ok := err.(*provider.HTTPError); ok && (he.Status == 403 || he.Status == 429) && h.Get("X-RateLimit-Remaining") == "0" {
		he.Code = "rate_limited"
		if reset, perr := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); perr == nil {
			he.Message += " (limit resets at " + time.Unix(reset, 0).UTC().Format(time.RFC3339) + ")"
			if d := time.Until(time.Unix(reset, 0)); d > 0 && he.RetryAfter == 0 {
				he.RetryAfter = d.Round(time.Second)
			}
		}
	}
	return h, err
}

type user struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var u user
	h, err := call(ctx, c, http.MethodGet, "/user", nil, nil, &u)
	if err != nil {
		return nil, err
	}
	scopes := []string{}
	for _, s := range strings.Split(h.Get("X-OAuth-Scopes"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			scopes = append(scopes, s)
		}
	}
	return map[string]any{"ok": true, "login": u.Login, "id": u.ID, "scopes": scopes}, nil
}

type pageIn struct {
	PerPage int `json:"per_page"`
	Page    int `json:"page"`
}

func (p pageIn) set(q url.Values) {
	if p.PerPage > 0 {
		q.Set("per_page", strconv.Itoa(p.PerPage))
	}
	if p.Page > 0 {
		q.Set("page", strconv.Itoa(p.Page))
	}
}

// list fetches one page and returns it under key with the next page
// number taken from the Link header.
func list(ctx context.Context, c *provider.Call, path string, q url.Values, key string) (any, error) {
	items := []json.RawMessage{}
	h, err := call(ctx, c, http.MethodGet, path, q, nil, &items)
	if err != nil {
		return nil, err
	}
	out := map[string]any{key: items}
	if next := provider.NextPageQuery(h); next != nil {
		if n, err := strconv.Atoi(next.Get("page")); err == nil {
			out["next_page"] = n
		}
	}
	return out, nil
}

type reposIn struct {
	pageIn
	Visibility  string `json:"visibility"`
	Affiliation string `json:"affiliation"`
	Sort        string `json:"sort"`
	Direction   string `json:"direction"`
}

func listRepositories(ctx context.Context, c *provider.Call, in reposIn) (any, error) {
	q := url.Values{}
	for k, v := range map[string]string{"visibility": in.Visibility, "affiliation": in.Affiliation, "sort": in.Sort, "direction": in.Direction} {
		if v != "" {
			q.Set(k, v)
		}
	}
	in.set(q)
	return list(ctx, c, "/user/repos", q, "repositories")
}

type repoIn struct {
	Owner string `json:"owner"`
	Repo  string `json:"repo"`
}

func (r repoIn) path(rest ...string) (string, error) {
	seg, err := provider.PathSegments("owner", r.Owner, "repo", r.Repo)
	if err != nil {
		return "", err
	}
	return "/repos/" + seg[0] + "/" + seg[1] + strings.Join(rest, ""), nil
}

type issuesIn struct {
	repoIn
	pageIn
	State    string `json:"state"`
	Labels   string `json:"labels"`
	Assignee string `json:"assignee"`
	Since    string `json:"since"`
}

func listIssues(ctx context.Context, c *provider.Call, in issuesIn) (any, error) {
	p, err := in.path("/issues")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	for k, v := range map[string]string{"state": in.State, "labels": in.Labels, "assignee": in.Assignee, "since": in.Since} {
		if v != "" {
			q.Set(k, v)
		}
	}
	in.set(q)
	return list(ctx, c, p, q, "issues")
}

type issueRef struct {
	repoIn
	IssueNumber int `json:"issue_number"`
}

func (r issueRef) path(rest string) (string, error) {
	if r.IssueNumber < 1 {
		return "", provider.UserError("issue_number", "must be a positive issue number")
	}
	return r.repoIn.path("/issues/", strconv.Itoa(r.IssueNumber), rest)
}

func getIssue(ctx context.Context, c *provider.Call, in issueRef) (any, error) {
	p, err := in.path("")
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	_, err = call(ctx, c, http.MethodGet, p, nil, nil, &out)
	return out, err
}

type createIssueIn struct {
	repoIn
	Title     string   `json:"title"`
	Body      string   `json:"body,omitempty"`
	Labels    []string `json:"labels,omitempty"`
	Assignees []string `json:"assignees,omitempty"`
	Milestone *int     `json:"milestone,omitempty"`
}

func createIssue(ctx context.Context, c *provider.Call, in createIssueIn) (any, error) {
	p, err := in.path("/issues")
	if err != nil {
		return nil, err
	}
	body := struct {
		Title     string   `json:"title"`
		Body      string   `json:"body,omitempty"`
		Labels    []string `json:"labels,omitempty"`
		Assignees []string `json:"assignees,omitempty"`
		Milestone *int     `json:"milestone,omitempty"`
	}{in.Title, in.Body, in.Labels, in.Assignees, in.Milestone}
	var out json.RawMessage
	_, err = call(ctx, c, http.MethodPost, p, nil, body, &out)
	return out, err
}

type updateIssueIn struct {
	issueRef
	Title       *string  `json:"title"`
	Body        *string  `json:"body"`
	State       string   `json:"state"`
	StateReason string   `json:"state_reason"`
	Labels      []string `json:"labels"`
	Assignees   []string `json:"assignees"`
}

func updateIssue(ctx context.Context, c *provider.Call, in updateIssueIn) (any, error) {
	p, err := in.path("")
	if err != nil {
		return nil, err
	}
	body := map[string]any{}
	if in.Title != nil {
		body["title"] = *in.Title
	}
	if in.Body != nil {
		body["body"] = *in.Body
	}
	if in.State != "" {
		body["state"] = in.State
	}
	if in.StateReason != "" {
		body["state_reason"] = in.StateReason
	}
	if in.Labels != nil {
		body["labels"] = in.Labels
	}
	if in.Assignees != nil {
		body["assignees"] = in.Assignees
	}
	if len(body) == 0 {
		return nil, provider.UserError("", "nothing to update: give title, body, state, labels or assignees")
	}
	var out json.RawMessage
	_, err = call(ctx, c, http.MethodPatch, p, nil, body, &out)
	return out, err
}

type commentIn struct {
	issueRef
	Body string `json:"body"`
}

func createComment(ctx context.Context, c *provider.Call, in commentIn) (any, error) {
	p, err := in.path("/comments")
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	_, err = call(ctx, c, http.MethodPost, p, nil, map[string]string{"body": in.Body}, &out)
	return out, err
}
