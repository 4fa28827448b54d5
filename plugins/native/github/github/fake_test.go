package github_test

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

// fakeGitHub behaves like the parts of api.github.com the provider uses:
// Bearer tokens, the vnd.github media type and API version header,
// page/per_page pagination with a Link header, 404 and 422 validation
// errors in GitHub's shape, and a primary rate limit answered with 403
// and X-RateLimit-Remaining: 0.
type fakeGitHub struct {
	*providertest.Recorder
	tokens map[string]string // token -> login

	mu     sync.Mutex
	repos  []map[string]any
	issues []map[string]any // of atomhq/atom
}

func newFakeGitHub(t testing.TB) *fakeGitHub {
	f := &fakeGitHub{
		tokens: map[string]string{"gho_valid": "octocat", "ghp_pat": "hubot", "gho_limited": "octocat"},
	}
	for i := 1; i <= 5; i++ {
		f.repos = append(f.repos, map[string]any{"id": 1000 + i, "name": fmt.Sprintf("repo%d", i), "full_name": fmt.Sprintf("octocat/repo%d", i), "private": i%2 == 0})
	}
	for i := 1; i <= 3; i++ {
		f.issues = append(f.issues, map[string]any{"id": 500 + i, "number": i, "title": fmt.Sprintf("Issue %d", i), "state": "open", "body": nil, "labels": []any{}, "html_url": fmt.Sprintf("https://github.com/atomhq/atom/issues/%d", i)})
	}
	f.Recorder = providertest.NewRecorder(t, []string{"Authorization", "Accept", "X-Github-Api-Version", "Content-Type"}, f.serve)
	return f
}

func ghError(w http.ResponseWriter, status int, msg string, errs ...map[string]string) {
	body := map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest", "status": strconv.Itoa(status)}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	providertest.WriteJSON(w, status, body)
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Header.Get("X-GitHub-Api-Version") != "2022-11-28" || r.Header.Get("Accept") != "application/vnd.github+json" {
		ghError(w, 400, "missing media type or API version")
		return
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	login, ok := f.tokens[tok]
	if !ok {
		ghError(w, 401, "Bad credentials")
		return
	}
	if tok == "gho_limited" {
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", "1700000000")
		ghError(w, 403, "API rate limit exceeded for user ID 583231.")
		return
	}
	w.Header().Set("X-RateLimit-Remaining", "4999")
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == "GET" && r.URL.Path == "/user":
		w.Header().Set("X-OAuth-Scopes", "repo, gist")
		providertest.WriteJSON(w, 200, map[string]any{"login": login, "id": 583231, "type": "User"})
	case r.Method == "GET" && r.URL.Path == "/user/repos":
		f.page(w, r, f.repos)
	case len(parts) >= 4 && parts[0] == "repos" && parts[3] == "issues":
		if parts[1] != "atomhq" || parts[2] != "atom" {
			ghError(w, 404, "Not Found")
			return
		}
		f.issuesAPI(w, r, parts[4:], body)
	default:
		ghError(w, 404, "Not Found")
	}
}

func (f *fakeGitHub) page(w http.ResponseWriter, r *http.Request, all []map[string]any) {
	q := r.URL.Query()
	per, page := providertest.QueryInt(q, "per_page", 30), providertest.QueryInt(q, "page", 1)
	last := (len(all) + per - 1) / per
	link := func(p int, rel string) string {
		u := *r.URL
		v := u.Query()
		v.Set("page", strconv.Itoa(p))
		u.RawQuery = v.Encode()
		return fmt.Sprintf(`<%s%s>; rel="%s"`, "https://api.github.com", u.RequestURI(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start, end := (page-1)*per, page*per
	if start > len(all) {
		start = len(all)
	}
	if end > len(all) {
		end = len(all)
	}
	providertest.WriteJSON(w, 200, all[start:end])
}

func (f *fakeGitHub) issuesAPI(w http.ResponseWriter, r *http.Request, rest []string, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(rest) == 0 {
		switch r.Method {
		case "GET":
			state := r.URL.Query().Get("state")
			var keep []map[string]any
			for _, is := range f.issues {
				if state == "" || state == "all" || is["state"] == state {
					keep = append(keep, is)
				}
			}
			f.page(w, r, keep)
		case "POST":
			var in map[string]any
			if json.Unmarshal(body, &in) != nil {
				ghError(w, 400, "Problems parsing JSON")
				return
			}
			if t, _ := in["title"].(string); t == "" {
				ghError(w, 422, "Validation Failed", map[string]string{"resource": "Issue", "code": "missing_field", "field": "title"})
				return
			}
			is := map[string]any{"id": 500 + len(f.issues) + 1, "number": len(f.issues) + 1, "title": in["title"], "body": in["body"], "state": "open", "labels": in["labels"], "html_url": fmt.Sprintf("https://github.com/atomhq/atom/issues/%d", len(f.issues)+1)}
			f.issues = append(f.issues, is)
			providertest.WriteJSON(w, 201, is)
		}
		return
	}
	n, _ := strconv.Atoi(rest[0])
	if n < 1 || n > len(f.issues) {
		ghError(w, 404, "Not Found")
		return
	}
	is := f.issues[n-1]
	switch {
	case len(rest) == 1 && r.Method == "GET":
		providertest.WriteJSON(w, 200, is)
	case len(rest) == 1 && r.Method == "PATCH":
		var in map[string]any
		_ = json.Unmarshal(body, &in)
		for k, v := range in {
			is[k] = v
		}
		providertest.WriteJSON(w, 200, is)
	case len(rest) == 2 && rest[1] == "comments" && r.Method == "POST":
		var in map[string]string
		_ = json.Unmarshal(body, &in)
		providertest.WriteJSON(w, 201, map[string]any{"id": 9001, "body": in["body"], "html_url": fmt.Sprintf("https://github.com/atomhq/atom/issues/%d#issuecomment-9001", n)})
	default:
		ghError(w, 404, "Not Found")
	}
}
