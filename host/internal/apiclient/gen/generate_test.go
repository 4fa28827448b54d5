package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedClientIsCurrent regenerates the client into a temporary
// directory and fails when it differs from the committed one.
func TestGeneratedClientIsCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "client.gen.go")
	if err := run(filepath.Join("..", "..", "api", "openapi.yaml"), out, "apiclient"); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(filepath.Join("..", "client.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		hl, wl := strings.Split(string(have), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(hl) || i < len(wl); i++ {
			var h, w string
			if i < len(hl) {
				h = hl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if h != w {
				t.Fatalf("host/internal/apiclient/client.gen.go is stale (line %d: have %q, want %q): run go generate ./host/internal/apiclient", i+1, h, w)
			}
		}
	}
}

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{
		"api_key_id":      "APIKeyID",
		"authUrl":         "AuthURL",
		"keyId":           "KeyID",
		"createAPIKey":    "CreateAPIKey",
		"getOpenAPI":      "GetOpenAPI",
		"putOAuthApp":     "PutOAuthApp",
		"Idempotency-Key": "IdempotencyKey",
		"oauth2_cc":       "OAuth2CC",
		"duration_ms":     "DurationMS",
		"S256":            "S256",
		"display_name":    "DisplayName",
	} {
		if got := goName(in); got != want {
			t.Errorf("goName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGenerateRefusesWhatItCannotType(t *testing.T) {
	cases := map[string]string{
		"3.0 document": "openapi: 3.0.3\npaths: {}\n",
		"inline object": `openapi: 3.1.0
paths:
  /x:
    get:
      operationId: getX
      responses:
        "200":
          description: x
          content:
            application/json:
              schema: {type: object, properties: {a: {type: string}}}
`,
		"missing operationId": `openapi: 3.1.0
paths:
  /x:
    get:
      responses: {"204": {description: x}}
`,
		"undeclared path parameter": `openapi: 3.1.0
paths:
  /x/{id}:
    get:
      operationId: getX
      responses: {"204": {description: x}}
`,
		"dangling ref": `openapi: 3.1.0
paths:
  /x:
    get:
      operationId: getX
      responses:
        "200":
          description: x
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Nope"}
`,
	}
	for name, spec := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Generate([]byte(spec), "x"); err == nil {
				t.Fatal("generated code for a document it cannot type")
			}
		})
	}
}
