// Package airtable is the Airtable provider: bases, table schemas and
// records over Airtable's Web API (https://airtable.com/developers/web/api),
// built only on the public SDK.
//
// OAuth access tokens and personal access tokens are both sent as
// "Authorization: Bearer <token>". Record lists paginate with pageSize and
// an opaque offset that is handed back as next_offset. Airtable's errors,
// {"error":{"type","message"}} or {"error":"NOT_FOUND"}, become
// diagnostics carrying the type.
package airtable

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is Airtable's API base URL, used when the host supplies none.
const BaseURL = "https://api.airtable.com"

// New returns the Airtable provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "airtable",
		Name:         "Airtable",
		Version:      Version,
		Description:  "Spreadsheet-database: bases, tables and records.",
		Categories:   []string{"productivity"},
		AllowedHosts: []string{"api.airtable.com"},
	}).
		HTTP(provider.HTTPOptions{
			BaseURL:   BaseURL,
			APIKey:    provider.APIKeyHeader("Authorization", "Bearer "),
			UserAgent: "atom-provider-airtable/" + Version,
		}).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading its user and scopes (GET /v0/meta/whoami).",
			Output: provider.SortedSchema(`{"type":"object","required":["ok"],"properties":{
				"ok":{"type":"boolean"},"user_id":{"type":"string"},"email":{"type":"string"},
				"scopes":{"type":"array","items":{"type":"string"}}}}`),
			Handle: testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_bases",
			DisplayName: "List bases",
			Description: "Lists the bases the token can access, one page at a time.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{"offset":{"type":"string"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["bases"],"properties":{
				"bases":{"type":"array","items":{"type":"object"}},"next_offset":{"type":"string"}}}`),
			Handle: provider.Typed(listBases),
		}).
		Action(provider.ActionDef{
			Name:        "get_base_schema",
			DisplayName: "Get base schema",
			Description: "Returns a base's tables with their fields and views.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["base_id"],"properties":{
				"base_id":{"type":"string","pattern":"^app[A-Za-z0-9]+$"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["tables"],"properties":{"tables":{"type":"array","items":{"type":"object"}}}}`),
			Handle: provider.Typed(getBaseSchema),
		}).
		Action(provider.ActionDef{
			Name:        "list_records",
			DisplayName: "List records",
			Description: "Lists a table's records, optionally filtered by a formula, one page at a time.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["base_id","table"],"properties":{
				"base_id":{"type":"string","pattern":"^app[A-Za-z0-9]+$"},
				"table":{"type":"string","minLength":1,"description":"Table id or name."},
				"view":{"type":"string"},"filter_by_formula":{"type":"string"},
				"fields":{"type":"array","items":{"type":"string"}},
				"sort":{"type":"array","items":{"type":"object","additionalProperties":false,"required":["field"],"properties":{
					"field":{"type":"string"},"direction":{"type":"string","enum":["asc","desc"]}}}},
				"max_records":{"type":"integer","minimum":1},
				"page_size":{"type":"integer","minimum":1,"maximum":100},
				"offset":{"type":"string"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["records"],"properties":{
				"records":{"type":"array","items":{"type":"object"}},"next_offset":{"type":"string"}}}`),
			Handle: provider.Typed(listRecords),
		}).
		Action(provider.ActionDef{
			Name:        "get_record",
			DisplayName: "Get record",
			Description: "Returns one record by id.",
			Input:       recordRefSchema(""),
			Output:      recordSchema,
			Handle:      provider.Typed(getRecord),
		}).
		Action(provider.ActionDef{
			Name:        "create_records",
			DisplayName: "Create records",
			Description: "Creates up to 10 records in a table.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["base_id","table","records"],"properties":{
				"base_id":{"type":"string","pattern":"^app[A-Za-z0-9]+$"},"table":{"type":"string","minLength":1},
				"records":{"type":"array","minItems":1,"maxItems":10,"items":{"type":"object","description":"Cell values keyed by field name or id."}},
				"typecast":{"type":"boolean"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["records"],"properties":{"records":{"type":"array","items":{"type":"object"}}}}`),
			Handle: provider.Typed(createRecords),
		}).
		Action(provider.ActionDef{
			Name:        "update_record",
			DisplayName: "Update record",
			Description: "Updates the given fields of a record, leaving the others as they are.",
			Input:       recordRefSchema(`"fields":{"type":"object"},"typecast":{"type":"boolean"},`),
			Output:      recordSchema,
			Handle:      provider.Typed(updateRecord),
		}).
		Action(provider.ActionDef{
			Name:        "delete_record",
			DisplayName: "Delete record",
			Description: "Deletes a record.",
			Input:       recordRefSchema(""),
			Output:      provider.SortedSchema(`{"type":"object","required":["id","deleted"],"properties":{"id":{"type":"string"},"deleted":{"type":"boolean"}}}`),
			Handle:      provider.Typed(deleteRecord),
		})
}

var recordSchema = provider.SortedSchema(`{"type":"object","required":["id","fields"],"properties":{
	"id":{"type":"string"},"createdTime":{"type":"string"},"fields":{"type":"object"}}}`)

func recordRefSchema(extra string) json.RawMessage {
	req := `"base_id","table","record_id"`
	if extra != "" {
		req += `,"fields"`
	}
	return provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":[` + req + `],"properties":{` + extra + `
		"base_id":{"type":"string","pattern":"^app[A-Za-z0-9]+$"},"table":{"type":"string","minLength":1},
		"record_id":{"type":"string","pattern":"^rec[A-Za-z0-9]+$"}}}`)
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var me struct {
		ID     string   `json:"id"`
		Email  string   `json:"email"`
		Scopes []string `json:"scopes"`
	}
	if err := c.HTTP().SendJSON(ctx, http.MethodGet, "/v0/meta/whoami", nil, nil, &me); err != nil {
		return nil, err
	}
	if me.Scopes == nil {
		me.Scopes = []string{}
	}
	return map[string]any{"ok": true, "user_id": me.ID, "email": me.Email, "scopes": me.Scopes}, nil
}

type offsetIn struct {
	Offset string `json:"offset"`
}

func listBases(ctx context.Context, c *provider.Call, in offsetIn) (any, error) {
	q := url.Values{}
	if in.Offset != "" {
		q.Set("offset", in.Offset)
	}
	var page struct {
		Bases  []json.RawMessage `json:"bases"`
		Offset string            `json:"offset"`
	}
	if err := c.HTTP().SendJSON(ctx, http.MethodGet, "/v0/meta/bases", q, nil, &page); err != nil {
		return nil, err
	}
	return paged("bases", page.Bases, page.Offset), nil
}

func paged(key string, items []json.RawMessage, offset string) map[string]any {
	out := provider.ListOutput(key, items)
	if offset != "" {
		out["next_offset"] = offset
	}
	return out
}

type baseIn struct {
	BaseID string `json:"base_id"`
}

func getBaseSchema(ctx context.Context, c *provider.Call, in baseIn) (any, error) {
	id, err := provider.PathSegment("base_id", in.BaseID)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = c.HTTP().SendJSON(ctx, http.MethodGet, "/v0/meta/bases/"+id+"/tables", nil, nil, &out)
	return out, err
}

type tableIn struct {
	BaseID string `json:"base_id"`
	Table  string `json:"table"`
}

func (t tableIn) path(recordID string) (string, error) {
	args := []string{"base_id", t.BaseID, "table", t.Table}
	if recordID != "" {
		args = append(args, "record_id", recordID)
	}
	seg, err := provider.PathSegments(args...)
	if err != nil {
		return "", err
	}
	p := "/v0/" + seg[0] + "/" + seg[1]
	if recordID != "" {
		p += "/" + seg[2]
	}
	return p, nil
}

type listIn struct {
	tableIn
	View            string   `json:"view"`
	FilterByFormula string   `json:"filter_by_formula"`
	Fields          []string `json:"fields"`
	Sort            []struct {
		Field     string `json:"field"`
		Direction string `json:"direction"`
	} `json:"sort"`
	MaxRecords int    `json:"max_records"`
	PageSize   int    `json:"page_size"`
	Offset     string `json:"offset"`
}

func listRecords(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	p, err := in.path("")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	for k, v := range map[string]string{"view": in.View, "filterByFormula": in.FilterByFormula, "offset": in.Offset} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for _, f := range in.Fields {
		q.Add("fields[]", f)
	}
	for i, s := range in.Sort {
		q.Set("sort["+strconv.Itoa(i)+"][field]", s.Field)
		if s.Direction != "" {
			q.Set("sort["+strconv.Itoa(i)+"][direction]", s.Direction)
		}
	}
	if in.MaxRecords > 0 {
		q.Set("maxRecords", strconv.Itoa(in.MaxRecords))
	}
	if in.PageSize > 0 {
		q.Set("pageSize", strconv.Itoa(in.PageSize))
	}
	var page struct {
		Records []json.RawMessage `json:"records"`
		Offset  string            `json:"offset"`
	}
	if err := c.HTTP().SendJSON(ctx, http.MethodGet, p, q, nil, &page); err != nil {
		return nil, err
	}
	return paged("records", page.Records, page.Offset), nil
}

type recordIn struct {
	tableIn
	RecordID string          `json:"record_id"`
	Fields   json.RawMessage `json:"fields"`
	Typecast bool            `json:"typecast"`
}

func getRecord(ctx context.Context, c *provider.Call, in recordIn) (any, error) {
	p, err := in.path(in.RecordID)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = c.HTTP().SendJSON(ctx, http.MethodGet, p, nil, nil, &out)
	return out, err
}

type createIn struct {
	tableIn
	Records  []json.RawMessage `json:"records"`
	Typecast bool              `json:"typecast"`
}

func createRecords(ctx context.Context, c *provider.Call, in createIn) (any, error) {
	p, err := in.path("")
	if err != nil {
		return nil, err
	}
	if len(in.Records) == 0 || len(in.Records) > 10 {
		return nil, provider.UserError("records", "give between 1 and 10 records")
	}
	recs := make([]map[string]json.RawMessage, len(in.Records))
	for i, r := range in.Records {
		recs[i] = map[string]json.RawMessage{"fields": r}
	}
	body := map[string]any{"records": recs}
	if in.Typecast {
		body["typecast"] = true
	}
	var out json.RawMessage
	err = c.HTTP().SendJSON(ctx, http.MethodPost, p, nil, body, &out)
	return out, err
}

func updateRecord(ctx context.Context, c *provider.Call, in recordIn) (any, error) {
	p, err := in.path(in.RecordID)
	if err != nil {
		return nil, err
	}
	if len(in.Fields) == 0 {
		return nil, provider.UserError("fields", "is required")
	}
	body := map[string]any{"fields": in.Fields}
	if in.Typecast {
		body["typecast"] = true
	}
	var out json.RawMessage
	err = c.HTTP().SendJSON(ctx, http.MethodPatch, p, nil, body, &out)
	return out, err
}

func deleteRecord(ctx context.Context, c *provider.Call, in recordIn) (any, error) {
	p, err := in.path(in.RecordID)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = c.HTTP().SendJSON(ctx, http.MethodDelete, p, nil, nil, &out)
	return out, err
}
