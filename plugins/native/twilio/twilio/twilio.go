// Package twilio is the Twilio provider: messages and calls over the
// 2010-04-01 REST API (https://www.twilio.com/docs/usage/api), built only
// on the public SDK.
//
// Connections are basic auth: Account SID and Auth Token, or an API key
// SID and secret with the account's SID in the account_sid parameter.
// Bodies are form-encoded with Twilio's capitalised names (To, From,
// Body). Lists page with next_page_uri, handed back as the cursor and
// checked to stay on the account's resource. Twilio's error body
// {"code","message","more_info","status"} becomes a diagnostic whose
// Field is the parameter the error code is about.
package twilio

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"

	"github.com/atomhq/atom/sdk/provider"
)

// Version is the provider's version.
const Version = "1.0.0"

// BaseURL is Twilio's REST API host, used when the host supplies none.
const BaseURL = "https://api.twilio.com"

// New returns the Twilio provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{
		ID: "twilio", Name: "Twilio", Version: Version,
		Description:  "Communication: send and list SMS/MMS messages and place voice calls.",
		Categories:   []string{"communication", "development"},
		AllowedHosts: []string{"api.twilio.com"},
	}).
		HTTP(provider.HTTPOptions{BaseURL: BaseURL, UserAgent: "atom-provider-twilio/" + Version, DecodeError: DecodeError}).
		Action(provider.ActionDef{
			Name: "test_connection", DisplayName: "Test connection",
			Description: "Checks the credentials by reading the account.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false}`),
			Output:      provider.SortedSchema(`{"type":"object","required":["ok","account_sid"],"properties":{"ok":{"type":"boolean"},"account_sid":{"type":"string"},"friendly_name":{"type":"string"},"status":{"type":"string"},"type":{"type":"string"}}}`),
			Handle:      testConnection,
		}).
		Action(provider.ActionDef{
			Name: "send_sms", DisplayName: "Send SMS",
			Description: "Sends an SMS or MMS from a number or a messaging service.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["to"],"properties":{
				"to":{"type":"string","description":"E.164 number, e.g. +15558675310"},
				"from":{"type":"string"},
				"messaging_service_sid":{"type":"string","pattern":"^MG[0-9a-fA-F]{32}$"},
				"body":{"type":"string","maxLength":1600},
				"media_url":{"type":"array","maxItems":10,"items":{"type":"string","format":"uri"}},
				"status_callback":{"type":"string","format":"uri"}}}`),
			Output: messageSchema,
			Handle: provider.Typed(sendSMS),
		}).
		Action(provider.ActionDef{
			Name: "list_messages", DisplayName: "List messages",
			Description: "Lists messages, newest first; pass next_cursor back as cursor.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"properties":{
				"to":{"type":"string"},"from":{"type":"string"},
				"date_sent_after":{"type":"string","format":"date"},
				"page_size":{"type":"integer","minimum":1,"maximum":1000},
				"cursor":{"type":"string"}}}`),
			Output: listSchema("messages"),
			Handle: provider.Typed(listMessages),
		}).
		Action(provider.ActionDef{
			Name: "get_message", DisplayName: "Get message",
			Description: "Reads one message by SID.",
			Input:       provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["sid"],"properties":{"sid":{"type":"string","pattern":"^(SM|MM)[0-9a-fA-F]{32}$"}}}`),
			Output:      messageSchema,
			Handle:      provider.Typed(getMessage),
		}).
		Action(provider.ActionDef{
			Name: "make_call", DisplayName: "Make call",
			Description: "Places an outbound call that runs TwiML from a URL or given inline.",
			Input: provider.SortedSchema(`{"type":"object","additionalProperties":false,"required":["to","from"],"properties":{
				"to":{"type":"string"},"from":{"type":"string"},
				"url":{"type":"string","format":"uri"},
				"twiml":{"type":"string"},
				"status_callback":{"type":"string","format":"uri"},
				"timeout":{"type":"integer","minimum":5,"maximum":600}}}`),
			Output: provider.SortedSchema(`{"type":"object","required":["sid"],"properties":{"sid":{"type":"string"},"status":{"type":"string"}}}`),
			Handle: provider.Typed(makeCall),
		})
}

var messageSchema = provider.SortedSchema(`{"type":"object","required":["sid"],"properties":{"sid":{"type":"string"},"status":{"type":"string"},"to":{"type":"string"},"from":{"type":["string","null"]},"body":{"type":"string"},"error_code":{"type":["integer","null"]}}}`)

func listSchema(key string) json.RawMessage {
	return provider.SortedSchema(`{"type":"object","required":["` + key + `"],"properties":{"` + key + `":{"type":"array","items":{"type":"object"}},"next_cursor":{"type":"string"}}}`)
}

// fieldOf maps Twilio error codes to the input field they are about.
var fieldOf = map[string]string{
	"21211": "to", "21614": "to", "21610": "to", "21408": "to",
	"21212": "from", "21606": "from", "21659": "from", "21603": "from",
	"21602": "body", "21617": "body", "21620": "media_url",
	"21205": "url", "21201": "url",
}

// DecodeError reads Twilio's {"code","message","more_info","status"}
// body into e.
func DecodeError(e *provider.HTTPError, body []byte) {
	var v struct {
		Code     json.Number `json:"code"`
		Message  string      `json:"message"`
		MoreInfo string      `json:"more_info"`
	}
	if json.Unmarshal(body, &v) != nil {
		e.Message = provider.ErrorText(body)
		return
	}
	e.Message, e.Code, e.Field = v.Message, v.Code.String(), fieldOf[v.Code.String()]
	if v.MoreInfo != "" {
		e.Type = v.MoreInfo
	}
}

var sidRe = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)

// AccountSID returns the account the connection works on: the
// account_sid parameter or field (for API-key connections), else the
// basic-auth username.
func AccountSID(creds provider.Credentials) (string, error) {
	for _, v := range []string{creds.Params["account_sid"], creds.Fields["account_sid"], creds.Username} {
		if sidRe.MatchString(v) {
			return v, nil
		}
	}
	return "", provider.Errorf("the connection has no Twilio Account SID (AC…): use it as the username, or set the account_sid parameter with an API key")
}

func accountPath(c *provider.Call, rest string) (string, error) {
	sid, err := AccountSID(c.Credentials())
	if err != nil {
		return "", err
	}
	return "/2010-04-01/Accounts/" + sid + rest, nil
}

func testConnection(ctx context.Context, c *provider.Call) (any, error) {
	path, err := accountPath(c, ".json")
	if err != nil {
		return nil, err
	}
	var a struct {
		SID          string `json:"sid"`
		FriendlyName string `json:"friendly_name"`
		Status       string `json:"status"`
		Type         string `json:"type"`
	}
	if err := c.HTTP().GetJSON(ctx, path, nil, &a); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "account_sid": a.SID, "friendly_name": a.FriendlyName, "status": a.Status, "type": a.Type}, nil
}

type smsIn struct {
	To                  string   `json:"to"`
	From                string   `json:"from"`
	MessagingServiceSID string   `json:"messaging_service_sid"`
	Body                string   `json:"body"`
	MediaURL            []string `json:"media_url"`
	StatusCallback      string   `json:"status_callback"`
}

func sendSMS(ctx context.Context, c *provider.Call, in smsIn) (any, error) {
	if in.From == "" && in.MessagingServiceSID == "" {
		return nil, provider.UserError("from", "from or messaging_service_sid is required")
	}
	if in.Body == "" && len(in.MediaURL) == 0 {
		return nil, provider.UserError("body", "body or media_url is required")
	}
	path, err := accountPath(c, "/Messages.json")
	if err != nil {
		return nil, err
	}
	form := url.Values{"To": {in.To}}
	for k, v := range map[string]string{"From": in.From, "MessagingServiceSid": in.MessagingServiceSID, "Body": in.Body, "StatusCallback": in.StatusCallback} {
		if v != "" {
			form.Set(k, v)
		}
	}
	for _, m := range in.MediaURL {
		form.Add("MediaUrl", m)
	}
	var out json.RawMessage
	return out, c.HTTP().PostForm(ctx, path, form, &out)
}

type listIn struct {
	To            string `json:"to"`
	From          string `json:"from"`
	DateSentAfter string `json:"date_sent_after"`
	PageSize      int    `json:"page_size"`
	Cursor        string `json:"cursor"`
}

func listMessages(ctx context.Context, c *provider.Call, in listIn) (any, error) {
	path, err := accountPath(c, "/Messages.json")
	if err != nil {
		return nil, err
	}
	var q url.Values
	target := path
	if in.Cursor != "" {
		// next_page_uri: /2010-04-01/Accounts/AC…/Messages.json?PageSize=2&Page=1&PageToken=PA…
		u, err := url.Parse(in.Cursor)
		if err != nil || u.Scheme != "" || u.Host != "" || u.Path != path {
			return nil, provider.UserError("cursor", "is not a next_page_uri of this account's messages")
		}
		target = u.RequestURI()
	} else {
		q = url.Values{}
		for k, v := range map[string]string{"To": in.To, "From": in.From, "DateSent>": in.DateSentAfter} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if in.PageSize != 0 {
			q.Set("PageSize", strconv.Itoa(in.PageSize))
		}
	}
	var page struct {
		Messages    []json.RawMessage `json:"messages"`
		NextPageURI *string           `json:"next_page_uri"`
	}
	if err := c.HTTP().GetJSON(ctx, target, q, &page); err != nil {
		return nil, err
	}
	out := provider.ListOutput("messages", page.Messages)
	if page.NextPageURI != nil && *page.NextPageURI != "" {
		out["next_cursor"] = *page.NextPageURI
	}
	return out, nil
}

func getMessage(ctx context.Context, c *provider.Call, in struct {
	SID string `json:"sid"`
}) (any, error) {
	if !regexp.MustCompile(`^(SM|MM)[0-9a-fA-F]{32}$`).MatchString(in.SID) {
		return nil, provider.UserError("sid", "is not a message SID")
	}
	path, err := accountPath(c, "/Messages/"+in.SID+".json")
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	return out, c.HTTP().GetJSON(ctx, path, nil, &out)
}

type callIn struct {
	To             string `json:"to"`
	From           string `json:"from"`
	URL            string `json:"url"`
	Twiml          string `json:"twiml"`
	StatusCallback string `json:"status_callback"`
	Timeout        int    `json:"timeout"`
}

func makeCall(ctx context.Context, c *provider.Call, in callIn) (any, error) {
	if (in.URL == "") == (in.Twiml == "") {
		return nil, provider.UserError("url", "exactly one of url or twiml is required")
	}
	path, err := accountPath(c, "/Calls.json")
	if err != nil {
		return nil, err
	}
	form := url.Values{"To": {in.To}, "From": {in.From}}
	for k, v := range map[string]string{"Url": in.URL, "Twiml": in.Twiml, "StatusCallback": in.StatusCallback} {
		if v != "" {
			form.Set(k, v)
		}
	}
	if in.Timeout != 0 {
		form.Set("Timeout", strconv.Itoa(in.Timeout))
	}
	var out json.RawMessage
	return out, c.HTTP().PostForm(ctx, path, form, &out)
}
