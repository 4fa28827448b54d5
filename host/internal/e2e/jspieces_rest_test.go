package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/runtimes/jspiece"
)

// jsCase is one published Activepieces piece run over REST: its artifact
// as `atom pieces add` writes it, the fake of its provider's API, how the
// tenant connects, one action and the exact request the provider must
// receive.
type jsCase struct {
	id, pkg string
	// hosts are the artifact's declared hosts; each is served by api.
	hosts []string
	api   *recorder
	// desc replaces the catalog entry of id ("" keeps the shipped one).
	desc string
	// connect creates the tenant's connection through the REST API.
	connect func(h *hosttest.Host, tn hosttest.Tenant)
	action  string
	input   map[string]any
	// missing is a required prop: without it the call is refused, naming it.
	missing string
	// want is what the provider receives, in order.
	want []wantRequest
}

// wantRequest is a request a fake provider must receive exactly. Auth
// "oauth" stands for a bearer token the fake OAuth server issued to this
// tenant's connection. Body is compared as JSON for JSON requests and as
// form values for form requests.
type wantRequest struct {
	Method, Path, Query, Auth, ContentType string
	Body                                   any
}

func oauthConnect(id string) func(h *hosttest.Host, tn hosttest.Tenant) {
	return func(h *hosttest.Host, tn hosttest.Tenant) { connectOAuth(h, tn, id) }
}

func credsConnect(id string, body map[string]any) func(h *hosttest.Host, tn hosttest.Tenant) {
	return func(h *hosttest.Host, tn hosttest.Tenant) {
		h.Must(h.Call("POST", "/api/v1/connections/"+id, tn.Key, body, nil), 201, nil)
	}
}

// jsCases are the ten pieces of issue 16, each against its own fake.
func jsCases(t *testing.T, fp *fakeprovider.Server) []jsCase {
	return []jsCase{
		{
			id: "slack", pkg: "@activepieces/piece-slack", hosts: []string{"slack.com"},
			api:     newRecorder(t, map[string]reply{"POST /api/chat.postMessage": {Body: `{"ok":true,"channel":"C0123","ts":"1710304378.475129"}`}}),
			desc:    oauthDescriptor("slack", "Slack", "https://slack.com/api", fp),
			connect: oauthConnect("slack"), action: "send_channel_message", missing: "channel",
			input: map[string]any{"channel": "C0123", "text": "Deploy finished"},
			want: []wantRequest{{Method: "POST", Path: "/api/chat.postMessage", Auth: "oauth", ContentType: "application/x-www-form-urlencoded",
				Body: url.Values{"channel": {"C0123"}, "text": {"Deploy finished"},
					"blocks": {`[{"type":"section","text":{"type":"mrkdwn","text":"Deploy finished"}}]`}}}},
		},
		{
			// The piece's CustomAuth (apiKey, baseUrl with a default) is
			// filled from the API-key connection of the shipped catalog's
			// entry (its auth, as in catalog/data/openai.json).
			id: "openai", pkg: "@activepieces/piece-openai", hosts: []string{"api.openai.com"},
			api: newRecorder(t, map[string]reply{"POST /v1/chat/completions": {Body: `{"id":"chatcmpl-1","object":"chat.completion","created":1,` +
				`"model":"gpt-3.5-turbo","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"}],` +
				`"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}`}}),
			desc: `{"id":"openai","name":"OpenAI","categories":["ai"],"auth":{"kind":"api_key","credential_fields":["apiKey"],
				"api_key_in":"header","api_key_name":"Authorization","api_key_prefix":"Bearer ","mode":"API_KEY"},
				"api":{"base_url":"https://api.openai.com"},"implementations":["piece"],"connectable":true}`,
			connect: credsConnect("openai", map[string]any{"api_key": "sk-tenant-openai"}),
			action:  "ask_chatgpt", missing: "prompt",
			input: map[string]any{"model": "gpt-3.5-turbo", "prompt": "What is the capital of France?", "maxTokens": 50, "temperature": 0.2},
			want: []wantRequest{{Method: "POST", Path: "/v1/chat/completions", Auth: "Bearer sk-tenant-openai", ContentType: "application/json",
				Body: map[string]any{"model": "gpt-3.5-turbo", "temperature": 0.2, "max_tokens": 50, "top_p": 1, "frequency_penalty": 0,
					"presence_penalty": 0.6, "messages": []any{
						map[string]any{"role": "system", "content": "You are a helpful assistant."},
						map[string]any{"role": "user", "content": "What is the capital of France?"}}}}},
		},
		{
			id: "discord", pkg: "@activepieces/piece-discord", hosts: []string{"discord.com"},
			api: newRecorder(t, map[string]reply{"POST /api/webhooks/1234/wh-token": {Status: 204}}),
			desc: `{"id":"discord","name":"Discord","categories":["communication"],"auth":{"kind":"none"},
				"api":{"base_url":"https://discord.com"},"implementations":["piece"],"connectable":true}`,
			action: "send_message_webhook", missing: "webhook_url",
			input: map[string]any{"webhook_url": "https://discord.com/api/webhooks/1234/wh-token", "content": "Deploy finished"},
			want: []wantRequest{{Method: "POST", Path: "/api/webhooks/1234/wh-token", ContentType: "application/json",
				Body: map[string]any{"content": "Deploy finished"}}},
		},
		{
			id: "hubspot", pkg: "@activepieces/piece-hubspot", hosts: []string{"api.hubapi.com"},
			api:     newRecorder(t, map[string]reply{"POST /contacts/v1/contact/": {Body: `{"vid":3201,"is-contact":true}`}}),
			desc:    oauthDescriptor("hubspot", "HubSpot", "https://api.hubapi.com", fp),
			connect: oauthConnect("hubspot"), action: "create_contact", missing: "firstName",
			input: map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"},
			want: []wantRequest{{Method: "POST", Path: "/contacts/v1/contact/", Auth: "oauth", ContentType: "application/json",
				// In the order of the input's keys (the request's JSON).
				Body: map[string]any{"properties": []any{
					map[string]any{"property": "email", "value": "ada@example.com"},
					map[string]any{"property": "firstName", "value": "Ada"},
					map[string]any{"property": "lastName", "value": "Lovelace"}}}}},
		},
		{
			// Activepieces' google-sheets is the catalog's google-sheet.
			id: "google-sheet", pkg: "@activepieces/piece-google-sheets", hosts: []string{"sheets.googleapis.com"},
			api: newRecorder(t, map[string]reply{
				"GET /v4/spreadsheets/ss-1":                        {Body: `{"sheets":[{"properties":{"sheetId":0,"title":"Leads"}},{"properties":{"sheetId":7,"title":"Archive"}}]}`},
				"POST /v4/spreadsheets/ss-1/values/Archive:append": {Body: `{"spreadsheetId":"ss-1","updates":{"updatedRows":1}}`}}),
			desc:    oauthDescriptor("google-sheet", "Google Sheets", "https://sheets.googleapis.com", fp),
			connect: oauthConnect("google-sheet"), action: "insert_row", missing: "spreadsheet_id",
			input: map[string]any{"spreadsheet_id": "ss-1", "sheet_id": 7, "values": []string{"Ada", "Lovelace"}},
			want: []wantRequest{
				{Method: "GET", Path: "/v4/spreadsheets/ss-1", Auth: "oauth"},
				{Method: "POST", Path: "/v4/spreadsheets/ss-1/values/Archive:append", Query: "valueInputOption=USER_ENTERED", Auth: "oauth",
					ContentType: "application/json", Body: map[string]any{"majorDimension": "COLUMNS", "range": "Archive",
						"values": []any{map[string]any{"values": "Ada"}, map[string]any{"values": "Lovelace"}}}}},
		},
		{
			// The shipped entry: OAuth first, a personal token as the
			// alternative the piece's SecretText maps to.
			id: "airtable", pkg: "@activepieces/piece-airtable", hosts: []string{"api.airtable.com"},
			api:     newRecorder(t, map[string]reply{"POST /v0/appBase1/tblPeople": {Body: `{"id":"rec1","fields":{"Name":"Ada"}}`}}),
			connect: credsConnect("airtable", map[string]any{"auth_kind": "api_key", "api_key": "pat-tenant-airtable"}),
			action:  "airtable_create_record", missing: "tableId",
			input: map[string]any{"base": "appBase1", "tableId": "tblPeople", "fields": map[string]any{"Name": "Ada", "Notes": ""}},
			want: []wantRequest{{Method: "POST", Path: "/v0/appBase1/tblPeople", Auth: "Bearer pat-tenant-airtable", ContentType: "application/json",
				Body: map[string]any{"fields": map[string]any{"Name": "Ada"}}}},
		},
		{
			id: "clickup", pkg: "@activepieces/piece-clickup", hosts: []string{"api.clickup.com"},
			api:     newRecorder(t, map[string]reply{"POST /api/v2/list/901/task": {Body: `{"id":"86a1","name":"Ship it"}`}}),
			desc:    oauthDescriptor("clickup", "ClickUp", "https://api.clickup.com", fp),
			connect: oauthConnect("clickup"), action: "create_task", missing: "name",
			input: map[string]any{"workspace_id": "9001", "space_id": "90", "list_id": "901", "name": "Ship it", "description": "Release 1.2"},
			want: []wantRequest{{Method: "POST", Path: "/api/v2/list/901/task", Auth: "oauth", ContentType: "application/json",
				Body: map[string]any{"name": "Ship it", "description": "Release 1.2"}}},
		},
		{
			id: "todoist", pkg: "@activepieces/piece-todoist", hosts: []string{"api.todoist.com"},
			api:     newRecorder(t, map[string]reply{"POST /rest/v2/tasks": {Body: `{"id":"7025","content":"Buy milk"}`}}),
			desc:    oauthDescriptor("todoist", "Todoist", "https://api.todoist.com", fp),
			connect: oauthConnect("todoist"), action: "create_task", missing: "content",
			input: map[string]any{"content": "Buy milk", "project_id": "2203", "priority": 4, "labels": []string{"home"}},
			want: []wantRequest{{Method: "POST", Path: "/rest/v2/tasks", Auth: "oauth", ContentType: "application/json",
				Body: map[string]any{"content": "Buy milk", "project_id": "2203", "priority": 4.0, "labels": []any{"home"}}}},
		},
		{
			id: "telegram-bot", pkg: "@activepieces/piece-telegram-bot", hosts: []string{"api.telegram.org"},
			api:     newRecorder(t, map[string]reply{"POST /bot123456:ABC-tenant/sendMessage": {Body: `{"ok":true,"result":{"message_id":42}}`}}),
			connect: credsConnect("telegram-bot", map[string]any{"api_key": "123456:ABC-tenant"}),
			action:  "send_text_message", missing: "chat_id",
			input: map[string]any{"chat_id": "-1001", "message": "Build green"},
			want: []wantRequest{{Method: "POST", Path: "/bot123456:ABC-tenant/sendMessage", ContentType: "application/json",
				Body: map[string]any{"chat_id": "-1001", "text": "Build green"}}},
		},
		{
			id: "twilio", pkg: "@activepieces/piece-twilio", hosts: []string{"api.twilio.com"},
			api:     newRecorder(t, map[string]reply{"POST /2010-04-01/Accounts/AC0001/Messages.json": {Status: 201, Body: `{"sid":"SM1","status":"queued"}`}}),
			connect: credsConnect("twilio", map[string]any{"username": "AC0001", "password": "twilio-secret"}),
			action:  "send_sms", missing: "to",
			input: map[string]any{"from": "+15005550006", "to": "+15005550009", "body": "Your code is 1234"},
			want: []wantRequest{{Method: "POST", Path: "/2010-04-01/Accounts/AC0001/Messages.json",
				Auth:        "Basic " + base64.StdEncoding.EncodeToString([]byte("AC0001:twilio-secret")),
				ContentType: "application/x-www-form-urlencoded",
				Body:        url.Values{"From": {"+15005550006"}, "To": {"+15005550009"}, "Body": {"Your code is 1234"}}}},
		},
	}
}

// TestJSPiecesOverREST installs published Activepieces pieces as `atom
// pieces add` does and runs one action of each through the REST API with
// the tenant's connection (OAuth through the fake's authorization server,
// API key, basic), asserting the exact request each provider's fake
// receives, the action's input schema on the actions listing, and the
// refusal of a call missing a required prop. On SQLite and PostgreSQL.
func TestJSPiecesOverREST(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			fp := fakeprovider.New(t, fakeprovider.Quirks{})
			cases := jsCases(t, fp)
			catalog := map[string]string{}
			rewrite := map[string]string{}
			env := map[string]string{}
			for _, c := range cases {
				if c.desc != "" {
					catalog[c.id+".json"] = c.desc
					env[connect.EnvName(c.id)+"_CLIENT_ID"], env[connect.EnvName(c.id)+"_CLIENT_SECRET"] = fp.ClientID, fp.ClientSecret
				}
				for _, hst := range c.hosts {
					rewrite[hst] = c.api.URL
				}
			}
			h := startHost(t, hosttest.Options{Backend: backend, Catalog: catalog, Rewrite: rewrite, Env: env,
				Prepare: func(dir string) {
					for _, c := range cases {
						// The id `atom pieces add` gives the package: the
						// catalog's where it names the integration otherwise.
						if id := jspiece.PieceID(c.pkg); id != c.id {
							t.Fatalf("%s is added as %q, want %q", c.pkg, id, c.id)
						}
						a := jspiece.Artifact{ID: c.id, Package: c.pkg, Version: installedVersion(t, c.pkg), Hosts: c.hosts, Source: bundledPiece(t, c.pkg)}
						if _, err := jspiece.Write(dir, a, nil); err != nil {
							t.Fatal(err)
						}
					}
				}})
			hosttest.WaitFor(t, 120*time.Second, "the JS pieces to load", func() bool {
				for _, c := range cases {
					if _, ok := h.Parts.Registry.Get(c.id, "piece"); !ok {
						return false
					}
				}
				return true
			})
			for _, c := range cases {
				t.Run(c.id, func(t *testing.T) {
					runJSCase(t, h, fp, c)
				})
			}
		})
	}
}

func runJSCase(t *testing.T, h *hosttest.Host, fp *fakeprovider.Server, c jsCase) {
	// The action is listed with its input schema, its required props.
	var acts struct {
		Actions []struct {
			Name           string
			Implementation string
			InputSchema    struct {
				Required   []string
				Properties map[string]json.RawMessage
			} `json:"input_schema"`
		}
	}
	h.Must(h.Call("GET", "/api/v1/integrations/"+c.id+"/actions", h.Tenant.Key, nil, nil), 200, &acts)
	found := false
	for _, a := range acts.Actions {
		if a.Name == c.action {
			found = true
			if a.Implementation != "piece" || !contains(a.InputSchema.Required, c.missing) || a.InputSchema.Properties[c.missing] == nil {
				t.Fatalf("%s listed as %+v", c.action, a)
			}
		}
	}
	if !found {
		t.Fatalf("actions of %s: %+v", c.id, acts.Actions)
	}
	// The catalog entry on the pieces API: served by the piece at its
	// version, the action with its input schema.
	var pieces struct {
		Pieces []struct {
			ID, Implementation, Version string
			Actions                     []struct {
				Name        string
				InputSchema struct{ Required []string } `json:"input_schema"`
			}
		}
	}
	h.Must(h.Call("GET", "/api/v1/pieces/search?q="+c.id+"&limit=100", h.Tenant.Key, nil, nil), 200, &pieces)
	found = false
	for _, p := range pieces.Pieces {
		if p.ID != c.id {
			continue
		}
		if p.Implementation != "piece" || p.Version != installedVersion(t, c.pkg) {
			t.Fatalf("pieces API: %s served by %q at %q", c.id, p.Implementation, p.Version)
		}
		for _, a := range p.Actions {
			found = found || a.Name == c.action && contains(a.InputSchema.Required, c.missing)
		}
	}
	if !found {
		t.Fatalf("pieces API does not list %s/%s with its schema: %+v", c.id, c.action, pieces.Pieces)
	}
	if c.connect != nil {
		// A tenant without a connection is refused before the piece runs.
		other := h.NewTenant("other-" + c.id)
		if r := h.Exec(other, c.id, c.action, c.input, nil); r.Status < 400 || r.Status >= 500 {
			t.Fatalf("a tenant without a connection: %d %s", r.Status, r.Body)
		}
		c.connect(h, h.Tenant)
	}
	// A required prop missing: refused before the piece runs, naming it.
	partial := map[string]any{}
	for k, v := range c.input {
		if k != c.missing {
			partial[k] = v
		}
	}
	r := h.Exec(h.Tenant, c.id, c.action, partial, nil)
	if r.Status != 400 || !strings.Contains(string(r.Body), c.missing) {
		t.Fatalf("without %s: %d %s", c.missing, r.Status, r.Body)
	}
	if n := len(c.api.requests()); n != 0 {
		t.Fatalf("the refused call reached the provider: %+v", c.api.requests())
	}

	var res struct {
		Status string
		Output json.RawMessage
		Error  any
	}
	h.Must(h.Exec(h.Tenant, c.id, c.action, c.input, nil), 200, &res)
	got := c.api.requests()
	if len(got) != len(c.want) {
		t.Fatalf("provider received %d requests, want %d: %+v (result %s %s)", len(got), len(c.want), got, res.Status, res.Output)
	}
	for i, w := range c.want {
		checkRequest(t, fp, got[i], w)
	}
}

func checkRequest(t *testing.T, fp *fakeprovider.Server, g upstreamCall, w wantRequest) {
	t.Helper()
	ct, _, _ := strings.Cut(g.Header.Get("Content-Type"), ";")
	if g.Method != w.Method || g.Path != w.Path || g.Query != w.Query || ct != w.ContentType {
		t.Fatalf("request %s %s?%s (%s), want %s %s?%s (%s)", g.Method, g.Path, g.Query, ct, w.Method, w.Path, w.Query, w.ContentType)
	}
	auth := g.Header.Get("Authorization")
	switch {
	case w.Auth == "oauth":
		if !strings.HasPrefix(auth, "Bearer ") || !fakeIssued(t, fp, auth) {
			t.Fatalf("Authorization %q is not a token the tenant's OAuth connection holds", auth)
		}
	case auth != w.Auth:
		t.Fatalf("Authorization %q, want %q", auth, w.Auth)
	}
	switch want := w.Body.(type) {
	case nil:
		if g.Body != "" {
			t.Fatalf("body %q, want none", g.Body)
		}
	case url.Values:
		form, err := url.ParseQuery(g.Body)
		if err != nil || !reflect.DeepEqual(form, want) {
			t.Fatalf("form body %q, want %v", g.Body, want)
		}
	default:
		var body any
		if err := json.Unmarshal([]byte(g.Body), &body); err != nil {
			t.Fatalf("body %q: %v", g.Body, err)
		}
		wb, _ := json.Marshal(want)
		var wv any
		json.Unmarshal(wb, &wv)
		if !reflect.DeepEqual(body, wv) {
			t.Fatalf("body %s, want %s", g.Body, wb)
		}
	}
}

// TestJSPieceDropdownOptions runs dropdowns' options() through the host
// (the list_options action a piece with dropdowns offers): with the
// tenant's connection, the props the dropdown depends on, the exact
// upstream request asserted; a prop that is no such dropdown is refused.
func TestJSPieceDropdownOptions(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			fp := fakeprovider.New(t, fakeprovider.Quirks{})
			clickup := newRecorder(t, map[string]reply{
				"GET /api/v2/team":            {Body: `{"teams":[{"id":"9001","name":"Acme"},{"id":"9002","name":"Beta"}]}`},
				"GET /api/v2/team/9001/space": {Body: `{"spaces":[{"id":"90","name":"Engineering"}]}`}})
			twilio := newRecorder(t, map[string]reply{"GET /2010-04-01/Accounts/AC0001/IncomingPhoneNumbers.json": {
				Body: `{"incoming_phone_numbers":[{"phone_number":"+15005550006","friendly_name":"Support line"}]}`}})
			h := startHost(t, hosttest.Options{Backend: backend,
				Catalog: map[string]string{"clickup.json": oauthDescriptor("clickup", "ClickUp", "https://api.clickup.com", fp)},
				Env:     map[string]string{"CLICKUP_CLIENT_ID": fp.ClientID, "CLICKUP_CLIENT_SECRET": fp.ClientSecret},
				Rewrite: map[string]string{"api.clickup.com": clickup.URL, "api.twilio.com": twilio.URL},
				Prepare: func(dir string) {
					for id, host := range map[string]string{"clickup": "api.clickup.com", "twilio": "api.twilio.com"} {
						pkg := "@activepieces/piece-" + id
						a := jspiece.Artifact{ID: id, Package: pkg, Version: installedVersion(t, pkg), Hosts: []string{host}, Source: bundledPiece(t, pkg)}
						if _, err := jspiece.Write(dir, a, nil); err != nil {
							t.Fatal(err)
						}
					}
				}})
			hosttest.WaitFor(t, 120*time.Second, "the JS pieces to load", func() bool {
				_, a := h.Parts.Registry.Get("clickup", "piece")
				_, b := h.Parts.Registry.Get("twilio", "piece")
				return a && b
			})
			connectOAuth(h, h.Tenant, "clickup")
			h.Must(h.Call("POST", "/api/v1/connections/twilio", h.Tenant.Key, map[string]any{"username": "AC0001", "password": "twilio-secret"}, nil), 201, nil)

			options := func(id string, input map[string]any) json.RawMessage {
				t.Helper()
				var res struct{ Output json.RawMessage }
				h.Must(h.Exec(h.Tenant, id, jspiece.OptionsAction, input, nil), 200, &res)
				return res.Output
			}
			out := options("clickup", map[string]any{"action": "create_task", "prop": "workspace_id"})
			if string(out) != `{"disabled":false,"options":[{"label":"Acme","value":"9001"},{"label":"Beta","value":"9002"}]}` {
				t.Fatalf("workspace options: %s", out)
			}
			out = options("clickup", map[string]any{"action": "create_task", "prop": "space_id", "props": map[string]any{"workspace_id": "9001"}})
			if string(out) != `{"disabled":false,"options":[{"label":"Engineering","value":"90"}]}` {
				t.Fatalf("space options: %s", out)
			}
			got := clickup.requests()
			if len(got) != 2 {
				t.Fatalf("ClickUp received %+v", got)
			}
			checkRequest(t, fp, got[0], wantRequest{Method: "GET", Path: "/api/v2/team", Auth: "oauth"})
			checkRequest(t, fp, got[1], wantRequest{Method: "GET", Path: "/api/v2/team/9001/space", Auth: "oauth"})

			out = options("twilio", map[string]any{"action": "send_sms", "prop": "from"})
			if string(out) != `{"disabled":false,"options":[{"value":"+15005550006","label":"Support line"}]}` {
				t.Fatalf("twilio options: %s", out)
			}
			if got := twilio.requests(); len(got) != 1 || got[0].Method != "GET" || got[0].Path != "/2010-04-01/Accounts/AC0001/IncomingPhoneNumbers.json" ||
				got[0].Header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("AC0001:twilio-secret")) {
				t.Fatalf("Twilio received %+v", got)
			}

			// Listed with its schema; props that are no such dropdown refused.
			var acts struct {
				Actions []struct {
					Name        string
					InputSchema struct {
						Properties map[string]struct{ Enum []string }
					} `json:"input_schema"`
				}
			}
			h.Must(h.Call("GET", "/api/v1/integrations/clickup/actions", h.Tenant.Key, nil, nil), 200, &acts)
			found := false
			for _, a := range acts.Actions {
				if a.Name == jspiece.OptionsAction {
					found = contains(a.InputSchema.Properties["prop"].Enum, "workspace_id") && contains(a.InputSchema.Properties["action"].Enum, "create_task")
				}
			}
			if !found {
				t.Fatalf("clickup actions: %+v", acts.Actions)
			}
			for _, bad := range []map[string]any{
				{"action": "create_task", "prop": "name"},
				{"action": "get_list", "prop": "workspace_id"},
				{"action": "create_task"},
				{"action": "nope", "prop": "workspace_id"},
			} {
				r := h.Exec(h.Tenant, "clickup", jspiece.OptionsAction, bad, nil)
				if r.Status < 400 || r.Status >= 500 {
					t.Fatalf("options %v: %d %s", bad, r.Status, r.Body)
				}
			}
			if n := len(clickup.requests()); n != 2 {
				t.Fatalf("refused calls reached ClickUp: %d requests", n)
			}
		})
	}
}
