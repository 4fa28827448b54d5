package figma_test

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

// fakeFigma behaves like the parts of api.figma.com the provider uses:
// personal access tokens in X-Figma-Token and OAuth tokens as Bearer,
// version history paged through pagination.next_page URLs carrying
// "before", image renders keyed by node id, and Figma's
// {"status","err"} errors with Retry-After on 429.
type fakeFigma struct {
	*providertest.Recorder

	mu sync.Mutex
}

const fileKey = "FdQ8kZ1n2S3t4U"

func newFakeFigma(t testing.TB) *fakeFigma {
	f := &fakeFigma{}
	f.Recorder = providertest.NewRecorder(t, []string{"X-Figma-Token", "Authorization", "Content-Type"}, f.serve)
	return f
}

func figmaError(w http.ResponseWriter, status int, msg string) {
	providertest.WriteJSON(w, status, map[string]any{"status": status, "err": msg})
}

func (f *fakeFigma) serve(w http.ResponseWriter, r *http.Request, raw []byte) {
	pat, bearer := r.Header.Get("X-Figma-Token"), r.Header.Get("Authorization")
	switch {
	case pat == "figd_valid" && bearer == "", bearer == "Bearer figu_oauth" && pat == "":
	case pat == "figd_limited":
		w.Header().Set("Retry-After", "20")
		figmaError(w, 429, "Rate limit exceeded")
		return
	default:
		figmaError(w, 403, "Invalid token")
		return
	}
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	p := r.URL.Path
	if strings.HasPrefix(p, "/v1/files/") || strings.HasPrefix(p, "/v1/images/") {
		parts := strings.Split(p, "/")
		if parts[3] != fileKey {
			figmaError(w, 404, "Not found")
			return
		}
	}
	base := "/v1/files/" + fileKey
	switch {
	case r.Method == "GET" && p == "/v1/me":
		providertest.WriteJSON(w, 200, map[string]any{"id": "1234567", "handle": "ada", "email": "ada@acme.test", "img_url": "https://s3-alpha.figma.com/profile/ada"})
	case r.Method == "GET" && p == base:
		doc := map[string]any{"id": "0:0", "name": "Document", "type": "DOCUMENT", "children": []any{map[string]any{"id": "0:1", "name": "Page 1", "type": "CANVAS"}}}
		providertest.WriteJSON(w, 200, map[string]any{"name": "Design system", "lastModified": "2024-05-01T10:00:00Z", "version": "5432", "role": "editor", "editorType": "figma", "document": doc, "components": map[string]any{}, "styles": map[string]any{}, "schemaVersion": 0})
	case r.Method == "GET" && p == base+"/nodes":
		nodes := map[string]any{}
		for _, id := range strings.Split(q.Get("ids"), ",") {
			nodes[id] = map[string]any{"document": map[string]any{"id": id, "name": "Frame " + id, "type": "FRAME"}, "components": map[string]any{}}
		}
		providertest.WriteJSON(w, 200, map[string]any{"name": "Design system", "nodes": nodes})
	case r.Method == "GET" && p == base+"/versions":
		var all []map[string]any
		for i := 5; i >= 1; i-- {
			all = append(all, map[string]any{"id": strconv.Itoa(1000 + i), "created_at": fmt.Sprintf("2024-05-0%dT10:00:00Z", i), "label": nil, "description": nil, "user": map[string]any{"handle": "ada"}})
		}
		size := providertest.QueryInt(q, "page_size", 30)
		start := 0
		if b := q.Get("before"); b != "" {
			for i, v := range all {
				if v["id"] == b {
					start = i + 1
				}
			}
		}
		end := min(start+size, len(all))
		pag := map[string]any{"prev_page": fmt.Sprintf("https://api.figma.com%s?page_size=%d&after=%s", p, size, all[start]["id"])}
		if end < len(all) {
			pag["next_page"] = fmt.Sprintf("https://api.figma.com%s?page_size=%d&before=%s", p, size, all[end-1]["id"])
		}
		providertest.WriteJSON(w, 200, map[string]any{"versions": all[start:end], "pagination": pag})
	case r.Method == "GET" && p == "/v1/images/"+fileKey:
		images := map[string]any{}
		for _, id := range strings.Split(q.Get("ids"), ",") {
			if id == "9:9" {
				images[id] = nil
				continue
			}
			images[id] = "https://figma-alpha-api.s3.us-west-2.amazonaws.com/images/" + strings.ReplaceAll(id, ":", "-") + "." + q.Get("format")
		}
		providertest.WriteJSON(w, 200, map[string]any{"err": nil, "images": images})
	case r.Method == "GET" && p == base+"/comments":
		providertest.WriteJSON(w, 200, map[string]any{"comments": []any{map[string]any{"id": "c1", "message": "Looks good", "created_at": "2024-05-02T10:00:00Z", "user": map[string]any{"handle": "bob"}, "order_id": "1"}}})
	case r.Method == "POST" && p == base+"/comments":
		var body map[string]any
		if json.Unmarshal(raw, &body) != nil || body["message"] == "" || body["message"] == nil {
			figmaError(w, 400, "Message is required")
			return
		}
		if cid, ok := body["comment_id"].(string); ok && cid != "c1" {
			figmaError(w, 404, "Comment not found")
			return
		}
		providertest.WriteJSON(w, 200, map[string]any{"id": "c2", "message": body["message"], "created_at": "2024-05-03T10:00:00Z", "parent_id": body["comment_id"], "client_meta": body["client_meta"]})
	default:
		figmaError(w, 404, "Not found")
	}
}
