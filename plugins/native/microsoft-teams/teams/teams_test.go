package teams_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/atomhq/atom/plugins/native/microsoft-teams/teams"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const token = "eyJ0eXAiOiJKV1QiLCJub25jZSI6InRlYW1zIn0"

const (
	teamID    = "172b0cce-e65d-44ce-9a49-91d9f2e8493a"
	channelID = "19:561fbdbbfca848a484f0a6f00ce9dbbd@thread.tacv2"
)

func graphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]string{"date": "2024-05-06T10:00:00", "request-id": "c3d4"}}})
}

// fakeTeams serves the Graph Teams endpoints the provider uses, with
// $top paging through absolute @odata.nextLink URLs carrying $skiptoken,
// 201 Created for posted messages and Graph's error body.
func fakeTeams(t *testing.T) *recorder {
	msgs := []map[string]any{{"id": "1715000000003", "body": map[string]string{"contentType": "text", "content": "third"}},
		{"id": "1715000000002", "body": map[string]string{"contentType": "text", "content": "second"}},
		{"id": "1715000000001", "body": map[string]string{"contentType": "text", "content": "first"}}}
	var rec *recorder
	rec = newRecorder(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			graphError(w, 401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
			return
		}
		q := r.URL.Query()
		p := r.URL.Path
		chPath := "/v1.0/teams/" + teamID + "/channels/" + channelID + "/messages"
		switch {
		case r.Method == "GET" && p == "/v1.0/me":
			writeJSON(w, 200, map[string]any{"id": "48d31887", "displayName": "Megan Bowen"})
		case r.Method == "GET" && p == "/v1.0/me/joinedTeams":
			writeJSON(w, 200, map[string]any{"@odata.count": 1, "value": []map[string]any{{"id": teamID, "displayName": "Contoso Team", "isArchived": false}}})
		case r.Method == "GET" && p == "/v1.0/teams/"+teamID+"/channels":
			writeJSON(w, 200, map[string]any{"value": []map[string]any{{"id": channelID, "displayName": "General", "membershipType": "standard"}}})
		case r.Method == "GET" && strings.HasPrefix(p, "/v1.0/teams/") && strings.HasSuffix(p, "/channels"):
			graphError(w, 404, "NotFound", "No team found with Group Id "+strings.Split(p, "/")[3])
		case r.Method == "GET" && p == chPath:
			top := 20
			if s := q.Get("$top"); s != "" {
				top, _ = strconv.Atoi(s)
			}
			if top > 50 {
				graphError(w, 400, "BadRequest", "Invalid page size specified: '"+q.Get("$top")+"'. Must be between 1 and 50 inclusive.")
				return
			}
			skip, _ := strconv.Atoi(q.Get("$skiptoken"))
			end := min(skip+top, len(msgs))
			out := map[string]any{"value": msgs[skip:end]}
			if end < len(msgs) {
				out["@odata.nextLink"] = rec.URL + p + "?$top=" + strconv.Itoa(top) + "&$skiptoken=" + strconv.Itoa(end)
			}
			writeJSON(w, 200, out)
		case r.Method == "POST" && (p == chPath || p == chPath+"/1715000000001/replies" || p == "/v1.0/chats/19:meeting_abc@thread.v2/messages"):
			var m map[string]any
			if json.Unmarshal(body, &m) != nil || m["body"] == nil {
				graphError(w, 400, "BadRequest", "Missing body content")
				return
			}
			m["id"] = "1715000000009"
			m["createdDateTime"] = "2024-05-06T10:00:00Z"
			writeJSON(w, 201, m)
		case r.Method == "POST":
			graphError(w, 403, "Forbidden", "Forbidden")
		default:
			graphError(w, 400, "BadRequest", "Resource not found for the segment.")
		}
	})
	return rec
}

func TestActions(t *testing.T) {
	creds := provider.Credentials{Type: "oauth2", AccessToken: token, TokenType: "Bearer"}
	ch := `"team_id":"` + teamID + `","channel_id":"` + channelID + `"`
	cases := []struct {
		name, action string
		input        func(base string) string
		creds        provider.Credentials
		failed       bool
	}{
		{"test_connection", "test_connection", fixed(`{}`), creds, false},
		{"test_connection_expired", "test_connection", fixed(`{}`), provider.Credentials{Type: "oauth2", AccessToken: "old"}, true},
		{"list_joined_teams", "list_joined_teams", fixed(`{}`), creds, false},
		{"list_channels", "list_channels", fixed(`{"team_id":"` + teamID + `","membership_type":"standard"}`), creds, false},
		{"list_channels_unknown_team", "list_channels", fixed(`{"team_id":"nope"}`), creds, true},
		{"list_channel_messages_page1", "list_channel_messages", fixed(`{` + ch + `,"top":2}`), creds, false},
		{"list_channel_messages_page2", "list_channel_messages", func(base string) string {
			return `{` + ch + `,"cursor":"` + base + `/v1.0/teams/` + teamID + `/channels/` + channelID + `/messages?$top=2&$skiptoken=2"}`
		}, creds, false},
		{"list_channel_messages_bad_top", "list_channel_messages", func(base string) string {
			return `{` + ch + `,"cursor":"` + base + `/v1.0/teams/` + teamID + `/channels/` + channelID + `/messages?$top=99"}`
		}, creds, true},
		{"send_channel_message", "send_channel_message", fixed(`{` + ch + `,"subject":"Release","content":"<b>v2</b> is out","html":true}`), creds, false},
		{"send_channel_reply", "send_channel_message", fixed(`{` + ch + `,"reply_to_id":"1715000000001","content":"thanks"}`), creds, false},
		{"send_channel_reply_subject", "send_channel_message", fixed(`{` + ch + `,"reply_to_id":"1715000000001","subject":"x","content":"thanks"}`), creds, true},
		{"send_chat_message", "send_chat_message", fixed(`{"chat_id":"19:meeting_abc@thread.v2","content":"hello"}`), creds, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeTeams(t)
			resp := providertest.Run(t, teams.New(), tc.action, tc.input(fake.URL), tc.creds, providertest.BaseURL(fake.URL))
			if resp.Failed() != tc.failed {
				t.Fatalf("failed = %v, want %v: %+v", resp.Failed(), tc.failed, resp.Diagnostics)
			}
			golden(t, tc.name+".request.golden", fake.take())
			golden(t, tc.name+".response.golden", []byte(strings.ReplaceAll(string(pretty(t, resp)), fake.URL, "{base}")))
		})
	}
}

func fixed(s string) func(string) string { return func(string) string { return s } }

func TestOverGRPC(t *testing.T) {
	fake := fakeTeams(t)
	resp := providertest.Run(t, teams.New(), "list_channels", `{"team_id":"nope"}`,
		provider.Credentials{Type: "oauth2", AccessToken: token}, providertest.BaseURL(fake.URL), providertest.OverGRPC())
	d := resp.Diagnostics[0]
	if d.Status != 404 || d.Summary != "No team found with Group Id nope" || !strings.Contains(d.Detail, "code NotFound") {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	b, err := json.MarshalIndent(teams.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}
