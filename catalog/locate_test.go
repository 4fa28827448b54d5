package catalog

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckFileNamesFieldAndLine(t *testing.T) {
	const okJSON = `{
  "id": "acme",
  "name": "Acme",
  "categories": ["crm"],
  "auth": {
    "kind": "api_key",
    "credential_fields": ["apiKey"],
    "api_key_in": "header",
    "api_key_name": "X-Api-Key"
  },
  "api": {"base_url": "https://api.acme.test"},
  "implementations": ["generic"],
  "connectable": true
}
`
	if d, err := CheckFile("acme.json", []byte(okJSON)); err != nil || d.ID != "acme" {
		t.Fatalf("valid descriptor: %v", err)
	}
	cases := []struct {
		name, file, body string
		field            string
		line             int
	}{
		{"bad enum json", "a.json", strings.Replace(okJSON, `"api_key_in": "header"`, `"api_key_in": "cookie"`, 1), "auth.api_key_in", 8},
		{"unknown field json", "a.json", strings.Replace(okJSON, `"name": "Acme",`, `"name": "Acme", "colour": "red",`, 1), "colour", 3},
		{"wrong type json", "a.json", strings.Replace(okJSON, `["crm"]`, `"crm"`, 1), "categories", 4},
		{"bad array item json", "a.json", strings.Replace(okJSON, `["crm"]`, `["crm", "toys"]`, 1), "categories", 4},
		{"missing base_url json", "a.json", strings.Replace(okJSON, `"base_url": "https://api.acme.test"`, `"headers": {}`, 1), "api", 11},
		{"bad enum yaml", "a.yaml", "id: acme\nname: Acme\ncategories: [crm]\nauth:\n  kind: api_key\n  credential_fields: [apiKey]\n  api_key_in: cookie\n  api_key_name: X\napi:\n  base_url: https://api.acme.test\nimplementations: [generic]\nconnectable: true\n", "auth.api_key_in", 7},
		{"bad kind yaml", "a.yml", "id: acme\nname: Acme\ncategories:\n  - crm\nauth:\n  kind: magic\napi:\n  base_url: https://api.acme.test\nconnectable: true\n", "auth.kind", 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := CheckFile(c.file, []byte(c.body))
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a *FieldError, got %v", err)
			}
			if !strings.HasPrefix(fe.Field, c.field) || fe.Line != c.line {
				t.Fatalf("got field %q line %d (%v), want field %q line %d", fe.Field, fe.Line, err, c.field, c.line)
			}
			if !strings.HasPrefix(err.Error(), c.file+":") {
				t.Fatalf("error %q does not start with the file and line", err)
			}
		})
	}
}

func TestFieldLine(t *testing.T) {
	doc := "{\n \"a\": {\n  \"b\": [\n   1,\n   {\"c\": 2}\n  ]\n },\n \"d\": 3\n}"
	for field, want := range map[string]int{"a": 2, "a.b": 3, "a.b[0]": 4, "a.b.1.c": 5, "d": 8, "a.zz": 2, "zz": 0, "": 1} {
		if got := FieldLine("x.json", []byte(doc), field); got != want {
			t.Errorf("FieldLine(%q) = %d, want %d", field, got, want)
		}
	}
	if got := FieldLine("x.json", []byte("{not json"), "a"); got != 0 {
		t.Errorf("unparsable: %d", got)
	}
}
