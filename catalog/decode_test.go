package catalog_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/atomhq/atom/catalog"
)

func TestDecodeDescriptorStrict(t *testing.T) {
	cases := []struct {
		name, file, doc, field string
	}{
		{"unknown top-level field", "a.json", `{"id":"a","name":"A","categories":["crm"],"auth":{"kind":"none"},"api":{"base_url":"https://a"},"connectable":true,"colour":"red"}`, "colour"},
		{"unknown nested field", "b.yaml", "id: b\nname: B\ncategories: [crm]\nauth:\n  kind: api_key\n  api_key_inn: header\napi: {base_url: 'https://b'}\nconnectable: true\n", "auth.api_key_inn"},
		{"wrong type", "c.json", `{"id":"c","name":"C","categories":"crm","auth":{"kind":"none"},"api":{},"connectable":true}`, "categories"},
		{"bad kind", "d.json", `{"id":"d","name":"D","categories":["crm"],"auth":{"kind":"oauth3"},"api":{"base_url":"https://d"},"connectable":true}`, "auth.kind"},
		{"unknown category", "e.json", `{"id":"e","name":"E","categories":["crm","toys"],"auth":{"kind":"none"},"api":{"base_url":"https://e"},"connectable":true}`, "categories[1]"},
		{"oauth2 without token url", "f.json", `{"id":"f","name":"F","categories":["crm"],"auth":{"kind":"oauth2","authorization_url":"https://f/a"},"api":{"base_url":"https://f"},"connectable":true}`, "auth.token_url"},
		{"runtime expression", "g.json", `{"id":"g","name":"G","categories":["crm"],"auth":{"kind":"none"},"api":{"base_url":"https://g/{{now:YYYY}}"},"connectable":true}`, "api.base_url"},
		{"missing reason", "h.json", `{"id":"h","name":"H","categories":["crm"],"auth":{"kind":"none"},"api":{},"connectable":false}`, "not_connectable_reason"},
		{"bad id", "i.json", `{"id":"I D","name":"I","categories":["crm"],"auth":{"kind":"none"},"api":{"base_url":"https://i"},"connectable":true}`, "id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := catalog.DecodeDescriptor(tc.file, []byte(tc.doc))
			var fe *catalog.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *FieldError", err)
			}
			if fe.File != tc.file || fe.Field != tc.field {
				t.Errorf("error %q names file %q field %q; want %q %q", err, fe.File, fe.Field, tc.file, tc.field)
			}
			if !strings.Contains(err.Error(), tc.file) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("message %q lacks file or field", err)
			}
		})
	}
	d, err := catalog.DecodeDescriptor("ok.yml", []byte("id: ok\nname: OK\ncategories: [ai]\nauth: {kind: api_key, api_key_in: header, api_key_name: X-Key}\napi: {base_url: 'https://ok'}\nconnectable: true\n"))
	if err != nil || d.ID != "ok" || d.Auth.APIKeyName != "X-Key" {
		t.Fatalf("valid YAML: %+v, %v", d, err)
	}
}
