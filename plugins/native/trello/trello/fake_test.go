package trello_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/atomhq/atom/sdk/providertest"
)

// fakeTrello behaves like the parts of api.trello.com/1 the provider
// uses: the key and token in the OAuth Authorization header (or the key
// and token query parameters), card fields as query parameters, board
// actions newest first paged with limit and before, and Trello's plain
// text errors.
type fakeTrello struct {
	*providertest.Recorder

	mu    sync.Mutex
	cards map[string]map[string]any
}

const (
	appKey    = "0123456789abcdef0123456789abcdef"
	userToken = "ATTAvalidtoken"
)

var authHeader = regexp.MustCompile(`^OAuth oauth_consumer_key="([^"]*)", oauth_token="([^"]*)"$`)

func newFakeTrello(t testing.TB) *fakeTrello {
	f := &fakeTrello{cards: map[string]map[string]any{
		"card1": {"id": "card1", "name": "Write spec", "desc": "", "idList": "list1", "idBoard": "board1", "closed": false, "url": "https://trello.com/c/abc/1-write-spec"},
	}}
	f.Recorder = providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, f.serve)
	return f
}

func text(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, msg)
}

func (f *fakeTrello) serve(w http.ResponseWriter, r *http.Request, raw []byte) {
	key, token := r.URL.Query().Get("key"), r.URL.Query().Get("token")
	if m := authHeader.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		key, token = m[1], m[2]
	}
	if key != appKey {
		text(w, 401, "invalid key")
		return
	}
	if token != userToken {
		text(w, 401, "invalid token")
		return
	}
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := strings.CutPrefix(r.URL.Path, "/1/")
	if !ok {
		text(w, 404, "Cannot "+r.Method+" "+r.URL.Path)
		return
	}
	parts := strings.Split(p, "/")
	switch {
	case r.Method == "GET" && p == "members/me":
		providertest.WriteJSON(w, 200, map[string]any{"id": "member1", "username": "ada", "fullName": "Ada Lovelace"})
	case r.Method == "GET" && p == "members/me/boards":
		providertest.WriteJSON(w, 200, []any{map[string]any{"id": "board1", "name": "Roadmap", "desc": "", "url": "https://trello.com/b/xyz/roadmap", "closed": false, "idOrganization": nil}})
	case r.Method == "GET" && len(parts) == 3 && parts[0] == "boards" && parts[1] != "board1":
		text(w, 400, "invalid id")
	case r.Method == "GET" && p == "boards/board1/lists":
		providertest.WriteJSON(w, 200, []any{map[string]any{"id": "list1", "name": "To do", "closed": false, "pos": 16384}, map[string]any{"id": "list2", "name": "Done", "closed": false, "pos": 32768}})
	case r.Method == "GET" && p == "boards/board1/actions":
		var all []map[string]any
		for i := 5; i >= 1; i-- { // newest first
			all = append(all, map[string]any{"id": fmt.Sprintf("act%d", i), "type": "commentCard", "date": fmt.Sprintf("2024-03-0%dT10:00:00.000Z", i), "data": map[string]any{"text": fmt.Sprintf("comment %d", i)}})
		}
		limit := providertest.QueryInt(q, "limit", 0)
		start := 0
		if b := q.Get("before"); b != "" {
			for i, a := range all {
				if a["id"] == b {
					start = i + 1
				}
			}
		}
		providertest.WriteJSON(w, 200, all[start:min(start+limit, len(all))])
	case r.Method == "POST" && p == "cards":
		if q.Get("idList") != "list1" && q.Get("idList") != "list2" {
			text(w, 400, "invalid value for idList")
			return
		}
		c := map[string]any{"id": "card2", "name": q.Get("name"), "desc": q.Get("desc"), "idList": q.Get("idList"), "idBoard": "board1", "closed": false, "url": "https://trello.com/c/def/2"}
		f.cards["card2"] = c
		providertest.WriteJSON(w, 200, c)
	case len(parts) >= 2 && parts[0] == "cards":
		c, ok := f.cards[parts[1]]
		if !ok {
			text(w, 404, "The requested resource was not found.")
			return
		}
		switch {
		case len(parts) == 2 && r.Method == "GET":
			providertest.WriteJSON(w, 200, c)
		case len(parts) == 2 && r.Method == "PUT":
			for qk, ck := range map[string]string{"name": "name", "desc": "desc", "idList": "idList"} {
				if v := q.Get(qk); v != "" {
					c[ck] = v
				}
			}
			if v := q.Get("closed"); v != "" {
				c["closed"] = v == "true"
			}
			providertest.WriteJSON(w, 200, c)
		case len(parts) == 4 && parts[2] == "actions" && parts[3] == "comments" && r.Method == "POST":
			providertest.WriteJSON(w, 200, map[string]any{"id": "act6", "type": "commentCard", "data": map[string]any{"text": q.Get("text"), "card": map[string]any{"id": c["id"], "name": c["name"]}}})
		default:
			text(w, 404, "Cannot "+r.Method+" "+r.URL.Path)
		}
	default:
		text(w, 404, "Cannot "+r.Method+" "+r.URL.Path)
	}
}
