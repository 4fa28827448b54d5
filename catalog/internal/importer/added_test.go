package importer

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestAddedMatchesImport keeps Added in step with Import's handling of
// the "add" list: both must render the same bytes for the same entry.
func TestAddedMatchesImport(t *testing.T) {
	entries := []string{
		`{"id":"widgets","name":"Widgets","categories":["crm"],"auth":{"kind":"api_key","credential_fields":["apiKey"],"api_key_in":"header","api_key_name":"X-Api-Key"},"api":{"base_url":"https://api.widgets.example.com"},"implementations":[],"connectable":false,"not_connectable_reason":"computed by the importer"}`,
		`{"id":"gadgets","name":"Gadgets","categories":["other"],"auth":{"kind":"oauth2","authorization_url":"https://gadgets.example.com/oauth/authorize","token_url":"https://gadgets.example.com/oauth/token"},"api":{"base_url":"https://api.gadgets.example.com"},"implementations":[],"connectable":false,"not_connectable_reason":"computed by the importer"}`,
		`{"id":"nobase","name":"No Base","categories":["other"],"auth":{"kind":"basic","credential_fields":["username","password"]},"api":{},"implementations":[],"connectable":false,"not_connectable_reason":"computed by the importer"}`,
	}
	for _, e := range entries {
		ov, _ := json.Marshal(map[string]any{"add": []json.RawMessage{json.RawMessage(e)}})
		res, err := Import([]byte(`[]`), ov)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Marshal(res.Descriptors[0])
		if err != nil {
			t.Fatal(err)
		}
		d, err := Added("entry", []byte(e))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Added renders\n%s\nImport renders\n%s", got, want)
		}
	}
	if _, err := Added("entry", []byte(`{"id":"Bad Id"}`)); err == nil {
		t.Fatal("a broken entry was accepted")
	}
}
