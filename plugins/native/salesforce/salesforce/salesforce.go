// Package salesforce is the Salesforce provider: SOQL queries and sObject
// records over the REST API (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/),
// built only on the public SDK.
//
// Each org has its own API host: the host resolves the base URL from the
// token response's instance_url (kept as connection metadata); without one
// the provider reads Credentials.Metadata["instance_url"] itself. Query
// results page with nextRecordsUrl, which the provider hands back as the
// cursor. Salesforce's error body, an array of
// {"message","errorCode","fields"}, becomes a diagnostic naming the first
// field, and the Sforce-Limit-Info header is reported as api_usage.
package salesforce

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// APIVersion is the REST API version every path is pinned to.
const APIVersion = "v61.0"

const dataPath = "/services/data/" + APIVersion

var options = provider.HTTPOptions{
	UserAgent:   "atom-provider-salesforce/" + Version,
	DecodeError: DecodeError,
}

// New returns the Salesforce provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "salesforce",
		Name:         "Salesforce",
		Version:      Version,
		Description:  "CRM: SOQL queries and sObject records (accounts, contacts, leads, opportunities, custom objects).",
		Categories:   []string{"crm"},
		AllowedHosts: []string{"*.salesforce.com", "*.force.com", "*.cloudforce.com"},
	}).
		HTTP(options).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the connection by reading the org's REST API resource list.",
			Output:      provider.SortedSchema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"api_version":{"type":"string"},"instance_url":{"type":"string"},"api_usage":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "run_query",
			DisplayName: "Run SOQL query",
			Description: "Runs a SOQL query and returns one batch of records; pass next_cursor back as cursor for the next batch.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"query":{"type":"string","minLength":1,"description":"SOQL, e.g. SELECT Id, Name FROM Account"},
				"batch_size":{"type":"integer","minimum":200,"maximum":2000},
				"include_deleted":{"type":"boolean","description":"use queryAll to include deleted and archived records"},
				"cursor":{"type":"string","description":"next_cursor of the previous batch"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["records","done","total_size"],"properties":{
				"records":{"type":"array","items":{"type":"object"}},
				"done":{"type":"boolean"},
				"total_size":{"type":"integer"},
				"next_cursor":{"type":"string"},
				"api_usage":{"type":"string"}}}`),
			Handle: provider.Typed(runQuery),
		}).
		Action(provider.ActionDef{
			Name:        "get_record",
			DisplayName: "Get record",
			Description: "Reads one record of an sObject by id.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["sobject","id"],"properties":{
				"sobject":{"type":"string","description":"API name, e.g. Account or Invoice__c"},
				"id":{"type":"string"},
				"fields":{"type":"array","items":{"type":"string"}}}}`),
			Output: provider.SortedSchema(`{"type":"object","properties":{"Id":{"type":"string"},"attributes":{"type":"object"}}}`),
			Handle: provider.Typed(getRecord),
		}).
		Action(provider.ActionDef{
			Name:        "create_record",
			DisplayName: "Create record",
			Description: "Creates a record of an sObject from field values.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["sobject","fields"],"properties":{
				"sobject":{"type":"string"},
				"fields":{"type":"object","minProperties":1}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id","success"],"properties":{"id":{"type":"string"},"success":{"type":"boolean"},"errors":{"type":"array"}}}`),
			Handle: provider.Typed(createRecord),
		}).
		Action(provider.ActionDef{
			Name:        "update_record",
			DisplayName: "Update record",
			Description: "Updates fields of a record of an sObject.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["sobject","id","fields"],"properties":{
				"sobject":{"type":"string"},
				"id":{"type":"string"},
				"fields":{"type":"object","minProperties":1}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id","updated"],"properties":{"id":{"type":"string"},"updated":{"type":"boolean"}}}`),
			Handle: provider.Typed(updateRecord),
		}).
		Action(provider.ActionDef{
			Name:        "delete_record",
			DisplayName: "Delete record",
			Description: "Deletes a record of an sObject (it goes to the Recycle Bin).",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["sobject","id"],"properties":{
				"sobject":{"type":"string"},
				"id":{"type":"string"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id","deleted"],"properties":{"id":{"type":"string"},"deleted":{"type":"boolean"}}}`),
			Handle: provider.Typed(deleteRecord),
		}).
		Action(provider.ActionDef{
			Name:        "describe_sobject",
			DisplayName: "Describe sObject",
			Description: "Returns an sObject's metadata: its fields, their types and which can be created or updated.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["sobject"],"properties":{
				"sobject":{"type":"string"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["name","fields"],"properties":{"name":{"type":"string"},"label":{"type":"string"},"fields":{"type":"array","items":{"type":"object"}}}}`),
			Handle: provider.Typed(describe),
		})
}

// client returns the HTTP client for the org: the host's base URL when it
// sent one, else the connection's instance_url.
func client(ctx context.Context, c *provider.Call) (*provider.HTTPClient, error) {
	return provider.ClientWithBase(ctx, options, func() (string, error) {
		inst := strings.TrimRight(c.Credentials().Metadata["instance_url"], "/")
		u, err := url.Parse(inst)
		if inst == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", provider.Errorf("the connection has no Salesforce instance_url: reconnect Salesforce")
		}
		return inst, nil
	})
}

// DecodeError reads Salesforce's error body, an array of
// {"message","errorCode","fields"} (or the OAuth {"error",
// "error_description"} pair), into e.
func DecodeError(e *provider.HTTPError, body []byte) {
	var list []struct {
		Message   string   `json:"message"`
		ErrorCode string   `json:"errorCode"`
		Fields    []string `json:"fields"`
	}
	if json.Unmarshal(body, &list) == nil && len(list) > 0 {
		e.Message, e.Code = list[0].Message, list[0].ErrorCode
		if len(list[0].Fields) > 0 {
			e.Field = list[0].Fields[0]
		}
		return
	}
	var oauth struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &oauth) == nil && oauth.Error != "" {
		e.Code, e.Message = oauth.Error, oauth.Description
		return
	}
	e.Message = provider.ErrorText(body)
}

var (
	nameRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)
	idRe   = regexp.MustCompile(`^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$`)
)

func sobjectPath(name, id string) (string, error) {
	if !nameRe.MatchString(name) {
		return "", provider.UserError("sobject", "must be an sObject API name such as Account or Invoice__c")
	}
	p := dataPath + "/sobjects/" + name
	if id != "" {
		if !idRe.MatchString(id) {
			return "", provider.UserError("id", "must be a 15- or 18-character Salesforce id")
		}
		p += "/" + id
	}
	return p, nil
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	var resources map[string]string
	h, err := hc.Exchange(ctx, http.MethodGet, dataPath+"/", nil, "", nil, &resources)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"ok": true, "api_version": APIVersion}
	if u, err := hc.URL("/", nil); err == nil {
		out["instance_url"] = strings.TrimRight(u, "/")
	}
	if usage := apiUsage(h); usage != "" {
		out["api_usage"] = usage
	}
	return out, nil
}

// apiUsage returns the "used/limit" of the Sforce-Limit-Info header
// ("api-usage=25/15000").
func apiUsage(h http.Header) string {
	for _, part := range strings.Split(h.Get("Sforce-Limit-Info"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "api-usage="); ok {
			return v
		}
	}
	return ""
}

type queryIn struct {
	Query          string `json:"query"`
	BatchSize      int    `json:"batch_size"`
	IncludeDeleted bool   `json:"include_deleted"`
	Cursor         string `json:"cursor"`
}

// QueryPage is one batch of a SOQL query.
type QueryPage struct {
	Records    []json.RawMessage `json:"records"`
	Done       bool              `json:"done"`
	TotalSize  int               `json:"total_size"`
	NextCursor string            `json:"next_cursor,omitempty"`
	APIUsage   string            `json:"api_usage,omitempty"`
}

func runQuery(ctx context.Context, c *provider.Call, in queryIn) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	if in.BatchSize != 0 {
		if in.BatchSize < 200 || in.BatchSize > 2000 {
			return nil, provider.UserError("batch_size", "must be between 200 and 2000")
		}
		hc = hc.WithHeader("Sforce-Query-Options", "batchSize="+strconv.Itoa(in.BatchSize))
	}
	var path string
	var q url.Values
	switch {
	case in.Cursor != "":
		// nextRecordsUrl: /services/data/vXX.X/query/01gxx-2000
		rest, ok := strings.CutPrefix(in.Cursor, "/services/data/")
		if !ok || strings.Contains(rest, "..") || strings.ContainsAny(rest, "?#") ||
			!(strings.Contains(rest, "/query/") || strings.Contains(rest, "/queryAll/")) {
			return nil, provider.UserError("cursor", "is not a nextRecordsUrl of a Salesforce query")
		}
		path = in.Cursor
	case strings.TrimSpace(in.Query) == "":
		return nil, provider.UserError("query", "a SOQL query or a cursor is required")
	default:
		path = dataPath + "/query"
		if in.IncludeDeleted {
			path = dataPath + "/queryAll"
		}
		q = url.Values{"q": {in.Query}}
	}
	var raw struct {
		TotalSize      int               `json:"totalSize"`
		Done           bool              `json:"done"`
		NextRecordsURL string            `json:"nextRecordsUrl"`
		Records        []json.RawMessage `json:"records"`
	}
	h, err := hc.Exchange(ctx, http.MethodGet, path, q, "", nil, &raw)
	if err != nil {
		return nil, err
	}
	page := QueryPage{Records: raw.Records, Done: raw.Done, TotalSize: raw.TotalSize, APIUsage: apiUsage(h)}
	if page.Records == nil {
		page.Records = []json.RawMessage{}
	}
	if !raw.Done {
		page.NextCursor = raw.NextRecordsURL
	}
	return page, nil
}

type recordIn struct {
	SObject string         `json:"sobject"`
	ID      string         `json:"id"`
	Fields  map[string]any `json:"fields"`
}

type getIn struct {
	SObject string   `json:"sobject"`
	ID      string   `json:"id"`
	Fields  []string `json:"fields"`
}

func getRecord(ctx context.Context, c *provider.Call, in getIn) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	path, err := sobjectPath(in.SObject, in.ID)
	if err != nil {
		return nil, err
	}
	var q url.Values
	if len(in.Fields) > 0 {
		q = url.Values{"fields": {strings.Join(in.Fields, ",")}}
	}
	var out json.RawMessage
	return out, hc.GetJSON(ctx, path, q, &out)
}

func createRecord(ctx context.Context, c *provider.Call, in recordIn) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	path, err := sobjectPath(in.SObject, "")
	if err != nil {
		return nil, err
	}
	if len(in.Fields) == 0 {
		return nil, provider.UserError("fields", "at least one field value is required")
	}
	var out struct {
		ID      string            `json:"id"`
		Success bool              `json:"success"`
		Errors  []json.RawMessage `json:"errors"`
	}
	if err := hc.PostJSON(ctx, path+"/", in.Fields, &out); err != nil {
		return nil, err
	}
	if out.Errors == nil {
		out.Errors = []json.RawMessage{}
	}
	return out, nil
}

func updateRecord(ctx context.Context, c *provider.Call, in recordIn) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	path, err := sobjectPath(in.SObject, in.ID)
	if err != nil {
		return nil, err
	}
	if len(in.Fields) == 0 {
		return nil, provider.UserError("fields", "at least one field value is required")
	}
	body, err := json.Marshal(in.Fields)
	if err != nil {
		return nil, provider.UserError("fields", err.Error())
	}
	if err := hc.Send(ctx, http.MethodPatch, path, nil, "application/json", body, nil); err != nil {
		return nil, err
	}
	return map[string]any{"id": in.ID, "updated": true}, nil
}

func deleteRecord(ctx context.Context, c *provider.Call, in recordIn) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	path, err := sobjectPath(in.SObject, in.ID)
	if err != nil {
		return nil, err
	}
	if err := hc.Send(ctx, http.MethodDelete, path, nil, "", nil, nil); err != nil {
		return nil, err
	}
	return map[string]any{"id": in.ID, "deleted": true}, nil
}

func describe(ctx context.Context, c *provider.Call, in recordIn) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	path, err := sobjectPath(in.SObject, "")
	if err != nil {
		return nil, err
	}
	var raw struct {
		Name   string `json:"name"`
		Label  string `json:"label"`
		Fields []struct {
			Name       string `json:"name"`
			Label      string `json:"label"`
			Type       string `json:"type"`
			Nillable   bool   `json:"nillable"`
			Createable bool   `json:"createable"`
			Updateable bool   `json:"updateable"`
		} `json:"fields"`
	}
	if err := hc.GetJSON(ctx, path+"/describe", nil, &raw); err != nil {
		return nil, err
	}
	fields := make([]map[string]any, 0, len(raw.Fields))
	for _, f := range raw.Fields {
		fields = append(fields, map[string]any{"name": f.Name, "label": f.Label, "type": f.Type,
			"nillable": f.Nillable, "createable": f.Createable, "updateable": f.Updateable})
	}
	return map[string]any{"name": raw.Name, "label": raw.Label, "fields": fields}, nil
}
