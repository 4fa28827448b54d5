package provider_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

type greetIn struct {
	Name string `json:"name"`
}

func testProvider() *provider.Builder {
	return provider.New(provider.Manifest{ID: "demo", Name: "Demo", Version: "1.0.0"}).
		HTTP(provider.HTTPOptions{APIKey: provider.APIKeyHeader("X-Api-Key", "")}).
		Action(provider.ActionDef{
			Name: "greet",
			Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in greetIn) (any, error) {
				if in.Name == "" {
					return nil, provider.UserError("name", "is required")
				}
				c.Log(provider.LevelInfo, "greeting "+in.Name)
				return map[string]string{"greeting": "hello " + in.Name}, nil
			}),
		}).
		Action(provider.ActionDef{
			Name: "me",
			Handle: func(ctx context.Context, c *provider.Call) (any, error) {
				var out map[string]any
				err := c.HTTP().GetJSON(ctx, "/me", nil, &out)
				return out, err
			},
		}).
		Action(provider.ActionDef{
			Name: "store",
			Handle: func(ctx context.Context, c *provider.Call) (any, error) {
				if err := c.Host().StorePut(ctx, "k", []byte("v1")); err != nil {
					return nil, err
				}
				v, ok, err := c.Host().StoreGet(ctx, "k")
				return map[string]any{"value": string(v), "found": ok}, err
			},
		}).
		Action(provider.ActionDef{
			Name:   "panic",
			Handle: func(context.Context, *provider.Call) (any, error) { panic("boom") },
		})
}

// fakeAPI answers /me: 401 for any token but "fresh", the provider's
// Stripe-like error body for key "bad".
func fakeAPI(t *testing.T, hits *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Header.Get("Authorization") == "Bearer fresh" || r.Header.Get("X-Api-Key") == "good":
			_ = json.NewEncoder(w).Encode(map[string]string{"id": "u1"})
		case r.Header.Get("X-Api-Key") == "bad":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":{"type":"rate_limit_error","message":"Too many requests","param":"limit"}}`))
		default:
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"token expired"}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestBuilder(t *testing.T) {
	for _, transport := range []string{"direct", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			var opts []providertest.Option
			if transport == "grpc" {
				opts = append(opts, providertest.Using(providertest.Serve(t, testProvider())))
			}
			p := testProvider()
			run := func(action string, in any, creds provider.Credentials, extra ...providertest.Option) provider.Response {
				return providertest.Run(t, p, action, in, creds, append(append([]providertest.Option{}, opts...), extra...)...)
			}

			t.Run("typed input", func(t *testing.T) {
				host := providertest.NewHost()
				resp := run("greet", greetIn{Name: "ada"}, provider.Credentials{}, providertest.WithHost(host))
				var out map[string]string
				providertest.Output(t, resp, &out)
				if out["greeting"] != "hello ada" {
					t.Fatalf("output %v", out)
				}
				if logs := host.Logs(); len(logs) != 1 || logs[0].Message != "greeting ada" {
					t.Fatalf("logs %v", logs)
				}
			})
			t.Run("user error", func(t *testing.T) {
				resp := run("greet", `{}`, provider.Credentials{})
				if !resp.Failed() || resp.Diagnostics[0].Field != "name" || resp.Diagnostics[0].Summary != "is required" {
					t.Fatalf("diagnostics %+v", resp.Diagnostics)
				}
			})
			t.Run("bad input type", func(t *testing.T) {
				resp := run("greet", `{"name":5}`, provider.Credentials{})
				if !resp.Failed() || resp.Diagnostics[0].Field != "name" {
					t.Fatalf("diagnostics %+v", resp.Diagnostics)
				}
			})
			t.Run("unknown action", func(t *testing.T) {
				resp := run("nope", nil, provider.Credentials{})
				if !resp.Failed() || !strings.Contains(resp.Diagnostics[0].Summary, "unknown action") {
					t.Fatalf("diagnostics %+v", resp.Diagnostics)
				}
			})
			t.Run("panic", func(t *testing.T) {
				resp := run("panic", nil, provider.Credentials{})
				if !resp.Failed() || resp.Diagnostics[0].Detail != "boom" {
					t.Fatalf("diagnostics %+v", resp.Diagnostics)
				}
			})
			t.Run("store", func(t *testing.T) {
				host := providertest.NewHost()
				resp := run("store", nil, provider.Credentials{}, providertest.WithHost(host))
				var out map[string]any
				providertest.Output(t, resp, &out)
				if out["value"] != "v1" || out["found"] != true {
					t.Fatalf("output %v", out)
				}
			})
			t.Run("refresh after 401", func(t *testing.T) {
				var hits atomic.Int32
				srv := fakeAPI(t, &hits)
				host := providertest.NewHost()
				host.RefreshCredentials = provider.Credentials{Type: "oauth2", AccessToken: "fresh"}
				resp := run("me", nil, provider.Credentials{Type: "oauth2", AccessToken: "stale"},
					providertest.WithHost(host), providertest.BaseURL(srv.URL))
				var out map[string]string
				providertest.Output(t, resp, &out)
				if out["id"] != "u1" || host.Refreshes() != 1 || hits.Load() != 2 {
					t.Fatalf("output %v refreshes %d hits %d", out, host.Refreshes(), hits.Load())
				}
			})
			t.Run("refresh fails", func(t *testing.T) {
				var hits atomic.Int32
				srv := fakeAPI(t, &hits)
				host := providertest.NewHost()
				resp := run("me", nil, provider.Credentials{Type: "oauth2", AccessToken: "stale"},
					providertest.WithHost(host), providertest.BaseURL(srv.URL))
				if !resp.Failed() || resp.Diagnostics[0].Status != 401 || resp.Diagnostics[0].Summary != "token expired" {
					t.Fatalf("diagnostics %+v", resp.Diagnostics)
				}
				if host.Refreshes() != 1 || hits.Load() != 1 {
					t.Fatalf("refreshes %d hits %d", host.Refreshes(), hits.Load())
				}
			})
			t.Run("api key header and error shape", func(t *testing.T) {
				var hits atomic.Int32
				srv := fakeAPI(t, &hits)
				resp := run("me", nil, provider.Credentials{Type: "api_key", APIKey: "good"}, providertest.BaseURL(srv.URL))
				if resp.Failed() {
					t.Fatalf("diagnostics %+v", resp.Diagnostics)
				}
				resp = run("me", nil, provider.Credentials{Type: "api_key", APIKey: "bad"}, providertest.BaseURL(srv.URL))
				d := resp.Diagnostics[0]
				if d.Status != 429 || d.Summary != "Too many requests" || d.Field != "limit" || !strings.Contains(d.Detail, "retry after 7s") {
					t.Fatalf("diagnostic %+v", d)
				}
			})
		})
	}
}

func TestCredentialsStayOnOrigin(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Store(true)
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer other.Close()
	ctx := provider.WithRequest(context.Background(), provider.Request{
		BaseURL:     "https://api.example.invalid",
		Credentials: provider.Credentials{Type: "oauth2", AccessToken: "secret"},
	})
	if err := provider.Client(ctx, provider.HTTPOptions{}).GetJSON(ctx, other.URL+"/x", nil, nil); err != nil {
		t.Fatal(err)
	}
	if leaked.Load() {
		t.Fatal("credentials sent to a host other than the base URL's")
	}
}

func TestURL(t *testing.T) {
	ctx := provider.WithRequest(context.Background(), provider.Request{BaseURL: "https://api.example.com/v2"})
	c := provider.Client(ctx, provider.HTTPOptions{BaseURL: "https://ignored.example.com"})
	for _, tc := range []struct{ path, want string }{
		{"/users", "https://api.example.com/v2/users"},
		{"users?x=1", "https://api.example.com/v2/users?x=1"},
		{"https://other.example.com/a", "https://other.example.com/a"},
	} {
		got, err := c.URL(tc.path, nil)
		if err != nil || got != tc.want {
			t.Errorf("URL(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
}
