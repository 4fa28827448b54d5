package importer

import (
	"strings"
	"testing"

	"github.com/atomhq/atom/catalog"
)

// nullAuth is a raw auth record with every key the data file always has.
const nullAuth = `"source":"nango","authorization_url":null,"token_url":null,"refresh_url":null,"scopes_default":null,
"scope_separator":null,"pkce":null,"token_auth":null,"token_body":null,"authorization_params":null,"token_params":null,
"refresh_params":null,"response_token_path":null,"token_metadata":null,"connection_params":null`

const sample = `[
{"id":"keyed","name":"Keyed","categories":["ai"],"source_categories":{"nango":["popular"],"activepieces":null},
 "auth":{"kind":"api_key","source_mode":"API_KEY",` + nullAuth + `,"credential_fields":["apiKey"]},
 "auth_alternatives":[],"api":{"base_url":"https://api.keyed.test","headers":{"authorization":"Token token={{credentials.apiKey}}"}},
 "docs_url":"https://docs.keyed.test","sources":{"nango":"keyed","activepieces":null},"actions":[],"triggers":[]},
{"id":"meta","name":"Meta","categories":["crm"],"source_categories":{"nango":["crm"],"activepieces":null},
 "auth":{"kind":"oauth2","source_mode":"OAUTH2","authorization_url":"https://{{connection.host}}/auth","token_url":"https://x.test/token",
   "refresh_url":null,"scopes_default":["a","b"],"scope_separator":",","pkce":true,"token_auth":"basic","token_body":"json",
   "authorization_params":{"n":1,"b":false},"token_params":null,"refresh_params":null,"response_token_path":"user",
   "token_metadata":["api_domain"],"connection_params":["host","api_domain"],"source":"nango"},
 "auth_alternatives":[],"api":{"base_url":"{{connection.api_domain}}/v1","headers":null},"docs_url":null,
 "sources":{"nango":"meta","activepieces":null},"actions":[],"triggers":[]},
{"id":"weird","name":"Weird","categories":["other"],"source_categories":{"nango":["other"],"activepieces":null},
 "auth":{"kind":"other","source_mode":"APP",` + nullAuth + `},"auth_alternatives":[],
 "api":{"base_url":"https://w.test","headers":null},"docs_url":null,"sources":{"nango":"weird","activepieces":null},"actions":[],"triggers":[]},
{"id":"signed","name":"Signed","categories":["other"],"source_categories":{"nango":null,"activepieces":null},
 "auth":{"kind":"basic","source_mode":"BASIC",` + nullAuth + `},"auth_alternatives":[],
 "api":{"base_url":"https://s.test","headers":{"x-date":"{{now:YYYY}}"}},"docs_url":null,"sources":{"nango":"signed","activepieces":null},"actions":[],"triggers":[]}
]`

func TestImportMapping(t *testing.T) {
	res, err := Import([]byte(sample), []byte(`{"entries":{"keyed":{"why":"test","add_categories":["development"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]*catalog.Descriptor{}
	for _, d := range res.Descriptors {
		by[d.ID] = d
	}
	k := by["keyed"]
	if k.Auth.APIKeyIn != "header" || k.Auth.APIKeyName != "Authorization" || k.Auth.APIKeyPrefix != "Token token=" {
		t.Errorf("api key placement = %q %q %q", k.Auth.APIKeyIn, k.Auth.APIKeyName, k.Auth.APIKeyPrefix)
	}
	if k.API.Headers["authorization"] == "" || !k.Popular || strings.Join(k.Categories, ",") != "development,ai" {
		t.Errorf("keyed = %+v", k)
	}
	m := by["meta"]
	if m.API.BaseURL != "{{metadata.api_domain}}/v1" || strings.Join(m.Auth.ConnectionParams, ",") != "host" {
		t.Errorf("metadata not separated: base %q params %v", m.API.BaseURL, m.Auth.ConnectionParams)
	}
	if m.Auth.AuthorizationParams["n"] != "1" || m.Auth.AuthorizationParams["b"] != "false" || m.Auth.TokenPath != "user" {
		t.Errorf("params = %v, token path %q", m.Auth.AuthorizationParams, m.Auth.TokenPath)
	}
	if !m.Connectable || m.Implementations[0] != catalog.ImplGeneric {
		t.Errorf("meta not connectable: %s", m.NotConnectableReason)
	}
	w := by["weird"]
	if w.Auth.Kind != catalog.AuthCustom || w.Connectable || !strings.Contains(w.NotConnectableReason, "APP") || len(w.Implementations) != 0 {
		t.Errorf("weird = %+v", w)
	}
	s := by["signed"]
	if s.Connectable || !strings.Contains(s.NotConnectableReason, "now") {
		t.Errorf("signed = %+v", s)
	}
	if res.Connectable != 2 || res.NotConnectable != 2 {
		t.Errorf("counts %d/%d", res.Connectable, res.NotConnectable)
	}
}

func TestImportRefusesStaleOverride(t *testing.T) {
	_, err := Import([]byte(sample), []byte(`{"entries":{"gone":{"why":"test","add_categories":["ai"]}}}`))
	if err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("err = %v, want an error naming the unknown id", err)
	}
	_, err = Import([]byte(sample), []byte(`{"entries":{"keyed":{"why":"test","auth":{"kind_typo":"x"}}}}`))
	if err == nil {
		t.Error("override with an unknown auth field accepted")
	}
}

// TestImportDeclaresTenantChosenHosts: a variable that picks the host of
// a secret-bearing URL without allowed values is declared; one limited
// to allowed values is not.
func TestImportDeclaresTenantChosenHosts(t *testing.T) {
	for _, tc := range []struct{ override, want string }{
		{`{"token_url":"https://{{connection.host}}/token"}`, "connection.host"},
		// One label under a domain the descriptor names is fixed by it.
		{`{"token_url":"https://{{connection.host}}.example.com/token"}`, ""},
		{`{"token_url":"https://{{connection.host}}.myshopify.com/admin/oauth/access_token"}`, ""},
		{`{"refresh_url":"https://{{metadata.prefix}}.retail.example.app/token"}`, ""},
		{`{"token_url":"https://{{connection.host}}.com/token"}`, "connection.host"},
		{`{"token_url":"https://{{connection.host}}.co.uk/token"}`, "connection.host"},
		{`{"token_url":"https://{{connection.host}}-login.example.com/token"}`, "connection.host"},
		{`{"token_url":"https://{{connection.host}}.{{connection.region}}.example.com/token"}`, "connection.host"},
		{`{"token_url":"https://{{connection.host}}.example.com/token","refresh_url":"https://{{connection.host}}/refresh"}`, "connection.host"},
		{`{"token_url":"https://{{connection.host}}.example.com:{{connection.port}}/token"}`, "connection.port"},
		{`{"token_url":"https://{{connection.host}}/token","connection_param_options":{"host":["a.test","b.test"]}}`, ""},
		{`{"refresh_url":"{{metadata.api_domain}}/refresh"}`, "metadata.api_domain"},
		{`{"refresh_url":"{{metadata.api_domain}}/refresh","metadata_options":{"api_domain":["https://a.test"]}}`, ""},
		{`{}`, ""},
	} {
		res, err := Import([]byte(sample), []byte(`{"entries":{"meta":{"why":"test","auth":`+tc.override+`}}}`))
		if err != nil {
			t.Fatalf("%s: %v", tc.override, err)
		}
		for _, d := range res.Descriptors {
			if got := strings.Join(d.Auth.TenantChosenHosts, ","); d.ID == "meta" && got != tc.want {
				t.Errorf("%s: tenant_chosen_hosts %q, want %q", tc.override, got, tc.want)
			}
			if p := catalog.SecretHostProblems(d); len(p) > 0 {
				t.Errorf("%s: %v", tc.override, p)
			}
		}
	}
}
