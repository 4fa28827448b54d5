// Package clickup is the ClickUp provider: the user, workspaces, spaces,
// tasks and comments over ClickUp's API v2
// (https://clickup.com/api), built only on the public SDK.
//
// Tokens go bare in the Authorization header, without "Bearer": personal
// API tokens (pk_...) as they are, OAuth access tokens moved out of the
// Bearer scheme per request. Task lists
// page by page number (0-based, 100 tasks a page) and answer last_page;
// the next page number is handed back as next_page. ClickUp's error body
// {"err","ECODE"} becomes a diagnostic carrying the ECODE.
package clickup

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

// BaseURL is ClickUp's API host, used when the host supplies none. Paths
// start with /api/v2.
const BaseURL = "https://api.clickup.com"

// New returns the ClickUp provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "clickup",
		Name:         "ClickUp",
		Version:      Version,
		Description:  "Project management: workspaces, spaces, tasks and comments.",
		Categories:   []string{"productivity"},
		AllowedHosts: []string{"api.clickup.com"},
	}).
		HTTP(provider.HTTPOptions{
			BaseURL:     BaseURL,
			APIKey:      provider.APIKeyHeader("Authorization", ""),
			Client:      provider.TokenHeader("Authorization", "", nil),
			UserAgent:   "atom-provider-clickup/" + Version,
			DecodeError: decodeError,
		}).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the authorized user (GET /api/v2/user).",
			Output: provider.SortedSchema(`{"type":"object","required":["ok"],"properties":{
				"ok":{"type":"boolean"},"user_id":{"type":"integer"},"username":{"type":"string"},"email":{"type":"string"}}}`),
			Handle: testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_workspaces",
			DisplayName: "List workspaces",
			Description: "Lists the workspaces (teams) the token can access.",
			Output:      provider.SortedSchema(`{"type":"object","required":["workspaces"],"properties":{"workspaces":{"type":"array","items":{"type":"object"}}}}`),
			Handle:      listWorkspaces,
		}).
		Action(provider.ActionDef{
			Name:        "list_spaces",
			DisplayName: "List spaces",
			Description: "Lists a workspace's spaces.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["workspace_id"],"properties":{
				"workspace_id":{"type":"string","pattern":"^[0-9]+$"},"archived":{"type":"boolean"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["spaces"],"properties":{"spaces":{"type":"array","items":{"type":"object"}}}}`),
			Handle: provider.Typed(listSpaces),
		}).
		Action(provider.ActionDef{
			Name:        "list_tasks",
			DisplayName: "List tasks",
			Description: "Lists a list's tasks, 100 per page.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["list_id"],"properties":{
				"list_id":{"type":"string","minLength":1},"page":{"type":"integer","minimum":0},
				"archived":{"type":"boolean"},"include_closed":{"type":"boolean"},"subtasks":{"type":"boolean"},
				"order_by":{"type":"string","enum":["id","created","updated","due_date"]},"reverse":{"type":"boolean"},
				"statuses":{"type":"array","items":{"type":"string"}},"assignees":{"type":"array","items":{"type":"string"}}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["tasks"],"properties":{
				"tasks":{"type":"array","items":{"type":"object"}},"next_page":{"type":"integer"}}}`),
			Handle: provider.Typed(listTasks),
		}).
		Action(provider.ActionDef{
			Name:        "get_task",
			DisplayName: "Get task",
			Description: "Returns one task.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["task_id"],"properties":{
				"task_id":{"type":"string","minLength":1},"include_subtasks":{"type":"boolean"}}}`),
			Output: taskSchema,
			Handle: provider.Typed(getTask),
		}).
		Action(provider.ActionDef{
			Name:        "create_task",
			DisplayName: "Create task",
			Description: "Creates a task in a list.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["list_id","name"],"properties":{
				"list_id":{"type":"string","minLength":1},"name":{"type":"string","minLength":1},
				"description":{"type":"string"},"markdown_description":{"type":"string"},
				"assignees":{"type":"array","items":{"type":"integer"}},"tags":{"type":"array","items":{"type":"string"}},
				"status":{"type":"string"},"priority":{"type":"integer","minimum":1,"maximum":4},
				"due_date":{"type":"integer","description":"Unix time in milliseconds."},"parent":{"type":"string"}}}`),
			Output: taskSchema,
			Handle: provider.Typed(createTask),
		}).
		Action(provider.ActionDef{
			Name:        "update_task",
			DisplayName: "Update task",
			Description: "Updates a task's name, description, status, priority or due date.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["task_id"],"properties":{
				"task_id":{"type":"string","minLength":1},"name":{"type":"string"},"description":{"type":"string"},
				"status":{"type":"string"},"priority":{"type":"integer","minimum":1,"maximum":4},
				"due_date":{"type":"integer"},"archived":{"type":"boolean"}}}`),
			Output: taskSchema,
			Handle: provider.Typed(updateTask),
		}).
		Action(provider.ActionDef{
			Name:        "create_task_comment",
			DisplayName: "Comment on task",
			Description: "Adds a comment to a task.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["task_id","comment_text"],"properties":{
				"task_id":{"type":"string","minLength":1},"comment_text":{"type":"string","minLength":1},
				"assignee":{"type":"integer"},"notify_all":{"type":"boolean"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{},"hist_id":{"type":"string"},"date":{}}}`),
			Handle: provider.Typed(createComment),
		})
}

var taskSchema = provider.SortedSchema(`{"type":"object","required":["id"],"properties":{
	"id":{"type":"string"},"name":{"type":"string"},"status":{"type":"object"},"url":{"type":"string"}}}`)

// decodeError reads ClickUp's {"err","ECODE"}.
func decodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Err   string `json:"err"`
		ECode string `json:"ECODE"`
	}
	if json.Unmarshal(body, &v) != nil || v.Err == "" {
		e.Message = provider.ErrorText(body)
		return
	}
	e.Message, e.Code = v.Err, v.ECode
}

func send(ctx context.Context, c *provider.Call, method, path string, q url.Values, in, out any) error {
	return c.HTTP().SendJSON(ctx, method, "/api/v2"+path, q, in, out)
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var out struct {
		User struct {
			ID       int64  `json:"id"`
			Username string `json:"username"`
			Email    string `json:"email"`
		} `json:"user"`
	}
	if err := send(ctx, c, http.MethodGet, "/user", nil, nil, &out); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "user_id": out.User.ID, "username": out.User.Username, "email": out.User.Email}, nil
}

func listWorkspaces(ctx context.Context, c *provider.Call) (any, error) {
	var out struct {
		Teams []json.RawMessage `json:"teams"`
	}
	if err := send(ctx, c, http.MethodGet, "/team", nil, nil, &out); err != nil {
		return nil, err
	}
	return provider.ListOutput("workspaces", out.Teams), nil
}

type spacesIn struct {
	WorkspaceID string `json:"workspace_id"`
	Archived    bool   `json:"archived"`
}

func listSpaces(ctx context.Context, c *provider.Call, in spacesIn) (any, error) {
	id, err := provider.PathSegment("workspace_id", in.WorkspaceID)
	if err != nil {
		return nil, err
	}
	var out struct {
		Spaces []json.RawMessage `json:"spaces"`
	}
	if err := send(ctx, c, http.MethodGet, "/team/"+id+"/space", url.Values{"archived": {strconv.FormatBool(in.Archived)}}, nil, &out); err != nil {
		return nil, err
	}
	return provider.ListOutput("spaces", out.Spaces), nil
}

type tasksIn struct {
	ListID        string   `json:"list_id"`
	Page          int      `json:"page"`
	Archived      bool     `json:"archived"`
	IncludeClosed bool     `json:"include_closed"`
	Subtasks      bool     `json:"subtasks"`
	OrderBy       string   `json:"order_by"`
	Reverse       bool     `json:"reverse"`
	Statuses      []string `json:"statuses"`
	Assignees     []string `json:"assignees"`
}

func listTasks(ctx context.Context, c *provider.Call, in tasksIn) (any, error) {
	id, err := provider.PathSegment("list_id", in.ListID)
	if err != nil {
		return nil, err
	}
	q := url.Values{"page": {strconv.Itoa(in.Page)}}
	for k, v := range map[string]bool{"archived": in.Archived, "include_closed": in.IncludeClosed, "subtasks": in.Subtasks, "reverse": in.Reverse} {
		if v {
			q.Set(k, "true")
		}
	}
	if in.OrderBy != "" {
		q.Set("order_by", in.OrderBy)
	}
	for _, s := range in.Statuses {
		q.Add("statuses[]", s)
	}
	for _, a := range in.Assignees {
		q.Add("assignees[]", a)
	}
	var page struct {
		Tasks    []json.RawMessage `json:"tasks"`
		LastPage *bool             `json:"last_page"`
	}
	if err := send(ctx, c, http.MethodGet, "/list/"+id+"/task", q, nil, &page); err != nil {
		return nil, err
	}
	out := provider.ListOutput("tasks", page.Tasks)
	// last_page is authoritative; without it a full page of 100 may have more.
	if (page.LastPage != nil && !*page.LastPage) || (page.LastPage == nil && len(page.Tasks) == 100) {
		out["next_page"] = in.Page + 1
	}
	return out, nil
}

type taskIn struct {
	TaskID              string   `json:"task_id"`
	ListID              string   `json:"list_id"`
	IncludeSubtasks     bool     `json:"include_subtasks"`
	Name                string   `json:"name,omitempty"`
	Description         *string  `json:"description,omitempty"`
	MarkdownDescription string   `json:"markdown_description,omitempty"`
	Assignees           []int64  `json:"assignees,omitempty"`
	Tags                []string `json:"tags,omitempty"`
	Status              string   `json:"status,omitempty"`
	Priority            *int     `json:"priority,omitempty"`
	DueDate             *int64   `json:"due_date,omitempty"`
	Parent              string   `json:"parent,omitempty"`
	Archived            *bool    `json:"archived,omitempty"`
}

// body returns the fields ClickUp takes in a task body.
func (in taskIn) body() map[string]any {
	b := map[string]any{}
	raw, _ := json.Marshal(in)
	_ = json.Unmarshal(raw, &b)
	for _, k := range []string{"task_id", "list_id", "include_subtasks"} {
		delete(b, k)
	}
	return b
}

func taskPath(id, rest string) (string, error) {
	seg, err := provider.PathSegment("task_id", id)
	if err != nil {
		return "", err
	}
	return "/task/" + seg + rest, nil
}

func getTask(ctx context.Context, c *provider.Call, in taskIn) (any, error) {
	p, err := taskPath(in.TaskID, "")
	if err != nil {
		return nil, err
	}
	var q url.Values
	if in.IncludeSubtasks {
		q = url.Values{"include_subtasks": {"true"}}
	}
	var out json.RawMessage
	err = send(ctx, c, http.MethodGet, p, q, nil, &out)
	return out, err
}

func createTask(ctx context.Context, c *provider.Call, in taskIn) (any, error) {
	id, err := provider.PathSegment("list_id", in.ListID)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = send(ctx, c, http.MethodPost, "/list/"+id+"/task", nil, in.body(), &out)
	return out, err
}

func updateTask(ctx context.Context, c *provider.Call, in taskIn) (any, error) {
	p, err := taskPath(in.TaskID, "")
	if err != nil {
		return nil, err
	}
	b := in.body()
	if len(b) == 0 {
		return nil, provider.UserError("", "nothing to update: give name, description, status, priority, due_date or archived")
	}
	var out json.RawMessage
	err = send(ctx, c, http.MethodPut, p, nil, b, &out)
	return out, err
}

type commentIn struct {
	TaskID      string `json:"task_id"`
	CommentText string `json:"comment_text"`
	Assignee    *int64 `json:"assignee,omitempty"`
	NotifyAll   bool   `json:"notify_all"`
}

func createComment(ctx context.Context, c *provider.Call, in commentIn) (any, error) {
	p, err := taskPath(in.TaskID, "/comment")
	if err != nil {
		return nil, err
	}
	body := map[string]any{"comment_text": in.CommentText, "notify_all": in.NotifyAll}
	if in.Assignee != nil {
		body["assignee"] = *in.Assignee
	}
	var out json.RawMessage
	err = send(ctx, c, http.MethodPost, p, nil, body, &out)
	return out, err
}
