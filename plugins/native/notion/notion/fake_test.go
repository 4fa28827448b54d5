package notion_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/atomhq/atom/sdk/providertest"
)

// fakeNotion behaves like the parts of api.notion.com the provider uses:
// Bearer tokens, the mandatory Notion-Version header, list objects with
// start_cursor/page_size/has_more/next_cursor (in the body for POST
// endpoints, the query for GET ones), and Notion's error object.
type fakeNotion struct {
	*providertest.Recorder

	mu     sync.Mutex
	pages  []map[string]any
	blocks []map[string]any
}

func newFakeNotion(t testing.TB) *fakeNotion {
	f := &fakeNotion{}
	for i := 1; i <= 3; i++ {
		f.pages = append(f.pages, map[string]any{"object": "page", "id": fmt.Sprintf("page-%d", i),
			"parent": map[string]any{"type": "database_id", "database_id": "db-1"}, "url": fmt.Sprintf("https://www.notion.so/page-%d", i),
			"properties": map[string]any{"Name": map[string]any{"id": "title", "type": "title", "title": []any{map[string]any{"plain_text": fmt.Sprintf("Task %d", i)}}}}})
	}
	for i := 1; i <= 3; i++ {
		f.blocks = append(f.blocks, map[string]any{"object": "block", "id": fmt.Sprintf("block-%d", i), "type": "paragraph", "has_children": false,
			"paragraph": map[string]any{"rich_text": []any{map[string]any{"plain_text": fmt.Sprintf("Line %d", i)}}}})
	}
	f.Recorder = providertest.NewRecorder(t, []string{"Authorization", "Notion-Version", "Content-Type"}, f.serve)
	return f
}

func notionError(w http.ResponseWriter, status int, code, msg string) {
	providertest.WriteJSON(w, status, map[string]any{"object": "error", "status": status, "code": code, "message": msg, "request_id": "req-fake"})
}

func (f *fakeNotion) serve(w http.ResponseWriter, r *http.Request, raw []byte) {
	if r.Header.Get("Notion-Version") == "" {
		notionError(w, 400, "missing_version", "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.")
		return
	}
	switch r.Header.Get("Authorization") {
	case "Bearer ntn_oauth_valid", "Bearer secret_internal":
	case "Bearer ntn_limited":
		w.Header().Set("Retry-After", "3")
		notionError(w, 429, "rate_limited", "You have been rate limited. Please try again in a few minutes.")
		return
	default:
		notionError(w, 401, "unauthorized", "API token is invalid.")
		return
	}
	var body map[string]any
	if len(raw) > 0 && json.Unmarshal(raw, &body) != nil {
		notionError(w, 400, "invalid_json", "Error parsing JSON body.")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := r.URL.Path
	switch {
	case r.Method == "GET" && p == "/v1/users/me":
		providertest.WriteJSON(w, 200, map[string]any{"object": "user", "id": "bot-1", "type": "bot", "name": "Atom",
			"bot": map[string]any{"owner": map[string]any{"type": "workspace", "workspace": true}, "workspace_name": "Acme HQ"}})
	case r.Method == "POST" && p == "/v1/search":
		items := f.pages
		if flt, ok := body["filter"].(map[string]any); ok && flt["value"] == "database" {
			items = nil
		}
		f.list(w, items, str(body["start_cursor"]), num(body["page_size"]))
	case r.Method == "POST" && p == "/v1/databases/db-1/query":
		f.list(w, f.pages, str(body["start_cursor"]), num(body["page_size"]))
	case r.Method == "POST" && strings.HasPrefix(p, "/v1/databases/") && strings.HasSuffix(p, "/query"):
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/v1/databases/"), "/query")
		notionError(w, 404, "object_not_found", "Could not find database with ID: "+id+". Make sure the relevant pages and databases are shared with your integration.")
	case r.Method == "GET" && strings.HasPrefix(p, "/v1/pages/"):
		id := strings.TrimPrefix(p, "/v1/pages/")
		for _, pg := range f.pages {
			if pg["id"] == id {
				providertest.WriteJSON(w, 200, pg)
				return
			}
		}
		notionError(w, 404, "object_not_found", "Could not find page with ID: "+id+". Make sure the relevant pages and databases are shared with your integration.")
	case r.Method == "POST" && p == "/v1/pages":
		props, _ := body["properties"].(map[string]any)
		if _, ok := props["Name"]; !ok {
			notionError(w, 400, "validation_error", "body failed validation: body.properties.Name should be defined, instead was `undefined`.")
			return
		}
		pg := map[string]any{"object": "page", "id": fmt.Sprintf("page-%d", len(f.pages)+1), "parent": body["parent"], "properties": props,
			"url": fmt.Sprintf("https://www.notion.so/page-%d", len(f.pages)+1)}
		f.pages = append(f.pages, pg)
		providertest.WriteJSON(w, 200, pg)
	case r.Method == "PATCH" && p == "/v1/blocks/page-1/children":
		children, _ := body["children"].([]any)
		var added []map[string]any
		for i, ch := range children {
			b := ch.(map[string]any)
			b["id"] = fmt.Sprintf("block-new-%d", i+1)
			b["has_children"] = false
			added = append(added, b)
		}
		providertest.WriteJSON(w, 200, map[string]any{"object": "list", "results": added, "next_cursor": nil, "has_more": false, "type": "block", "block": map[string]any{}})
	case r.Method == "GET" && p == "/v1/blocks/page-1/children":
		n := providertest.QueryInt(r.URL.Query(), "page_size", 0)
		f.list(w, f.blocks, r.URL.Query().Get("start_cursor"), n)
	default:
		notionError(w, 400, "invalid_request_url", "Invalid request URL.")
	}
}

// list pages items Notion-style: the cursor is the id of the next item.
func (f *fakeNotion) list(w http.ResponseWriter, items []map[string]any, cursor string, size int) {
	if size == 0 {
		size = 100
	}
	start := 0
	if cursor != "" {
		start = -1
		for i, it := range items {
			if it["id"] == cursor {
				start = i
			}
		}
		if start < 0 {
			notionError(w, 400, "validation_error", "body failed validation: body.start_cursor should be a valid cursor.")
			return
		}
	}
	end := min(start+size, len(items))
	res := items[start:end]
	if res == nil {
		res = []map[string]any{}
	}
	var next any
	if end < len(items) {
		next = items[end]["id"]
	}
	providertest.WriteJSON(w, 200, map[string]any{"object": "list", "results": res, "next_cursor": next, "has_more": end < len(items), "type": "page_or_database"})
}

func str(v any) string { s, _ := v.(string); return s }
func num(v any) int    { n, _ := v.(float64); return int(n) }
