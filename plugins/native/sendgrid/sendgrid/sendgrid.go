// Package sendgrid is the SendGrid provider: mail send, templates,
// marketing contacts and bounces over the v3 API
// (https://www.twilio.com/docs/sendgrid/api-reference), built only on the
// public SDK.
//
// The API key is sent as "Authorization: Bearer". EU-pinned subusers use
// https://api.eu.sendgrid.com (custom field dataResidency "eu"). Mail
// send answers 202 with an empty body and the message id in
// X-Message-Id. Templates page with page_token (from _metadata.next),
// bounces with offset/limit. SendGrid's {"errors":[{"message","field"}]}
// becomes a diagnostic naming the field.
package sendgrid

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

// BaseURL is SendGrid's global API host; EUBaseURL the EU one.
const (
	BaseURL   = "https://api.sendgrid.com"
	EUBaseURL = "https://api.eu.sendgrid.com"
)

var options = provider.HTTPOptions{BaseURL: BaseURL, UserAgent: "atom-provider-sendgrid/" + Version, DecodeError: DecodeError}

// New returns the SendGrid provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID: "sendgrid", Name: "SendGrid", Version: Version,
		Description:  "Email: send mail, list templates, upsert marketing contacts and read bounces.",
		Categories:   []string{"communication", "marketing"},
		AllowedHosts: []string{"api.sendgrid.com", "api.eu.sendgrid.com"},
	}).
		HTTP(options).
		Action(provider.ActionDef{
			Name: "test_connection", DisplayName: "Test connection",
			Description: "Checks the API key by listing its scopes.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["ok","scopes"],"properties":{"ok":{"type":"boolean"},"scopes":{"type":"array","items":{"type":"string"}}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name: "send_email", DisplayName: "Send email",
			Description: "Sends an email with content or a dynamic template.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["to","from"],"properties":{
				"to":{"type":"array","minItems":1,"maxItems":1000,"items":{"type":"string"}},
				"cc":{"type":"array","items":{"type":"string"}},
				"bcc":{"type":"array","items":{"type":"string"}},
				"from":{"type":"string"},
				"from_name":{"type":"string"},
				"reply_to":{"type":"string"},
				"subject":{"type":"string"},
				"text":{"type":"string"},
				"html":{"type":"string"},
				"template_id":{"type":"string"},
				"dynamic_template_data":{"type":"object"},
				"categories":{"type":"array","maxItems":10,"items":{"type":"string"}},
				"send_at":{"type":"integer"}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["accepted"],"properties":{"accepted":{"type":"boolean"},"message_id":{"type":"string"}}}`),
			Handle: provider.Typed(sendEmail),
		}).
		Action(provider.ActionDef{
			Name: "list_templates", DisplayName: "List templates",
			Description: "Lists transactional templates; pass next_page_token back as page_token.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{"generations":{"type":"string","enum":["legacy","dynamic","legacy,dynamic"]},"page_size":{"type":"integer","minimum":1,"maximum":200},"page_token":{"type":"string"}}}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["templates"],"properties":{"templates":{"type":"array","items":{"type":"object"}},"next_page_token":{"type":"string"},"count":{"type":"integer"}}}`),
			Handle:      provider.Typed(listTemplates),
		}).
		Action(provider.ActionDef{
			Name: "upsert_contacts", DisplayName: "Add or update contacts",
			Description: "Adds or updates marketing contacts (by email), optionally into lists; runs as a job.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["contacts"],"properties":{
				"list_ids":{"type":"array","items":{"type":"string"}},
				"contacts":{"type":"array","minItems":1,"maxItems":30000,"items":{"type":"object","additionalProperties":false,"required":["email"],"properties":{
					"email":{"type":"string"},"first_name":{"type":"string"},"last_name":{"type":"string"},"city":{"type":"string"},"country":{"type":"string"},"custom_fields":{"type":"object"}}}}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["job_id"],"properties":{"job_id":{"type":"string"}}}`),
			Handle: provider.Typed(upsertContacts),
		}).
		Action(provider.ActionDef{
			Name: "list_bounces", DisplayName: "List bounces",
			Description: "Lists bounced addresses, optionally in a time range; pass next_offset back as offset.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{"start_time":{"type":"integer"},"end_time":{"type":"integer"},"limit":{"type":"integer","minimum":1,"maximum":500},"offset":{"type":"integer","minimum":0},"email":{"type":"string"}}}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["bounces"],"properties":{"bounces":{"type":"array","items":{"type":"object"}},"next_offset":{"type":"integer"}}}`),
			Handle:      provider.Typed(listBounces),
		})
}

// DecodeError reads SendGrid's {"errors":[{"message","field","help"}]}
// body into e, joining several messages.
func DecodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Errors []struct {
			Message string  `json:"message"`
			Field   *string `json:"field"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Errors) == 0 {
		e.Message = provider.ErrorText(body)
		return
	}
	var msgs []string
	for _, er := range v.Errors {
		msgs = append(msgs, er.Message)
		if e.Field == "" && er.Field != nil {
			e.Field = *er.Field
		}
	}
	e.Message = strings.Join(msgs, "; ")
}

// client returns the HTTP client of the execution. A custom connection
// (fields apiKey and dataResidency) sends its apiKey as an api_key
// connection does; an EU-pinned key ("eu") talks to the EU host, which
// replaces the base URL the host resolved for the global one.
func client(ctx context.Context, c *provider.Call) *provider.HTTPClient {
	creds := c.Credentials()
	req := c.Request()
	req.Credentials = creds
	if creds.Type == "custom" {
		req.Credentials = provider.Credentials{Type: "api_key", APIKey: creds.Fields["apiKey"], Params: creds.Params}
	}
	if strings.EqualFold(creds.Fields["dataResidency"], "eu") || strings.EqualFold(creds.Params["dataResidency"], "eu") {
		if b := strings.TrimRight(req.BaseURL, "/"); b == "" || b == BaseURL {
			req.BaseURL = EUBaseURL
		}
	}
	return provider.Client(provider.WithRequest(ctx, req), options)
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	var out struct {
		Scopes []string `json:"scopes"`
	}
	if err := client(ctx, c).GetJSON(ctx, "/v3/scopes", nil, &out); err != nil {
		return nil, err
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	return map[string]any{"ok": true, "scopes": out.Scopes}, nil
}

type mailIn struct {
	To                  []string       `json:"to"`
	CC                  []string       `json:"cc"`
	BCC                 []string       `json:"bcc"`
	From                string         `json:"from"`
	FromName            string         `json:"from_name"`
	ReplyTo             string         `json:"reply_to"`
	Subject             string         `json:"subject"`
	Text                string         `json:"text"`
	HTML                string         `json:"html"`
	TemplateID          string         `json:"template_id"`
	DynamicTemplateData map[string]any `json:"dynamic_template_data"`
	Categories          []string       `json:"categories"`
	SendAt              int64          `json:"send_at"`
}

func addresses(list []string) []map[string]string {
	out := make([]map[string]string, 0, len(list))
	for _, a := range list {
		out = append(out, map[string]string{"email": a})
	}
	return out
}

func sendEmail(ctx context.Context, c *provider.Call, in mailIn) (any, error) {
	if in.TemplateID == "" && in.Text == "" && in.HTML == "" {
		return nil, provider.UserError("text", "text, html or template_id is required")
	}
	if in.TemplateID == "" && in.Subject == "" {
		return nil, provider.UserError("subject", "is required without a template")
	}
	pers := map[string]any{"to": addresses(in.To)}
	if len(in.CC) > 0 {
		pers["cc"] = addresses(in.CC)
	}
	if len(in.BCC) > 0 {
		pers["bcc"] = addresses(in.BCC)
	}
	if in.DynamicTemplateData != nil {
		pers["dynamic_template_data"] = in.DynamicTemplateData
	}
	from := map[string]string{"email": in.From}
	if in.FromName != "" {
		from["name"] = in.FromName
	}
	body := map[string]any{"personalizations": []any{pers}, "from": from}
	if in.Subject != "" {
		body["subject"] = in.Subject
	}
	if in.ReplyTo != "" {
		body["reply_to"] = map[string]string{"email": in.ReplyTo}
	}
	var content []map[string]string
	if in.Text != "" {
		content = append(content, map[string]string{"type": "text/plain", "value": in.Text})
	}
	if in.HTML != "" {
		content = append(content, map[string]string{"type": "text/html", "value": in.HTML})
	}
	if content != nil {
		body["content"] = content
	}
	if in.TemplateID != "" {
		body["template_id"] = in.TemplateID
	}
	if len(in.Categories) > 0 {
		body["categories"] = in.Categories
	}
	if in.SendAt != 0 {
		body["send_at"] = in.SendAt
	}
	b, _ := json.Marshal(body)
	h, err := client(ctx, c).Exchange(ctx, http.MethodPost, "/v3/mail/send", nil, "application/json", b, nil)
	if err != nil {
		return nil, err
	}
	return map[string]any{"accepted": true, "message_id": h.Get("X-Message-Id")}, nil
}

type templatesIn struct {
	Generations string `json:"generations"`
	PageSize    int    `json:"page_size"`
	PageToken   string `json:"page_token"`
}

func listTemplates(ctx context.Context, c *provider.Call, in templatesIn) (any, error) {
	gen := in.Generations
	if gen == "" {
		gen = "dynamic"
	}
	size := in.PageSize
	if size == 0 {
		size = 50
	}
	q := url.Values{"generations": {gen}, "page_size": {strconv.Itoa(size)}}
	if in.PageToken != "" {
		q.Set("page_token", in.PageToken)
	}
	var raw struct {
		Result   []json.RawMessage `json:"result"`
		Metadata struct {
			Next  string `json:"next"`
			Count int    `json:"count"`
		} `json:"_metadata"`
	}
	if err := client(ctx, c).GetJSON(ctx, "/v3/templates", q, &raw); err != nil {
		return nil, err
	}
	out := provider.ListOutput("templates", raw.Result)
	out["count"] = raw.Metadata.Count
	if u, err := url.Parse(raw.Metadata.Next); err == nil && u.Query().Get("page_token") != "" {
		out["next_page_token"] = u.Query().Get("page_token")
	}
	return out, nil
}

type contactsIn struct {
	ListIDs  []string         `json:"list_ids,omitempty"`
	Contacts []map[string]any `json:"contacts"`
}

func upsertContacts(ctx context.Context, c *provider.Call, in contactsIn) (any, error) {
	b, _ := json.Marshal(in)
	var out struct {
		JobID string `json:"job_id"`
	}
	if err := client(ctx, c).Send(ctx, http.MethodPut, "/v3/marketing/contacts", nil, "application/json", b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

type bouncesIn struct {
	StartTime int64  `json:"start_time"`
	EndTime   int64  `json:"end_time"`
	Limit     int    `json:"limit"`
	Offset    int    `json:"offset"`
	Email     string `json:"email"`
}

func listBounces(ctx context.Context, c *provider.Call, in bouncesIn) (any, error) {
	limit := in.Limit
	if limit == 0 {
		limit = 100
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(in.Offset)}}
	if in.StartTime != 0 {
		q.Set("start_time", strconv.FormatInt(in.StartTime, 10))
	}
	if in.EndTime != 0 {
		q.Set("end_time", strconv.FormatInt(in.EndTime, 10))
	}
	if in.Email != "" {
		q.Set("email", in.Email)
	}
	var list []json.RawMessage
	if err := client(ctx, c).GetJSON(ctx, "/v3/suppression/bounces", q, &list); err != nil {
		return nil, err
	}
	out := provider.ListOutput("bounces", list)
	if len(list) == limit {
		out["next_offset"] = in.Offset + limit
	}
	return out, nil
}
