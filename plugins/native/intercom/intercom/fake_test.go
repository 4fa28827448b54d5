package intercom_test

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

// fakeIntercom behaves like the parts of api.intercom.io the provider
// uses: Bearer tokens, the Intercom-Version header, contacts paged with
// per_page and pages.next.starting_after, admin-authored replies and
// notes, and Intercom's error.list body.
type fakeIntercom struct {
	*providertest.Recorder

	mu       sync.Mutex
	contacts []map[string]any
}

func newFakeIntercom(t testing.TB) *fakeIntercom {
	f := &fakeIntercom{}
	for i := 1; i <= 3; i++ {
		f.contacts = append(f.contacts, map[string]any{"type": "contact", "id": fmt.Sprintf("65a%d", i), "role": "user", "email": fmt.Sprintf("user%d@acme.test", i), "name": fmt.Sprintf("User %d", i)})
	}
	f.Recorder = providertest.NewRecorder(t, []string{"Authorization", "Intercom-Version", "Content-Type"}, f.serve)
	return f
}

func icError(w http.ResponseWriter, status int, code, msg, field string) {
	e := map[string]string{"code": code, "message": msg}
	if field != "" {
		e["field"] = field
	}
	providertest.WriteJSON(w, status, map[string]any{"type": "error.list", "request_id": "req-fake", "errors": []any{e}})
}

func (f *fakeIntercom) serve(w http.ResponseWriter, r *http.Request, raw []byte) {
	if r.Header.Get("Intercom-Version") != "2.11" {
		icError(w, 400, "intercom_version_invalid", "Requested version is not valid", "")
		return
	}
	switch r.Header.Get("Authorization") {
	case "Bearer dG9rOnZhbGlk", "Bearer custom-token":
	default:
		icError(w, 401, "unauthorized", "Access Token Invalid", "")
		return
	}
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	p := r.URL.Path
	switch {
	case r.Method == "GET" && p == "/me":
		providertest.WriteJSON(w, 200, map[string]any{"type": "admin", "id": "991267", "name": "Ciaran", "email": "ciaran@acme.test", "email_verified": true,
			"app": map[string]any{"type": "app", "id_code": "abc123", "name": "Acme Support", "region": "US", "timezone": "Europe/Dublin"}})
	case r.Method == "GET" && p == "/contacts":
		per := providertest.QueryInt(q, "per_page", 50)
		start := 0
		if a := q.Get("starting_after"); a != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(a, "WzE3MDAwMDAwMDAsIjY1YSIs"))
			if err != nil {
				icError(w, 400, "parameter_invalid", "starting_after is invalid", "starting_after")
				return
			}
			start = n
		}
		end := min(start+per, len(f.contacts))
		pages := map[string]any{"type": "pages", "page": start/per + 1, "per_page": per, "total_pages": (len(f.contacts) + per - 1) / per}
		if end < len(f.contacts) {
			pages["next"] = map[string]any{"page": start/per + 2, "starting_after": fmt.Sprintf("WzE3MDAwMDAwMDAsIjY1YSIs%d", end)}
		}
		providertest.WriteJSON(w, 200, map[string]any{"type": "list", "data": f.contacts[start:end], "total_count": len(f.contacts), "pages": pages})
	case r.Method == "POST" && p == "/contacts":
		email, _ := body["email"].(string)
		for _, c := range f.contacts {
			if c["email"] == email && email != "" {
				icError(w, 409, "conflict", "A contact matching those details already exists with id="+c["id"].(string), "")
				return
			}
		}
		c := map[string]any{"type": "contact", "id": fmt.Sprintf("65a%d", len(f.contacts)+1), "role": body["role"], "email": body["email"], "name": body["name"], "custom_attributes": body["custom_attributes"]}
		f.contacts = append(f.contacts, c)
		providertest.WriteJSON(w, 200, c)
	case r.Method == "POST" && strings.HasPrefix(p, "/contacts/") && strings.HasSuffix(p, "/notes"):
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/contacts/"), "/notes")
		if id != "65a1" {
			icError(w, 404, "not_found", "User Not Found", "")
			return
		}
		providertest.WriteJSON(w, 200, map[string]any{"type": "note", "id": "17495962", "body": "<p>" + body["body"].(string) + "</p>", "author": map[string]any{"type": "admin", "id": body["admin_id"]}})
	case r.Method == "GET" && p == "/tags":
		providertest.WriteJSON(w, 200, map[string]any{"type": "list", "data": []any{map[string]any{"type": "tag", "id": "81", "name": "vip"}}})
	case r.Method == "GET" && p == "/conversations/147":
		providertest.WriteJSON(w, 200, map[string]any{"type": "conversation", "id": "147", "state": "open", "conversation_parts": map[string]any{"type": "conversation_part.list", "conversation_parts": []any{}, "total_count": 0}})
	case r.Method == "POST" && p == "/conversations/147/reply":
		if body["admin_id"] == nil || body["type"] != "admin" {
			icError(w, 400, "parameter_not_found", "admin_id not found", "admin_id")
			return
		}
		providertest.WriteJSON(w, 200, map[string]any{"type": "conversation", "id": "147", "state": "open"})
	case strings.HasPrefix(p, "/conversations/"):
		icError(w, 404, "not_found", "Resource Not Found", "")
	default:
		icError(w, 404, "not_found", "Resource Not Found", "")
	}
}
