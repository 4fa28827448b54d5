package monday_test

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

// fakeMonday behaves like the parts of api.monday.com/v2 the provider
// uses: the token bare in Authorization, the API-Version header, boards
// paged by page number, items_page/next_items_page cursors, column
// values as a JSON string, GraphQL errors[] with HTTP 200 and the legacy
// {"error_message","status_code"} body for authentication failures.
type fakeMonday struct {
	*providertest.Recorder

	mu    sync.Mutex
	items []map[string]any
}

func newFakeMonday(t testing.TB) *fakeMonday {
	f := &fakeMonday{}
	for i := 1; i <= 3; i++ {
		f.items = append(f.items, map[string]any{"id": strconv.Itoa(500 + i), "name": fmt.Sprintf("Item %d", i), "group": map[string]any{"id": "topics", "title": "Group Title"},
			"column_values": []any{map[string]any{"id": "status", "type": "status", "text": "Working on it", "value": `{"index":0}`}}})
	}
	f.Recorder = providertest.NewRecorder(t, []string{"Authorization", "Api-Version", "Content-Type"}, f.serve)
	return f
}

func gqlError(w http.ResponseWriter, msg, code string, data map[string]any) {
	providertest.WriteJSON(w, 200, map[string]any{"errors": []any{map[string]any{"message": msg, "locations": []any{map[string]int{"line": 2, "column": 3}},
		"extensions": map[string]any{"code": code, "status_code": 200, "error_data": data}}}, "account_id": 1234})
}

func (f *fakeMonday) serve(w http.ResponseWriter, r *http.Request, raw []byte) {
	if r.Method != "POST" || r.URL.Path != "/v2" {
		providertest.WriteJSON(w, 404, map[string]any{"error_message": "Not Found", "status_code": 404})
		return
	}
	if a := r.Header.Get("Authorization"); a != "mon_pat_valid" && a != "mon_oauth_valid" {
		providertest.WriteJSON(w, 401, map[string]any{"error_message": "Not Authenticated", "status_code": 401})
		return
	}
	if r.Header.Get("API-Version") != "2024-10" {
		gqlError(w, "Unsupported API version", "InvalidVersionException", nil)
		return
	}
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if json.Unmarshal(raw, &req) != nil {
		providertest.WriteJSON(w, 400, map[string]any{"error_message": "Invalid JSON", "status_code": 400})
		return
	}
	v := req.Variables
	f.mu.Lock()
	defer f.mu.Unlock()
	data := func(d map[string]any) { providertest.WriteJSON(w, 200, map[string]any{"data": d, "account_id": 1234}) }
	switch q := req.Query; {
	case strings.Contains(q, "me { id name email"):
		data(map[string]any{"me": map[string]any{"id": "42", "name": "Dana", "email": "dana@acme.test", "account": map[string]any{"id": "1234", "name": "Acme", "slug": "acme"}}})
	case strings.Contains(q, "boards(limit: $limit, page: $page"):
		all := []map[string]any{}
		for i := 1; i <= 3; i++ {
			all = append(all, map[string]any{"id": strconv.Itoa(1000 + i), "name": fmt.Sprintf("Board %d", i), "state": "active", "board_kind": "public", "workspace_id": "7"})
		}
		limit, page := int(v["limit"].(float64)), int(v["page"].(float64))
		start := min((page-1)*limit, len(all))
		data(map[string]any{"boards": all[start:min(start+limit, len(all))]})
	case strings.Contains(q, "items_page(limit: $limit)"):
		ids := v["board"].([]any)
		if ids[0] != "1001" {
			data(map[string]any{"boards": []any{}})
			return
		}
		data(map[string]any{"boards": []any{map[string]any{"items_page": f.page(0, int(v["limit"].(float64)))}}})
	case strings.Contains(q, "next_items_page(cursor: $cursor"):
		start, err := strconv.Atoi(strings.TrimPrefix(v["cursor"].(string), "MSw5NzI4MDA5MDAsaV9YcmxJb0p1VEdYc1VWeGlxeF9kLDg4MiwzNXw0MTQ1NzU1MTE5-"))
		if err != nil {
			gqlError(w, "CursorException: cursor has expired", "CursorException", nil)
			return
		}
		data(map[string]any{"next_items_page": f.page(start, int(v["limit"].(float64)))})
	case strings.Contains(q, "create_item(board_id: $board"):
		if v["board"] != "1001" {
			gqlError(w, "Board not found", "InvalidBoardIdException", map[string]any{"board_id": v["board"]})
			return
		}
		if s, ok := v["values"].(string); ok && json.Unmarshal([]byte(s), new(map[string]any)) != nil {
			gqlError(w, "invalid value", "ColumnValueException", nil)
			return
		}
		it := map[string]any{"id": strconv.Itoa(500 + len(f.items) + 1), "name": v["name"]}
		f.items = append(f.items, it)
		data(map[string]any{"create_item": it})
	case strings.Contains(q, "change_multiple_column_values(board_id: $board"):
		if _, ok := v["values"].(string); !ok {
			gqlError(w, "column_values must be a JSON string", "InvalidArgumentException", nil)
			return
		}
		data(map[string]any{"change_multiple_column_values": map[string]any{"id": v["item"], "name": "Item 1"}})
	case strings.Contains(q, "create_update(item_id: $item"):
		data(map[string]any{"create_update": map[string]any{"id": "9001", "body": "<p>" + v["body"].(string) + "</p>", "created_at": "2024-07-01T10:00:00Z"}})
	default:
		gqlError(w, "Parse error on query", "GraphQLParseError", nil)
	}
}

func (f *fakeMonday) page(start, limit int) map[string]any {
	end := min(start+limit, len(f.items))
	var cursor any
	if end < len(f.items) {
		cursor = fmt.Sprintf("MSw5NzI4MDA5MDAsaV9YcmxJb0p1VEdYc1VWeGlxeF9kLDg4MiwzNXw0MTQ1NzU1MTE5-%d", end)
	}
	return map[string]any{"cursor": cursor, "items": f.items[start:end]}
}
