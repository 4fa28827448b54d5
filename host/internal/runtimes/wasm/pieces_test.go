package wasm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

// seen is one request a fake provider received.
type seen struct {
	Method, Path, Query, ContentType string
	Header                           http.Header
	Body                             string
}

// fakeAPI is a local stand-in for a provider's API: handle answers each
// request the way the real API documents it.
type fakeAPI struct {
	mu   sync.Mutex
	reqs []seen
	srv  *httptest.Server
}

func newFake(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body string)) *fakeAPI {
	f := &fakeAPI{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Clone(), string(b)})
		f.mu.Unlock()
		handle(w, r, string(b))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) last(t *testing.T) seen {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("the fake API saw no request")
	}
	return f.reqs[len(f.reqs)-1]
}

func jsonEqual(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("body %q: %v", got, err)
	}
	_ = json.Unmarshal([]byte(want), &w)
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Fatalf("body\n got %s\nwant %s", gb, wb)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// pieceRuntime loads piece id with the given hosts rewritten to fake.
func pieceRuntime(t *testing.T, id string, fake *fakeAPI, hosts ...string) *Piece {
	rw := map[string]string{}
	for _, h := range hosts {
		rw[h] = fake.srv.URL
	}
	rt := testRuntime(t, Config{Rewrite: rw})
	return load(t, rt, id)
}

func execPiece(t *testing.T, p *Piece, action string, input string, creds provider.Credentials) provider.Response {
	t.Helper()
	resp, err := p.Execute(context.Background(), provider.Request{
		ExecutionID: "ex-1", TenantID: "tenant-1", Action: action, Input: json.RawMessage(input), Credentials: creds,
	}, newMemHost())
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestDiscordSendMessage(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body string) {
		if !strings.HasPrefix(r.URL.Path, "/api/webhooks/123/tok") {
			writeJSON(w, 404, `{"message": "Unknown Webhook", "code": 10015}`)
			return
		}
		if r.URL.Query().Get("wait") == "true" {
			writeJSON(w, 200, `{"id":"1180","type":0,"content":"Hello from ATOM!","channel_id":"42","webhook_id":"123"}`)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	p := pieceRuntime(t, "discord", fake, "discord.com")

	// The spec's example: config {webhook_url}, input {content}.
	resp := execPiece(t, p, "send_message", `{"content":"Hello from ATOM!"}`,
		provider.Credentials{Type: "custom", Fields: map[string]string{"webhook_url": "https://discord.com/api/webhooks/123/tok"}})
	if resp.Failed() || string(resp.Output) != `{"sent":true}` {
		t.Fatalf("response %+v %s", resp, resp.Output)
	}
	got := fake.last(t)
	if got.Method != "POST" || got.Path != "/api/webhooks/123/tok" || got.Query != "" || got.ContentType != "application/json" {
		t.Fatalf("request %+v", got)
	}
	jsonEqual(t, got.Body, `{"content":"Hello from ATOM!"}`)

	resp = execPiece(t, p, "send_message",
		`{"webhook_url":"https://discord.com/api/webhooks/123/tok","content":"Hello from ATOM!","username":"Atom","avatar_url":"https://example.com/a.png","embeds":[{"title":"t"}],"wait":true}`,
		provider.Credentials{Type: "none"})
	var msg map[string]any
	if resp.Failed() || json.Unmarshal(resp.Output, &msg) != nil || msg["id"] != "1180" {
		t.Fatalf("response %+v %s", resp, resp.Output)
	}
	got = fake.last(t)
	if got.Query != "wait=true" {
		t.Fatalf("query %q", got.Query)
	}
	jsonEqual(t, got.Body, `{"content":"Hello from ATOM!","username":"Atom","avatar_url":"https://example.com/a.png","embeds":[{"title":"t"}]}`)

	resp = execPiece(t, p, "send_message", `{"webhook_url":"https://discord.com/api/webhooks/999/bad","content":"x"}`, provider.Credentials{})
	if !resp.Failed() || resp.Diagnostics[0].Summary != "Discord: Unknown Webhook" || resp.Diagnostics[0].Status != 404 {
		t.Fatalf("error response %+v", resp)
	}
	resp = execPiece(t, p, "send_message", `{"webhook_url":"https://evil.example/api/webhooks/1/x","content":"x"}`, provider.Credentials{})
	if !resp.Failed() {
		t.Fatal("a webhook on an undeclared host was sent")
	}
}

func TestTelegramSendMessage(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body string) {
		if r.URL.Path != "/bot123:ABC/sendMessage" {
			writeJSON(w, 401, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
			return
		}
		if strings.Contains(body, `"chat_id":"nobody"`) {
			writeJSON(w, 400, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`)
			return
		}
		writeJSON(w, 200, `{"ok":true,"result":{"message_id":7,"chat":{"id":-100,"type":"channel"},"date":1700000000,"text":"hi"}}`)
	})
	p := pieceRuntime(t, "telegram", fake, "api.telegram.org")
	creds := provider.Credentials{Type: "api_key", APIKey: "123:ABC"}
	resp := execPiece(t, p, "send_message", `{"chat_id":"@news","text":"hi","parse_mode":"HTML","disable_notification":true}`, creds)
	var out map[string]any
	if resp.Failed() || json.Unmarshal(resp.Output, &out) != nil || out["message_id"] != float64(7) {
		t.Fatalf("response %+v %s", resp, resp.Output)
	}
	got := fake.last(t)
	if got.Method != "POST" || got.ContentType != "application/json" {
		t.Fatalf("request %+v", got)
	}
	jsonEqual(t, got.Body, `{"chat_id":"@news","text":"hi","parse_mode":"HTML","disable_notification":true}`)
	resp = execPiece(t, p, "send_message", `{"chat_id":"nobody","text":"hi"}`, creds)
	if !resp.Failed() || resp.Diagnostics[0].Summary != "Telegram: Bad Request: chat not found" {
		t.Fatalf("error response %+v", resp)
	}
}

func TestMailchimpAddMember(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body string) {
		user, pass, ok := r.BasicAuth()
		if !ok || user == "" || pass != "k3y-us21" {
			writeJSON(w, 401, `{"type":"https://mailchimp.com/developer/marketing/docs/errors/","title":"API Key Invalid","status":401,"detail":"Your API key may be invalid.","instance":"x"}`)
			return
		}
		if strings.Contains(body, "taken@example.com") {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(400)
			io.WriteString(w, `{"type":"https://mailchimp.com/developer/marketing/docs/errors/","title":"Member Exists","status":400,"detail":"taken@example.com is already a list member.","instance":"y"}`)
			return
		}
		writeJSON(w, 200, `{"id":"85a1","email_address":"ada@example.com","status":"subscribed","list_id":"L1"}`)
	})
	p := pieceRuntime(t, "mailchimp", fake, "us21.api.mailchimp.com")
	creds := provider.Credentials{Type: "api_key", APIKey: "k3y-us21"}
	resp := execPiece(t, p, "add_member_to_list", `{"list_id":"L1","email":"ada@example.com","merge_fields":{"FNAME":"Ada"},"tags":["vip"]}`, creds)
	if resp.Failed() || !strings.Contains(string(resp.Output), `"id":"85a1"`) {
		t.Fatalf("response %+v %s", resp, resp.Output)
	}
	got := fake.last(t)
	if got.Method != "POST" || got.Path != "/3.0/lists/L1/members" {
		t.Fatalf("request %+v", got)
	}
	jsonEqual(t, got.Body, `{"email_address":"ada@example.com","status":"subscribed","merge_fields":{"FNAME":"Ada"},"tags":["vip"]}`)

	execPiece(t, p, "add_member_to_list", `{"list_id":"L1","email":"Ada@Example.com","update_existing":true}`, creds)
	if got := fake.last(t); got.Method != "PUT" || got.Path != "/3.0/lists/L1/members/3e3417d7ef77d5932a6734b916515ed5" {
		t.Fatalf("upsert request %+v", got)
	}
	resp = execPiece(t, p, "add_member_to_list", `{"list_id":"L1","email":"taken@example.com"}`, creds)
	if !resp.Failed() || resp.Diagnostics[0].Summary != "Mailchimp: Member Exists" {
		t.Fatalf("error response %+v", resp)
	}
	// A data center outside the allow-list pattern is refused before any call.
	resp = execPiece(t, p, "add_member_to_list", `{"list_id":"L1","email":"a@b.c"}`, provider.Credentials{APIKey: "k-evil.com/x"})
	if !resp.Failed() {
		t.Fatal("bad data center accepted")
	}
}

func TestConvertKitSubscribe(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body string) {
		if !strings.Contains(body, `"api_key":"ck"`) {
			writeJSON(w, 401, `{"error":"Authorization Failed","message":"API Key not valid"}`)
			return
		}
		writeJSON(w, 200, `{"subscription":{"id":1,"state":"inactive","source":"API::V3::SubscriptionsController (external)","referrer":null,"subscribable_id":55,"subscribable_type":"form","subscriber":{"id":9}}}`)
	})
	p := pieceRuntime(t, "convertkit", fake, "api.convertkit.com")
	resp := execPiece(t, p, "forms_add_subscriber_to_form", `{"form_id":"55","email":"ada@example.com","first_name":"Ada","tags":[7]}`, provider.Credentials{Type: "api_key", APIKey: "ck"})
	if resp.Failed() || !strings.Contains(string(resp.Output), `"subscribable_id":55`) {
		t.Fatalf("response %+v %s", resp, resp.Output)
	}
	got := fake.last(t)
	if got.Method != "POST" || got.Path != "/v3/forms/55/subscribe" || got.ContentType != "application/json" {
		t.Fatalf("request %+v", got)
	}
	jsonEqual(t, got.Body, `{"api_key":"ck","email":"ada@example.com","first_name":"Ada","tags":[7]}`)
	resp = execPiece(t, p, "forms_add_subscriber_to_form", `{"form_id":"55","email":"a@b.c"}`, provider.Credentials{APIKey: "bad"})
	if !resp.Failed() || resp.Diagnostics[0].Summary != "ConvertKit: Authorization Failed" || resp.Diagnostics[0].Status != 401 {
		t.Fatalf("error response %+v", resp)
	}
}

func TestOpenAIChat(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body string) {
		if r.Header.Get("Authorization") != "Bearer sk-test" {
			writeJSON(w, 401, `{"error":{"message":"Incorrect API key provided: sk-bad.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
			return
		}
		writeJSON(w, 200, `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}`)
	})
	p := pieceRuntime(t, "openai", fake, "api.openai.com")
	resp := execPiece(t, p, "ask_chatgpt", `{"prompt":"Capital of France?","system":"Be brief.","temperature":0.2}`, provider.Credentials{Type: "api_key", APIKey: "sk-test"})
	var out map[string]any
	if resp.Failed() || json.Unmarshal(resp.Output, &out) != nil || out["content"] != "Paris." || out["finish_reason"] != "stop" {
		t.Fatalf("response %+v %s", resp, resp.Output)
	}
	got := fake.last(t)
	if got.Method != "POST" || got.Path != "/v1/chat/completions" || got.Header.Get("OpenAI-Organization") != "" {
		t.Fatalf("request %+v", got)
	}
	jsonEqual(t, got.Body, `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Capital of France?"}],"temperature":0.2}`)
	resp = execPiece(t, p, "ask_chatgpt", `{"prompt":"x"}`, provider.Credentials{APIKey: "sk-bad"})
	if !resp.Failed() || !strings.HasPrefix(resp.Diagnostics[0].Summary, "OpenAI: Incorrect API key") {
		t.Fatalf("error response %+v", resp)
	}
}

func TestHuggingFaceClassification(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body string) {
		if strings.HasSuffix(r.URL.Path, "/cold-model") {
			writeJSON(w, 503, `{"error":"Model cold-model is currently loading","estimated_time":20.0}`)
			return
		}
		writeJSON(w, 200, `[[{"label":"POSITIVE","score":0.9998},{"label":"NEGATIVE","score":0.0002}]]`)
	})
	p := pieceRuntime(t, "hugging-face", fake, "router.huggingface.co")
	resp := execPiece(t, p, "text_classification", `{"text":"I love this"}`, provider.Credentials{Type: "api_key", APIKey: "hf_x"})
	if resp.Failed() || !strings.Contains(string(resp.Output), `{"labels":[{"label":"POSITIVE","score":0.9998}`) {
		t.Fatalf("response %+v %s", resp, resp.Output)
	}
	got := fake.last(t)
	if got.Path != "/hf-inference/models/distilbert/distilbert-base-uncased-finetuned-sst-2-english" || got.Header.Get("Authorization") != "Bearer hf_x" {
		t.Fatalf("request %+v", got)
	}
	jsonEqual(t, got.Body, `{"inputs":"I love this"}`)
	resp = execPiece(t, p, "text_classification", `{"text":"x","model":"org/cold-model"}`, provider.Credentials{APIKey: "hf_x"})
	if !resp.Failed() || resp.Diagnostics[0].Status != 503 || !strings.Contains(resp.Diagnostics[0].Detail, "retry in about 20s") {
		t.Fatalf("error response %+v", resp)
	}
}

func TestMondayCreateItem(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body string) {
		if strings.Contains(body, `"board":"0"`) {
			// GraphQL errors come with HTTP 200.
			writeJSON(w, 200, `{"errors":[{"message":"Board not found","locations":[{"line":2,"column":3}],"extensions":{"code":"InvalidBoardIdException"}}],"account_id":1}`)
			return
		}
		writeJSON(w, 200, `{"data":{"create_item":{"id":"9001","name":"Launch","url":"https://x.monday.com/boards/1/pulses/9001"}},"account_id":1}`)
	})
	p := pieceRuntime(t, "monday", fake, "api.monday.com")
	resp := execPiece(t, p, "monday_create_item", `{"board_id":"1","group_id":"topics","item_name":"Launch","column_values":{"status":{"label":"Done"}}}`, provider.Credentials{Type: "oauth2", AccessToken: "mt"})
	if resp.Failed() || !strings.Contains(string(resp.Output), `"id":"9001"`) {
		t.Fatalf("response %+v %s", resp, resp.Output)
	}
	got := fake.last(t)
	if got.Method != "POST" || got.Path != "/v2" || got.Header.Get("Authorization") != "mt" || got.Header.Get("API-Version") == "" {
		t.Fatalf("request %+v", got)
	}
	var gql struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.Unmarshal([]byte(got.Body), &gql); err != nil || !strings.Contains(gql.Query, "create_item(") {
		t.Fatalf("body %s", got.Body)
	}
	if gql.Variables["columns"] != `{"status":{"label":"Done"}}` || gql.Variables["board"] != "1" || gql.Variables["group"] != "topics" {
		t.Fatalf("variables %v", gql.Variables)
	}
	resp = execPiece(t, p, "monday_create_item", `{"board_id":"0","item_name":"x"}`, provider.Credentials{AccessToken: "mt"})
	if !resp.Failed() || resp.Diagnostics[0].Summary != "monday.com: Board not found" {
		t.Fatalf("error response %+v", resp)
	}
}

func TestPipedriveCreateDealAndPerson(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body string) {
		if r.URL.Query().Get("api_token") != "pd" && r.Header.Get("Authorization") != "Bearer oauth" {
			writeJSON(w, 401, `{"success":false,"error":"unauthorized access","errorCode":401,"error_info":"Please check developers.pipedrive.com for more information about Pipedrive API."}`)
			return
		}
		switch r.URL.Path {
		case "/v1/deals":
			writeJSON(w, 201, `{"success":true,"data":{"id":11,"title":"Big deal","value":5000,"currency":"EUR","status":"open"}}`)
		case "/v1/persons":
			writeJSON(w, 201, `{"success":true,"data":{"id":21,"name":"Ada","email":[{"value":"ada@example.com","primary":true}]}}`)
		default:
			writeJSON(w, 404, `{"success":false,"error":"Unknown method ."}`)
		}
	})
	p := pieceRuntime(t, "pipedrive", fake, "api.pipedrive.com", "acme.pipedrive.com")
	resp := execPiece(t, p, "create-deal", `{"title":"Big deal","value":5000,"currency":"EUR","expected_close_date":"2027-01-31T00:00:00Z"}`, provider.Credentials{Type: "api_key", APIKey: "pd"})
	if resp.Failed() || !strings.Contains(string(resp.Output), `"id":11`) {
		t.Fatalf("response %+v %s", resp, resp.Output)
	}
	got := fake.last(t)
	if got.Method != "POST" || got.Path != "/v1/deals" || got.Query != "api_token=pd" {
		t.Fatalf("request %+v", got)
	}
	jsonEqual(t, got.Body, `{"title":"Big deal","value":5000,"currency":"EUR","expected_close_date":"2027-01-31"}`)
	// OAuth connections call the company's api_domain with a bearer token.
	resp = execPiece(t, p, "create-person", `{"name":"Ada","email":["ada@example.com"]}`,
		provider.Credentials{Type: "oauth2", AccessToken: "oauth", Metadata: map[string]string{"api_domain": "https://acme.pipedrive.com"}})
	if resp.Failed() || !strings.Contains(string(resp.Output), `"id":21`) {
		t.Fatalf("response %+v %s", resp, resp.Output)
	}
	if got := fake.last(t); got.Path != "/v1/persons" || got.Query != "" {
		t.Fatalf("request %+v", got)
	}
	resp = execPiece(t, p, "create-deal", `{"title":"x"}`, provider.Credentials{APIKey: "bad"})
	if !resp.Failed() || resp.Diagnostics[0].Summary != "Pipedrive: unauthorized access" || resp.Diagnostics[0].Status != 401 {
		t.Fatalf("error response %+v", resp)
	}
}

func TestXeroCreateContact(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body string) {
		if r.Header.Get("Xero-tenant-id") != "org-1" {
			writeJSON(w, 403, `{"Type":null,"Title":"Forbidden","Status":403,"Detail":"AuthenticationUnsuccessful","Instance":"x"}`)
			return
		}
		if strings.Contains(body, `"Name":"Dup"`) {
			writeJSON(w, 400, `{"ErrorNumber":10,"Type":"ValidationException","Message":"A validation exception occurred","Elements":[{"ValidationErrors":[{"Message":"The contact name Dup is already assigned to another contact."}]}]}`)
			return
		}
		writeJSON(w, 200, `{"Id":"r1","Status":"OK","Contacts":[{"ContactID":"c-1","Name":"Ada Ltd","EmailAddress":"ada@example.com","ContactStatus":"ACTIVE"}]}`)
	})
	p := pieceRuntime(t, "xero", fake, "api.xero.com")
	creds := provider.Credentials{Type: "oauth2", AccessToken: "xt", Params: map[string]string{"tenant_id": "org-1"}}
	resp := execPiece(t, p, "xero_create_contact", `{"name":"Ada Ltd","email":"ada@example.com"}`, creds)
	if resp.Failed() || !strings.Contains(string(resp.Output), `"ContactID":"c-1"`) {
		t.Fatalf("response %+v %s", resp, resp.Output)
	}
	got := fake.last(t)
	if got.Method != "POST" || got.Path != "/api.xro/2.0/Contacts" || got.Header.Get("Authorization") != "Bearer xt" || got.Header.Get("Accept") != "application/json" {
		t.Fatalf("request %+v", got)
	}
	jsonEqual(t, got.Body, `{"Contacts":[{"Name":"Ada Ltd","EmailAddress":"ada@example.com"}]}`)
	resp = execPiece(t, p, "xero_create_contact", `{"name":"Dup"}`, creds)
	if !resp.Failed() || resp.Diagnostics[0].Summary != "Xero: A validation exception occurred" || !strings.Contains(resp.Diagnostics[0].Detail, "already assigned") {
		t.Fatalf("error response %+v", resp)
	}
}

func TestDropboxUploadAndList(t *testing.T) {
	fake := newFake(t, func(w http.ResponseWriter, r *http.Request, body string) {
		switch r.URL.Path {
		case "/2/files/upload":
			writeJSON(w, 200, `{"name":"q1.csv","id":"id:a4ayc","path_display":"/reports/q1.csv","size":6,"rev":"a1c10ce0dd78"}`)
		case "/2/files/list_folder":
			if strings.Contains(body, `"/missing"`) {
				writeJSON(w, 409, `{"error_summary":"path/not_found/...","error":{".tag":"path","path":{".tag":"not_found"}}}`)
				return
			}
			writeJSON(w, 200, `{"entries":[{".tag":"file","name":"q1.csv","path_display":"/reports/q1.csv"}],"cursor":"c1","has_more":false}`)
		}
	})
	p := pieceRuntime(t, "dropbox", fake, "content.dropboxapi.com", "api.dropboxapi.com")
	creds := provider.Credentials{Type: "oauth2", AccessToken: "db"}
	resp := execPiece(t, p, "upload_dropbox_file", `{"path":"/reports/q1é.csv","content_base64":"`+base64.StdEncoding.EncodeToString([]byte{0xff, 0, 'a', 'b', 'c', '\n'})+`"}`, creds)
	if resp.Failed() || !strings.Contains(string(resp.Output), `"rev":"a1c10ce0dd78"`) {
		t.Fatalf("response %+v %s", resp, resp.Output)
	}
	got := fake.last(t)
	if got.Path != "/2/files/upload" || got.ContentType != "application/octet-stream" || got.Body != "\xff\x00abc\n" {
		t.Fatalf("request %+v", got)
	}
	if arg := got.Header.Get("Dropbox-API-Arg"); arg != `{"autorename":true,"mode":"add","mute":false,"path":"/reports/q1\u00e9.csv"}` {
		t.Fatalf("Dropbox-API-Arg %q", arg)
	}
	resp = execPiece(t, p, "list_dropbox_folder", `{"path":"/reports"}`, creds)
	if resp.Failed() || !strings.Contains(string(resp.Output), `"cursor":"c1"`) {
		t.Fatalf("response %+v %s", resp, resp.Output)
	}
	jsonEqual(t, fake.last(t).Body, `{"path":"/reports","recursive":false}`)
	resp = execPiece(t, p, "list_dropbox_folder", `{"path":"/missing"}`, creds)
	if !resp.Failed() || resp.Diagnostics[0].Summary != "Dropbox: path/not_found/..." || resp.Diagnostics[0].Status != 409 {
		t.Fatalf("error response %+v", resp)
	}
}

func TestTextUtilsWAT(t *testing.T) {
	rt := testRuntime(t, Config{})
	p := load(t, rt, "text-utils")
	if m := p.Manifest(); m.ID != "text-utils" || len(m.Actions) != 2 {
		t.Fatalf("manifest %+v", m)
	}
	h := newMemHost()
	for _, tc := range []struct{ action, input, want string }{
		{"echo", `{"text":"héllo \"q\"","n":[1,{"a":"b"}]}`, `{"text":"héllo \"q\"","n":[1,{"a":"b"}]}`},
		{"uppercase", `{"text":"hello, World \n é"}`, `{"text":"HELLO, WORLD \n é"}`},
		{"uppercase", `{"text":"a","nested":{"key":"value"}}`, `{"text":"A","nested":{"key":"VALUE"}}`},
	} {
		resp, err := p.Execute(context.Background(), provider.Request{TenantID: "t", Action: tc.action, Input: json.RawMessage(tc.input)}, h)
		if err != nil || resp.Failed() {
			t.Fatalf("%s: %+v %v", tc.action, resp, err)
		}
		jsonEqual(t, string(resp.Output), tc.want)
	}
	resp, err := p.Execute(context.Background(), provider.Request{TenantID: "t", Action: "nope", Input: json.RawMessage(`{}`)}, h)
	if err != nil || !resp.Failed() {
		t.Fatalf("unknown action: %+v %v", resp, err)
	}
	if len(h.logs) != 4 || h.logs[0] != "info: text-utils: execute" {
		t.Fatalf("logs %v", h.logs)
	}
}
