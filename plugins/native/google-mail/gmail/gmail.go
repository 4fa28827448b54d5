// Package gmail is the Gmail provider: messages, labels and drafts over
// the Gmail API v1 (https://developers.google.com/gmail/api/reference/rest),
// built only on the public SDK. Mail is sent as an RFC 2822 message,
// base64url-encoded in the "raw" field; listings page with
// pageToken/nextPageToken; Google's error body becomes a diagnostic.
package gmail

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/mail"
	"net/url"
	"strconv"
	"strings"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is the Gmail API host, used when the host supplies none.
const BaseURL = "https://gmail.googleapis.com"

const userPath = "/gmail/v1/users/me"

var httpOptions = provider.HTTPOptions{
	BaseURL:     BaseURL,
	UserAgent:   "atom-provider-google-mail/" + Version,
	DecodeError: provider.DecodeGoogleError,
}

// New returns the Gmail provider.
func New() *provider.Builder {
	return withTriggers(provider.New(provider.Manifest{
		ID:           "google-mail",
		Name:         "Gmail",
		Version:      Version,
		Description:  "Read, search and send Gmail messages.",
		Categories:   []string{"communication", "productivity"},
		AllowedHosts: []string{"gmail.googleapis.com"},
	}).
		HTTP(httpOptions).
		Action(provider.ActionDef{
			Name:        "test_connection",
			DisplayName: "Test connection",
			Description: "Checks the token by reading the mailbox profile (users.getProfile).",
			Output:      provider.Schema(`{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"},"email":{"type":"string"},"messages_total":{"type":"integer"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name:        "list_messages",
			DisplayName: "List messages",
			Description: "Lists message ids matching a Gmail search query, one page at a time.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"properties":{
				"q":{"type":"string","description":"Gmail search, e.g. from:someone is:unread"},
				"label_ids":{"type":"array","items":{"type":"string"}},
				"max_results":{"type":"integer","minimum":1,"maximum":500},
				"page_token":{"type":"string"},
				"include_spam_trash":{"type":"boolean"}}}`),
			Output: provider.Schema(`{"type":"object","required":["messages"],"properties":{
				"messages":{"type":"array","items":{"type":"object","properties":{"id":{"type":"string"},"threadId":{"type":"string"}}}},
				"next_page_token":{"type":"string"},
				"result_size_estimate":{"type":"integer"}}}`),
			Handle: provider.Typed(listMessages),
		}).
		Action(provider.ActionDef{
			Name:        "get_message",
			DisplayName: "Get message",
			Description: "Reads one message in full, metadata or minimal format.",
			Input: provider.Schema(`{"type":"object","additionalProperties":false,"required":["id"],"properties":{
				"id":{"type":"string","minLength":1},
				"format":{"type":"string","enum":["full","metadata","minimal","raw"]},
				"metadata_headers":{"type":"array","items":{"type":"string"}}}}`),
			Output: provider.Schema(`{"type":"object","properties":{"id":{"type":"string"},"threadId":{"type":"string"},"labelIds":{"type":"array"},"snippet":{"type":"string"},"payload":{"type":"object"}}}`),
			Handle: provider.Typed(getMessage),
		}).
		Action(provider.ActionDef{
			Name:        "send_email",
			DisplayName: "Send email",
			Description: "Sends a plain-text or HTML email from the connected mailbox, optionally as a reply in a thread.",
			Input:       mailSchema,
			Output:      sentSchema,
			Handle:      provider.Typed(sendEmail),
		}).
		Action(provider.ActionDef{
			Name:        "create_draft",
			DisplayName: "Create draft",
			Description: "Saves an email as a draft without sending it.",
			Input:       mailSchema,
			Output:      provider.Schema(`{"type":"object","properties":{"id":{"type":"string"},"message":{"type":"object"}}}`),
			Handle:      provider.Typed(createDraft),
		}).
		Action(provider.ActionDef{
			Name:        "list_labels",
			DisplayName: "List labels",
			Description: "Lists the mailbox's system and user labels.",
			Output:      provider.Schema(`{"type":"object","required":["labels"],"properties":{"labels":{"type":"array","items":{"type":"object","properties":{"id":{"type":"string"},"name":{"type":"string"},"type":{"type":"string"}}}}}}`),
			Handle:      listLabels,
		}))
}

var mailSchema = provider.Schema(`{"type":"object","additionalProperties":false,"required":["to","subject"],"properties":{
	"to":{"type":"array","minItems":1,"items":{"type":"string"}},
	"cc":{"type":"array","items":{"type":"string"}},
	"bcc":{"type":"array","items":{"type":"string"}},
	"subject":{"type":"string"},
	"body":{"type":"string"},
	"html":{"type":"boolean","description":"Send body as text/html"},
	"thread_id":{"type":"string"},
	"in_reply_to":{"type":"string","description":"Message-ID header of the message replied to"}}}`)

var sentSchema = provider.Schema(`{"type":"object","properties":{"id":{"type":"string"},"threadId":{"type":"string"},"labelIds":{"type":"array","items":{"type":"string"}}}}`)

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var p struct {
		EmailAddress  string `json:"emailAddress"`
		MessagesTotal int64  `json:"messagesTotal"`
	}
	if err := c.HTTP().GetJSON(ctx, userPath+"/profile", nil, &p); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "email": p.EmailAddress, "messages_total": p.MessagesTotal}, nil
}

type listIn struct {
	Q                string   `json:"q"`
	LabelIDs         []string `json:"label_ids"`
	MaxResults       int      `json:"max_results"`
	PageToken        string   `json:"page_token"`
	IncludeSpamTrash bool     `json:"include_spam_trash"`
}

type listOut struct {
	Messages           []json.RawMessage `json:"messages"`
	NextPageToken      string            `json:"next_page_token,omitempty"`
	ResultSizeEstimate int64             `json:"result_size_estimate"`
}

func listMessages(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	q := url.Values{}
	if in.Q != "" {
		q.Set("q", in.Q)
	}
	for _, l := range in.LabelIDs {
		q.Add("labelIds", l)
	}
	if in.MaxResults != 0 {
		q.Set("maxResults", strconv.Itoa(in.MaxResults))
	}
	if in.PageToken != "" {
		q.Set("pageToken", in.PageToken)
	}
	if in.IncludeSpamTrash {
		q.Set("includeSpamTrash", "true")
	}
	var page struct {
		Messages           []json.RawMessage `json:"messages"`
		NextPageToken      string            `json:"nextPageToken"`
		ResultSizeEstimate int64             `json:"resultSizeEstimate"`
	}
	if err := c.HTTP().GetJSON(ctx, userPath+"/messages", q, &page); err != nil {
		return nil, err
	}
	if page.Messages == nil {
		page.Messages = []json.RawMessage{}
	}
	return listOut{page.Messages, page.NextPageToken, page.ResultSizeEstimate}, nil
}

type getIn struct {
	ID              string   `json:"id"`
	Format          string   `json:"format"`
	MetadataHeaders []string `json:"metadata_headers"`
}

func getMessage(ctx context.Context, c *provider.Call, in getIn) (any, error) {
	if _, err := provider.PathSegments("id", in.ID); err != nil {
		return nil, err
	}
	q := url.Values{}
	if in.Format != "" {
		q.Set("format", in.Format)
	}
	for _, h := range in.MetadataHeaders {
		q.Add("metadataHeaders", h)
	}
	var out json.RawMessage
	if err := c.HTTP().GetJSON(ctx, userPath+"/messages/"+url.PathEscape(in.ID), q, &out); err != nil {
		return nil, err
	}
	return out, nil
}

type mailIn struct {
	To        []string `json:"to"`
	Cc        []string `json:"cc"`
	Bcc       []string `json:"bcc"`
	Subject   string   `json:"subject"`
	Body      string   `json:"body"`
	HTML      bool     `json:"html"`
	ThreadID  string   `json:"thread_id"`
	InReplyTo string   `json:"in_reply_to"`
}

// message is the Gmail API's message resource as sent.
type message struct {
	Raw      string `json:"raw"`
	ThreadID string `json:"threadId,omitempty"`
}

// build renders in as an RFC 2822 message. Addresses are checked with
// net/mail so that no header can be injected through them.
func (in mailIn) build() (message, error) {
	var b strings.Builder
	for _, h := range []struct {
		name  string
		field string
		list  []string
	}{{"To", "to", in.To}, {"Cc", "cc", in.Cc}, {"Bcc", "bcc", in.Bcc}} {
		if len(h.list) == 0 {
			continue
		}
		addrs := make([]string, 0, len(h.list))
		for i, a := range h.list {
			parsed, err := mail.ParseAddress(a)
			if err != nil {
				return message{}, provider.UserError(fmt.Sprintf("/%s/%d", h.field, i), "is not an email address")
			}
			addrs = append(addrs, parsed.String())
		}
		fmt.Fprintf(&b, "%s: %s\r\n", h.name, strings.Join(addrs, ", "))
	}
	if strings.ContainsAny(in.InReplyTo, "\r\n") {
		return message{}, provider.UserError("in_reply_to", "must be a single Message-ID")
	}
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", in.Subject))
	if in.InReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: %s\r\nReferences: %s\r\n", in.InReplyTo, in.InReplyTo)
	}
	ct := "text/plain"
	if in.HTML {
		ct = "text/html"
	}
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: %s; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n", ct)
	body := base64.StdEncoding.EncodeToString([]byte(in.Body))
	for len(body) > 76 {
		b.WriteString(body[:76] + "\r\n")
		body = body[76:]
	}
	b.WriteString(body + "\r\n")
	return message{Raw: base64.URLEncoding.EncodeToString([]byte(b.String())), ThreadID: in.ThreadID}, nil
}

func sendEmail(ctx context.Context, c *provider.Call, in mailIn) (any, error) {
	msg, err := in.build()
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	if err := c.HTTP().PostJSON(ctx, userPath+"/messages/send", msg, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func createDraft(ctx context.Context, c *provider.Call, in mailIn) (any, error) {
	msg, err := in.build()
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	if err := c.HTTP().PostJSON(ctx, userPath+"/drafts", map[string]any{"message": msg}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func listLabels(ctx context.Context, c *provider.Call) (any, error) {
	var out struct {
		Labels []json.RawMessage `json:"labels"`
	}
	if err := c.HTTP().GetJSON(ctx, userPath+"/labels", nil, &out); err != nil {
		return nil, err
	}
	if out.Labels == nil {
		out.Labels = []json.RawMessage{}
	}
	return out, nil
}
