package salesforce_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/atomhq/atom/sdk/providertest"
)

const token = "00DFAKE!AQ4AQFakeAccessToken"

// newFake starts a fake that behaves like the parts of an org's REST API
// the provider uses: Bearer session auth, SOQL query batches linked by
// nextRecordsUrl, sObject CRUD (201 with {id,success,errors}, 204 on
// update and delete), describe, the Sforce-Limit-Info header and
// Salesforce's error array.
func newFake(t testing.TB) *providertest.Recorder {
	return providertest.NewRecorder(t, []string{"Authorization", "Content-Type", "Sforce-Query-Options"}, serve,
		providertest.RecordBody(providertest.CanonicalBody))
}

func sfError(w http.ResponseWriter, status int, code, msg string, fields ...string) {
	e := map[string]any{"errorCode": code, "message": msg}
	if len(fields) > 0 {
		e["fields"] = fields
	}
	writeJSON(w, status, []any{e})
}

// writeJSON answers as Salesforce does, with the charset in Content-Type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	providertest.WriteJSON(w, status, v)
}

var contacts = []map[string]any{
	{"attributes": map[string]string{"type": "Contact", "url": "/services/data/v61.0/sobjects/Contact/003000000000001AAA"}, "Id": "003000000000001AAA", "Name": "Ada Lovelace"},
	{"attributes": map[string]string{"type": "Contact", "url": "/services/data/v61.0/sobjects/Contact/003000000000002AAA"}, "Id": "003000000000002AAA", "Name": "Grace Hopper"},
	{"attributes": map[string]string{"type": "Contact", "url": "/services/data/v61.0/sobjects/Contact/003000000000003AAA"}, "Id": "003000000000003AAA", "Name": "Edsger Dijkstra"},
}

func serve(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Header.Get("Authorization") != "Bearer "+token {
		sfError(w, 401, "INVALID_SESSION_ID", "Session expired or invalid")
		return
	}
	w.Header().Set("Sforce-Limit-Info", "api-usage=25/15000")
	const base = "/services/data/v61.0"
	p := r.URL.Path
	switch {
	case r.Method == "GET" && p == base+"/":
		writeJSON(w, 200, map[string]string{"sobjects": base + "/sobjects", "query": base + "/query", "limits": base + "/limits"})
	case r.Method == "GET" && (p == base+"/query" || p == base+"/queryAll"):
		q := r.URL.Query().Get("q")
		switch {
		case strings.Contains(q, "FROM Contact"):
			writeJSON(w, 200, map[string]any{"totalSize": 3, "done": false, "nextRecordsUrl": base + "/query/01gFAKE0000001-2", "records": contacts[:2]})
		case strings.Contains(q, "FROM Account"):
			writeJSON(w, 200, map[string]any{"totalSize": 0, "done": true, "records": []any{}})
		default:
			sfError(w, 400, "INVALID_TYPE", "sObject type 'Nope' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.")
		}
	case r.Method == "GET" && p == base+"/query/01gFAKE0000001-2":
		writeJSON(w, 200, map[string]any{"totalSize": 3, "done": true, "records": contacts[2:]})
	case r.Method == "GET" && p == base+"/sobjects/Account/001000000000001AAA":
		writeJSON(w, 200, map[string]any{"attributes": map[string]string{"type": "Account", "url": p}, "Id": "001000000000001AAA", "Name": "Acme", "Industry": "Manufacturing"})
	case r.Method == "POST" && p == base+"/sobjects/Account/":
		var in map[string]any
		if json.Unmarshal(body, &in) != nil {
			sfError(w, 400, "JSON_PARSER_ERROR", "Unexpected character")
			return
		}
		if in["Name"] == nil {
			sfError(w, 400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", "Name")
			return
		}
		writeJSON(w, 201, map[string]any{"id": "001000000000009AAA", "success": true, "errors": []any{}})
	case r.Method == "PATCH" && p == base+"/sobjects/Account/001000000000001AAA":
		w.WriteHeader(204)
	case r.Method == "DELETE" && p == base+"/sobjects/Account/001000000000001AAA":
		w.WriteHeader(204)
	case r.Method == "GET" && p == base+"/sobjects/Account/describe":
		writeJSON(w, 200, map[string]any{"name": "Account", "label": "Account", "custom": false, "fields": []map[string]any{
			{"name": "Id", "label": "Account ID", "type": "id", "nillable": false, "createable": false, "updateable": false, "length": 18},
			{"name": "Name", "label": "Account Name", "type": "string", "nillable": false, "createable": true, "updateable": true, "length": 255},
		}})
	default:
		sfError(w, 404, "NOT_FOUND", "The requested resource does not exist")
	}
}
