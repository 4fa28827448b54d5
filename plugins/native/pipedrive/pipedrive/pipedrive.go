// Package pipedrive is the Pipedrive provider: persons and deals over the
// REST API v1 (https://developers.pipedrive.com/docs/api/v1), built only on
// the public SDK.
//
// OAuth connections call the company's own host, the token response's
// api_domain (kept as connection metadata) plus /api; the host normally
// resolves it. API-token connections send the token in x-api-token to
// https://api.pipedrive.com. Lists page with start/limit and
// additional_data.pagination.next_start. Pipedrive's error body
// {"success":false,"error","error_info"} becomes a diagnostic.
package pipedrive

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is the API host for API-token connections.
const BaseURL = "https://api.pipedrive.com"

var options = provider.HTTPOptions{
	BaseURL:     BaseURL,
	APIKey:      provider.APIKeyHeader("x-api-token", ""),
	UserAgent:   "atom-provider-pipedrive/" + Version,
	DecodeError: DecodeError,
}

// New returns the Pipedrive provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID: "pipedrive", Name: "Pipedrive", Version: Version,
		Description:  "CRM: persons and deals of a Pipedrive company.",
		Categories:   []string{"crm"},
		AllowedHosts: []string{"api.pipedrive.com", "*.pipedrive.com"},
	}).
		HTTP(options).
		Action(provider.ActionDef{
			Name: "test_connection", DisplayName: "Test connection",
			Description: "Checks the connection by reading the authorized user.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"user_id":{"type":"integer"},"name":{"type":"string"},"company_domain":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name: "list_persons", DisplayName: "List persons",
			Description: "Lists persons one page at a time; pass next_start back as start.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{"start":{"type":"integer","minimum":0},"limit":{"type":"integer","minimum":1,"maximum":500},"filter_id":{"type":"integer"}}}`),
			Output:      listSchema,
			Handle:      provider.Typed(listPersons),
		}).
		Action(provider.ActionDef{
			Name: "create_person", DisplayName: "Create person",
			Description: "Creates a person.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["name"],"properties":{
				"name":{"type":"string","minLength":1},
				"email":{"type":"string"},
				"phone":{"type":"string"},
				"org_id":{"type":"integer"},
				"owner_id":{"type":"integer"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"integer"},"name":{"type":"string"}}}`),
			Handle: provider.Typed(createPerson),
		}).
		Action(provider.ActionDef{
			Name: "search_persons", DisplayName: "Search persons",
			Description: "Searches persons by name, email, phone or notes (at least 2 characters).",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["term"],"properties":{"term":{"type":"string","minLength":2},"fields":{"type":"array","items":{"type":"string","enum":["custom_fields","email","notes","phone","name"]}},"exact_match":{"type":"boolean"},"start":{"type":"integer","minimum":0},"limit":{"type":"integer","minimum":1,"maximum":500}}}`),
			Output:      listSchema,
			Handle:      provider.Typed(searchPersons),
		}).
		Action(provider.ActionDef{
			Name: "create_deal", DisplayName: "Create deal",
			Description: "Creates a deal.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["title"],"properties":{
				"title":{"type":"string","minLength":1},
				"value":{"type":"number"},
				"currency":{"type":"string","minLength":3,"maxLength":3},
				"person_id":{"type":"integer"},
				"org_id":{"type":"integer"},
				"stage_id":{"type":"integer"},
				"status":{"type":"string","enum":["open","won","lost"]},
				"expected_close_date":{"type":"string","format":"date"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"integer"},"title":{"type":"string"}}}`),
			Handle: provider.Typed(createDeal),
		}).
		Action(provider.ActionDef{
			Name: "update_deal", DisplayName: "Update deal",
			Description: "Updates a deal: its stage, status, value or title.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["id"],"properties":{
				"id":{"type":"integer","minimum":1},
				"title":{"type":"string"},
				"value":{"type":"number"},
				"stage_id":{"type":"integer"},
				"status":{"type":"string","enum":["open","won","lost","deleted"]},
				"lost_reason":{"type":"string"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"integer"},"status":{"type":"string"}}}`),
			Handle: provider.Typed(updateDeal),
		})
}

var listSchema = provider.SortedSchema(`{"type":"object","required":["items","more_items"],"properties":{"items":{"type":"array","items":{"type":"object"}},"more_items":{"type":"boolean"},"next_start":{"type":"integer"}}}`)

// DecodeError reads Pipedrive's {"success":false,"error","error_info"}
// body into e.
func DecodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Error     string          `json:"error"`
		ErrorInfo string          `json:"error_info"`
		ErrorCode json.RawMessage `json:"errorCode"`
		Message   string          `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		e.Message = provider.ErrorText(body)
		return
	}
	e.Message = v.Error
	if e.Message == "" {
		e.Message = v.Message
	}
	e.Code = strings.Trim(string(v.ErrorCode), `"`)
	if v.ErrorInfo != "" && !strings.HasPrefix(v.ErrorInfo, "Please check developers.pipedrive.com") {
		e.Message += ": " + v.ErrorInfo
	}
}

// client returns the HTTP client for the company's api_domain, or for the
// default host when the connection has none; it cannot fail, so the error
// of ClientWithBase is always nil.
func client(ctx context.Context, c *provider.Call) *provider.HTTPClient {
	hc, _ := provider.ClientWithBase(ctx, options, func() (string, error) {
		if d := strings.TrimRight(c.Credentials().Metadata["api_domain"], "/"); strings.HasPrefix(d, "https://") && strings.HasSuffix(d, ".pipedrive.com") {
			return d + "/api", nil
		}
		return "", nil
	})
	return hc
}

type envelope struct {
	Data           json.RawMessage `json:"data"`
	AdditionalData struct {
		Pagination struct {
			MoreItems bool `json:"more_items_in_collection"`
			NextStart int  `json:"next_start"`
		} `json:"pagination"`
	} `json:"additional_data"`
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var env struct {
		Data struct {
			ID            int64  `json:"id"`
			Name          string `json:"name"`
			CompanyDomain string `json:"company_domain"`
		} `json:"data"`
	}
	if err := client(ctx, c).GetJSON(ctx, "v1/users/me", nil, &env); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "user_id": env.Data.ID, "name": env.Data.Name, "company_domain": env.Data.CompanyDomain}, nil
}

func page(env envelope, items []json.RawMessage) map[string]any {
	out := provider.ListOutput("items", items)
	out["more_items"] = env.AdditionalData.Pagination.MoreItems
	if env.AdditionalData.Pagination.MoreItems {
		out["next_start"] = env.AdditionalData.Pagination.NextStart
	}
	return out
}

func pageQuery(start, limit int) url.Values {
	q := url.Values{"start": {strconv.Itoa(start)}}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

type listIn struct {
	Start      int      `json:"start"`
	Limit      int      `json:"limit"`
	FilterID   int      `json:"filter_id"`
	Term       string   `json:"term"`
	Fields     []string `json:"fields"`
	ExactMatch bool     `json:"exact_match"`
}

func listPersons(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	q := pageQuery(in.Start, in.Limit)
	if in.FilterID != 0 {
		q.Set("filter_id", strconv.Itoa(in.FilterID))
	}
	var env envelope
	if err := client(ctx, c).GetJSON(ctx, "v1/persons", q, &env); err != nil {
		return nil, err
	}
	var items []json.RawMessage
	_ = json.Unmarshal(env.Data, &items)
	return page(env, items), nil
}

func searchPersons(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	q := pageQuery(in.Start, in.Limit)
	q.Set("term", in.Term)
	if len(in.Fields) > 0 {
		q.Set("fields", strings.Join(in.Fields, ","))
	}
	if in.ExactMatch {
		q.Set("exact_match", "true")
	}
	var env envelope
	if err := client(ctx, c).GetJSON(ctx, "v1/persons/search", q, &env); err != nil {
		return nil, err
	}
	var data struct {
		Items []struct {
			Item json.RawMessage `json:"item"`
		} `json:"items"`
	}
	_ = json.Unmarshal(env.Data, &data)
	items := make([]json.RawMessage, 0, len(data.Items))
	for _, it := range data.Items {
		items = append(items, it.Item)
	}
	return page(env, items), nil
}

type personIn struct {
	Name    string `json:"name"`
	Email   string `json:"email"`
	Phone   string `json:"phone"`
	OrgID   int    `json:"org_id"`
	OwnerID int    `json:"owner_id"`
}

func createPerson(ctx context.Context, c *provider.Call, in personIn) (any, error) {
	body := map[string]any{"name": in.Name}
	if in.Email != "" {
		body["email"] = []any{map[string]any{"value": in.Email, "primary": true, "label": "work"}}
	}
	if in.Phone != "" {
		body["phone"] = []any{map[string]any{"value": in.Phone, "primary": true, "label": "work"}}
	}
	if in.OrgID != 0 {
		body["org_id"] = in.OrgID
	}
	if in.OwnerID != 0 {
		body["owner_id"] = in.OwnerID
	}
	var env envelope
	if err := client(ctx, c).PostJSON(ctx, "v1/persons", body, &env); err != nil {
		return nil, err
	}
	return env.Data, nil
}

func compact(in any) map[string]any {
	b, _ := json.Marshal(in)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

type dealIn struct {
	ID                int      `json:"id,omitempty"`
	Title             string   `json:"title,omitempty"`
	Value             *float64 `json:"value,omitempty"`
	Currency          string   `json:"currency,omitempty"`
	PersonID          int      `json:"person_id,omitempty"`
	OrgID             int      `json:"org_id,omitempty"`
	StageID           int      `json:"stage_id,omitempty"`
	Status            string   `json:"status,omitempty"`
	ExpectedCloseDate string   `json:"expected_close_date,omitempty"`
	LostReason        string   `json:"lost_reason,omitempty"`
}

func createDeal(ctx context.Context, c *provider.Call, in dealIn) (any, error) {
	var env envelope
	if err := client(ctx, c).PostJSON(ctx, "v1/deals", compact(in), &env); err != nil {
		return nil, err
	}
	return env.Data, nil
}

func updateDeal(ctx context.Context, c *provider.Call, in dealIn) (any, error) {
	id := in.ID
	in.ID = 0
	body := compact(in)
	if len(body) == 0 {
		return nil, provider.UserError("", "nothing to update")
	}
	b, _ := json.Marshal(body)
	var env envelope
	if err := client(ctx, c).Send(ctx, http.MethodPut, "v1/deals/"+strconv.Itoa(id), nil, "application/json", b, &env); err != nil {
		return nil, err
	}
	return env.Data, nil
}
