// Package quickbooks is the QuickBooks Online provider: company info,
// customers and invoices over the Accounting API
// (https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer),
// built only on the public SDK.
//
// Every path names the company: /v3/company/{realmId}/..., where realmId
// is the id Intuit adds to the OAuth callback (kept as a connection
// parameter or metadata). Requests carry minorversion. Lists use the query
// language with STARTPOSITION/MAXRESULTS paging; the next start position
// is returned. Intuit's {"Fault":{"Error":[{"Message","Detail","code","element"}],"type"}}
// (also lower-cased on authentication failures) becomes a diagnostic.
package quickbooks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// MinorVersion is the Accounting API minor version requests ask for.
const MinorVersion = "73"

// BaseURL is the production API host; sandbox companies use
// https://sandbox-quickbooks.api.intuit.com (QUICKBOOKS_API_BASE_URL).
const BaseURL = "https://quickbooks.api.intuit.com"

// New returns the QuickBooks provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "quickbooks",
		Name:         "QuickBooks Online",
		Version:      Version,
		Description:  "Accounting: company info, customers and invoices of a QuickBooks Online company.",
		Categories:   []string{"accounting"},
		AllowedHosts: []string{"quickbooks.api.intuit.com", "sandbox-quickbooks.api.intuit.com"},
	}).
		HTTP(provider.HTTPOptions{BaseURL: BaseURL, UserAgent: "atom-provider-quickbooks/" + Version, DecodeError: DecodeError}).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the connection by reading the company's info.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["ok","realm_id"],"properties":{"ok":{"type":"boolean"},"realm_id":{"type":"string"},"company_name":{"type":"string"},"country":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_customers",
			DisplayName: "List customers",
			Description: "Lists customers, optionally those whose display name starts with a prefix; pass next_start_position back as start_position.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"name_prefix":{"type":"string"},
				"active_only":{"type":"boolean"},
				"start_position":{"type":"integer","minimum":1},
				"max_results":{"type":"integer","minimum":1,"maximum":1000}}}`),
			Output: pageSchema,
			Handle: provider.Typed(listCustomers),
		}).
		Action(provider.ActionDef{
			Name:        "get_customer",
			DisplayName: "Get customer",
			Description: "Reads one customer by id.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["id"],"properties":{"id":{"type":"string","pattern":"^[0-9]+$"}}}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["Id"],"properties":{"Id":{"type":"string"},"DisplayName":{"type":"string"}}}`),
			Handle:      provider.Typed(getCustomer),
		}).
		Action(provider.ActionDef{
			Name:        "create_customer",
			DisplayName: "Create customer",
			Description: "Creates a customer; DisplayName must be unique across customers, vendors and employees.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["display_name"],"properties":{
				"display_name":{"type":"string","minLength":1,"maxLength":500},
				"given_name":{"type":"string"},
				"family_name":{"type":"string"},
				"company_name":{"type":"string"},
				"email":{"type":"string"},
				"phone":{"type":"string"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["Id"],"properties":{"Id":{"type":"string"},"SyncToken":{"type":"string"}}}`),
			Handle: provider.Typed(createCustomer),
		}).
		Action(provider.ActionDef{
			Name:        "create_invoice",
			DisplayName: "Create invoice",
			Description: "Creates an invoice for a customer from sales item lines.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["customer_id","lines"],"properties":{
				"customer_id":{"type":"string","pattern":"^[0-9]+$"},
				"lines":{"type":"array","minItems":1,"items":{"type":"object","additionalProperties":false,"required":["amount","item_id"],"properties":{
					"amount":{"type":"number"},"item_id":{"type":"string"},"description":{"type":"string"},"quantity":{"type":"number"}}}},
				"due_date":{"type":"string","format":"date"},
				"email":{"type":"string"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["Id"],"properties":{"Id":{"type":"string"},"DocNumber":{"type":"string"},"TotalAmt":{"type":"number"}}}`),
			Handle: provider.Typed(createInvoice),
		}).
		Action(provider.ActionDef{
			Name:        "query",
			DisplayName: "Query",
			Description: "Runs a QuickBooks query (e.g. select * from Invoice where Balance > '0' STARTPOSITION 1 MAXRESULTS 100).",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["query"],"properties":{"query":{"type":"string","minLength":1}}}`),
			Output:      provider.SortedSchema(`{"type":"object","properties":{"QueryResponse":{"type":"object"}}}`),
			Handle:      provider.Typed(runQuery),
		})
}

var pageSchema = provider.SortedSchema(`{"type":"object","required":["customers"],"properties":{
	"customers":{"type":"array","items":{"type":"object"}},
	"start_position":{"type":"integer"},
	"next_start_position":{"type":"integer"}}}`)

var realmRe = regexp.MustCompile(`^[0-9]{1,32}$`)

// RealmID returns the company id of a connection: the realmId kept from
// the OAuth callback (parameter or metadata) or the companyId parameter.
func RealmID(creds provider.Credentials) (string, error) {
	for _, v := range []string{creds.Params["realmId"], creds.Metadata["realmId"], creds.Params["companyId"], creds.Fields["realmId"]} {
		if v != "" {
			if !realmRe.MatchString(v) {
				return "", provider.Errorf("the connection's realmId %q is not a QuickBooks company id", v)
			}
			return v, nil
		}
	}
	return "", provider.Errorf("the connection has no QuickBooks realmId: reconnect QuickBooks")
}

func companyPath(c *provider.Call, rest string) (string, error) {
	realm, err := RealmID(c.Credentials())
	if err != nil {
		return "", err
	}
	return "/v3/company/" + realm + rest, nil
}

// DecodeError reads Intuit's Fault body ({"Fault":...} or, on
// authentication failures, {"fault":...}) into e.
func DecodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Fault struct {
			Error []struct {
				Message string `json:"Message"`
				Detail  string `json:"Detail"`
				Code    string `json:"code"`
				Element string `json:"element"`
			} `json:"Error"`
			Type string `json:"type"`
		} `json:"Fault"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Fault.Error) == 0 {
		e.Message = provider.ErrorText(body)
		return
	}
	f := v.Fault.Error[0]
	e.Type, e.Code, e.Field = v.Fault.Type, f.Code, f.Element
	e.Message = f.Message
	if f.Detail != "" {
		e.Message += ": " + f.Detail
	}
}

func query(ctx context.Context, c *provider.Call, q string, out any) error {
	path, err := companyPath(c, "/query")
	if err != nil {
		return err
	}
	return c.HTTP().GetJSON(ctx, path, url.Values{"query": {q}, "minorversion": {MinorVersion}}, out)
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	realm, err := RealmID(c.Credentials())
	if err != nil {
		return nil, err
	}
	var out struct {
		CompanyInfo struct {
			CompanyName string `json:"CompanyName"`
			Country     string `json:"Country"`
		} `json:"CompanyInfo"`
	}
	if err := c.HTTP().GetJSON(ctx, "/v3/company/"+realm+"/companyinfo/"+realm, url.Values{"minorversion": {MinorVersion}}, &out); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "realm_id": realm, "company_name": out.CompanyInfo.CompanyName, "country": out.CompanyInfo.Country}, nil
}

type listIn struct {
	NamePrefix    string `json:"name_prefix"`
	ActiveOnly    bool   `json:"active_only"`
	StartPosition int    `json:"start_position"`
	MaxResults    int    `json:"max_results"`
}

// quote escapes a value for a query string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

func listCustomers(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	start, max := max(in.StartPosition, 1), in.MaxResults
	if max == 0 {
		max = 100
	}
	var where []string
	if in.NamePrefix != "" {
		where = append(where, "DisplayName LIKE "+quote(strings.ReplaceAll(in.NamePrefix, "%", "")+"%"))
	}
	if in.ActiveOnly {
		where = append(where, "Active = true")
	}
	q := "select * from Customer"
	if len(where) > 0 {
		q += " where " + strings.Join(where, " and ")
	}
	q += fmt.Sprintf(" ORDERBY Id STARTPOSITION %d MAXRESULTS %d", start, max)
	var out struct {
		QueryResponse struct {
			Customer []json.RawMessage `json:"Customer"`
		} `json:"QueryResponse"`
	}
	if err := query(ctx, c, q, &out); err != nil {
		return nil, err
	}
	res := provider.ListOutput("customers", out.QueryResponse.Customer)
	res["start_position"] = start
	if len(out.QueryResponse.Customer) == max {
		res["next_start_position"] = start + max
	}
	return res, nil
}

func getCustomer(ctx context.Context, c *provider.Call, in struct {
	ID string `json:"id"`
}) (any, error) {
	if _, err := strconv.ParseUint(in.ID, 10, 64); err != nil {
		return nil, provider.UserError("id", "must be a numeric id")
	}
	path, err := companyPath(c, "/customer/"+in.ID)
	if err != nil {
		return nil, err
	}
	var out struct {
		Customer json.RawMessage `json:"Customer"`
	}
	if err := c.HTTP().GetJSON(ctx, path, url.Values{"minorversion": {MinorVersion}}, &out); err != nil {
		return nil, err
	}
	return out.Customer, nil
}

type customerIn struct {
	DisplayName string `json:"display_name"`
	GivenName   string `json:"given_name"`
	FamilyName  string `json:"family_name"`
	CompanyName string `json:"company_name"`
	Email       string `json:"email"`
	Phone       string `json:"phone"`
}

// post creates an entity and returns the object under key.
func post(ctx context.Context, c *provider.Call, entity, key string, body any) (any, error) {
	path, err := companyPath(c, "/"+entity)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(body)
	var out map[string]json.RawMessage
	if err := c.HTTP().Send(ctx, "POST", path, url.Values{"minorversion": {MinorVersion}}, "application/json", b, &out); err != nil {
		return nil, err
	}
	return out[key], nil
}

func createCustomer(ctx context.Context, c *provider.Call, in customerIn) (any, error) {
	body := map[string]any{"DisplayName": in.DisplayName}
	for k, v := range map[string]string{"GivenName": in.GivenName, "FamilyName": in.FamilyName, "CompanyName": in.CompanyName} {
		if v != "" {
			body[k] = v
		}
	}
	if in.Email != "" {
		body["PrimaryEmailAddr"] = map[string]string{"Address": in.Email}
	}
	if in.Phone != "" {
		body["PrimaryPhone"] = map[string]string{"FreeFormNumber": in.Phone}
	}
	return post(ctx, c, "customer", "Customer", body)
}

type invoiceIn struct {
	CustomerID string `json:"customer_id"`
	Lines      []struct {
		Amount      float64  `json:"amount"`
		ItemID      string   `json:"item_id"`
		Description string   `json:"description"`
		Quantity    *float64 `json:"quantity"`
	} `json:"lines"`
	DueDate string `json:"due_date"`
	Email   string `json:"email"`
}

func createInvoice(ctx context.Context, c *provider.Call, in invoiceIn) (any, error) {
	lines := make([]map[string]any, 0, len(in.Lines))
	for _, l := range in.Lines {
		detail := map[string]any{"ItemRef": map[string]string{"value": l.ItemID}}
		if l.Quantity != nil {
			detail["Qty"] = *l.Quantity
		}
		line := map[string]any{"Amount": l.Amount, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": detail}
		if l.Description != "" {
			line["Description"] = l.Description
		}
		lines = append(lines, line)
	}
	body := map[string]any{"CustomerRef": map[string]string{"value": in.CustomerID}, "Line": lines}
	if in.DueDate != "" {
		body["DueDate"] = in.DueDate
	}
	if in.Email != "" {
		body["BillEmail"] = map[string]string{"Address": in.Email}
	}
	return post(ctx, c, "invoice", "Invoice", body)
}

func runQuery(ctx context.Context, c *provider.Call, in struct {
	Query string `json:"query"`
}) (any, error) {
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(in.Query)), "select ") {
		return nil, provider.UserError("query", "must be a select statement")
	}
	var out json.RawMessage
	return out, query(ctx, c, in.Query, &out)
}
