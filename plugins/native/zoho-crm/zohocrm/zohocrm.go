// Package zohocrm is the Zoho CRM provider: organization and module
// records (leads, contacts, accounts, deals…) over the REST API v6
// (https://www.zoho.com/crm/developer/docs/api/v6/), built only on the
// public SDK.
//
// Zoho runs one data center per region: the API host is the token
// response's api_domain (kept as connection metadata), or
// https://www.zohoapis.{extension} from the connection parameter; the
// host normally resolves it. The token goes in "Authorization:
// Zoho-oauthtoken <token>". Record lists page with page_token (returned as
// next_page_token); an empty list is a 204 with no body. Zoho's error
// bodies ({"code","message","details":{"api_name"}}, top level or per
// record in data[]) become diagnostics naming the field.
package zohocrm

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

var options = provider.HTTPOptions{
	UserAgent:   "atom-provider-zoho-crm/" + Version,
	Client:      provider.TokenHeader("Authorization", "Zoho-oauthtoken ", nil),
	DecodeError: DecodeError,
}

// New returns the Zoho CRM provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "zoho-crm",
		Name:         "Zoho CRM",
		Version:      Version,
		Description:  "CRM: records of Zoho CRM modules (leads, contacts, accounts, deals and custom modules).",
		Categories:   []string{"crm"},
		AllowedHosts: []string{"www.zohoapis.com", "www.zohoapis.eu", "www.zohoapis.in", "www.zohoapis.com.au", "www.zohoapis.com.cn", "www.zohoapis.jp", "www.zohoapis.ca", "www.zohoapis.sa", "www.zohoapis.uk"},
	}).
		HTTP(options).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the connection by reading the organization.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"org_id":{"type":"string"},"company_name":{"type":"string"},"domain_name":{"type":"string"},"currency":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_records",
			DisplayName: "List records",
			Description: "Lists records of a module one page at a time; pass next_page_token back as page_token.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["module","fields"],"properties":{
				"module":{"type":"string","description":"API name, e.g. Leads, Contacts, Deals"},
				"fields":{"type":"array","minItems":1,"maxItems":50,"items":{"type":"string"}},
				"per_page":{"type":"integer","minimum":1,"maximum":200},
				"page_token":{"type":"string"},
				"sort_by":{"type":"string","enum":["id","Created_Time","Modified_Time"]},
				"sort_order":{"type":"string","enum":["asc","desc"]}}}`),
			Output: listSchema,
			Handle: provider.Typed(listRecords),
		}).
		Action(provider.ActionDef{
			Name:        "get_record",
			DisplayName: "Get record",
			Description: "Reads one record of a module by id.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["module","id"],"properties":{"module":{"type":"string"},"id":{"type":"string","pattern":"^[0-9]+$"}}}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"}}}`),
			Handle:      provider.Typed(getRecord),
		}).
		Action(provider.ActionDef{
			Name:        "create_record",
			DisplayName: "Create record",
			Description: "Creates a record in a module, optionally running workflow rules.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["module","fields"],"properties":{
				"module":{"type":"string"},
				"fields":{"type":"object","minProperties":1},
				"trigger":{"type":"array","items":{"type":"string","enum":["approval","workflow","blueprint"]}}}}`),
			Output: writeSchema,
			Handle: provider.Typed(createRecord),
		}).
		Action(provider.ActionDef{
			Name:        "update_record",
			DisplayName: "Update record",
			Description: "Updates fields of a record.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["module","id","fields"],"properties":{
				"module":{"type":"string"},
				"id":{"type":"string","pattern":"^[0-9]+$"},
				"fields":{"type":"object","minProperties":1},
				"trigger":{"type":"array","items":{"type":"string","enum":["approval","workflow","blueprint"]}}}}`),
			Output: writeSchema,
			Handle: provider.Typed(updateRecord),
		}).
		Action(provider.ActionDef{
			Name:        "search_records",
			DisplayName: "Search records",
			Description: "Searches a module by criteria such as (Last_Name:equals:Smith), by email, phone or word.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["module"],"properties":{
				"module":{"type":"string"},
				"criteria":{"type":"string"},
				"email":{"type":"string"},
				"phone":{"type":"string"},
				"word":{"type":"string"},
				"page":{"type":"integer","minimum":1},
				"per_page":{"type":"integer","minimum":1,"maximum":200}}}`),
			Output: listSchema,
			Handle: provider.Typed(searchRecords),
		})
}

var (
	listSchema = provider.SortedSchema(`{"type":"object","required":["data","more_records"],"properties":{
		"data":{"type":"array","items":{"type":"object"}},
		"more_records":{"type":"boolean"},
		"next_page_token":{"type":"string"},
		"next_page":{"type":"integer"}}}`)
	writeSchema = provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"code":{"type":"string"},"message":{"type":"string"},"details":{"type":"object"}}}`)
)

var extRe = regexp.MustCompile(`^(com|eu|in|com\.au|com\.cn|jp|ca|sa|uk)$`)

// APIBase returns the data center's API host: the api_domain metadata,
// else https://www.zohoapis.{extension}, else the US one.
func APIBase(creds provider.Credentials) (string, error) {
	if d := strings.TrimRight(creds.Metadata["api_domain"], "/"); d != "" {
		u, err := url.Parse(d)
		if err != nil || u.Scheme != "https" || !strings.HasPrefix(u.Host, "www.zohoapis.") {
			return "", provider.Errorf("the connection's api_domain %q is not a Zoho API domain", d)
		}
		return d, nil
	}
	ext := creds.Params["extension"]
	if ext == "" {
		ext = "com"
	}
	if !extRe.MatchString(ext) {
		return "", provider.Errorf("the connection's extension %q is not a Zoho data center", ext)
	}
	return "https://www.zohoapis." + ext, nil
}

func client(ctx context.Context, c *provider.Call) (*provider.HTTPClient, error) {
	return provider.ClientWithBase(ctx, options, func() (string, error) { return APIBase(c.Credentials()) })
}

type zohoStatus struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Status  string         `json:"status"`
	Details map[string]any `json:"details"`
}

func (s zohoStatus) apply(e *provider.HTTPError) {
	e.Code, e.Message = s.Code, s.Message
	if f, ok := s.Details["api_name"].(string); ok {
		e.Field = "fields." + f
	} else if p, ok := s.Details["param_name"].(string); ok {
		e.Field = p
	}
}

// DecodeError reads Zoho's error bodies into e: a top-level
// {"code","message","details"} or the first record's in {"data":[...]}.
func DecodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		zohoStatus
		Data []zohoStatus `json:"data"`
	}
	if json.Unmarshal(body, &v) != nil {
		e.Message = provider.ErrorText(body)
		return
	}
	if v.Code == "" && len(v.Data) > 0 {
		v.Data[0].apply(e)
		return
	}
	v.zohoStatus.apply(e)
}

var moduleRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,99}$`)

func modulePath(module, id string) (string, error) {
	if !moduleRe.MatchString(module) {
		return "", provider.UserError("module", "must be a module API name such as Leads or Contacts")
	}
	p := "/crm/v6/" + module
	if id != "" {
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return "", provider.UserError("id", "must be a numeric record id")
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
	var out struct {
		Org []struct {
			ID          string `json:"id"`
			CompanyName string `json:"company_name"`
			DomainName  string `json:"domain_name"`
			Currency    string `json:"iso_code"`
		} `json:"org"`
	}
	if err := hc.GetJSON(ctx, "/crm/v6/org", nil, &out); err != nil {
		return nil, err
	}
	res := map[string]any{"ok": true}
	if len(out.Org) > 0 {
		o := out.Org[0]
		res["org_id"], res["company_name"], res["domain_name"], res["currency"] = o.ID, o.CompanyName, o.DomainName, o.Currency
	}
	return res, nil
}

type rawList struct {
	Data []json.RawMessage `json:"data"`
	Info struct {
		MoreRecords   bool   `json:"more_records"`
		NextPageToken string `json:"next_page_token"`
		Page          int    `json:"page"`
	} `json:"info"`
}

type listIn struct {
	Module    string   `json:"module"`
	Fields    []string `json:"fields"`
	PerPage   int      `json:"per_page"`
	PageToken string   `json:"page_token"`
	SortBy    string   `json:"sort_by"`
	SortOrder string   `json:"sort_order"`
}

func listRecords(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	path, err := modulePath(in.Module, "")
	if err != nil {
		return nil, err
	}
	q := url.Values{"fields": {strings.Join(in.Fields, ",")}}
	if in.PerPage != 0 {
		q.Set("per_page", strconv.Itoa(in.PerPage))
	}
	if in.PageToken != "" {
		q.Set("page_token", in.PageToken)
	}
	if in.SortBy != "" {
		q.Set("sort_by", in.SortBy)
	}
	if in.SortOrder != "" {
		q.Set("sort_order", in.SortOrder)
	}
	var raw rawList
	if err := hc.GetJSON(ctx, path, q, &raw); err != nil {
		return nil, err
	}
	out := provider.ListOutput("data", raw.Data)
	out["more_records"] = raw.Info.MoreRecords
	if raw.Info.MoreRecords && raw.Info.NextPageToken != "" {
		out["next_page_token"] = raw.Info.NextPageToken
	}
	return out, nil
}

type recordIn struct {
	Module  string         `json:"module"`
	ID      string         `json:"id"`
	Fields  map[string]any `json:"fields"`
	Trigger []string       `json:"trigger"`
}

func getRecord(ctx context.Context, c *provider.Call, in recordIn) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	path, err := modulePath(in.Module, in.ID)
	if err != nil {
		return nil, err
	}
	var raw rawList
	if err := hc.GetJSON(ctx, path, nil, &raw); err != nil {
		return nil, err
	}
	if len(raw.Data) == 0 {
		return nil, provider.UserError("id", "no such record")
	}
	return raw.Data[0], nil
}

func write(ctx context.Context, c *provider.Call, method string, in recordIn) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	path, err := modulePath(in.Module, in.ID)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"data": []any{in.Fields}}
	if in.Trigger != nil {
		body["trigger"] = in.Trigger
	}
	b, _ := json.Marshal(body)
	var raw struct {
		Data []zohoStatus `json:"data"`
	}
	if err := hc.Send(ctx, method, path, nil, "application/json", b, &raw); err != nil {
		return nil, err
	}
	if len(raw.Data) == 0 {
		return nil, provider.Errorf("zoho returned no result for the record")
	}
	r := raw.Data[0]
	if r.Status != "success" {
		e := &provider.HTTPError{Status: 400, Method: method, Path: path}
		r.apply(e)
		return nil, e
	}
	id, _ := r.Details["id"].(string)
	return map[string]any{"id": id, "code": r.Code, "message": r.Message, "details": r.Details}, nil
}

func createRecord(ctx context.Context, c *provider.Call, in recordIn) (any, error) {
	in.ID = ""
	return write(ctx, c, http.MethodPost, in)
}

func updateRecord(ctx context.Context, c *provider.Call, in recordIn) (any, error) {
	return write(ctx, c, http.MethodPut, in)
}

type searchIn struct {
	Module   string `json:"module"`
	Criteria string `json:"criteria"`
	Email    string `json:"email"`
	Phone    string `json:"phone"`
	Word     string `json:"word"`
	Page     int    `json:"page"`
	PerPage  int    `json:"per_page"`
}

func searchRecords(ctx context.Context, c *provider.Call, in searchIn) (any, error) {
	hc, err := client(ctx, c)
	if err != nil {
		return nil, err
	}
	path, err := modulePath(in.Module, "")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	for k, v := range map[string]string{"criteria": in.Criteria, "email": in.Email, "phone": in.Phone, "word": in.Word} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return nil, provider.UserError("criteria", "one of criteria, email, phone or word is required")
	}
	if in.Page != 0 {
		q.Set("page", strconv.Itoa(in.Page))
	}
	if in.PerPage != 0 {
		q.Set("per_page", strconv.Itoa(in.PerPage))
	}
	var raw rawList
	if err := hc.GetJSON(ctx, path+"/search", q, &raw); err != nil {
		return nil, err
	}
	out := provider.ListOutput("data", raw.Data)
	out["more_records"] = raw.Info.MoreRecords
	if raw.Info.MoreRecords {
		page := raw.Info.Page
		if page == 0 {
			page = max(in.Page, 1)
		}
		out["next_page"] = page + 1
	}
	return out, nil
}
