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
	providertest.WriteJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]string{"date": "2024-05-06T10:00:00", "request-id": "c3d4"}}})
}

// fakeTeams serves the Graph Teams endpoints the provider uses, with
// $top paging through absolute @odata.nextLink URLs carrying $skiptoken,
// 201 Created for posted messages and Graph's error body.
func fakeTeams(t testing.TB) *providertest.Recorder {
	msgs := []map[string]any{{"id": "1715000000003", "body": map[string]string{"contentType": "text", "content": "third"}},
		{"id": "1715000000002", "body": map[string]string{"contentType": "text", "content": "second"}},
		{"id": "1715000000001", "body": map[string]string{"contentType": "text", "content": "first"}}}
	var rec *providertest.Recorder
	rec = providertest.NewRecorder(t, []string{"Authorization", "Content-Type"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			graphError(w, 401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
			return
		}
		q := r.URL.Query()
		p := r.URL.Path
		chPath := "/v1.0/teams/" + teamID + "/channels/" + channelID + "/messages"
		switch {
		case r.Method == "GET" && p == "/v1.0/me":
			providertest.WriteJSON(w, 200, map[string]any{"id": "48d31887", "displayName": "Megan Bowen"})
		case r.Method == "GET" && p == "/v1.0/me/joinedTeams":
			providertest.WriteJSON(w, 200, map[string]any{"@odata.count": 1, "value": []map[string]any{{"id": teamID, "displayName": "Contoso Team", "isArchived": false}}})
		case r.Method == "GET" && p == "/v1.0/teams/"+teamID+"/channels":
			providertest.WriteJSON(w, 200, map[string]any{"value": []map[string]any{{"id": channelID, "displayName": "General", "membershipType": "standard"}}})
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
			providertest.WriteJSON(w, 200, out)
		case r.Method == "POST" && (p == chPath || p == chPath+"/1715000000001/replies" || p == "/v1.0/chats/19:meeting_abc@thread.v2/messages"):
			var m map[string]any
			if json.Unmarshal(body, &m) != nil || m["body"] == nil {
				graphError(w, 400, "BadRequest", "Missing body content")
				return
			}
			m["id"] = "1715000000009"
			m["createdDateTime"] = "2024-05-06T10:00:00Z"
			providertest.WriteJSON(w, 201, m)
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
	providertest.RunCases(t, providertest.Suite{
		New:         func() provider.Provider { return teams.New() },
		Fake:        fakeTeams,
		Dir:         "../testdata",
		Placeholder: "{base}",
	}, []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: creds},
		{Name: "test_connection_expired", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "old"}, Failed: true},
		{Name: "list_joined_teams", Action: "list_joined_teams", Input: `{}`, Creds: creds},
		{Name: "list_channels", Action: "list_channels", Input: `{"team_id":"` + teamID + `","membership_type":"standard"}`, Creds: creds},
		{Name: "list_channels_unknown_team", Action: "list_channels", Input: `{"team_id":"nope"}`, Creds: creds, Failed: true},
		{Name: "list_channel_messages_page1", Action: "list_channel_messages", Input: `{` + ch + `,"top":2}`, Creds: creds},
		{Name: "list_channel_messages_page2", Action: "list_channel_messages", Input: `{` + ch + `,"cursor":"{base}/v1.0/teams/` + teamID + `/channels/` + channelID + `/messages?$top=2&$skiptoken=2"}`, Creds: creds},
		{Name: "list_channel_messages_bad_top", Action: "list_channel_messages", Input: `{` + ch + `,"cursor":"{base}/v1.0/teams/` + teamID + `/channels/` + channelID + `/messages?$top=99"}`, Creds: creds, Failed: true},
		{Name: "send_channel_message", Action: "send_channel_message", Input: `{` + ch + `,"subject":"Release","content":"<b>v2</b> is out","html":true}`, Creds: creds},
		{Name: "send_channel_reply", Action: "send_channel_message", Input: `{` + ch + `,"reply_to_id":"1715000000001","content":"thanks"}`, Creds: creds},
		{Name: "send_channel_reply_subject", Action: "send_channel_message", Input: `{` + ch + `,"reply_to_id":"1715000000001","subject":"x","content":"thanks"}`, Creds: creds, Failed: true},
		{Name: "send_chat_message", Action: "send_chat_message", Input: `{"chat_id":"19:meeting_abc@thread.v2","content":"hello"}`, Creds: creds},
	})
}

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
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", teams.New().Manifest())
}
