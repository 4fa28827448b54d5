package trello_test

import (
	"encoding/json"
	"testing"

	"github.com/atomhq/atom/plugins/native/trello/trello"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	basic := provider.Credentials{Type: "basic", Username: appKey, Password: userToken}
	oauth1 := provider.Credentials{Type: "oauth1", AccessToken: userToken, TokenSecret: "s3cret", Metadata: map[string]string{"consumer_key": appKey}}
	custom := provider.Credentials{Type: "custom", Fields: map[string]string{"key": appKey, "token": userToken}}
	cases := []struct {
		name, action, input string
		creds               provider.Credentials
		failed              bool
	}{
		{"test_connection", "test_connection", `{}`, basic, false},
		{"test_connection_oauth1", "test_connection", `{}`, oauth1, false},
		{"test_connection_custom", "test_connection", `{}`, custom, false},
		{"test_connection_bad_token", "test_connection", `{}`, provider.Credentials{Type: "basic", Username: appKey, Password: "ATTArevoked"}, true},
		{"test_connection_no_key", "test_connection", `{}`, provider.Credentials{Type: "oauth1", AccessToken: userToken}, true},
		{"list_boards", "list_boards", `{"filter":"open"}`, basic, false},
		{"list_lists", "list_lists", `{"board_id":"board1"}`, basic, false},
		{"list_lists_bad_board", "list_lists", `{"board_id":"nope"}`, basic, true},
		{"list_board_actions_page1", "list_board_actions", `{"board_id":"board1","limit":2,"filter":"commentCard"}`, basic, false},
		{"list_board_actions_page2", "list_board_actions", `{"board_id":"board1","limit":2,"filter":"commentCard","before":"act4"}`, basic, false},
		{"list_board_actions_last_page", "list_board_actions", `{"board_id":"board1","limit":2,"filter":"commentCard","before":"act2"}`, basic, false},
		{"get_card", "get_card", `{"card_id":"card1"}`, oauth1, false},
		{"get_card_missing", "get_card", `{"card_id":"card9"}`, oauth1, true},
		{"create_card", "create_card", `{"list_id":"list1","name":"Ship it","desc":"Release v2","pos":"top","label_ids":["lab1","lab2"]}`, basic, false},
		{"create_card_bad_list", "create_card", `{"list_id":"list9","name":"x"}`, basic, true},
		{"update_card", "update_card", `{"card_id":"card1","list_id":"list2","closed":true}`, basic, false},
		{"add_comment", "add_comment", `{"card_id":"card1","text":"Reviewed & approved"}`, basic, false},
	}
	for _, transport := range []string{"direct", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			var via []providertest.Option
			if transport == "grpc" {
				via = append(via, providertest.Using(providertest.Serve(t, trello.New())))
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fake := newFakeTrello(t)
					opts := append([]providertest.Option{providertest.BaseURL(fake.URL)}, via...)
					resp := providertest.Run(t, trello.New(), tc.action, tc.input, tc.creds, opts...)
					if resp.Failed() != tc.failed {
						t.Fatalf("failed = %v, want %v: %+v", resp.Failed(), tc.failed, resp.Diagnostics)
					}
					golden(t, tc.name+".request.golden", []byte(fake.take()))
					golden(t, tc.name+".response.golden", pretty(t, resp))
				})
			}
		})
	}
}

func TestPlainTextErrorAndNoRefresh(t *testing.T) {
	fake := newFakeTrello(t)
	host := providertest.NewHost()
	resp := providertest.Run(t, trello.New(), "get_card", `{"card_id":"card1"}`,
		provider.Credentials{Type: "basic", Username: appKey, Password: "ATTAold"},
		providertest.BaseURL(fake.URL), providertest.WithHost(host))
	d := resp.Diagnostics[0]
	if d.Summary != "invalid token" || d.Status != 401 || host.Refreshes() != 0 {
		t.Fatalf("diagnostic %+v refreshes %d", d, host.Refreshes())
	}
}

func TestManifest(t *testing.T) {
	b, err := json.MarshalIndent(trello.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}
