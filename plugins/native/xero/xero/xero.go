// Package xero is the Xero provider: organisation, contacts and invoices
// over the Accounting API (https://developer.xero.com/documentation/api/accounting/overview),
// built only on the public SDK.
//
// A Xero token may reach several organisations (tenants); every
// Accounting call names one in the Xero-tenant-id header. The provider
// takes it from the connection parameter tenant_id, else looks it up once
// with GET /connections (the first ORGANISATION) and keeps it in the host
// store; a 403 forgets it. Lists page by page number (100 per page).
// Xero's error bodies (ValidationException with Elements[].ValidationErrors,
// and the problem+json {"Title","Detail"} of auth failures) become
// diagnostics; rate-limit 429s carry Retry-After.
package xero

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is Xero's API host, used when the host supplies none.
const BaseURL = "https://api.xero.com"

const tenantKey = "xero_tenant_id"

// New returns the Xero provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "xero",
		Name:         "Xero",
		Version:      Version,
		Description:  "Accounting: organisation, contacts and invoices of a Xero organisation.",
		Categories:   []string{"accounting"},
		AllowedHosts: []string{"api.xero.com"},
	}).
		HTTP(provider.HTTPOptions{BaseURL: BaseURL, UserAgent: "atom-provider-xero/" + Version, DecodeError: DecodeError}).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the connection by reading the organisation the connection uses.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["ok","tenant_id"],"properties":{"ok":{"type":"boolean"},"tenant_id":{"type":"string"},"name":{"type":"string"},"country_code":{"type":"string"},"base_currency":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_contacts",
			DisplayName: "List contacts",
			Description: "Lists contacts a page (100 unless page_size) at a time; pass next_page back as page.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"page":{"type":"integer","minimum":1},
				"page_size":{"type":"integer","minimum":1,"maximum":1000},
				"where":{"type":"string","description":"Xero filter, e.g. ContactStatus==\"ACTIVE\""},
				"search_term":{"type":"string"},
				"order":{"type":"string"}}}`),
			Output: pageSchema("Contacts"),
			Handle: provider.Typed(listContacts),
		}).
		Action(provider.ActionDef{
			Name:        "create_contact",
			DisplayName: "Create contact",
			Description: "Creates a contact.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["name"],"properties":{
				"name":{"type":"string","minLength":1,"maxLength":255},
				"email":{"type":"string"},
				"first_name":{"type":"string"},
				"last_name":{"type":"string"},
				"account_number":{"type":"string"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["ContactID"],"properties":{"ContactID":{"type":"string"},"Name":{"type":"string"}}}`),
			Handle: provider.Typed(createContact),
		}).
		Action(provider.ActionDef{
			Name:        "list_invoices",
			DisplayName: "List invoices",
			Description: "Lists invoices a page (100 unless page_size) at a time, optionally by status or contact.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"page":{"type":"integer","minimum":1},
				"page_size":{"type":"integer","minimum":1,"maximum":1000},
				"statuses":{"type":"array","items":{"type":"string","enum":["DRAFT","SUBMITTED","AUTHORISED","PAID","VOIDED","DELETED"]}},
				"contact_ids":{"type":"array","items":{"type":"string"}},
				"where":{"type":"string"}}}`),
			Output: pageSchema("Invoices"),
			Handle: provider.Typed(listInvoices),
		}).
		Action(provider.ActionDef{
			Name:        "create_invoice",
			DisplayName: "Create invoice",
			Description: "Creates a sales (ACCREC) or bill (ACCPAY) invoice.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["type","contact_id","line_items"],"properties":{
				"type":{"type":"string","enum":["ACCREC","ACCPAY"]},
				"contact_id":{"type":"string"},
				"date":{"type":"string","format":"date"},
				"due_date":{"type":"string","format":"date"},
				"reference":{"type":"string"},
				"status":{"type":"string","enum":["DRAFT","SUBMITTED","AUTHORISED"]},
				"line_items":{"type":"array","minItems":1,"items":{"type":"object","additionalProperties":false,"required":["description"],"properties":{
					"description":{"type":"string"},"quantity":{"type":"number"},"unit_amount":{"type":"number"},"account_code":{"type":"string"},"item_code":{"type":"string"},"tax_type":{"type":"string"}}}}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["InvoiceID"],"properties":{"InvoiceID":{"type":"string"},"InvoiceNumber":{"type":"string"},"Total":{"type":"number"}}}`),
			Handle: provider.Typed(createInvoice),
		})
}

func pageSchema(key string) json.RawMessage {
	return provider.SortedSchema(`{"type":"object","required":["` + key + `","page"],"properties":{"` + key + `":{"type":"array","items":{"type":"object"}},"page":{"type":"integer"},"next_page":{"type":"integer"}}}`)
}

// DecodeError reads Xero's error bodies into e: {"Type","Message",
// "Elements":[{"ValidationErrors":[{"Message"}]}]} and the problem+json
// {"Title","Status","Detail"} of authentication failures.
func DecodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Type     string `json:"Type"`
		Message  string `json:"Message"`
		Title    string `json:"Title"`
		Detail   string `json:"Detail"`
		Elements []struct {
			ValidationErrors []struct {
				Message string `json:"Message"`
			} `json:"ValidationErrors"`
		} `json:"Elements"`
	}
	if json.Unmarshal(body, &v) != nil {
		e.Message = provider.ErrorText(body)
		return
	}
	e.Type = v.Type
	var msgs []string
	for _, el := range v.Elements {
		for _, ve := range el.ValidationErrors {
			msgs = append(msgs, ve.Message)
		}
	}
	switch {
	case len(msgs) > 0:
		e.Message = strings.Join(msgs, "; ")
	case v.Message != "":
		e.Message = v.Message
	case v.Title != "":
		e.Message = v.Title
		if v.Detail != "" {
			e.Message += ": " + v.Detail
		}
	}
}

var tenantRe = regexp.MustCompile(`^[0-9a-fA-F-]{36}$`)

// tenantID returns the organisation the connection works on.
func tenantID(ctx context.Context, c *provider.Call) (string, error) {
	if t := c.Credentials().Params["tenant_id"]; t != "" {
		if !tenantRe.MatchString(t) {
			return "", provider.Errorf("the connection's tenant_id %q is not a Xero tenant id", t)
		}
		return t, nil
	}
	v, err := provider.StoreCached(ctx, tenantKey, func(ctx context.Context) ([]byte, error) {
		var conns []struct {
			TenantID   string `json:"tenantId"`
			TenantType string `json:"tenantType"`
		}
		if err := c.HTTP().GetJSON(ctx, "/connections", nil, &conns); err != nil {
			return nil, err
		}
		for _, cn := range conns {
			if cn.TenantType == "ORGANISATION" && tenantRe.MatchString(cn.TenantID) {
				return []byte(cn.TenantID), nil
			}
		}
		return nil, provider.Errorf("the Xero connection has no organisation: reconnect Xero and pick one")
	})
	return string(v), err
}

// send calls the Accounting API for the connection's organisation,
// forgetting a cached tenant the API refuses.
func send(ctx context.Context, c *provider.Call, method, path string, q url.Values, body any, out any) (string, error) {
	tenant, err := tenantID(ctx, c)
	if err != nil {
		return "", err
	}
	var b []byte
	ct := ""
	if body != nil {
		b, _ = json.Marshal(body)
		ct = "application/json"
	}
	err = c.HTTP().WithHeader("Xero-tenant-id", tenant).Send(ctx, method, "/api.xro/2.0"+path, q, ct, b, out)
	var he *provider.HTTPError
	if errors.As(err, &he) && he.Status == http.StatusForbidden && c.Credentials().Params["tenant_id"] == "" {
		_ = provider.StoreForget(ctx, tenantKey)
	}
	return tenant, err
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var out struct {
		Organisations []struct {
			Name         string `json:"Name"`
			CountryCode  string `json:"CountryCode"`
			BaseCurrency string `json:"BaseCurrency"`
		} `json:"Organisations"`
	}
	tenant, err := send(ctx, c, http.MethodGet, "/Organisation", nil, nil, &out)
	if err != nil {
		return nil, err
	}
	res := map[string]any{"ok": true, "tenant_id": tenant}
	if len(out.Organisations) > 0 {
		o := out.Organisations[0]
		res["name"], res["country_code"], res["base_currency"] = o.Name, o.CountryCode, o.BaseCurrency
	}
	return res, nil
}

func page(ctx context.Context, c *provider.Call, path, key string, pg, pageSize int, q url.Values) (any, error) {
	pg = max(pg, 1)
	q.Set("page", strconv.Itoa(pg))
	if pageSize == 0 {
		pageSize = 100
	} else {
		q.Set("pageSize", strconv.Itoa(pageSize))
	}
	var raw map[string]json.RawMessage
	if _, err := send(ctx, c, http.MethodGet, path, q, nil, &raw); err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if len(raw[key]) > 0 {
		if err := json.Unmarshal(raw[key], &items); err != nil {
			return nil, err
		}
	}
	out := provider.ListOutput(key, items)
	out["page"] = pg
	if len(items) >= pageSize {
		out["next_page"] = pg + 1
	}
	return out, nil
}

type contactsIn struct {
	Page       int    `json:"page"`
	PageSize   int    `json:"page_size"`
	Where      string `json:"where"`
	SearchTerm string `json:"search_term"`
	Order      string `json:"order"`
}

func listContacts(ctx context.Context, c *provider.Call, in contactsIn) (any, error) {
	q := url.Values{}
	for k, v := range map[string]string{"where": in.Where, "searchTerm": in.SearchTerm, "order": in.Order} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return page(ctx, c, "/Contacts", "Contacts", in.Page, in.PageSize, q)
}

type invoicesIn struct {
	Page       int      `json:"page"`
	PageSize   int      `json:"page_size"`
	Statuses   []string `json:"statuses"`
	ContactIDs []string `json:"contact_ids"`
	Where      string   `json:"where"`
}

func listInvoices(ctx context.Context, c *provider.Call, in invoicesIn) (any, error) {
	q := url.Values{}
	if len(in.Statuses) > 0 {
		q.Set("Statuses", strings.Join(in.Statuses, ","))
	}
	if len(in.ContactIDs) > 0 {
		q.Set("ContactIDs", strings.Join(in.ContactIDs, ","))
	}
	if in.Where != "" {
		q.Set("where", in.Where)
	}
	return page(ctx, c, "/Invoices", "Invoices", in.Page, in.PageSize, q)
}

type contactIn struct {
	Name          string `json:"name"`
	Email         string `json:"email"`
	FirstName     string `json:"first_name"`
	LastName      string `json:"last_name"`
	AccountNumber string `json:"account_number"`
}

func first(raw map[string]json.RawMessage, key string) (any, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw[key], &items); err != nil || len(items) == 0 {
		return nil, provider.Errorf("xero returned no %s", key)
	}
	return items[0], nil
}

func createContact(ctx context.Context, c *provider.Call, in contactIn) (any, error) {
	ct := map[string]string{"Name": in.Name}
	for k, v := range map[string]string{"EmailAddress": in.Email, "FirstName": in.FirstName, "LastName": in.LastName, "AccountNumber": in.AccountNumber} {
		if v != "" {
			ct[k] = v
		}
	}
	var raw map[string]json.RawMessage
	if _, err := send(ctx, c, http.MethodPut, "/Contacts", nil, map[string]any{"Contacts": []any{ct}}, &raw); err != nil {
		return nil, err
	}
	return first(raw, "Contacts")
}

type invoiceIn struct {
	Type      string `json:"type"`
	ContactID string `json:"contact_id"`
	Date      string `json:"date"`
	DueDate   string `json:"due_date"`
	Reference string `json:"reference"`
	Status    string `json:"status"`
	LineItems []struct {
		Description string   `json:"description"`
		Quantity    *float64 `json:"quantity"`
		UnitAmount  *float64 `json:"unit_amount"`
		AccountCode string   `json:"account_code"`
		ItemCode    string   `json:"item_code"`
		TaxType     string   `json:"tax_type"`
	} `json:"line_items"`
}

func createInvoice(ctx context.Context, c *provider.Call, in invoiceIn) (any, error) {
	inv := map[string]any{"Type": in.Type, "Contact": map[string]string{"ContactID": in.ContactID}}
	for k, v := range map[string]string{"Date": in.Date, "DueDate": in.DueDate, "Reference": in.Reference, "Status": in.Status} {
		if v != "" {
			inv[k] = v
		}
	}
	lines := make([]map[string]any, 0, len(in.LineItems))
	for _, l := range in.LineItems {
		li := map[string]any{"Description": l.Description}
		if l.Quantity != nil {
			li["Quantity"] = *l.Quantity
		}
		if l.UnitAmount != nil {
			li["UnitAmount"] = *l.UnitAmount
		}
		for k, v := range map[string]string{"AccountCode": l.AccountCode, "ItemCode": l.ItemCode, "TaxType": l.TaxType} {
			if v != "" {
				li[k] = v
			}
		}
		lines = append(lines, li)
	}
	inv["LineItems"] = lines
	var raw map[string]json.RawMessage
	if _, err := send(ctx, c, http.MethodPut, "/Invoices", nil, map[string]any{"Invoices": []any{inv}}, &raw); err != nil {
		return nil, err
	}
	return first(raw, "Invoices")
}
