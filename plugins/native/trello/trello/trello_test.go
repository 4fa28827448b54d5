package trello_test

import (
	"testing"

	"github.com/atomhq/atom/plugins/native/trello/trello"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	basic := provider.Credentials{Type: "basic", Username: appKey, Password: userToken}
	oauth1 := provider.Credentials{Type: "oauth1", AccessToken: userToken, TokenSecret: "s3cret", Metadata: map[string]string{"consumer_key": appKey}}
	custom := provider.Credentials{Type: "custom", Fields: map[string]string{"key": appKey, "token": userToken}}
	cases := []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: basic},
		{Name: "test_connection_oauth1", Action: "test_connection", Input: `{}`, Creds: oauth1},
		{Name: "test_connection_custom", Action: "test_connection", Input: `{}`, Creds: custom},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "basic", Username: appKey, Password: "ATTArevoked"}, Failed: true},
		{Name: "test_connection_no_key", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth1", AccessToken: userToken}, Failed: true},
		{Name: "list_boards", Action: "list_boards", Input: `{"filter":"open"}`, Creds: basic},
		{Name: "list_lists", Action: "list_lists", Input: `{"board_id":"board1"}`, Creds: basic},
		{Name: "list_lists_bad_board", Action: "list_lists", Input: `{"board_id":"nope"}`, Creds: basic, Failed: true},
		{Name: "list_board_actions_page1", Action: "list_board_actions", Input: `{"board_id":"board1","limit":2,"filter":"commentCard"}`, Creds: basic},
		{Name: "list_board_actions_page2", Action: "list_board_actions", Input: `{"board_id":"board1","limit":2,"filter":"commentCard","before":"act4"}`, Creds: basic},
		{Name: "list_board_actions_last_page", Action: "list_board_actions", Input: `{"board_id":"board1","limit":2,"filter":"commentCard","before":"act2"}`, Creds: basic},
		{Name: "get_card", Action: "get_card", Input: `{"card_id":"card1"}`, Creds: oauth1},
		{Name: "get_card_missing", Action: "get_card", Input: `{"card_id":"card9"}`, Creds: oauth1, Failed: true},
		{Name: "create_card", Action: "create_card", Input: `{"list_id":"list1","name":"Ship it","desc":"Release v2","pos":"top","label_ids":["lab1","lab2"]}`, Creds: basic},
		{Name: "create_card_bad_list", Action: "create_card", Input: `{"list_id":"list9","name":"x"}`, Creds: basic, Failed: true},
		{Name: "update_card", Action: "update_card", Input: `{"card_id":"card1","list_id":"list2","closed":true}`, Creds: basic},
		{Name: "add_comment", Action: "add_comment", Input: `{"card_id":"card1","text":"Reviewed & approved"}`, Creds: basic},
	}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return trello.New() },
		Fake: func(t testing.TB) *providertest.Recorder { return newFakeTrello(t).Recorder },
		Dir:  "../testdata",
		GRPC: true,
	}, cases)
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
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", trello.New().Manifest())
}
