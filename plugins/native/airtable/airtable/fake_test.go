package airtable_test

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

// fakeAirtable behaves like the parts of api.airtable.com the provider
// uses: Bearer tokens (OAuth or personal access token), list endpoints
// that page with pageSize and an opaque offset, table addressing by id
// or name, and Airtable's two error shapes.
type fakeAirtable struct {
	*providertest.Recorder

	mu      sync.Mutex
	records []map[string]any
	nextID  int
}

const baseID = "appSales123"

func newFakeAirtable(t testing.TB) *fakeAirtable {
	f := &fakeAirtable{}
	for i := 1; i <= 3; i++ {
		f.records = append(f.records, map[string]any{"id": fmt.Sprintf("rec%03d", i), "createdTime": "2024-01-0" + strconv.Itoa(i) + "T00:00:00.000Z",
			"fields": map[string]any{"Name": fmt.Sprintf("Lead %d", i), "Status": "Open"}})
	}
	f.nextID = 4
	f.Recorder = providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, f.serve)
	return f
}

func atError(w http.ResponseWriter, status int, typ, msg string) {
	providertest.WriteJSON(w, status, map[string]any{"error": map[string]string{"type": typ, "message": msg}})
}

func (f *fakeAirtable) serve(w http.ResponseWriter, r *http.Request, raw []byte) {
	switch r.Header.Get("Authorization") {
	case "Bearer patValid.0123", "Bearer oaaValid":
	default:
		atError(w, 401, "AUTHENTICATION_REQUIRED", "Authentication required")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/v0/"), "/")
	switch {
	case r.Method == "GET" && r.URL.Path == "/v0/meta/whoami":
		providertest.WriteJSON(w, 200, map[string]any{"id": "usrAda", "email": "ada@acme.test", "scopes": []string{"data.records:read", "data.records:write", "schema.bases:read"}})
	case r.Method == "GET" && r.URL.Path == "/v0/meta/bases":
		bases := []map[string]any{
			{"id": baseID, "name": "Sales", "permissionLevel": "create"},
			{"id": "appOps456", "name": "Ops", "permissionLevel": "read"},
			{"id": "appHR789", "name": "HR", "permissionLevel": "edit"},
		}
		start := 0
		if o := r.URL.Query().Get("offset"); o == "itrBases/2" {
			start = 2
		} else if o != "" {
			atError(w, 422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE", "The offset is not valid.")
			return
		}
		out := map[string]any{"bases": bases[start:min(start+2, 3)]}
		if start == 0 {
			out["offset"] = "itrBases/2"
		}
		providertest.WriteJSON(w, 200, out)
	case r.Method == "GET" && r.URL.Path == "/v0/meta/bases/"+baseID+"/tables":
		providertest.WriteJSON(w, 200, map[string]any{"tables": []any{map[string]any{"id": "tblLeads", "name": "Leads", "primaryFieldId": "fldName",
			"fields": []any{map[string]any{"id": "fldName", "name": "Name", "type": "singleLineText"}, map[string]any{"id": "fldStatus", "name": "Status", "type": "singleSelect"}},
			"views":  []any{map[string]any{"id": "viwGrid", "name": "Grid view", "type": "grid"}}}}})
	case len(parts) >= 2 && parts[0] != "meta":
		if parts[0] != baseID {
			providertest.WriteJSON(w, 404, map[string]string{"error": "NOT_FOUND"})
			return
		}
		if parts[1] != "tblLeads" && parts[1] != "Leads" {
			atError(w, 404, "TABLE_NOT_FOUND", fmt.Sprintf("Could not find table %s in application %s", parts[1], baseID))
			return
		}
		f.table(w, r, parts[2:], raw)
	default:
		providertest.WriteJSON(w, 404, map[string]string{"error": "NOT_FOUND"})
	}
}

func (f *fakeAirtable) table(w http.ResponseWriter, r *http.Request, rest []string, raw []byte) {
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	if len(rest) == 0 {
		switch r.Method {
		case "GET":
			q := r.URL.Query()
			size := providertest.QueryInt(q, "pageSize", 100)
			start := 0
			if o := q.Get("offset"); o != "" {
				_, after, _ := strings.Cut(o, "/")
				start = -1
				for i, rec := range f.records {
					if rec["id"] == after {
						start = i
					}
				}
				if start < 0 {
					atError(w, 422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE", "The offset is not valid.")
					return
				}
			}
			end := min(start+size, len(f.records))
			out := map[string]any{"records": f.records[start:end]}
			if end < len(f.records) {
				out["offset"] = "itrLeads/" + f.records[end]["id"].(string)
			}
			providertest.WriteJSON(w, 200, out)
		case "POST":
			recs, _ := body["records"].([]any)
			var created []map[string]any
			for _, x := range recs {
				fields := x.(map[string]any)["fields"].(map[string]any)
				for k := range fields {
					if k != "Name" && k != "Status" {
						atError(w, 422, "UNKNOWN_FIELD_NAME", fmt.Sprintf("Unknown field name: %q", k))
						return
					}
				}
				rec := map[string]any{"id": fmt.Sprintf("rec%03d", f.nextID), "createdTime": "2024-02-01T00:00:00.000Z", "fields": fields}
				f.nextID++
				f.records = append(f.records, rec)
				created = append(created, rec)
			}
			providertest.WriteJSON(w, 200, map[string]any{"records": created})
		}
		return
	}
	for i, rec := range f.records {
		if rec["id"] != rest[0] {
			continue
		}
		switch r.Method {
		case "GET":
			providertest.WriteJSON(w, 200, rec)
		case "PATCH":
			for k, v := range body["fields"].(map[string]any) {
				rec["fields"].(map[string]any)[k] = v
			}
			providertest.WriteJSON(w, 200, rec)
		case "DELETE":
			f.records = append(f.records[:i], f.records[i+1:]...)
			providertest.WriteJSON(w, 200, map[string]any{"id": rest[0], "deleted": true})
		}
		return
	}
	atError(w, 404, "MODEL_ID_NOT_FOUND", "Could not find a record with ID \""+rest[0]+"\".")
}
