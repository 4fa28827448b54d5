// Package linear is the Linear provider: the viewer, teams, issues and
// comments over Linear's GraphQL API (https://developers.linear.app),
// built only on the public SDK.
//
// Every call is a POST to /graphql with a query and variables. OAuth
// tokens go in "Authorization: Bearer <token>", personal API keys bare in
// "Authorization: <key>". Linear reports failures in the response's
// errors[] (often with HTTP 200 or 400); each becomes a diagnostic.
// Connections paginate Relay-style with first/after and
// pageInfo{hasNextPage,endCursor}; the end cursor is handed back as
// next_cursor.
package linear

import (
	"context"
	"encoding/json"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is Linear's API base URL, used when the host supplies none.
const BaseURL = "https://api.linear.app"

const endpoint = "/graphql"

var httpOptions = provider.HTTPOptions{
	BaseURL:   BaseURL,
	APIKey:    provider.APIKeyHeader("Authorization", ""),
	UserAgent: "atom-provider-linear/" + Version,
}

// New returns the Linear provider.
func New() *provider.Builder {
	return withTriggers(provider.New(provider.Manifest{
		ID:           "linear",
		Name:         "Linear",
		Version:      Version,
		Description:  "Issue tracking: teams, issues and comments.",
		Categories:   []string{"productivity", "development"},
		AllowedHosts: []string{"api.linear.app"},
	}).
		HTTP(httpOptions).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the credentials by reading the viewer and organization.",
			Output: provider.SortedSchema(`{"type":"object","required":["ok"],"properties":{
				"ok":{"type":"boolean"},"user_id":{"type":"string"},"name":{"type":"string"},
				"email":{"type":"string"},"organization":{"type":"string"},"url_key":{"type":"string"}}}`),
			Handle: testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_teams",
			DisplayName: "List teams",
			Description: "Lists the workspace's teams, one page at a time.",
			Input:       pageInput(""),
			Output:      pageSchema,
			Handle:      provider.Typed(listTeams),
		}).
		Action(provider.ActionDef{
			Name:        "list_issues",
			DisplayName: "List issues",
			Description: "Lists issues, newest first, optionally of one team, one page at a time.",
			Input:       pageInput(`"team_id":{"type":"string"},"include_archived":{"type":"boolean"},`),
			Output:      pageSchema,
			Handle:      provider.Typed(listIssues),
		}).
		Action(provider.ActionDef{
			Name:        "create_issue",
			DisplayName: "Create issue",
			Description: "Creates an issue in a team.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["team_id","title"],"properties":{
				"team_id":{"type":"string","minLength":1},"title":{"type":"string","minLength":1},
				"description":{"type":"string","description":"Markdown."},
				"priority":{"type":"integer","minimum":0,"maximum":4},
				"assignee_id":{"type":"string"},"state_id":{"type":"string"},"project_id":{"type":"string"},
				"label_ids":{"type":"array","items":{"type":"string"}}}}`),
			Output: issueSchema,
			Handle: provider.Typed(createIssue),
		}).
		Action(provider.ActionDef{
			Name:        "update_issue",
			DisplayName: "Update issue",
			Description: "Updates an issue's title, description, priority, state or assignee.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["id"],"properties":{
				"id":{"type":"string","minLength":1,"description":"Issue id or identifier (e.g. ENG-12)."},
				"title":{"type":"string"},"description":{"type":"string"},
				"priority":{"type":"integer","minimum":0,"maximum":4},
				"assignee_id":{"type":"string"},"state_id":{"type":"string"}}}`),
			Output: issueSchema,
			Handle: provider.Typed(updateIssue),
		}).
		Action(provider.ActionDef{
			Name:        "create_comment",
			DisplayName: "Comment on issue",
			Description: "Adds a Markdown comment to an issue.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["issue_id","body"],"properties":{
				"issue_id":{"type":"string","minLength":1},"body":{"type":"string","minLength":1}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"url":{"type":"string"},"body":{"type":"string"}}}`),
			Handle: provider.Typed(createComment),
		}))
}

var issueSchema = provider.SortedSchema(`{"type":"object","required":["id","identifier"],"properties":{
	"id":{"type":"string"},"identifier":{"type":"string"},"title":{"type":"string"},
	"url":{"type":"string"},"priority":{"type":"number"}}}`)

var pageSchema = provider.SortedSchema(`{"type":"object","required":["nodes","has_next_page"],"properties":{
	"nodes":{"type":"array","items":{"type":"object"}},
	"has_next_page":{"type":"boolean"},
	"next_cursor":{"type":"string","description":"Pass as after to get the next page."}}}`)

func pageInput(extra string) json.RawMessage {
	return provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{` + extra + `
		"first":{"type":"integer","minimum":1,"maximum":250},"after":{"type":"string"}}}`)
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var out struct {
		Viewer struct {
			ID    string `json:"id"`
			Name  string `json:"name"`
			Email string `json:"email"`
		} `json:"viewer"`
		Organization struct {
			Name   string `json:"name"`
			URLKey string `json:"urlKey"`
		} `json:"organization"`
	}
	err := c.HTTP().GraphQL(ctx, endpoint, `query { viewer { id name email } organization { id name urlKey } }`, nil, &out)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "user_id": out.Viewer.ID, "name": out.Viewer.Name, "email": out.Viewer.Email,
		"organization": out.Organization.Name, "url_key": out.Organization.URLKey}, nil
}

// connection is a Relay connection as Linear returns it.
type connection struct {
	Nodes    []json.RawMessage `json:"nodes"`
	PageInfo struct {
		HasNextPage bool   `json:"hasNextPage"`
		EndCursor   string `json:"endCursor"`
	} `json:"pageInfo"`
}

func (cn connection) page() map[string]any {
	out := provider.ListOutput("nodes", cn.Nodes)
	out["has_next_page"] = cn.PageInfo.HasNextPage
	if cn.PageInfo.HasNextPage && cn.PageInfo.EndCursor != "" {
		out["next_cursor"] = cn.PageInfo.EndCursor
	}
	return out
}

type pageIn struct {
	First int    `json:"first"`
	After string `json:"after"`
}

func (p pageIn) vars() map[string]any {
	v := map[string]any{"first": 50}
	if p.First > 0 {
		v["first"] = p.First
	}
	if p.After != "" {
		v["after"] = p.After
	}
	return v
}

const teamsQuery = `query Teams($first: Int, $after: String) {
  teams(first: $first, after: $after) { nodes { id name key description } pageInfo { hasNextPage endCursor } }
}`

func listTeams(ctx context.Context, c *provider.Call, in pageIn) (any, error) {
	var out struct {
		Teams connection `json:"teams"`
	}
	if err := c.HTTP().GraphQL(ctx, endpoint, teamsQuery, in.vars(), &out); err != nil {
		return nil, err
	}
	return out.Teams.page(), nil
}

const issueFields = `id identifier title description priority url createdAt updatedAt state { id name type } team { id key } assignee { id name }`

const issuesQuery = `query Issues($first: Int, $after: String, $filter: IssueFilter, $includeArchived: Boolean) {
  issues(first: $first, after: $after, filter: $filter, includeArchived: $includeArchived, orderBy: createdAt) { nodes { ` + issueFields + ` } pageInfo { hasNextPage endCursor } }
}`

type issuesIn struct {
	pageIn
	TeamID          string `json:"team_id"`
	IncludeArchived bool   `json:"include_archived"`
}

func listIssues(ctx context.Context, c *provider.Call, in issuesIn) (any, error) {
	v := in.vars()
	if in.TeamID != "" {
		v["filter"] = map[string]any{"team": map[string]any{"id": map[string]string{"eq": in.TeamID}}}
	}
	if in.IncludeArchived {
		v["includeArchived"] = true
	}
	var out struct {
		Issues connection `json:"issues"`
	}
	if err := c.HTTP().GraphQL(ctx, endpoint, issuesQuery, v, &out); err != nil {
		return nil, err
	}
	return out.Issues.page(), nil
}

// payload is a Linear mutation payload.
type payload struct {
	Success bool            `json:"success"`
	Issue   json.RawMessage `json:"issue"`
	Comment json.RawMessage `json:"comment"`
}

func mutate(ctx context.Context, c *provider.Call, field, query string, vars map[string]any) (payload, error) {
	var out map[string]payload
	if err := c.HTTP().GraphQL(ctx, endpoint, query, vars, &out); err != nil {
		return payload{}, err
	}
	p := out[field]
	if !p.Success {
		return payload{}, provider.Errorf("Linear did not apply %s", field)
	}
	return p, nil
}

const createIssueMutation = `mutation IssueCreate($input: IssueCreateInput!) {
  issueCreate(input: $input) { success issue { ` + issueFields + ` } }
}`

type createIssueIn struct {
	TeamID      string   `json:"team_id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Priority    *int     `json:"priority"`
	AssigneeID  string   `json:"assignee_id"`
	StateID     string   `json:"state_id"`
	ProjectID   string   `json:"project_id"`
	LabelIDs    []string `json:"label_ids"`
}

func createIssue(ctx context.Context, c *provider.Call, in createIssueIn) (any, error) {
	input := map[string]any{"teamId": in.TeamID, "title": in.Title}
	setIf(input, "description", in.Description)
	setIf(input, "assigneeId", in.AssigneeID)
	setIf(input, "stateId", in.StateID)
	setIf(input, "projectId", in.ProjectID)
	if in.Priority != nil {
		input["priority"] = *in.Priority
	}
	if len(in.LabelIDs) > 0 {
		input["labelIds"] = in.LabelIDs
	}
	p, err := mutate(ctx, c, "issueCreate", createIssueMutation, map[string]any{"input": input})
	if err != nil {
		return nil, err
	}
	return p.Issue, nil
}

const updateIssueMutation = `mutation IssueUpdate($id: String!, $input: IssueUpdateInput!) {
  issueUpdate(id: $id, input: $input) { success issue { ` + issueFields + ` } }
}`

type updateIssueIn struct {
	ID          string  `json:"id"`
	Title       string  `json:"title"`
	Description *string `json:"description"`
	Priority    *int    `json:"priority"`
	AssigneeID  string  `json:"assignee_id"`
	StateID     string  `json:"state_id"`
}

func updateIssue(ctx context.Context, c *provider.Call, in updateIssueIn) (any, error) {
	input := map[string]any{}
	setIf(input, "title", in.Title)
	setIf(input, "assigneeId", in.AssigneeID)
	setIf(input, "stateId", in.StateID)
	if in.Description != nil {
		input["description"] = *in.Description
	}
	if in.Priority != nil {
		input["priority"] = *in.Priority
	}
	if len(input) == 0 {
		return nil, provider.UserError("", "nothing to update: give title, description, priority, assignee_id or state_id")
	}
	p, err := mutate(ctx, c, "issueUpdate", updateIssueMutation, map[string]any{"id": in.ID, "input": input})
	if err != nil {
		return nil, err
	}
	return p.Issue, nil
}

const createCommentMutation = `mutation CommentCreate($input: CommentCreateInput!) {
  commentCreate(input: $input) { success comment { id body url createdAt } }
}`

type commentIn struct {
	IssueID string `json:"issue_id"`
	Body    string `json:"body"`
}

func createComment(ctx context.Context, c *provider.Call, in commentIn) (any, error) {
	p, err := mutate(ctx, c, "commentCreate", createCommentMutation, map[string]any{"input": map[string]string{"issueId": in.IssueID, "body": in.Body}})
	if err != nil {
		return nil, err
	}
	return p.Comment, nil
}

func setIf(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}
