// Package asana is the Asana provider: workspaces, projects, tasks and
// comments over Asana's REST API (https://developers.asana.com/reference),
// built only on the public SDK.
//
// OAuth and personal access tokens are sent as Bearer. Asana wraps
// request and response objects in a "data" envelope; lists page with
// limit and an opaque offset, answering next_page {offset}, which is
// handed back as next_offset. Asana's errors, {"errors":[{"message"}]},
// become diagnostics; a message of the form "param: problem" names the
// param as the field.
package asana

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is Asana's API host, used when the host supplies none. Paths
// start with /api/1.0.
const BaseURL = "https://app.asana.com"

const taskFields = "name,notes,completed,due_on,assignee.name,projects.name,permalink_url,created_at,modified_at"

// New returns the Asana provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "asana",
		Name:         "Asana",
		Version:      Version,
		Description:  "Work management: workspaces, projects, tasks and comments.",
		Categories:   []string{"productivity"},
		AllowedHosts: []string{"app.asana.com"},
	}).
		HTTP(provider.HTTPOptions{
			BaseURL:     BaseURL,
			APIKey:      provider.APIKeyHeader("Authorization", "Bearer "),
			UserAgent:   "atom-provider-asana/" + Version,
			DecodeError: decodeError,
		}).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the authenticated user (GET /users/me).",
			Output: provider.SortedSchema(`{"type":"object","required":["ok"],"properties":{
				"ok":{"type":"boolean"},"gid":{"type":"string"},"name":{"type":"string"},"email":{"type":"string"}}}`),
			Handle: testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_workspaces",
			DisplayName: "List workspaces",
			Description: "Lists the workspaces and organizations the user belongs to, one page at a time.",
			Input:       pageInput(""),
			Output:      listSchema,
			Handle:      provider.Typed(listWorkspaces),
		}).
		Action(provider.ActionDef{
			Name:        "list_projects",
			DisplayName: "List projects",
			Description: "Lists a workspace's projects, one page at a time.",
			Input:       pageInput(`"workspace":{"type":"string","minLength":1},"archived":{"type":"boolean"},`, "workspace"),
			Output:      listSchema,
			Handle:      provider.Typed(listProjects),
		}).
		Action(provider.ActionDef{
			Name:        "list_tasks",
			DisplayName: "List tasks",
			Description: "Lists a project's tasks, one page at a time.",
			Input:       pageInput(`"project":{"type":"string","minLength":1},"completed_since":{"type":"string","description":"ISO 8601 time or \"now\" for incomplete tasks only."},`, "project"),
			Output:      listSchema,
			Handle:      provider.Typed(listTasks),
		}).
		Action(provider.ActionDef{
			Name:        "get_task",
			DisplayName: "Get task",
			Description: "Returns one task.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["task_gid"],"properties":{
				"task_gid":{"type":"string","pattern":"^[0-9]+$"}}}`),
			Output: taskSchema,
			Handle: provider.Typed(getTask),
		}).
		Action(provider.ActionDef{
			Name:        "create_task",
			DisplayName: "Create task",
			Description: "Creates a task in a project or workspace.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["name"],"properties":{
				"name":{"type":"string","minLength":1},"notes":{"type":"string"},
				"workspace":{"type":"string"},"projects":{"type":"array","items":{"type":"string"}},
				"assignee":{"type":"string","description":"User gid, email or \"me\"."},
				"due_on":{"type":"string","format":"date"},"parent":{"type":"string"}}}`),
			Output: taskSchema,
			Handle: provider.Typed(createTask),
		}).
		Action(provider.ActionDef{
			Name:        "update_task",
			DisplayName: "Update task",
			Description: "Updates a task's name, notes, assignee, due date or completion.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["task_gid"],"properties":{
				"task_gid":{"type":"string","pattern":"^[0-9]+$"},
				"name":{"type":"string"},"notes":{"type":"string"},"assignee":{"type":"string"},
				"due_on":{"type":"string","format":"date"},"completed":{"type":"boolean"}}}`),
			Output: taskSchema,
			Handle: provider.Typed(updateTask),
		}).
		Action(provider.ActionDef{
			Name:        "add_comment",
			DisplayName: "Comment on task",
			Description: "Adds a comment (a story) to a task.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["task_gid","text"],"properties":{
				"task_gid":{"type":"string","pattern":"^[0-9]+$"},"text":{"type":"string","minLength":1}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["gid"],"properties":{"gid":{"type":"string"},"text":{"type":"string"},"created_at":{"type":"string"}}}`),
			Handle: provider.Typed(addComment),
		})
}

var taskSchema = provider.SortedSchema(`{"type":"object","required":["gid"],"properties":{
	"gid":{"type":"string"},"name":{"type":"string"},"completed":{"type":"boolean"},"permalink_url":{"type":"string"}}}`)

var listSchema = provider.SortedSchema(`{"type":"object","required":["data"],"properties":{
	"data":{"type":"array","items":{"type":"object"}},
	"next_offset":{"type":"string","description":"Pass as offset to get the next page."}}}`)

func pageInput(extra string, required ...string) json.RawMessage {
	req := ""
	if len(required) > 0 {
		req = `"required":["` + strings.Join(required, `","`) + `"],`
	}
	return provider.SortedSchema(`{"type":"object","additionalProperties":false,` + req + `"properties":{` + extra + `
		"limit":{"type":"integer","minimum":1,"maximum":100},"offset":{"type":"string"}}}`)
}

var paramMessage = regexp.MustCompile(`^([a-z_.]+): `)

// decodeError reads Asana's {"errors":[{"message","help","phrase"}]}.
func decodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Errors []struct {
			Message string `json:"message"`
			Phrase  string `json:"phrase"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Errors) == 0 {
		return
	}
	e.Message = v.Errors[0].Message
	e.Code = v.Errors[0].Phrase
	if m := paramMessage.FindStringSubmatch(e.Message); m != nil {
		e.Field = m[1]
	}
}

// envelope is Asana's {"data": ...} wrapper, with next_page on lists.
type envelope struct {
	Data     json.RawMessage `json:"data"`
	NextPage *struct {
		Offset string `json:"offset"`
	} `json:"next_page"`
}

func send(ctx context.Context, c *provider.Call, method, path string, query url.Values, data any) (envelope, error) {
	var in any
	if data != nil {
		in = map[string]any{"data": data}
	}
	var env envelope
	err := c.HTTP().SendJSON(ctx, method, "/api/1.0"+path, query, in, &env)
	return env, err
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	env, err := send(ctx, c, http.MethodGet, "/users/me", url.Values{"opt_fields": {"name,email"}}, nil)
	if err != nil {
		return nil, err
	}
	var me struct {
		GID   string `json:"gid"`
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if err := json.Unmarshal(env.Data, &me); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "gid": me.GID, "name": me.Name, "email": me.Email}, nil
}

type pageIn struct {
	Limit  int    `json:"limit"`
	Offset string `json:"offset"`
}

func list(ctx context.Context, c *provider.Call, path string, q url.Values, p pageIn) (any, error) {
	limit := p.Limit
	if limit == 0 {
		limit = 50
	}
	q.Set("limit", strconv.Itoa(limit))
	if p.Offset != "" {
		q.Set("offset", p.Offset)
	}
	env, err := send(ctx, c, http.MethodGet, path, q, nil)
	if err != nil {
		return nil, err
	}
	var data []json.RawMessage
	if err := json.Unmarshal(env.Data, &data); err != nil {
		return nil, err
	}
	out := provider.ListOutput("data", data)
	if env.NextPage != nil && env.NextPage.Offset != "" {
		out["next_offset"] = env.NextPage.Offset
	}
	return out, nil
}

func listWorkspaces(ctx context.Context, c *provider.Call, in pageIn) (any, error) {
	return list(ctx, c, "/workspaces", url.Values{}, in)
}

type projectsIn struct {
	pageIn
	Workspace string `json:"workspace"`
	Archived  *bool  `json:"archived"`
}

func listProjects(ctx context.Context, c *provider.Call, in projectsIn) (any, error) {
	if in.Workspace == "" {
		return nil, provider.UserError("workspace", "is required")
	}
	q := url.Values{"workspace": {in.Workspace}}
	if in.Archived != nil {
		q.Set("archived", strconv.FormatBool(*in.Archived))
	}
	return list(ctx, c, "/projects", q, in.pageIn)
}

type tasksIn struct {
	pageIn
	Project        string `json:"project"`
	CompletedSince string `json:"completed_since"`
}

func listTasks(ctx context.Context, c *provider.Call, in tasksIn) (any, error) {
	if in.Project == "" {
		return nil, provider.UserError("project", "is required")
	}
	q := url.Values{"project": {in.Project}, "opt_fields": {taskFields}}
	if in.CompletedSince != "" {
		q.Set("completed_since", in.CompletedSince)
	}
	return list(ctx, c, "/tasks", q, in.pageIn)
}

func taskPath(gid, rest string) (string, error) {
	seg, err := provider.PathSegment("task_gid", gid)
	if err != nil {
		return "", err
	}
	return "/tasks/" + seg + rest, nil
}

type taskRef struct {
	TaskGID string `json:"task_gid"`
}

func getTask(ctx context.Context, c *provider.Call, in taskRef) (any, error) {
	p, err := taskPath(in.TaskGID, "")
	if err != nil {
		return nil, err
	}
	env, err := send(ctx, c, http.MethodGet, p, url.Values{"opt_fields": {taskFields}}, nil)
	return env.Data, err
}

type createTaskIn struct {
	Name      string   `json:"name"`
	Notes     string   `json:"notes,omitempty"`
	Workspace string   `json:"workspace,omitempty"`
	Projects  []string `json:"projects,omitempty"`
	Assignee  string   `json:"assignee,omitempty"`
	DueOn     string   `json:"due_on,omitempty"`
	Parent    string   `json:"parent,omitempty"`
}

func createTask(ctx context.Context, c *provider.Call, in createTaskIn) (any, error) {
	if in.Workspace == "" && len(in.Projects) == 0 && in.Parent == "" {
		return nil, provider.UserError("workspace", "give workspace, projects or parent")
	}
	env, err := send(ctx, c, http.MethodPost, "/tasks", url.Values{"opt_fields": {taskFields}}, in)
	return env.Data, err
}

type updateTaskIn struct {
	TaskGID   string  `json:"task_gid"`
	Name      string  `json:"name"`
	Notes     *string `json:"notes"`
	Assignee  string  `json:"assignee"`
	DueOn     string  `json:"due_on"`
	Completed *bool   `json:"completed"`
}

func updateTask(ctx context.Context, c *provider.Call, in updateTaskIn) (any, error) {
	p, err := taskPath(in.TaskGID, "")
	if err != nil {
		return nil, err
	}
	data := map[string]any{}
	for k, v := range map[string]string{"name": in.Name, "assignee": in.Assignee, "due_on": in.DueOn} {
		if v != "" {
			data[k] = v
		}
	}
	if in.Notes != nil {
		data["notes"] = *in.Notes
	}
	if in.Completed != nil {
		data["completed"] = *in.Completed
	}
	if len(data) == 0 {
		return nil, provider.UserError("", "nothing to update: give name, notes, assignee, due_on or completed")
	}
	env, err := send(ctx, c, http.MethodPut, p, url.Values{"opt_fields": {taskFields}}, data)
	return env.Data, err
}

type commentIn struct {
	TaskGID string `json:"task_gid"`
	Text    string `json:"text"`
}

func addComment(ctx context.Context, c *provider.Call, in commentIn) (any, error) {
	p, err := taskPath(in.TaskGID, "/stories")
	if err != nil {
		return nil, err
	}
	env, err := send(ctx, c, http.MethodPost, p, nil, map[string]string{"text": in.Text})
	return env.Data, err
}
