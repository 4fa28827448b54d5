package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
)

// TestExternalPluginOverREST builds a provider the way a third party
// would — its own module outside this repository, importing only the SDK
// through a replace directive, with a main that is one call — hot-loads it
// into a running host and runs it over REST with a tenant's connection.
func TestExternalPluginOverREST(t *testing.T) {
	var seen string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Get("Authorization")
		if r.URL.Path != "/v1/me" || seen != "Bearer hello-key-123" {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"message": "bad key"})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"name": "Ada"})
	}))
	defer upstream.Close()

	files := map[string]string{
		"hello/hello.go": `// Package hello greets the connected account's user.
package hello

import (
	"context"

	"github.com/atomhq/atom/sdk/provider"
)

// New returns the provider.
func New() *provider.Builder {
	return provider.New(provider.Manifest{ID: "hello", Name: "Hello", Version: "0.1.0"}).
		HTTP(provider.HTTPOptions{APIKey: provider.APIKeyHeader("Authorization", "Bearer ")}).
		Action(provider.ActionDef{
			Name:  "greet",
			Input: []byte(` + "`" + `{"type":"object","properties":{"greeting":{"type":"string"}},"additionalProperties":false}` + "`" + `),
			Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in struct{ Greeting string }) (any, error) {
				var me struct{ Name string }
				if err := c.HTTP().GetJSON(ctx, "/v1/me", nil, &me); err != nil {
					return nil, err
				}
				return map[string]string{"text": in.Greeting + ", " + me.Name}, nil
			}),
		})
}
`,
		"main.go": `package main

import (
	"example.com/hello/hello"
	"github.com/atomhq/atom/sdk/provider"
)

func main() { provider.Serve(hello.New()) }
`,
	}
	bin := filepath.Join(t.TempDir(), "atom-provider-hello")
	testbin.BuildModule(t, "example.com/hello", files, bin)

	h := startHost(t, hosttest.Options{Catalog: map[string]string{"hello.json": `{"id":"hello","name":"Hello","categories":["other"],
		"auth":{"kind":"api_key","credential_fields":["apiKey"]},"api":{"base_url":"` + upstream.URL + `"},
		"implementations":["generic"],"connectable":true}`}})
	if st := h.Call("POST", "/api/v1/connections/hello", h.Tenant.Key, map[string]any{"api_key": "hello-key-123"}, nil).Status; st != 201 {
		t.Fatalf("connect: %d", st)
	}
	// Hot-load: the file lands while the host runs.
	landed := time.Now()
	testbin.Install(t, bin, h.Plugins, "atom-provider-hello", 0o755)
	var out struct {
		Output struct{ Text string } `json:"output"`
	}
	hosttest.WaitFor(t, 10*time.Second, "the hello plugin to serve", func() bool {
		r := h.Exec(h.Tenant, "hello", "greet", map[string]any{"greeting": "Hi"}, nil)
		if r.Status != 200 {
			return false
		}
		r.JSON(t, &out)
		return true
	})
	t.Logf("external plugin served %v after its file landed", time.Since(landed).Round(time.Millisecond))
	if out.Output.Text != "Hi, Ada" || seen != "Bearer hello-key-123" {
		t.Fatalf("output %q, upstream saw %q", out.Output.Text, seen)
	}
	var acts struct{ Implementation string }
	h.Must(h.Call("GET", "/api/v1/integrations/hello/actions", h.Tenant.Key, nil, nil), 200, &acts)
	if acts.Implementation != "native" {
		t.Fatalf("implementation %q, want native", acts.Implementation)
	}
}
