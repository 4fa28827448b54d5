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
	providertest.WriteJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]string{"date": "2024-05-06T10:00:00", "request-id": "a1b2", "client-request-id": "a1b2"}}})
}

// fakeGraphMail serves the Graph mail endpoints the provider uses: $top
// paging with absolute @odata.nextLink URLs carrying $skip, 202 Accepted
// for sendMail and reply, and Graph's error body.
func fakeGraphMail(t testing.TB) *providertest.Recorder {
	msgs := []map[string]any{
		{"id": "AAMk1", "subject": "Invoice", "isRead": false},
		{"id": "AAMk2", "subject": "Lunch", "isRead": false},
		{"id": "AAMk3", "subject": "Hello", "isRead": true},
	}
	var rec *providertest.Recorder
	rec = providertest.NewRecorder(t, []string{"Authorization", "Content-Type", "Prefer"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			graphError(w, 401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
			return
		}
		q := r.URL.Query()
		p := r.URL.Path
		switch {
		case r.Method == "GET" && p == "/v1.0/me":
			providertest.WriteJSON(w, 200, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
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
			providertest.WriteJSON(w, 200, out)
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
			providertest.WriteJSON(w, 200, map[string]any{"id": id, "subject": "Invoice", "body": map[string]string{"contentType": ct, "content": "Please pay."},
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
			providertest.WriteJSON(w, 200, map[string]any{"value": []map[string]any{
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
	providertest.RunCases(t, providertest.Suite{
		New:         func() provider.Provider { return outlook.New() },
		Fake:        fakeGraphMail,
		Dir:         "../testdata",
		Placeholder: "{base}",
	}, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_expired", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "old"}, Failed: true},
		{Name: "list_messages_page1", Action: "list_messages", Input: `{"folder":"inbox","top":2,"filter":"isRead eq false"}`, Creds: creds},
		{Name: "list_messages_page2", Action: "list_messages", Input: `{"folder":"inbox","cursor":"{base}/v1.0/me/mailFolders/inbox/messages?%24filter=isRead+eq+false&%24top=2&%24skip=2"}`, Creds: creds},
		{Name: "list_messages_foreign_cursor", Action: "list_messages", Input: `{"cursor":"https://evil.example/v1.0/me/messages"}`, Creds: creds, Failed: true},
		{Name: "list_messages_search", Action: "list_messages", Input: `{"search":"invoice"}`, Creds: creds},
		{Name: "get_message_text", Action: "get_message", Input: `{"id":"AAMk1","body_type":"text"}`, Creds: creds},
		{Name: "get_message_not_found", Action: "get_message", Input: `{"id":"AAMk9"}`, Creds: creds, Failed: true},
		{Name: "send_mail", Action: "send_mail", Input: `{"to":["bob@example.com"],"cc":["carol@example.com"],"subject":"Hi","body":"<p>Hello</p>","html":true}`, Creds: creds},
		{Name: "send_mail_bad_recipient", Action: "send_mail", Input: `{"to":["bob"],"subject":"Hi","save_to_sent_items":false}`, Creds: creds, Failed: true},
		{Name: "reply_all", Action: "reply_to_message", Input: `{"id":"AAMk1","comment":"Paid, thanks.","reply_all":true}`, Creds: creds},
		{Name: "list_mail_folders", Action: "list_mail_folders", Input: `{"top":10}`, Creds: creds},
	})
}

func TestRefreshAfter401(t *testing.T) {
	fake := fakeGraphMail(t)
	resp := providertest.RunRefreshing(t, outlook.New(), "test_connection", nil, provider.Credentials{Type: "oauth2", AccessToken: "old"}, provider.Credentials{Type: "oauth2", AccessToken: token},
		providertest.BaseURL(fake.URL), providertest.OverGRPC())
	var out map[string]any
	providertest.Output(t, resp, &out)
	if out["email"] != "MeganB@contoso.com" {
		t.Fatalf("out %v", out)
	}
}

func TestManifest(t *testing.T) {
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", outlook.New().Manifest())
}
