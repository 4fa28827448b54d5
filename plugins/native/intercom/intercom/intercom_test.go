package intercom_test

import (
	"testing"

	"github.com/atomhq/atom/plugins/native/intercom/intercom"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "dG9rOnZhbGlk", TokenType: "Bearer"}
	custom := provider.Credentials{Type: "custom", Fields: map[string]string{"accessToken": "custom-token", "region": "us"}}
	cases := []providertest.Case{
		{Name: "test_connection", Action: "test_connection", Input: `{}`, Creds: oauth},
		{Name: "test_connection_custom", Action: "test_connection", Input: `{}`, Creds: custom},
		{Name: "test_connection_bad_token", Action: "test_connection", Input: `{}`, Creds: provider.Credentials{Type: "oauth2", AccessToken: "revoked"}, Failed: true},
		{Name: "list_contacts_page1", Action: "list_contacts", Input: `{"per_page":2}`, Creds: oauth},
		{Name: "list_contacts_page2", Action: "list_contacts", Input: `{"per_page":2,"starting_after":"WzE3MDAwMDAwMDAsIjY1YSIs2"}`, Creds: oauth},
		{Name: "create_contact", Action: "create_contact", Input: `{"role":"lead","email":"new@acme.test","name":"New Lead","custom_attributes":{"plan":"pro"}}`, Creds: oauth},
		{Name: "create_contact_conflict", Action: "create_contact", Input: `{"role":"user","email":"user1@acme.test"}`, Creds: oauth, Failed: true},
		{Name: "add_note_to_contact", Action: "add_note_to_contact", Input: `{"contact_id":"65a1","body":"Asked for a demo"}`, Creds: oauth},
		{Name: "add_note_missing_contact", Action: "add_note_to_contact", Input: `{"contact_id":"65a9","body":"x","admin_id":"991267"}`, Creds: oauth, Failed: true},
		{Name: "list_tags", Action: "list_tags", Input: `{}`, Creds: custom},
		{Name: "get_conversation", Action: "get_conversation", Input: `{"conversation_id":"147","display_as":"plaintext"}`, Creds: oauth},
		{Name: "reply_to_conversation", Action: "reply_to_conversation", Input: `{"conversation_id":"147","body":"We are on it","admin_id":"991267"}`, Creds: oauth},
		{Name: "reply_as_note_default_admin", Action: "reply_to_conversation", Input: `{"conversation_id":"147","body":"internal","message_type":"note"}`, Creds: oauth},
	}
	providertest.RunCases(t, providertest.Suite{
		New:  func() provider.Provider { return intercom.New() },
		Fake: func(t testing.TB) *providertest.Recorder { return newFakeIntercom(t).Recorder },
		Dir:  "../testdata",
		GRPC: true,
	}, cases)
}

func TestRegionBaseURL(t *testing.T) {
	for _, tc := range []struct {
		creds provider.Credentials
		want  string
	}{
		{provider.Credentials{}, "https://api.intercom.io"},
		{provider.Credentials{Params: map[string]string{"region": "eu"}}, "https://api.eu.intercom.io"},
		{provider.Credentials{Params: map[string]string{"region": "AU"}}, "https://api.au.intercom.io"},
		{provider.Credentials{Fields: map[string]string{"region": "eu"}}, "https://api.eu.intercom.io"},
		{provider.Credentials{Params: map[string]string{"region": "evil.example"}}, "https://api.intercom.io"},
	} {
		if got := intercom.RegionBaseURL(tc.creds); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.creds, got, tc.want)
		}
	}
}

func TestErrorListBecomesDiagnostic(t *testing.T) {
	fake := newFakeIntercom(t)
	resp := providertest.Run(t, intercom.New(), "create_contact", `{"role":"user","email":"user1@acme.test"}`,
		provider.Credentials{Type: "oauth2", AccessToken: "dG9rOnZhbGlk"}, providertest.BaseURL(fake.URL))
	d := resp.Diagnostics[0]
	if d.Status != 409 || d.Summary != "A contact matching those details already exists with id=65a1" || d.Detail != "POST /contacts returned HTTP 409; code conflict" {
		t.Fatalf("diagnostic %+v", d)
	}
}

func TestManifest(t *testing.T) {
	providertest.GoldenJSON(t, "../testdata/manifest.golden.json", intercom.New().Manifest())
}

func TestRefreshAfter401(t *testing.T) {
	fake := newFakeIntercom(t)
	resp := providertest.RunRefreshing(t, intercom.New(), "list_tags", nil,
		provider.Credentials{Type: "oauth2", AccessToken: "expired"},
		provider.Credentials{Type: "oauth2", AccessToken: "dG9rOnZhbGlk"},
		providertest.BaseURL(fake.URL), providertest.OverGRPC())
	var out map[string]any
	providertest.Output(t, resp, &out)
}
