// Command xero is the Xero Accounting piece: it creates contacts with
// POST https://api.xero.com/api.xro/2.0/Contacts for the organisation named
// by the Xero-tenant-id header.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bin/pieces/xero.wasm ./plugins/pieces/xero
package main

import (
	"encoding/json"
	"strings"

	"github.com/atomhq/atom/sdk/piece"
)

func init() {
	piece.Register(piece.Define(piece.Piece{
		ID: "xero", Name: "Xero", Version: "1.0.0",
		Description: "Keep Xero contacts in sync.",
		Categories:  []string{"accounting"},
		Auth:        piece.AuthSpec{Kind: "oauth2", Scopes: []string{"accounting.contacts"}},
		Hosts:       []string{"api.xero.com"},
		Actions: []piece.Action{{
			Name: "xero_create_contact", DisplayName: "Create or update contact",
			Props: []piece.Prop{
				piece.ShortText("tenant_id", "Organisation (tenant) ID").Describe("Defaults to the connection's tenant_id"),
				piece.ShortText("name", "Name").Required(),
				piece.ShortText("email", "Email"),
				piece.ShortText("first_name", "First name"),
				piece.ShortText("last_name", "Last name"),
				piece.ShortText("account_number", "Account number"),
			},
			Run: createContact,
		}},
	}))
}

func createContact(c *piece.Context) (any, error) {
	var in struct {
		TenantID      string `json:"tenant_id"`
		Name          string `json:"name"`
		Email         string `json:"email"`
		FirstName     string `json:"first_name"`
		LastName      string `json:"last_name"`
		AccountNumber string `json:"account_number"`
	}
	if err := c.Bind(&in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, piece.FieldError("name", "name is required")
	}
	cr, err := c.Credentials()
	if err != nil {
		return nil, err
	}
	if in.TenantID == "" {
		in.TenantID = cr.Lookup("tenant_id")
	}
	if in.TenantID == "" {
		return nil, piece.FieldError("tenant_id", "tenant_id is required (the Xero organisation)")
	}
	contact := map[string]string{"Name": in.Name}
	for k, v := range map[string]string{"EmailAddress": in.Email, "FirstName": in.FirstName, "LastName": in.LastName, "AccountNumber": in.AccountNumber} {
		if v != "" {
			contact[k] = v
		}
	}
	resp, err := c.JSON("POST", "https://api.xero.com/api.xro/2.0/Contacts",
		map[string]string{"Authorization": "Bearer " + cr.Secret(), "Xero-tenant-id": in.TenantID},
		map[string]any{"Contacts": []any{contact}})
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		var e struct {
			Type     string `json:"Type"`
			Message  string `json:"Message"`
			Detail   string `json:"Detail"`
			Title    string `json:"Title"`
			Elements []struct {
				ValidationErrors []struct {
					Message string `json:"Message"`
				} `json:"ValidationErrors"`
			} `json:"Elements"`
		}
		if json.Unmarshal(resp.Bytes(), &e) == nil && (e.Message != "" || e.Title != "") {
			var msgs []string
			for _, el := range e.Elements {
				for _, v := range el.ValidationErrors {
					msgs = append(msgs, v.Message)
				}
			}
			summary := e.Message
			if summary == "" {
				summary = e.Title
			}
			detail := strings.Join(msgs, "; ")
			if detail == "" {
				detail = e.Detail
			}
			return nil, &piece.Error{Summary: "Xero: " + summary, Detail: detail, Status: resp.Status}
		}
		return nil, resp.Fail("Xero request failed")
	}
	var out struct {
		Contacts []json.RawMessage `json:"Contacts"`
	}
	if err := resp.Decode(&out); err != nil {
		return nil, err
	}
	if len(out.Contacts) == 0 {
		return nil, &piece.Error{Summary: "Xero returned no contact", Status: resp.Status}
	}
	return out.Contacts[0], nil
}

func main() {}
