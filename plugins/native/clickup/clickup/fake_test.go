package clickup_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/atomhq/atom/sdk/providertest"
)

// fakeClickUp behaves like the parts of api.clickup.com/api/v2 the
// provider uses: personal and OAuth tokens bare in Authorization (a
// Bearer scheme is refused), task lists paged by 0-based page number with last_page, and
// ClickUp's {"err","ECODE"} errors.
type fakeClickUp struct {
	*providertest.Recorder

	mu      sync.Mutex
	tasks   []map[string]any
	perPage int
}

func newFakeClickUp(t testing.TB) *fakeClickUp {
	f := &fakeClickUp{perPage: 2}
	for i := 1; i <= 3; i++ {
		f.tasks = append(f.tasks, map[string]any{"id": fmt.Sprintf("86a%d", i), "name": fmt.Sprintf("Task %d", i),
			"status": map[string]any{"status": "to do", "type": "open"}, "url": fmt.Sprintf("https://app.clickup.com/t/86a%d", i)})
	}
	f.Recorder = providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, f.serve)
	return f
}

func cuError(w http.ResponseWriter, status int, msg, code string) {
	providertest.WriteJSON(w, status, map[string]string{"err": msg, "ECODE": code})
}

func (f *fakeClickUp) serve(w http.ResponseWriter, r *http.Request, raw []byte) {
	switch r.Header.Get("Authorization") {
	case "pk_12345_VALID", "oauth-valid":
	case "Bearer pk_12345_VALID", "Bearer oauth-valid":
		cuError(w, 401, "Oauth token not found", "OAUTH_019")
		return
	default:
		cuError(w, 401, "Token invalid", "OAUTH_025")
		return
	}
	p, ok := strings.CutPrefix(r.URL.Path, "/api/v2/")
	if !ok {
		cuError(w, 404, "Route not found", "APP_001")
		return
	}
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	parts := strings.Split(p, "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == "GET" && p == "user":
		providertest.WriteJSON(w, 200, map[string]any{"user": map[string]any{"id": 123, "username": "jdoe", "email": "jdoe@acme.test", "color": "#7b68ee"}})
	case r.Method == "GET" && p == "team":
		providertest.WriteJSON(w, 200, map[string]any{"teams": []any{map[string]any{"id": "9001", "name": "Acme", "members": []any{}}}})
	case r.Method == "GET" && len(parts) == 3 && parts[0] == "team" && parts[2] == "space":
		if parts[1] != "9001" {
			cuError(w, 401, "Team not authorized", "OAUTH_027")
			return
		}
		providertest.WriteJSON(w, 200, map[string]any{"spaces": []any{map[string]any{"id": "790", "name": "Engineering", "private": false}}})
	case len(parts) == 3 && parts[0] == "list" && parts[2] == "task":
		if parts[1] != "900100" {
			cuError(w, 401, "Team not authorized", "OAUTH_027")
			return
		}
		if r.Method == "POST" {
			if n, _ := body["name"].(string); n == "" {
				cuError(w, 400, "Task name invalid", "INPUT_005")
				return
			}
			task := map[string]any{"id": fmt.Sprintf("86a%d", len(f.tasks)+1), "name": body["name"], "description": body["description"],
				"status": map[string]any{"status": "to do"}, "priority": body["priority"], "url": fmt.Sprintf("https://app.clickup.com/t/86a%d", len(f.tasks)+1)}
			f.tasks = append(f.tasks, task)
			providertest.WriteJSON(w, 200, task)
			return
		}
		page := providertest.QueryInt(r.URL.Query(), "page", 0)
		start := min(page*f.perPage, len(f.tasks))
		end := min(start+f.perPage, len(f.tasks))
		providertest.WriteJSON(w, 200, map[string]any{"tasks": f.tasks[start:end], "last_page": end >= len(f.tasks)})
	case len(parts) >= 2 && parts[0] == "task":
		var task map[string]any
		for _, t := range f.tasks {
			if t["id"] == parts[1] {
				task = t
			}
		}
		if task == nil {
			cuError(w, 401, "Team not authorized", "OAUTH_027")
			return
		}
		switch {
		case len(parts) == 2 && r.Method == "GET":
			providertest.WriteJSON(w, 200, task)
		case len(parts) == 2 && r.Method == "PUT":
			for k, v := range body {
				if k == "status" {
					v = map[string]any{"status": v}
				}
				task[k] = v
			}
			providertest.WriteJSON(w, 200, task)
		case len(parts) == 3 && parts[2] == "comment" && r.Method == "POST":
			providertest.WriteJSON(w, 200, map[string]any{"id": 458315, "hist_id": "26508", "date": 1568036964079})
		default:
			cuError(w, 404, "Route not found", "APP_001")
		}
	default:
		cuError(w, 404, "Route not found", "APP_001")
	}
}
