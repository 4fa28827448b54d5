package gmail_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/google-mail/gmail"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const token = "ya29.gmail-token"

// fakeGmail serves the users.* endpoints the provider uses: maxResults and
// pageToken paging, RFC 2822 messages in base64url "raw" fields (parsed
// and checked the way Gmail does) and Google's error body.
func fakeGmail(t testing.TB) *providertest.Recorder {
	ids := []string{"18c1", "18c2", "18c3"}
	return providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			providertest.WriteGoogleError(w, 401, "UNAUTHENTICATED", "authError", "Request had invalid authentication credentials.", "", "")
			return
		}
		q := r.URL.Query()
		p, ok := strings.CutPrefix(r.URL.Path, "/gmail/v1/users/me/")
		if !ok {
			providertest.WriteGoogleError(w, 404, "NOT_FOUND", "notFound", "Not Found", "", "")
			return
		}
		switch {
		case r.Method == "GET" && p == "profile":
			providertest.WriteJSON(w, 200, map[string]any{"emailAddress": "ada@example.com", "messagesTotal": 3, "threadsTotal": 2, "historyId": "9001"})
		case r.Method == "GET" && p == "messages":
			size := 100
			if s := q.Get("maxResults"); s != "" {
				size, _ = strconv.Atoi(s)
			}
			start := 0
			if tok := q.Get("pageToken"); tok != "" {
				start, _ = strconv.Atoi(tok)
			}
			end := min(start+size, len(ids))
			var msgs []map[string]string
			for _, id := range ids[start:end] {
				msgs = append(msgs, map[string]string{"id": id, "threadId": "t" + id})
			}
			out := map[string]any{"messages": msgs, "resultSizeEstimate": len(ids)}
			if end < len(ids) {
				out["nextPageToken"] = strconv.Itoa(end)
			}
			providertest.WriteJSON(w, 200, out)
		case r.Method == "GET" && strings.HasPrefix(p, "messages/"):
			id := strings.TrimPrefix(p, "messages/")
			if id != "18c1" {
				providertest.WriteGoogleError(w, 404, "NOT_FOUND", "notFound", "Requested entity was not found.", "", "")
				return
			}
			providertest.WriteJSON(w, 200, map[string]any{"id": id, "threadId": "t18c1", "labelIds": []string{"INBOX", "UNREAD"}, "snippet": "Lunch tomorrow?",
				"payload": map[string]any{"mimeType": "text/plain", "headers": []map[string]string{{"name": "Subject", "value": "Lunch"}, {"name": "From", "value": "bob@example.com"}}}})
		case r.Method == "POST" && (p == "messages/send" || p == "drafts"):
			var in struct {
				Raw      string `json:"raw"`
				ThreadID string `json:"threadId"`
				Message  *struct {
					Raw      string `json:"raw"`
					ThreadID string `json:"threadId"`
				} `json:"message"`
			}
			_ = json.Unmarshal(body, &in)
			if in.Message != nil {
				in.Raw, in.ThreadID = in.Message.Raw, in.Message.ThreadID
			}
			raw, err := base64.URLEncoding.DecodeString(in.Raw)
			if err != nil {
				providertest.WriteGoogleError(w, 400, "INVALID_ARGUMENT", "invalidArgument", "Invalid value for ByteString: "+in.Raw, "raw", "parameter")
				return
			}
			m, err := mail.ReadMessage(strings.NewReader(string(raw)))
			if err != nil || m.Header.Get("To") == "" {
				providertest.WriteGoogleError(w, 400, "INVALID_ARGUMENT", "invalidArgument", "Invalid To header", "", "")
				return
			}
			subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
			text, _ := io.ReadAll(base64.NewDecoder(base64.StdEncoding, m.Body))
			thread := in.ThreadID
			if thread == "" {
				thread = "tnew"
			}
			sent := map[string]any{"id": "18c9", "threadId": thread, "labelIds": []string{"SENT"},
				"fake_parsed": map[string]string{"to": m.Header.Get("To"), "cc": m.Header.Get("Cc"), "subject": subject, "body": string(text),
					"in_reply_to": m.Header.Get("In-Reply-To"), "content_type": m.Header.Get("Content-Type")}}
			if p == "drafts" {
				providertest.WriteJSON(w, 200, map[string]any{"id": "r-1", "message": sent})
				return
			}
			providertest.WriteJSON(w, 200, sent)
		case r.Method == "GET" && p == "labels":
			providertest.WriteJSON(w, 200, map[string]any{"labels": []map[string]string{{"id": "INBOX", "name": "INBOX", "type": "system"}, {"id": "Label_1", "name": "Receipts", "type": "user"}}})
		default:
			providertest.WriteGoogleError(w, 404, "NOT_FOUND", "notFound", "Not Found", "", "")
		}
	})
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, TokenType: "Bearer"}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return gmail.New() },
		Fake: fakeGmail,
		Dir:  "../testdata",
	}, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "revoked"}, Failed: true},
		{Name: "list_messages_page1", Action: "list_messages", Input: `{"q":"is:unread","label_ids":["INBOX","UNREAD"],"max_results":2}`, Creds: creds},
		{Name: "list_messages_page2", Action: "list_messages", Input: `{"q":"is:unread","label_ids":["INBOX","UNREAD"],"max_results":2,"page_token":"2"}`, Creds: creds},
		{Name: "get_message", Action: "get_message", Input: `{"id":"18c1","format":"metadata","metadata_headers":["Subject","From"]}`, Creds: creds},
		{Name: "get_message_not_found", Action: "get_message", Input: `{"id":"zzz"}`, Creds: creds, Failed: true},
		{Name: "send_email", Action: "send_email", Input: `{"to":["Bob <bob@example.com>"],"cc":["carol@example.com"],"subject":"Grüße","body":"See you at noon."}`, Creds: creds},
		{Name: "send_email_reply", Action: "send_email", Input: `{"to":["bob@example.com"],"subject":"Re: Lunch","body":"<b>Yes</b>","html":true,"thread_id":"t18c1","in_reply_to":"<CAB123@mail.example.com>"}`, Creds: creds},
		{Name: "send_email_bad_address", Action: "send_email", Input: `{"to":["bob@example.com\r\nBcc: eve@example.com"],"subject":"x"}`, Creds: creds, Failed: true},
		{Name: "create_draft", Action: "create_draft", Input: `{"to":["bob@example.com"],"subject":"Draft","body":"later"}`, Creds: creds},
		{Name: "list_labels", Action: "list_labels", Input: `{}`, Creds: creds},
	})
}

func TestNotFoundOverGRPC(t *testing.T) {
	fake := fakeGmail(t)
	resp := providertest.Run(t, gmail.New(), "get_message", `{"id":"zzz"}`,
		provider.Credentials{Type: "oauth2", AccessToken: token}, providertest.BaseURL(fake.URL), providertest.OverGRPC())
	d := resp.Diagnostics[0]
	if d.Status != 404 || d.Summary != "Requested entity was not found." {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", gmail.New().Manifest())
}
