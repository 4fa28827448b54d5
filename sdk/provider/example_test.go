package provider_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/atomhq/atom/sdk/provider"
)

// A complete plugin: main is one call to Serve. (Not run: Serve only works
// when the host starts the binary.)
func ExampleServe() {
	p := provider.New(provider.Manifest{ID: "hello", Name: "Hello", Version: "1.0.0"}).
		Action(provider.ActionDef{
			Name: "hello",
			Handle: func(ctx context.Context, c *provider.Call) (any, error) {
				return map[string]string{"greeting": "hello"}, nil
			},
		})
	provider.Serve(p)
}

func ExampleServeConfig() {
	cfg := provider.ServeConfig(provider.New(provider.Manifest{ID: "hello"}))
	fmt.Println(cfg.MagicCookieKey, len(cfg.VersionedPlugins[1]))
	// Output: ATOM_PLUGIN 1
}

func ExampleNew() {
	type in struct {
		Name string `json:"name"`
	}
	p := provider.New(provider.Manifest{ID: "hello", Name: "Hello", Version: "1.0.0"}).
		Action(provider.ActionDef{
			Name:  "greet",
			Input: []byte(`{"type":"object","properties":{"name":{"type":"string"}}}`),
			Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in in) (any, error) {
				if in.Name == "" {
					return nil, provider.UserError("name", "is required")
				}
				return map[string]string{"greeting": "hello " + in.Name}, nil
			}),
		})
	resp, _ := p.Execute(context.Background(), provider.Request{Action: "greet", Input: []byte(`{"name":"Ada"}`)})
	fmt.Println(string(resp.Output))
	resp, _ = p.Execute(context.Background(), provider.Request{Action: "greet", Input: []byte(`{}`)})
	fmt.Println(resp.Failed(), resp.Diagnostics[0].Field, resp.Diagnostics[0].Summary)
	fmt.Println(p.Manifest().Actions[0].Name)
	// Output:
	// {"greeting":"hello Ada"}
	// true name is required
	// greet
}

func ExampleTyped() {
	h := provider.Typed(func(ctx context.Context, c *provider.Call, in struct{ N int }) (any, error) {
		return in.N * 2, nil
	})
	p := provider.New(provider.Manifest{ID: "math"}).Action(provider.ActionDef{Name: "double", Handle: h})
	resp, _ := p.Execute(context.Background(), provider.Request{Action: "double", Input: []byte(`{"N":21}`)})
	fmt.Println(string(resp.Output))
	resp, _ = p.Execute(context.Background(), provider.Request{Action: "double", Input: []byte(`{"N":"x"}`)})
	fmt.Println(resp.Diagnostics[0].Field, resp.Diagnostics[0].Summary)
	// Output:
	// 42
	// N must be of type int
}

func ExampleCall_Warn() {
	p := provider.New(provider.Manifest{ID: "demo"}).Action(provider.ActionDef{
		Name: "old",
		Handle: func(ctx context.Context, c *provider.Call) (any, error) {
			c.Warn("this action is deprecated")
			return true, nil
		},
	})
	resp, _ := p.Execute(context.Background(), provider.Request{Action: "old"})
	fmt.Println(string(resp.Output), resp.Failed(), resp.Diagnostics[0].Severity)
	// Output: true false warning
}

func ExampleUserError() {
	err := provider.UserError("email", "must contain @")
	fmt.Println(err)
	fmt.Printf("%+v\n", provider.Diagnostics(err)[0])
	// Output:
	// email: must contain @
	// {Severity:error Summary:must contain @ Detail: Field:email Status:0}
}

func ExampleErrorf() {
	fmt.Println(provider.Diagnostics(provider.Errorf("board %s is archived", "b1"))[0].Summary)
	// Output: board b1 is archived
}

func ExampleDiagnose() {
	err := provider.Diagnose(
		provider.Diagnostic{Severity: provider.SeverityError, Summary: "start is after end", Field: "start"},
		provider.Diagnostic{Severity: provider.SeverityError, Summary: "end is in the past", Field: "end"},
	)
	fmt.Println(err)
	// Output: start: start is after end; end: end is in the past
}

func ExampleDiagnostics() {
	fmt.Println(provider.Diagnostics(errors.New("plain failure"))[0].Summary)
	// Output: plain failure
}

func ExampleRequestFrom() {
	ctx := provider.WithRequest(context.Background(), provider.Request{
		TenantID:    "t1",
		Credentials: provider.Credentials{Type: "api_key", APIKey: "k"},
	})
	req, _ := provider.RequestFrom(ctx)
	creds, _ := provider.CredentialsFrom(ctx)
	fmt.Println(req.TenantID, creds.Type)
	// Output: t1 api_key
}

type demoHost struct{}

func (demoHost) Refresh(context.Context) (provider.Credentials, error) {
	return provider.Credentials{Type: "oauth2", AccessToken: "new"}, nil
}
func (demoHost) StoreGet(context.Context, string) ([]byte, bool, error) { return nil, false, nil }
func (demoHost) StorePut(context.Context, string, []byte) error         { return nil }
func (demoHost) Log(_ context.Context, level, msg string)               { fmt.Println(level, msg) }

func ExampleRefresh() {
	ctx := provider.WithRequest(context.Background(), provider.Request{
		Credentials: provider.Credentials{Type: "oauth2", AccessToken: "old"},
	})
	ctx = provider.WithHost(ctx, demoHost{})
	_, _ = provider.Refresh(ctx)
	creds, _ := provider.CredentialsFrom(ctx)
	fmt.Println(creds.AccessToken)
	// Output: new
}

func ExampleHostFrom() {
	provider.HostFrom(provider.WithHost(context.Background(), demoHost{})).Log(context.Background(), provider.LevelInfo, "hi")
	_, err := provider.HostFrom(context.Background()).Refresh(context.Background())
	fmt.Println(err)
	// Output:
	// info hi
	// provider: no host in context
}

func ExampleClient() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"path":%q,"key":%q,"q":%q}`, r.URL.Path, r.Header.Get("X-Api-Key"), r.URL.RawQuery)
	}))
	defer srv.Close()
	ctx := provider.WithRequest(context.Background(), provider.Request{
		BaseURL:     srv.URL + "/v1",
		Credentials: provider.Credentials{Type: "api_key", APIKey: "secret"},
	})
	c := provider.Client(ctx, provider.HTTPOptions{APIKey: provider.APIKeyHeader("X-Api-Key", "")})
	var out map[string]string
	if err := c.GetJSON(ctx, "/items", url.Values{"page": {"2"}}, &out); err != nil {
		fmt.Println(err)
	}
	fmt.Println(out["path"], out["key"], out["q"])
	// Output: /v1/items secret page=2
}

func ExampleAPIKeyQuery() {
	ctx := provider.WithRequest(context.Background(), provider.Request{
		BaseURL:     "https://api.example.com",
		Credentials: provider.Credentials{Type: "api_key", APIKey: "k1"},
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"key":%q}`, r.URL.Query().Get("key"))
	}))
	defer srv.Close()
	ctx = provider.WithRequest(ctx, provider.Request{BaseURL: srv.URL, Credentials: provider.Credentials{Type: "api_key", APIKey: "k1"}})
	var out map[string]string
	_ = provider.Client(ctx, provider.HTTPOptions{APIKey: provider.APIKeyQuery("key")}).GetJSON(ctx, "/", nil, &out)
	fmt.Println(out["key"])
	// Output: k1
}

func ExampleHTTPClient_PostForm() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		fmt.Fprintf(w, `{"email":%q,"idem":%q}`, r.PostForm.Get("email"), r.Header.Get("Idempotency-Key"))
	}))
	defer srv.Close()
	ctx := provider.WithRequest(context.Background(), provider.Request{BaseURL: srv.URL})
	var out map[string]string
	_ = provider.Client(ctx, provider.HTTPOptions{}).WithHeader("Idempotency-Key", "k1").
		PostForm(ctx, "/v1/customers", url.Values{"email": {"a@example.com"}}, &out)
	fmt.Println(out["email"], out["idem"])
	// Output: a@example.com k1
}

func ExampleHTTPClient_PostJSON() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"errors":[{"message":"title is too long"}]}`)
	}))
	defer srv.Close()
	ctx := provider.WithRequest(context.Background(), provider.Request{BaseURL: srv.URL})
	err := provider.Client(ctx, provider.HTTPOptions{}).PostJSON(ctx, "/issues", map[string]string{"title": "x"}, nil)
	var he *provider.HTTPError
	if errors.As(err, &he) {
		fmt.Println(he.Status, he.Message)
		fmt.Println(he.Diagnostic().Summary)
	}
	// Output:
	// 422 title is too long
	// title is too long
}

func ExampleHTTPClient_Do() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer fresh" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	ctx := provider.WithHost(provider.WithRequest(context.Background(), provider.Request{
		BaseURL:     srv.URL,
		Credentials: provider.Credentials{Type: "oauth2", AccessToken: "stale"},
	}), refreshingHost{})
	c := provider.Client(ctx, provider.HTTPOptions{})
	u, _ := c.URL("/ping", nil)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := c.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output: 200
}

type refreshingHost struct{ demoHost }

func (refreshingHost) Refresh(context.Context) (provider.Credentials, error) {
	return provider.Credentials{Type: "oauth2", AccessToken: "fresh"}, nil
}

func ExampleHTTPClient_Send() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"method":%q,"type":%q}`, r.Method, r.Header.Get("Content-Type"))
	}))
	defer srv.Close()
	ctx := provider.WithRequest(context.Background(), provider.Request{BaseURL: srv.URL})
	var out map[string]string
	_ = provider.Client(ctx, provider.HTTPOptions{}).Send(ctx, http.MethodPatch, "/x", nil, "application/json", []byte(`{}`), &out)
	fmt.Println(out["method"], out["type"])
	// Output: PATCH application/json
}

func ExampleResponse_Failed() {
	r := provider.Response{Diagnostics: []provider.Diagnostic{{Severity: provider.SeverityWarning, Summary: "slow"}}}
	fmt.Println(r.Failed())
	// Output: false
}
