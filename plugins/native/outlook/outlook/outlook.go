// Package outlook is the Outlook mail provider over Microsoft Graph v1.0
// (https://learn.microsoft.com/graph/api/resources/mail-api-overview),
// built only on the public SDK. Paths carry the "/v1.0" version because
// the catalog's base URL is the Graph host; listings follow
// "@odata.nextLink", handed to the caller as an opaque cursor; Graph's
// {"error":{"code","message"}} body becomes a diagnostic.
package outlook

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is the Microsoft Graph host, used when the host supplies none.
const BaseURL = "https://graph.microsoft.com"

const me = "/v1.0/me"

// New returns the Outlook provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID:           "outlook",
		Name:         "Outlook",
		Version:      Version,
		Description:  "Read, search and send Outlook mail through Microsoft Graph.",
		Categories:   []string{"communication", "productivity"},
		AllowedHosts: []string{"graph.microsoft.com"},
	}).
		HTTP(provider.HTTPOptions{
			BaseURL:   BaseURL,
			UserAgent: "atom-provider-outlook/" + Version,
		}).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the signed-in user (GET /me).",
			Output:      provider.Schema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"id":{"type":"string"},"display_name":{"type":"string"},"email":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_messages",
			DisplayName: "List messages",
			Description: "Lists messages of a mail folder (or the whole mailbox), newest first, one page at a time.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"properties":{
				"folder":{"type":"string","description":"Folder id or well-known name (inbox, sentitems, drafts, archive)"},
				"top":{"type":"integer","minimum":1,"maximum":1000},
				"filter":{"type":"string","description":"OData $filter, e.g. isRead eq false"},
				"search":{"type":"string","description":"KQL search; cannot be combined with filter"},
				"cursor":{"type":"string","description":"next_cursor of the previous page"}}}`),
			Output: pageSchema,
			Handle: provider.Typed(listMessages),
		}).
		Action(provider.ActionDef{
			Name:        "get_message",
			DisplayName: "Get message",
			Description: "Reads one message, its body as text or HTML.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["id"],"properties":{
				"id":{"type":"string","minLength":1},
				"body_type":{"type":"string","enum":["text","html"]}}}`),
			Output: provider.Schema(`{"type":"object","properties":{"id":{"type":"string"},"subject":{"type":"string"},"from":{"type":"object"},"body":{"type":"object"},"receivedDateTime":{"type":"string"}}}`),
			Handle: provider.Typed(getMessage),
		}).
		Action(provider.ActionDef{
			Name:        "send_mail",
			DisplayName: "Send mail",
			Description: "Sends a message from the signed-in user's mailbox.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["to","subject"],"properties":{
				"to":{"type":"array","minItems":1,"items":{"type":"string"}},
				"cc":{"type":"array","items":{"type":"string"}},
				"bcc":{"type":"array","items":{"type":"string"}},
				"subject":{"type":"string"},
				"body":{"type":"string"},
				"html":{"type":"boolean"},
				"save_to_sent_items":{"type":"boolean","default":true}}}`),
			Output: acceptedSchema,
			Handle: provider.Typed(sendMail),
		}).
		Action(provider.ActionDef{
			Name:        "reply_to_message",
			DisplayName: "Reply to message",
			Description: "Replies to the sender (or everyone) of a message with a comment.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["id","comment"],"properties":{
				"id":{"type":"string","minLength":1},
				"comment":{"type":"string"},
				"reply_all":{"type":"boolean"}}}`),
			Output: acceptedSchema,
			Handle: provider.Typed(reply),
		}).
		Action(provider.ActionDef{
			Name:        "list_mail_folders",
			DisplayName: "List mail folders",
			Description: "Lists the mailbox's top-level mail folders, one page at a time.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"properties":{
				"top":{"type":"integer","minimum":1,"maximum":1000},
				"cursor":{"type":"string"}}}`),
			Output: pageSchema,
			Handle: provider.Typed(listFolders),
		})
}

var pageSchema = provider.Schema(`{"type":"object","required":["value"],"properties":{
	"value":{"type":"array","items":{"type":"object"}},
	"next_cursor":{"type":"string"}}}`)

var acceptedSchema = provider.Schema(`{"type":"object","required":["accepted"],"properties":{"accepted":{"type":"boolean"}}}`)

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var u struct {
		ID                string `json:"id"`
		DisplayName       string `json:"displayName"`
		Mail              string `json:"mail"`
		UserPrincipalName string `json:"userPrincipalName"`
	}
	q := url.Values{"$select": {"id,displayName,mail,userPrincipalName"}}
	if err := c.HTTP().GetJSON(ctx, me, q, &u); err != nil {
		return nil, err
	}
	email := u.Mail
	if email == "" {
		email = u.UserPrincipalName
	}
	return map[string]any{"ok": true, "id": u.ID, "display_name": u.DisplayName, "email": email}, nil
}

// page is one page of a Graph collection as the actions return it.
type page struct {
	Value      []json.RawMessage `json:"value"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

func list(ctx context.Context, c *provider.Call, path string, q url.Values, cursor string) (any, error) {
	p, err := c.HTTP().GetODataPage(ctx, path, q, "cursor", cursor)
	if err != nil {
		return nil, err
	}
	return page{p.Value, p.NextLink}, nil
}

const messageFields = "id,subject,from,toRecipients,receivedDateTime,isRead,hasAttachments,bodyPreview,conversationId,webLink"

type listIn struct {
	Folder string `json:"folder"`
	Top    int    `json:"top"`
	Filter string `json:"filter"`
	Search string `json:"search"`
	Cursor string `json:"cursor"`
}

func listMessages(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	if in.Search != "" && in.Filter != "" {
		return nil, provider.UserError("search", "cannot be combined with filter in Microsoft Graph")
	}
	if in.Folder != "" {
		if _, err := provider.PathSegment("folder", in.Folder); err != nil {
			return nil, err
		}
	}
	path := me + "/messages"
	if in.Folder != "" {
		path = me + "/mailFolders/" + url.PathEscape(in.Folder) + "/messages"
	}
	q := url.Values{"$select": {messageFields}}
	if in.Top != 0 {
		q.Set("$top", strconv.Itoa(in.Top))
	}
	switch {
	case in.Filter != "":
		q.Set("$filter", in.Filter)
	case in.Search != "":
		q.Set("$search", strconv.Quote(in.Search))
	default:
		q.Set("$orderby", "receivedDateTime desc")
	}
	return list(ctx, c, path, q, in.Cursor)
}

type getIn struct {
	ID       string `json:"id"`
	BodyType string `json:"body_type"`
}

func getMessage(ctx context.Context, c *provider.Call, in getIn) (any, error) {
	if _, err := provider.PathSegments("id", in.ID); err != nil {
		return nil, err
	}
	client := c.HTTP()
	if in.BodyType != "" {
		client = client.WithHeader("Prefer", `outlook.body-content-type="`+in.BodyType+`"`)
	}
	var out json.RawMessage
	if err := client.GetJSON(ctx, me+"/messages/"+url.PathEscape(in.ID), nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

type sendIn struct {
	To              []string `json:"to"`
	Cc              []string `json:"cc"`
	Bcc             []string `json:"bcc"`
	Subject         string   `json:"subject"`
	Body            string   `json:"body"`
	HTML            bool     `json:"html"`
	SaveToSentItems *bool    `json:"save_to_sent_items"`
}

type emailAddress struct {
	Address string `json:"address"`
}

type recipient struct {
	EmailAddress emailAddress `json:"emailAddress"`
}

type itemBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

type graphMessage struct {
	Subject       string      `json:"subject"`
	Body          itemBody    `json:"body"`
	ToRecipients  []recipient `json:"toRecipients"`
	CcRecipients  []recipient `json:"ccRecipients,omitempty"`
	BccRecipients []recipient `json:"bccRecipients,omitempty"`
}

func recipients(list []string) []recipient {
	var out []recipient
	for _, a := range list {
		out = append(out, recipient{emailAddress{a}})
	}
	return out
}

func sendMail(ctx context.Context, c *provider.Call, in sendIn) (any, error) {
	ct := "Text"
	if in.HTML {
		ct = "HTML"
	}
	save := in.SaveToSentItems == nil || *in.SaveToSentItems
	body := map[string]any{
		"message": graphMessage{
			Subject: in.Subject, Body: itemBody{ct, in.Body},
			ToRecipients: recipients(in.To), CcRecipients: recipients(in.Cc), BccRecipients: recipients(in.Bcc),
		},
		"saveToSentItems": save,
	}
	if err := c.HTTP().PostJSON(ctx, me+"/sendMail", body, nil); err != nil {
		return nil, err
	}
	return map[string]bool{"accepted": true}, nil
}

type replyIn struct {
	ID       string `json:"id"`
	Comment  string `json:"comment"`
	ReplyAll bool   `json:"reply_all"`
}

func reply(ctx context.Context, c *provider.Call, in replyIn) (any, error) {
	if _, err := provider.PathSegments("id", in.ID); err != nil {
		return nil, err
	}
	verb := "/reply"
	if in.ReplyAll {
		verb = "/replyAll"
	}
	body := map[string]string{"comment": in.Comment}
	if err := c.HTTP().PostJSON(ctx, me+"/messages/"+url.PathEscape(in.ID)+verb, body, nil); err != nil {
		return nil, err
	}
	return map[string]bool{"accepted": true}, nil
}

type foldersIn struct {
	Top    int    `json:"top"`
	Cursor string `json:"cursor"`
}

func listFolders(ctx context.Context, c *provider.Call, in foldersIn) (any, error) {
	q := url.Values{}
	if in.Top != 0 {
		q.Set("$top", strconv.Itoa(in.Top))
	}
	return list(ctx, c, me+"/mailFolders", q, in.Cursor)
}
