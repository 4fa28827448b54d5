// Package intercom is the Intercom provider: the admin, contacts, tags,
// conversations, replies and notes over Intercom's REST API
// (https://developers.intercom.com/docs/references/rest-api/api.intercom.io),
// built only on the public SDK.
//
// Requests carry an Intercom-Version header and a Bearer token: an OAuth
// access token, or an access token kept as the custom credential field
// "accessToken". Workspaces hosted in the EU or Australia answer on
// api.eu.intercom.io / api.au.intercom.io; when the host supplies no base
// URL the connection's "region" parameter (or credential field) picks
// it. Contacts page with per_page and a starting_after cursor
// (pages.next.starting_after), handed back as next_starting_after.
// Intercom's {"type":"error.list","errors":[{"code","message","field"}]}
// becomes a diagnostic carrying the code and field.
package intercom

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

// APIVersion is the Intercom-Version requests are pinned to.
const APIVersion = "2.11"

// BaseURL is Intercom's US API base URL, used when the host supplies none
// and the connection names no region.
const BaseURL = "https://api.intercom.io"

var regions = map[string]string{"us": BaseURL, "eu": "https://api.eu.intercom.io", "au": "https://api.au.intercom.io"}

var httpOptions = provider.HTTPOptions{
	BaseURL:     BaseURL,
	APIKey:      provider.APIKeyHeader("Authorization", "Bearer "),
	Header:      http.Header{"Intercom-Version": {APIVersion}},
	UserAgent:   "atom-provider-intercom/" + Version,
	DecodeError: decodeError,
}

// New returns the Intercom provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "intercom",
		Name:         "Intercom",
		Version:      Version,
		Description:  "Customer messaging: contacts, tags, conversations and notes.",
		Categories:   []string{"support", "marketing"},
		AllowedHosts: []string{"api.intercom.io", "api.eu.intercom.io", "api.au.intercom.io"},
	}).
		HTTP(httpOptions).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the admin it belongs to (GET /me).",
			Output: provider.SortedSchema(`{"type":"object","required":["ok"],"properties":{
				"ok":{"type":"boolean"},"admin_id":{"type":"string"},"name":{"type":"string"},"email":{"type":"string"},
				"workspace_id":{"type":"string"},"workspace_name":{"type":"string"},"region":{"type":"string"}}}`),
			Handle: testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_contacts",
			DisplayName: "List contacts",
			Description: "Lists contacts (users and leads), one page at a time.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"per_page":{"type":"integer","minimum":1,"maximum":150},"starting_after":{"type":"string"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["data"],"properties":{
				"data":{"type":"array","items":{"type":"object"}},"total_count":{"type":"integer"},
				"next_starting_after":{"type":"string","description":"Pass as starting_after to get the next page."}}}`),
			Handle: provider.Typed(listContacts),
		}).
		Action(provider.ActionDef{
			Name:        "create_contact",
			DisplayName: "Create contact",
			Description: "Creates a user or lead.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["role"],"properties":{
				"role":{"type":"string","enum":["user","lead"]},"email":{"type":"string"},"external_id":{"type":"string"},
				"name":{"type":"string"},"phone":{"type":"string"},"custom_attributes":{"type":"object"}}}`),
			Output: contactSchema,
			Handle: provider.Typed(createContact),
		}).
		Action(provider.ActionDef{
			Name:        "add_note_to_contact",
			DisplayName: "Add note to contact",
			Description: "Adds an internal note to a contact.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["contact_id","body"],"properties":{
				"contact_id":{"type":"string","minLength":1},"body":{"type":"string","minLength":1},
				"admin_id":{"type":"string","description":"Author; defaults to the connected admin."}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"body":{"type":"string"}}}`),
			Handle: provider.Typed(addNote),
		}).
		Action(provider.ActionDef{
			Name:        "list_tags",
			DisplayName: "List tags",
			Description: "Lists the workspace's tags.",
			Output:      provider.SortedSchema(`{"type":"object","required":["data"],"properties":{"data":{"type":"array","items":{"type":"object"}}}}`),
			Handle:      listTags,
		}).
		Action(provider.ActionDef{
			Name:        "get_conversation",
			DisplayName: "Get conversation",
			Description: "Returns a conversation with its parts.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["conversation_id"],"properties":{
				"conversation_id":{"type":"string","minLength":1},"display_as":{"type":"string","enum":["plaintext"]}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"state":{"type":"string"},"conversation_parts":{"type":"object"}}}`),
			Handle: provider.Typed(getConversation),
		}).
		Action(provider.ActionDef{
			Name:        "reply_to_conversation",
			DisplayName: "Reply to conversation",
			Description: "Replies to a conversation as an admin, visibly (comment) or as an internal note.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["conversation_id","body"],"properties":{
				"conversation_id":{"type":"string","minLength":1},"body":{"type":"string","minLength":1},
				"message_type":{"type":"string","enum":["comment","note"]},
				"admin_id":{"type":"string","description":"Author; defaults to the connected admin."}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"state":{"type":"string"}}}`),
			Handle: provider.Typed(reply),
		})
}

var contactSchema = provider.SortedSchema(`{"type":"object","required":["id"],"properties":{
	"id":{"type":"string"},"role":{"type":"string"},"email":{"type":["string","null"]},"name":{"type":["string","null"]}}}`)

// decodeError reads Intercom's error list.
func decodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Errors) == 0 {
		e.Message = provider.ErrorText(body)
		return
	}
	e.Message, e.Code, e.Field = v.Errors[0].Message, v.Errors[0].Code, v.Errors[0].Field
	if e.Message == "" {
		e.Message = e.Code
	}
}

// RegionBaseURL returns the API base URL of the connection's region
// (connection parameter or credential field "region": us, eu or au), or
// the US one.
func RegionBaseURL(cr provider.Credentials) string {
	region := strings.ToLower(cr.Params["region"])
	if region == "" {
		region = strings.ToLower(cr.Fields["region"])
	}
	if base, ok := regions[region]; ok {
		return base
	}
	return BaseURL
}

// client returns the HTTP client for the connection: the regional base
// URL when the host supplies none, and a custom connection's token.
func client(ctx context.Context, c *provider.Call) *provider.HTTPClient {
	req := c.Request()
	req.Credentials = c.Credentials()
	if req.BaseURL == "" {
		req.BaseURL = RegionBaseURL(req.Credentials)
	}
	h := provider.Client(provider.WithRequest(ctx, req), httpOptions)
	if cr := req.Credentials; cr.Type == "custom" {
		if tok := cr.Fields["accessToken"]; tok != "" {
			h = h.WithHeader("Authorization", "Bearer "+tok)
		}
	}
	return h
}

func send(ctx context.Context, c *provider.Call, method, path string, q url.Values, in, out any) error {
	return client(ctx, c).SendJSON(ctx, method, path, q, in, out)
}

type me struct {
	Type  string `json:"type"`
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	App   struct {
		IDCode string `json:"id_code"`
		Name   string `json:"name"`
		Region string `json:"region"`
	} `json:"app"`
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var m me
	if err := send(ctx, c, http.MethodGet, "/me", nil, nil, &m); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "admin_id": m.ID, "name": m.Name, "email": m.Email,
		"workspace_id": m.App.IDCode, "workspace_name": m.App.Name, "region": m.App.Region}, nil
}

// adminID returns id, or the connected admin's id when id is empty.
func adminID(ctx context.Context, c *provider.Call, id string) (string, error) {
	if id != "" {
		return id, nil
	}
	var m me
	if err := send(ctx, c, http.MethodGet, "/me", nil, nil, &m); err != nil {
		return "", err
	}
	if m.ID == "" {
		return "", provider.UserError("admin_id", "is required: the connection is not an admin's")
	}
	return m.ID, nil
}

type listIn struct {
	PerPage       int    `json:"per_page"`
	StartingAfter string `json:"starting_after"`
}

func listContacts(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	q := url.Values{}
	if in.PerPage > 0 {
		q.Set("per_page", strconv.Itoa(in.PerPage))
	}
	if in.StartingAfter != "" {
		q.Set("starting_after", in.StartingAfter)
	}
	var page struct {
		Data       []json.RawMessage `json:"data"`
		TotalCount int               `json:"total_count"`
		Pages      struct {
			Next *struct {
				StartingAfter string `json:"starting_after"`
			} `json:"next"`
		} `json:"pages"`
	}
	if err := send(ctx, c, http.MethodGet, "/contacts", q, nil, &page); err != nil {
		return nil, err
	}
	out := provider.ListOutput("data", page.Data)
	out["total_count"] = page.TotalCount
	if page.Pages.Next != nil && page.Pages.Next.StartingAfter != "" {
		out["next_starting_after"] = page.Pages.Next.StartingAfter
	}
	return out, nil
}

type contactIn struct {
	Role             string          `json:"role"`
	Email            string          `json:"email,omitempty"`
	ExternalID       string          `json:"external_id,omitempty"`
	Name             string          `json:"name,omitempty"`
	Phone            string          `json:"phone,omitempty"`
	CustomAttributes json.RawMessage `json:"custom_attributes,omitempty"`
}

func createContact(ctx context.Context, c *provider.Call, in contactIn) (any, error) {
	if in.Email == "" && in.ExternalID == "" && in.Role == "user" {
		return nil, provider.UserError("email", "a user needs an email or an external_id")
	}
	var out json.RawMessage
	err := send(ctx, c, http.MethodPost, "/contacts", nil, in, &out)
	return out, err
}

type noteIn struct {
	ContactID string `json:"contact_id"`
	Body      string `json:"body"`
	AdminID   string `json:"admin_id"`
}

func addNote(ctx context.Context, c *provider.Call, in noteIn) (any, error) {
	id, err := provider.PathSegment("contact_id", in.ContactID)
	if err != nil {
		return nil, err
	}
	admin, err := adminID(ctx, c, in.AdminID)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = send(ctx, c, http.MethodPost, "/contacts/"+id+"/notes", nil, map[string]string{"body": in.Body, "admin_id": admin}, &out)
	return out, err
}

func listTags(ctx context.Context, c *provider.Call) (any, error) {
	var out struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := send(ctx, c, http.MethodGet, "/tags", nil, nil, &out); err != nil {
		return nil, err
	}
	return provider.ListOutput("data", out.Data), nil
}

type conversationIn struct {
	ConversationID string `json:"conversation_id"`
	DisplayAs      string `json:"display_as"`
	Body           string `json:"body"`
	MessageType    string `json:"message_type"`
	AdminID        string `json:"admin_id"`
}

func getConversation(ctx context.Context, c *provider.Call, in conversationIn) (any, error) {
	id, err := provider.PathSegment("conversation_id", in.ConversationID)
	if err != nil {
		return nil, err
	}
	var q url.Values
	if in.DisplayAs != "" {
		q = url.Values{"display_as": {in.DisplayAs}}
	}
	var out json.RawMessage
	err = send(ctx, c, http.MethodGet, "/conversations/"+id, q, nil, &out)
	return out, err
}

func reply(ctx context.Context, c *provider.Call, in conversationIn) (any, error) {
	id, err := provider.PathSegment("conversation_id", in.ConversationID)
	if err != nil {
		return nil, err
	}
	admin, err := adminID(ctx, c, in.AdminID)
	if err != nil {
		return nil, err
	}
	mt := in.MessageType
	if mt == "" {
		mt = "comment"
	}
	body := map[string]string{"message_type": mt, "type": "admin", "admin_id": admin, "body": in.Body}
	var out json.RawMessage
	err = send(ctx, c, http.MethodPost, "/conversations/"+id+"/reply", nil, body, &out)
	return out, err
}
