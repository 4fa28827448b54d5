package intercom_test

import (
	"encoding/json"
	"testing"

	"github.com/atomhq/atom/plugins/native/intercom/intercom"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestActions(t *testing.T) {
	oauth := provider.Credentials{Type: "oauth2", AccessToken: "dG9rOnZhbGlk", TokenType: "Bearer"}
	custom := provider.Credentials{Type: "custom", Fields: map[string]string{"accessToken": "custom-token", "region": "us"}}
	cases := []struct {
		name, action, input string
		creds               provider.Credentials
		failed              bool
	}{
		{"test_connection", "test_connection", `{}`, oauth, false},
		{"test_connection_custom", "test_connection", `{}`, custom, false},
		{"test_connection_bad_token", "test_connection", `{}`, provider.Credentials{Type: "oauth2", AccessToken: "revoked"}, true},
		{"list_contacts_page1", "list_contacts", `{"per_page":2}`, oauth, false},
		{"list_contacts_page2", "list_contacts", `{"per_page":2,"starting_after":"WzE3MDAwMDAwMDAsIjY1YSIs2"}`, oauth, false},
		{"create_contact", "create_contact", `{"role":"lead","email":"new@acme.test","name":"New Lead","custom_attributes":{"plan":"pro"}}`, oauth, false},
		{"create_contact_conflict", "create_contact", `{"role":"user","email":"user1@acme.test"}`, oauth, true},
		{"add_note_to_contact", "add_note_to_contact", `{"contact_id":"65a1","body":"Asked for a demo"}`, oauth, false},
		{"add_note_missing_contact", "add_note_to_contact", `{"contact_id":"65a9","body":"x","admin_id":"991267"}`, oauth, true},
		{"list_tags", "list_tags", `{}`, custom, false},
		{"get_conversation", "get_conversation", `{"conversation_id":"147","display_as":"plaintext"}`, oauth, false},
		{"reply_to_conversation", "reply_to_conversation", `{"conversation_id":"147","body":"We are on it","admin_id":"991267"}`, oauth, false},
		{"reply_as_note_default_admin", "reply_to_conversation", `{"conversation_id":"147","body":"internal","message_type":"note"}`, oauth, false},
	}
	for _, transport := range []string{"direct", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			var via []providertest.Option
			if transport == "grpc" {
				via = append(via, providertest.Using(providertest.Serve(t, intercom.New())))
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fake := newFakeIntercom(t)
					opts := append([]providertest.Option{providertest.BaseURL(fake.URL)}, via...)
					resp := providertest.Run(t, intercom.New(), tc.action, tc.input, tc.creds, opts...)
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
	b, err := json.MarshalIndent(intercom.New().Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "manifest.golden.json", append(b, '\n'))
}

func TestRefreshAfter401(t *testing.T) {
	fake := newFakeIntercom(t)
	host := providertest.NewHost()
	host.RefreshCredentials = provider.Credentials{Type: "oauth2", AccessToken: "dG9rOnZhbGlk"}
	resp := providertest.Run(t, intercom.New(), "list_tags", nil,
		provider.Credentials{Type: "oauth2", AccessToken: "expired"},
		providertest.BaseURL(fake.URL), providertest.WithHost(host), providertest.OverGRPC())
	var out map[string]any
	providertest.Output(t, resp, &out)
	if host.Refreshes() != 1 {
		t.Fatalf("refreshes %d", host.Refreshes())
	}
}
