// Package hubspot is the HubSpot provider: CRM objects (contacts,
// companies, deals, tickets, products, line items) over the CRM v3 API
// (https://developers.hubspot.com/docs/api/crm/understanding-the-crm),
// built only on the public SDK.
//
// OAuth access tokens and private-app tokens are both sent as
// "Authorization: Bearer". Lists page with the paging.next.after cursor,
// which the provider hands back as next_after. HubSpot's error body
// {"status":"error","message","category","errors":[{"code","context":{"propertyName":[...]}}]}
// becomes a diagnostic naming the property, and the
// X-HubSpot-RateLimit-Remaining header is reported with list results.
package hubspot

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

// BaseURL is HubSpot's API base URL, used when the host supplies none.
const BaseURL = "https://api.hubapi.com"

const objectTypes = `"object_type":{"type":"string","enum":["contacts","companies","deals","tickets","products","line_items"]}`

var httpOptions = provider.HTTPOptions{
	BaseURL:     BaseURL,
	UserAgent:   "atom-provider-hubspot/" + Version,
	DecodeError: DecodeError,
}

// New returns the HubSpot provider.
func New() *provider.Builder {
	return withTriggers(provider.New(provider.Manifest{
		ID:           "hubspot",
		Name:         "HubSpot",
		Version:      Version,
		Description:  "CRM: contacts, companies, deals, tickets, products and line items.",
		Categories:   []string{"crm", "marketing", "support"},
		AllowedHosts: []string{"api.hubapi.com"},
	}).
		HTTP(httpOptions).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the connection by reading the account's details.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["ok","portal_id"],"properties":{"ok":{"type":"boolean"},"portal_id":{"type":"integer"},"account_type":{"type":"string"},"time_zone":{"type":"string"},"currency":{"type":"string"},"ui_domain":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_records",
			DisplayName: "List records",
			Description: "Lists records of a CRM object one page at a time; pass next_after back as after.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["object_type"],"properties":{` + objectTypes + `,
				"limit":{"type":"integer","minimum":1,"maximum":100},
				"after":{"type":"string"},
				"properties":{"type":"array","items":{"type":"string"}},
				"archived":{"type":"boolean"}}}`),
			Output: listSchema,
			Handle: provider.Typed(listRecords),
		}).
		Action(provider.ActionDef{
			Name:        "get_record",
			DisplayName: "Get record",
			Description: "Reads one record by id, or by a unique property such as email.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["object_type","id"],"properties":{` + objectTypes + `,
				"id":{"type":"string","minLength":1},
				"id_property":{"type":"string","description":"unique property id is a value of, e.g. email"},
				"properties":{"type":"array","items":{"type":"string"}}}}`),
			Output: recordSchema,
			Handle: provider.Typed(getRecord),
		}).
		Action(provider.ActionDef{
			Name:        "create_record",
			DisplayName: "Create record",
			Description: "Creates a record from property values.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["object_type","properties"],"properties":{` + objectTypes + `,
				"properties":{"type":"object","minProperties":1,"additionalProperties":{"type":["string","number","boolean"]}}}}`),
			Output: recordSchema,
			Handle: provider.Typed(createRecord),
		}).
		Action(provider.ActionDef{
			Name:        "update_record",
			DisplayName: "Update record",
			Description: "Updates property values of a record.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["object_type","id","properties"],"properties":{` + objectTypes + `,
				"id":{"type":"string","minLength":1},
				"properties":{"type":"object","minProperties":1,"additionalProperties":{"type":["string","number","boolean"]}}}}`),
			Output: recordSchema,
			Handle: provider.Typed(updateRecord),
		}).
		Action(provider.ActionDef{
			Name:        "search_records",
			DisplayName: "Search records",
			Description: "Searches records with property filters (ANDed) or a free-text query.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["object_type"],"properties":{` + objectTypes + `,
				"query":{"type":"string"},
				"filters":{"type":"array","items":{"type":"object","additionalProperties":false,"required":["property","operator"],"properties":{
					"property":{"type":"string"},
					"operator":{"type":"string","enum":["EQ","NEQ","LT","LTE","GT","GTE","BETWEEN","IN","NOT_IN","HAS_PROPERTY","NOT_HAS_PROPERTY","CONTAINS_TOKEN","NOT_CONTAINS_TOKEN"]},
					"value":{"type":"string","description":"The value compared; with BETWEEN, the low end"},
					"high_value":{"type":"string","description":"BETWEEN only: the high end"},
					"values":{"type":"array","minItems":1,"items":{"type":"string"},"description":"IN and NOT_IN only: the values to match"}},
					"allOf":[
						{"if":{"properties":{"operator":{"enum":["IN","NOT_IN"]}}},"then":{"required":["values"],"not":{"anyOf":[{"required":["value"]},{"required":["high_value"]}]}}},
						{"if":{"properties":{"operator":{"const":"BETWEEN"}}},"then":{"required":["value","high_value"],"not":{"required":["values"]}}},
						{"if":{"properties":{"operator":{"enum":["HAS_PROPERTY","NOT_HAS_PROPERTY"]}}},"then":{"not":{"anyOf":[{"required":["value"]},{"required":["high_value"]},{"required":["values"]}]}}},
						{"if":{"properties":{"operator":{"enum":["EQ","NEQ","LT","LTE","GT","GTE","CONTAINS_TOKEN","NOT_CONTAINS_TOKEN"]}}},"then":{"required":["value"],"not":{"anyOf":[{"required":["high_value"]},{"required":["values"]}]}}}]}},
				"properties":{"type":"array","items":{"type":"string"}},
				"limit":{"type":"integer","minimum":1,"maximum":200},
				"after":{"type":"string"}}}`),
			Output: listSchema,
			Handle: provider.Typed(searchRecords),
		}))
}

var (
	listSchema = provider.SortedSchema(`{"type":"object","required":["results"],"properties":{
		"results":{"type":"array","items":{"type":"object"}},
		"total":{"type":"integer"},
		"next_after":{"type":"string"},
		"rate_limit_remaining":{"type":"integer"}}}`)
	recordSchema = provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"properties":{"type":"object"},"createdAt":{"type":"string"},"updatedAt":{"type":"string"},"archived":{"type":"boolean"}}}`)
)

// DecodeError reads HubSpot's error body into e: the message, the
// category as Type, the first detailed error's code, and its property as
// Field ("properties.<name>").
func DecodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Message  string `json:"message"`
		Category string `json:"category"`
		SubCat   string `json:"subCategory"`
		Errors   []struct {
			Message string              `json:"message"`
			Code    string              `json:"code"`
			Context map[string][]string `json:"context"`
		} `json:"errors"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &v) != nil {
		e.Message = provider.ErrorText(body)
		return
	}
	e.Message, e.Type = v.Message, v.Category
	if e.Message == "" {
		e.Message, e.Code = v.Description, v.Error
	}
	if len(v.Errors) > 0 {
		d := v.Errors[0]
		if d.Message != "" {
			e.Message = d.Message
		}
		e.Code = d.Code
		if names := d.Context["propertyName"]; len(names) > 0 {
			e.Field = "properties." + names[0]
		}
	}
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var d struct {
		PortalID     int64  `json:"portalId"`
		AccountType  string `json:"accountType"`
		TimeZone     string `json:"timeZone"`
		Currency     string `json:"companyCurrency"`
		UIDomain     string `json:"uiDomain"`
		DataLocation string `json:"dataHostingLocation"`
	}
	if err := c.HTTP().GetJSON(ctx, "/account-info/v3/details", nil, &d); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "portal_id": d.PortalID, "account_type": d.AccountType,
		"time_zone": d.TimeZone, "currency": d.Currency, "ui_domain": d.UIDomain}, nil
}

var idRe = regexp.MustCompile(`^[^/?#\s]{1,200}$`)

func objectPath(objectType, id string) (string, error) {
	switch objectType {
	case "contacts", "companies", "deals", "tickets", "products", "line_items":
	default:
		return "", provider.UserError("object_type", "is not a supported CRM object")
	}
	p := "/crm/v3/objects/" + objectType
	if id != "" {
		if !idRe.MatchString(id) || id == "." || id == ".." {
			return "", provider.UserError("id", "is not a record id")
		}
		p += "/" + url.PathEscape(id)
	}
	return p, nil
}

// Page is one page of records.
type Page struct {
	Results            []json.RawMessage `json:"results"`
	Total              *int              `json:"total,omitempty"`
	NextAfter          string            `json:"next_after,omitempty"`
	RateLimitRemaining *int              `json:"rate_limit_remaining,omitempty"`
}

type rawPage struct {
	Total   *int              `json:"total"`
	Results []json.RawMessage `json:"results"`
	Paging  struct {
		Next struct {
			After string `json:"after"`
		} `json:"next"`
	} `json:"paging"`
}

func (r rawPage) page(h http.Header) Page {
	p := Page{Results: r.Results, Total: r.Total, NextAfter: r.Paging.Next.After}
	if p.Results == nil {
		p.Results = []json.RawMessage{}
	}
	if n, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Remaining")); err == nil {
		p.RateLimitRemaining = &n
	}
	return p
}

type listIn struct {
	ObjectType string   `json:"object_type"`
	Limit      int      `json:"limit"`
	After      string   `json:"after"`
	Properties []string `json:"properties"`
	Archived   bool     `json:"archived"`
}

func listRecords(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	path, err := objectPath(in.ObjectType, "")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if in.Limit != 0 {
		q.Set("limit", strconv.Itoa(in.Limit))
	}
	if in.After != "" {
		q.Set("after", in.After)
	}
	if len(in.Properties) > 0 {
		q.Set("properties", strings.Join(in.Properties, ","))
	}
	if in.Archived {
		q.Set("archived", "true")
	}
	var raw rawPage
	h, err := c.HTTP().Exchange(ctx, http.MethodGet, path, q, "", nil, &raw)
	if err != nil {
		return nil, err
	}
	return raw.page(h), nil
}

type recordIn struct {
	ObjectType string         `json:"object_type"`
	ID         string         `json:"id"`
	IDProperty string         `json:"id_property"`
	Properties map[string]any `json:"properties"`
}

type getIn struct {
	ObjectType string   `json:"object_type"`
	ID         string   `json:"id"`
	IDProperty string   `json:"id_property"`
	Properties []string `json:"properties"`
}

func getRecord(ctx context.Context, c *provider.Call, in getIn) (any, error) {
	path, err := objectPath(in.ObjectType, in.ID)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if len(in.Properties) > 0 {
		q.Set("properties", strings.Join(in.Properties, ","))
	}
	if in.IDProperty != "" {
		q.Set("idProperty", in.IDProperty)
	}
	var out json.RawMessage
	return out, c.HTTP().GetJSON(ctx, path, q, &out)
}

func createRecord(ctx context.Context, c *provider.Call, in recordIn) (any, error) {
	path, err := objectPath(in.ObjectType, "")
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	return out, c.HTTP().PostJSON(ctx, path, map[string]any{"properties": in.Properties}, &out)
}

func updateRecord(ctx context.Context, c *provider.Call, in recordIn) (any, error) {
	path, err := objectPath(in.ObjectType, in.ID)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]any{"properties": in.Properties})
	if err != nil {
		return nil, provider.UserError("properties", err.Error())
	}
	var out json.RawMessage
	return out, c.HTTP().Send(ctx, http.MethodPatch, path, nil, "application/json", body, &out)
}

type searchIn struct {
	ObjectType string `json:"object_type"`
	Query      string `json:"query"`
	Filters    []struct {
		Property string   `json:"property"`
		Operator string   `json:"operator"`
		Value    string   `json:"value"`
		High     string   `json:"high_value"`
		Values   []string `json:"values"`
	} `json:"filters"`
	Properties []string `json:"properties"`
	Limit      int      `json:"limit"`
	After      string   `json:"after"`
}

func searchRecords(ctx context.Context, c *provider.Call, in searchIn) (any, error) {
	path, err := objectPath(in.ObjectType, "")
	if err != nil {
		return nil, err
	}
	body := map[string]any{}
	if in.Query != "" {
		body["query"] = in.Query
	}
	if len(in.Filters) > 0 {
		// HubSpot's filter: value for one operand, value and highValue for
		// BETWEEN, values for IN and NOT_IN
		// (developers.hubspot.com/docs/api/crm/search#filter-search-results).
		filters := make([]map[string]any, 0, len(in.Filters))
		for _, f := range in.Filters {
			m := map[string]any{"propertyName": f.Property, "operator": f.Operator}
			if f.Value != "" {
				m["value"] = f.Value
			}
			if f.High != "" {
				m["highValue"] = f.High
			}
			if len(f.Values) > 0 {
				m["values"] = f.Values
			}
			filters = append(filters, m)
		}
		body["filterGroups"] = []any{map[string]any{"filters": filters}}
	}
	if len(in.Properties) > 0 {
		body["properties"] = in.Properties
	}
	if in.Limit != 0 {
		body["limit"] = in.Limit
	}
	if in.After != "" {
		body["after"] = in.After
	}
	b, _ := json.Marshal(body)
	var raw rawPage
	h, err := c.HTTP().Exchange(ctx, http.MethodPost, path+"/search", nil, "application/json", b, &raw)
	if err != nil {
		return nil, err
	}
	return raw.page(h), nil
}
