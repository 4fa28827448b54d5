package asana_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/atomhq/atom/sdk/providertest"
)

// fakeAsana behaves like the parts of app.asana.com/api/1.0 the provider
// uses: Bearer tokens, the {"data"} envelope in both directions, limit
// and offset pagination answering next_page, 429 with Retry-After, and
// Asana's {"errors":[{"message","help"}]} body.
type fakeAsana struct {
	*providertest.Recorder

	mu    sync.Mutex
	tasks []map[string]any
}

func newFakeAsana(t testing.TB) *fakeAsana {
	f := &fakeAsana{}
	for i := 1; i <= 3; i++ {
		f.tasks = append(f.tasks, map[string]any{"gid": fmt.Sprintf("100%d", i), "resource_type": "task", "name": fmt.Sprintf("Task %d", i), "completed": false, "notes": ""})
	}
	f.Recorder = providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, f.serve)
	return f
}

func asanaError(w http.ResponseWriter, status int, msg string) {
	providertest.WriteJSON(w, status, map[string]any{"errors": []any{map[string]string{"message": msg,
		"help": "For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors"}}})
}

func (f *fakeAsana) serve(w http.ResponseWriter, r *http.Request, raw []byte) {
	switch r.Header.Get("Authorization") {
	case "Bearer 2/oauth-valid", "Bearer 1/pat-valid":
	case "Bearer 2/limited":
		w.Header().Set("Retry-After", "30")
		asanaError(w, 429, "You have made too many requests recently. Please, be chill.")
		return
	default:
		asanaError(w, 401, "Not Authorized")
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/api/1.0")
	if !ok {
		http.NotFound(w, r)
		return
	}
	var in struct {
		Data map[string]any `json:"data"`
	}
	if len(raw) > 0 && (json.Unmarshal(raw, &in) != nil || in.Data == nil) {
		asanaError(w, 400, "Could not parse request data, invalid JSON")
		return
	}
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == "GET" && path == "/users/me":
		providertest.WriteJSON(w, 200, map[string]any{"data": map[string]any{"gid": "12345", "resource_type": "user", "name": "Greg Sanchez", "email": "gsanchez@example.com"}})
	case r.Method == "GET" && path == "/workspaces":
		f.list(w, r, "/workspaces", []map[string]any{{"gid": "ws1", "name": "Acme"}, {"gid": "ws2", "name": "Personal"}})
	case r.Method == "GET" && path == "/projects":
		if q.Get("workspace") != "ws1" {
			asanaError(w, 400, "workspace: Not a recognized ID: "+q.Get("workspace"))
			return
		}
		f.list(w, r, "/projects", []map[string]any{{"gid": "p1", "name": "Launch"}, {"gid": "p2", "name": "Ops"}, {"gid": "p3", "name": "Hiring"}})
	case r.Method == "GET" && path == "/tasks":
		if q.Get("project") != "p1" {
			asanaError(w, 400, "project: Not a recognized ID: "+q.Get("project"))
			return
		}
		f.list(w, r, "/tasks", f.tasks)
	case r.Method == "POST" && path == "/tasks":
		name, _ := in.Data["name"].(string)
		t := map[string]any{"gid": fmt.Sprintf("100%d", len(f.tasks)+1), "resource_type": "task", "name": name, "notes": in.Data["notes"], "completed": false,
			"projects": in.Data["projects"], "due_on": in.Data["due_on"]}
		f.tasks = append(f.tasks, t)
		providertest.WriteJSON(w, 201, map[string]any{"data": t})
	case strings.HasPrefix(path, "/tasks/"):
		rest := strings.Split(strings.TrimPrefix(path, "/tasks/"), "/")
		var task map[string]any
		for _, t := range f.tasks {
			if t["gid"] == rest[0] {
				task = t
			}
		}
		if task == nil {
			asanaError(w, 404, "task: Unknown object: "+rest[0])
			return
		}
		switch {
		case len(rest) == 1 && r.Method == "GET":
			providertest.WriteJSON(w, 200, map[string]any{"data": task})
		case len(rest) == 1 && r.Method == "PUT":
			for k, v := range in.Data {
				task[k] = v
			}
			providertest.WriteJSON(w, 200, map[string]any{"data": task})
		case len(rest) == 2 && rest[1] == "stories" && r.Method == "POST":
			providertest.WriteJSON(w, 201, map[string]any{"data": map[string]any{"gid": "9001", "resource_type": "story", "type": "comment", "text": in.Data["text"], "created_at": "2024-06-01T12:00:00.000Z"}})
		default:
			asanaError(w, 404, "No matching route for request")
		}
	default:
		asanaError(w, 404, "No matching route for request")
	}
}

// list pages items Asana-style: offsets are opaque tokens ("eyJ" plus the
// start index here) valid only with a limit.
func (f *fakeAsana) list(w http.ResponseWriter, r *http.Request, path string, items []map[string]any) {
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if q.Get("limit") != "" && (err != nil || limit < 1 || limit > 100) {
		asanaError(w, 400, "limit: Must be between 1 and 100")
		return
	}
	if q.Get("limit") == "" {
		limit = len(items)
	}
	start := 0
	if o := q.Get("offset"); o != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(o, "eyJ"))
		if err != nil || !strings.HasPrefix(o, "eyJ") {
			asanaError(w, 400, "offset: Your pagination token is invalid.")
			return
		}
		start = n
	}
	end := min(start+limit, len(items))
	var next any
	if end < len(items) {
		off := fmt.Sprintf("eyJ%d", end)
		next = map[string]string{"offset": off, "path": path + "?limit=" + strconv.Itoa(limit) + "&offset=" + off, "uri": "https://app.asana.com/api/1.0" + path + "?limit=" + strconv.Itoa(limit) + "&offset=" + off}
	}
	providertest.WriteJSON(w, 200, map[string]any{"data": items[start:end], "next_page": next})
}
