package catalog_test

import (
	"encoding/json"
	"testing"

	"github.com/atomhq/atom/catalog"
)

// FuzzDecodeDescriptor feeds arbitrary JSON and YAML to the descriptor
// decoder: it never panics, and whatever it accepts survives a round trip
// through JSON unchanged in id and auth kind.
func FuzzDecodeDescriptor(f *testing.F) {
	seeds := []string{
		`{"id":"acme","name":"Acme","categories":["development"],"auth":{"kind":"api_key","credential_fields":["apiKey"],"api_key_in":"header","api_key_name":"X-Key"},"api":{"base_url":"https://api.acme.test"},"implementations":["generic"],"connectable":true}`,
		`{"id":"o","name":"O","categories":["crm"],"auth":{"kind":"oauth2","authorization_url":"https://o.test/a","token_url":"https://o.test/t","pkce":true},"api":{"base_url":"https://{{connection.shop}}.o.test"},"implementations":["generic"],"connectable":true}`,
		`{"id":"x","auth":{"kind":"nope"}}`, `{"id":1}`, `{}`, `[]`, `null`, `{"id":"a","extra":true}`,
		`{"id":"a","name":"A","categories":[],"auth":{"kind":"none"},"api":{"base_url":"javascript:alert(1)"},"implementations":["generic"]}`,
	}
	for _, s := range seeds {
		f.Add("d.json", []byte(s))
	}
	f.Add("d.yaml", []byte("id: y\nname: Y\ncategories: [development]\nauth: {kind: basic}\napi: {base_url: 'https://y.test'}\nimplementations: [generic]\n"))
	f.Add("d.yml", []byte("id: [unclosed"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		d, err := catalog.DecodeDescriptor(name, data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("re-encode accepted descriptor: %v", err)
		}
		again, err := catalog.DecodeDescriptor("again.json", b)
		if err != nil {
			t.Fatalf("accepted descriptor does not decode again: %v\n%s", err, b)
		}
		if again.ID != d.ID || again.Auth.Kind != d.Auth.Kind {
			t.Fatalf("round trip changed %q/%q to %q/%q", d.ID, d.Auth.Kind, again.ID, again.Auth.Kind)
		}
	})
}
