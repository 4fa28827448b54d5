package linear_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/atomhq/atom/sdk/providertest"
)

// fakeLinear behaves like the parts of api.linear.app/graphql the
// provider uses: OAuth tokens as Bearer and personal API keys bare in
// Authorization, Relay connections with first/after and pageInfo, and
// errors in errors[] with Linear's extensions (HTTP 400 for
// authentication, HTTP 200 for input errors).
type fakeLinear struct {
	*providertest.Recorder

	mu     sync.Mutex
	teams  []map[string]any
	issues []map[string]any
}

func newFakeLinear(t testing.TB) *fakeLinear {
	f := &fakeLinear{}
	for i, k := range []string{"ENG", "OPS", "DES"} {
		f.teams = append(f.teams, map[string]any{"id": fmt.Sprintf("team-%d", i+1), "name": strings.ToLower(k) + " team", "key": k, "description": nil})
	}
	for i := 1; i <= 3; i++ {
		f.issues = append(f.issues, f.issue(fmt.Sprintf("issue-%d", i), "team-1", fmt.Sprintf("Bug %d", i), i))
	}
	f.Recorder = providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, f.serve)
	return f
}

func (f *fakeLinear) issue(id, team, title string, n int) map[string]any {
	key := "ENG"
	return map[string]any{"id": id, "identifier": fmt.Sprintf("%s-%d", key, n), "title": title, "description": nil, "priority": 0,
		"url": fmt.Sprintf("https://linear.app/acme/issue/%s-%d", key, n), "createdAt": fmt.Sprintf("2024-05-0%dT10:00:00.000Z", n), "updatedAt": fmt.Sprintf("2024-05-0%dT10:00:00.000Z", n),
		"state": map[string]any{"id": "state-todo", "name": "Todo", "type": "unstarted"}, "team": map[string]any{"id": team, "key": key}, "assignee": nil}
}

func gqlErrors(w http.ResponseWriter, status int, msg, typ, code, userMsg string) {
	providertest.WriteJSON(w, status, map[string]any{"data": nil, "errors": []any{map[string]any{"message": msg,
		"extensions": map[string]any{"type": typ, "code": code, "userError": true, "userPresentableMessage": userMsg}}}})
}

func (f *fakeLinear) serve(w http.ResponseWriter, r *http.Request, raw []byte) {
	if r.Method != http.MethodPost || r.URL.Path != "/graphql" {
		http.NotFound(w, r)
		return
	}
	auth := r.Header.Get("Authorization")
	ok := auth == "Bearer lin_oauth_valid" || auth == "lin_api_valid"
	if !ok {
		gqlErrors(w, 400, "Authentication required, not authenticated", "authentication error", "AUTHENTICATION_ERROR",
			"You need to authenticate to access this operation.")
		return
	}
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(raw, &req) != nil {
		gqlErrors(w, 400, "POST body missing, invalid Content-Type, or JSON object has no keys.", "graphql error", "BAD_REQUEST", "")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v := req.Variables
	switch q := req.Query; {
	case strings.Contains(q, "viewer {"):
		providertest.WriteJSON(w, 200, map[string]any{"data": map[string]any{
			"viewer":       map[string]any{"id": "user-1", "name": "Ada Lovelace", "email": "ada@acme.test"},
			"organization": map[string]any{"id": "org-1", "name": "Acme", "urlKey": "acme"}}})
	case strings.Contains(q, "teams(first: $first, after: $after)"):
		providertest.WriteJSON(w, 200, map[string]any{"data": map[string]any{"teams": page(f.teams, v)}})
	case strings.Contains(q, "issues(first: $first, after: $after, filter: $filter"):
		items := f.issues
		if flt, ok := v["filter"].(map[string]any); ok {
			want := flt["team"].(map[string]any)["id"].(map[string]any)["eq"]
			items = nil
			for _, is := range f.issues {
				if is["team"].(map[string]any)["id"] == want {
					items = append(items, is)
				}
			}
		}
		providertest.WriteJSON(w, 200, map[string]any{"data": map[string]any{"issues": page(items, v)}})
	case strings.Contains(q, "issueCreate(input: $input)"):
		in := v["input"].(map[string]any)
		if in["teamId"] != "team-1" {
			gqlErrors(w, 200, "Entity not found: Team", "invalid input", "INVALID_INPUT", "Could not find referenced Team.")
			return
		}
		is := f.issue(fmt.Sprintf("issue-%d", len(f.issues)+1), "team-1", in["title"].(string), len(f.issues)+1)
		for _, k := range []string{"description", "priority"} {
			if x, ok := in[k]; ok {
				is[k] = x
			}
		}
		f.issues = append(f.issues, is)
		providertest.WriteJSON(w, 200, map[string]any{"data": map[string]any{"issueCreate": map[string]any{"success": true, "issue": is}}})
	case strings.Contains(q, "issueUpdate(id: $id, input: $input)"):
		for _, is := range f.issues {
			if is["id"] == v["id"] || is["identifier"] == v["id"] {
				for k, x := range v["input"].(map[string]any) {
					is[k] = x
				}
				providertest.WriteJSON(w, 200, map[string]any{"data": map[string]any{"issueUpdate": map[string]any{"success": true, "issue": is}}})
				return
			}
		}
		gqlErrors(w, 200, "Entity not found: Issue", "invalid input", "INVALID_INPUT", "Could not find referenced Issue.")
	case strings.Contains(q, "commentCreate(input: $input)"):
		in := v["input"].(map[string]any)
		providertest.WriteJSON(w, 200, map[string]any{"data": map[string]any{"commentCreate": map[string]any{"success": true, "comment": map[string]any{
			"id": "comment-1", "body": in["body"], "url": "https://linear.app/acme/issue/ENG-1#comment-1", "createdAt": "2024-05-09T10:00:00.000Z"}}}})
	default:
		gqlErrors(w, 400, "Cannot query field", "graphql error", "GRAPHQL_VALIDATION_FAILED", "")
	}
}

// page slices items Relay-style: cursors are node ids.
func page(items []map[string]any, v map[string]any) map[string]any {
	first := 50
	if n, ok := v["first"].(float64); ok {
		first = int(n)
	}
	start := 0
	if after, ok := v["after"].(string); ok {
		for i, it := range items {
			if it["id"] == after {
				start = i + 1
			}
		}
	}
	end := min(start+first, len(items))
	nodes := items[start:end]
	if nodes == nil {
		nodes = []map[string]any{}
	}
	var endCursor any
	if len(nodes) > 0 {
		endCursor = nodes[len(nodes)-1]["id"]
	}
	return map[string]any{"nodes": nodes, "pageInfo": map[string]any{"hasNextPage": end < len(items), "endCursor": endCursor}}
}
