package jira_test

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

// fakeAtlassian behaves like the parts of api.atlassian.com the provider
// uses: accessible-resources listing the sites a 3LO token reaches, the
// /ex/jira/{cloudId}/rest/api/3 gateway (404 for an unknown cloudId),
// the enhanced JQL search with nextPageToken, project search with
// startAt/maxResults/isLast, ADF bodies, and Jira's
// {"errorMessages","errors"} body.
type fakeAtlassian struct {
	*providertest.Recorder

	mu     sync.Mutex
	issues []map[string]any
}

func newFakeAtlassian(t testing.TB) *fakeAtlassian {
	f := &fakeAtlassian{}
	for i := 1; i <= 3; i++ {
		f.issues = append(f.issues, map[string]any{"id": strconv.Itoa(10000 + i), "key": fmt.Sprintf("ENG-%d", i),
			"fields": map[string]any{"summary": fmt.Sprintf("Issue %d", i), "status": map[string]any{"name": "To Do"}}})
	}
	f.Recorder = providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, f.serve)
	return f
}

func jiraError(w http.ResponseWriter, status int, msgs []string, errs map[string]string) {
	if msgs == nil {
		msgs = []string{}
	}
	if errs == nil {
		errs = map[string]string{}
	}
	providertest.WriteJSON(w, status, map[string]any{"errorMessages": msgs, "errors": errs})
}

func (f *fakeAtlassian) serve(w http.ResponseWriter, r *http.Request, raw []byte) {
	if r.Header.Get("Authorization") != "Bearer atl-valid" {
		providertest.WriteJSON(w, 401, map[string]any{"code": 401, "message": "Unauthorized"})
		return
	}
	if r.URL.Path == "/oauth/token/accessible-resources" {
		providertest.WriteJSON(w, 200, []any{
			map[string]any{"id": "cloud-acme", "url": "https://acme.atlassian.net", "name": "acme", "scopes": []string{"read:jira-work", "write:jira-work", "read:jira-user"}, "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png"},
			map[string]any{"id": "cloud-wiki", "url": "https://wiki.atlassian.net", "name": "wiki", "scopes": []string{"read:confluence-content.all"}},
			map[string]any{"id": "cloud-beta", "url": "https://beta.atlassian.net", "name": "beta", "scopes": []string{"read:jira-work"}},
		})
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/ex/jira/")
	cloud, p, _ := strings.Cut(rest, "/rest/api/3")
	if !ok || (cloud != "cloud-acme" && cloud != "cloud-beta") {
		providertest.WriteJSON(w, 404, map[string]any{"code": 404, "message": "Not Found"})
		return
	}
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == "GET" && p == "/myself":
		providertest.WriteJSON(w, 200, map[string]any{"accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof", "emailAddress": "mia@acme.test", "active": true})
	case r.Method == "GET" && p == "/project/search":
		all := []map[string]any{{"id": "10000", "key": "ENG", "name": "Engineering"}, {"id": "10001", "key": "OPS", "name": "Operations"}, {"id": "10002", "key": "MKT", "name": "Marketing"}}
		start := providertest.QueryInt(q, "startAt", 0)
		max := providertest.QueryInt(q, "maxResults", 50)
		end := min(start+max, len(all))
		providertest.WriteJSON(w, 200, map[string]any{"self": "https://acme.atlassian.net/rest/api/3/project/search", "startAt": start, "maxResults": max, "total": len(all), "isLast": end >= len(all), "values": all[start:end]})
	case r.Method == "GET" && p == "/search/jql":
		if !strings.HasPrefix(q.Get("jql"), "project = ENG") {
			jiraError(w, 400, []string{"The value '" + q.Get("jql") + "' does not exist for the field 'project'."}, nil)
			return
		}
		max := providertest.QueryInt(q, "maxResults", 50)
		start := 0
		if tok := q.Get("nextPageToken"); tok != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(tok, "tok-"))
		}
		end := min(start+max, len(f.issues))
		out := map[string]any{"issues": f.issues[start:end], "isLast": end >= len(f.issues)}
		if end < len(f.issues) {
			out["nextPageToken"] = fmt.Sprintf("tok-%d", end)
		}
		providertest.WriteJSON(w, 200, out)
	case r.Method == "POST" && p == "/issue":
		fields, _ := body["fields"].(map[string]any)
		if s, _ := fields["summary"].(string); s == "" {
			jiraError(w, 400, nil, map[string]string{"summary": "You must specify a summary of the issue."})
			return
		}
		is := map[string]any{"id": strconv.Itoa(10000 + len(f.issues) + 1), "key": fmt.Sprintf("ENG-%d", len(f.issues)+1), "fields": fields}
		f.issues = append(f.issues, is)
		providertest.WriteJSON(w, 201, map[string]any{"id": is["id"], "key": is["key"], "self": "https://api.atlassian.com/ex/jira/" + cloud + "/rest/api/3/issue/" + is["id"].(string)})
	case strings.HasPrefix(p, "/issue/"):
		parts := strings.Split(strings.TrimPrefix(p, "/issue/"), "/")
		var is map[string]any
		for _, x := range f.issues {
			if x["key"] == parts[0] || x["id"] == parts[0] {
				is = x
			}
		}
		if is == nil {
			jiraError(w, 404, []string{"Issue does not exist or you do not have permission to see it."}, nil)
			return
		}
		switch {
		case len(parts) == 1 && r.Method == "GET":
			providertest.WriteJSON(w, 200, is)
		case len(parts) == 1 && r.Method == "PUT":
			for k, v := range body["fields"].(map[string]any) {
				is["fields"].(map[string]any)[k] = v
			}
			w.WriteHeader(204)
		case len(parts) == 2 && parts[1] == "comment" && r.Method == "POST":
			providertest.WriteJSON(w, 201, map[string]any{"id": "10100", "self": "https://api.atlassian.com/ex/jira/" + cloud + "/rest/api/3/issue/" + is["id"].(string) + "/comment/10100", "created": "2024-04-01T10:00:00.000+0000", "body": body["body"]})
		default:
			jiraError(w, 405, []string{"Method not allowed"}, nil)
		}
	default:
		jiraError(w, 404, []string{"No resource found"}, nil)
	}
}
