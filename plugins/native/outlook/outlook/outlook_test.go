package outlook_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/outlook/outlook"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const token = "eyJ0eXAiOiJKV1QiLCJub25jZSI6Im91dGxvb2sifQ"

func graphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]string{"date": "2024-05-06T10:00:00", "request-id": "a1b2", "client-request-id": "a1b2"}}})
}

// fakeGraphMail serves the Graph mail endpoints the provider uses: $top
// paging with absolute @odata.nextLink URLs carrying $skip, 202 Accepted
// for sendMail and reply, and Graph's error body.
func fakeGraphMail(t *testing.T) *recorder {
	msgs := []map[string]any{
		{"id": "AAMk1", "subject": "Invoice", "isRead": false},
		{"id": "AAMk2", "subject": "Lunch", "isRead": false},
		{"id": "AAMk3", "subject": "Hello", "isRead": true},
	}
	var rec *recorder
	rec = newRecorder(t, []string{"Authorization", "Content-Type", "Prefer"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			graphError(w, 401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
			return
		}
		q := r.URL.Query()
		p := r.URL.Path
		switch {
		case r.Method == "GET" && p == "/v1.0/me":
			writeJSON(w, 200, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
				"id": "48d31887-5fad-4d73-a9f5-3c356e68a038", "displayName": "Megan Bowen", "mail": nil, "userPrincipalName": "MeganB@contoso.com"})
		case r.Method == "GET" && (p == "/v1.0/me/messages" || p == "/v1.0/me/mailFolders/inbox/messages"):
			if q.Get("$search") != "" && q.Get("$orderby") != "" {
				graphError(w, 400, "ErrorInvalidUrlQuery", "The query parameter 'OrderBy' is invalid.")
				return
			}
			top := 10
			if s := q.Get("$top"); s != "" {
				top, _ = strconv.Atoi(s)
			}
			skip, _ := strconv.Atoi(q.Get("$skip"))
			end := min(skip+top, len(msgs))
			out := map[string]any{"value": msgs[skip:end]}
			if end < len(msgs) {
				next := r.URL.Query()
				next.Set("$skip", strconv.Itoa(end))
				out["@odata.nextLink"] = rec.URL + p + "?" + next.Encode()
			}
			writeJSON(w, 200, out)
		case r.Method == "GET" && strings.HasPrefix(p, "/v1.0/me/messages/"):
			id := strings.TrimPrefix(p, "/v1.0/me/messages/")
			if id != "AAMk1" {
				graphError(w, 404, "ErrorItemNotFound", "The specified object was not found in the store.")
				return
			}
			ct := "html"
			if strings.Contains(r.Header.Get("Prefer"), `"text"`) {
				ct = "text"
			}
			writeJSON(w, 200, map[string]any{"id": id, "subject": "Invoice", "body": map[string]string{"contentType": ct, "content": "Please pay."},
				"from": map[string]any{"emailAddress": map[string]string{"address": "billing@example.com"}}})
		case r.Method == "POST" && p == "/v1.0/me/sendMail":
			var in struct {
				Message struct {
					ToRecipients []struct {
						EmailAddress struct{ Address string } `json:"emailAddress"`
					} `json:"toRecipients"`
				} `json:"message"`
			}
			_ = json.Unmarshal(body, &in)
			for _, r := range in.Message.ToRecipients {
				if !strings.Contains(r.EmailAddress.Address, "@") {
					graphError(w, 400, "ErrorInvalidRecipients", "At least one recipient isn't valid., Recipient '"+r.EmailAddress.Address+"' isn't resolved. All recipients must be resolved before a message can be submitted.")
					return
				}
			}
			w.WriteHeader(http.StatusAccepted)
		case r.Method == "POST" && (strings.HasSuffix(p, "/reply") || strings.HasSuffix(p, "/replyAll")):
			if !strings.HasPrefix(p, "/v1.0/me/messages/AAMk1/") {
				graphError(w, 404, "ErrorItemNotFound", "The specified object was not found in the store.")
				return
			}
			w.WriteHeader(http.StatusAccepted)
		case r.Method == "GET" && p == "/v1.0/me/mailFolders":
			writeJSON(w, 200, map[string]any{"value": []map[string]any{
				{"id": "AQMkInbox", "displayName": "Inbox", "totalItemCount": 3, "unreadItemCount": 2},
				{"id": "AQMkSent", "displayName": "Sent Items", "totalItemCount": 1, "unreadItemCount": 0}}})
		default:
			graphError(w, 400, "BadRequest", "Resource not found for the segment '"+p+"'.")
		}
	})
	return rec
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, TokenType: "Bearer"}
	cases := []struct {
		name, action string
		input        func(base string) string
		creds        provider.Credentials
		failed       bool
	}{
		{"test_connection", "test_connection", fixed(`{}`), creds, false},
		{"test_connection_expired", "test_connection", fixed(`{}`), provider.Credentials{Type: "oauth2", AccessToken: "old"}, true},
		{"list_messages_page1", "list_messages", fixed(`{"folder":"inbox","top":2,"filter":"isRead eq false"}`), creds, false},
		{"list_messages_page2", "list_messages", func(base string) string {
			return `{"folder":"inbox","cursor":"` + base + `/v1.0/me/mailFolders/inbox/messages?%24filter=isRead+eq+false&%24top=2&%24skip=2"}`
		}, creds, false},
		{"list_messages_foreign_cursor", "list_messages", fixed(`{"cursor":"https://evil.example/v1.0/me/messages"}`), creds, true},
		{"list_messages_search", "list_messages", fixed(`{"search":"invoice"}`), creds, false},
		{"get_message_text", "get_message", fixed(`{"id":"AAMk1","body_type":"text"}`), creds, false},
		{"get_message_not_found", "get_message", fixed(`{"id":"AAMk9"}`), creds, true},
		{"send_mail", "send_mail", fixed(`{"to":["bob@example.com"],"cc":["carol@example.com"],"subject":"Hi","body":"<p>Hello</p>","html":true}`), creds, false},
		{"send_mail_bad_recipient", "send_mail", fixed(`{"to":["bob"],"subject":"Hi","save_to_sent_items":false}`), creds, true},
		{"reply_all", "reply_to_message", fixed(`{"id":"AAMk1","comment":"Paid, thanks.","reply_all":true}`), creds, false},
		{"list_mail_folders", "list_mail_folders", fixed(`{"top":10}`), creds, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeGraphMail(t)
			resp := providertest.Run(t, outlook.New(), tc.action, tc.input(fake.URL), tc.creds, providertest.BaseURL(fake.URL))
			if resp.Failed() != tc.failed {
				t.Fatalf("failed = %v, want %v: %+v", resp.Failed(), tc.failed, resp.Diagnostics)
			}
			golden(t, tc.name+".request.golden", fake.take())
			golden(t, tc.name+".response.golden", []byte(strings.ReplaceAll(string(pretty(t, resp)), fake.URL, "{base}")))
		})
	}
}

func fixed(s string) func(string) string { return func(string) string { return s } }

func TestRefreshAfter401(t *testing.T) {
	fake := fakeGraphMail(t)
	host := providertest.NewHost()
	host.RefreshCredentials = provider.Credentials{Type: "oauth2", AccessToken: token}
	resp := providertest.Run(t, outlook.New(), "test_connection", nil, provider.Credentials{Type: "oauth2", AccessToken: "old"},
		providertest.BaseURL(fake.URL), providertest.WithHost(host), providertest.OverGRPC())
	var out map[string]any
	providertest.Output(t, resp, &out)
	if out["email"] != "MeganB@contoso.com" || host.Refreshes() != 1 {
		t.Fatalf("out %v refreshes %d", out, host.Refreshes())
	}
}

func TestManifest(t *testing.T) {
	b, err := json.MarshalIndent(outlook.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}
