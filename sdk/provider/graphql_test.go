package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

func graphQLServer(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Query     string         `json:"query"`
			Variables map[string]any `json:"variables"`
		}
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &req) != nil {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"errors":[{"message":"bad request"}]}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch req.Query {
		case "{ viewer { id } }":
			if bytes.Contains(b, []byte(`"variables"`)) {
				fmt.Fprint(w, `{"errors":[{"message":"unexpected variables"}]}`)
				return
			}
			fmt.Fprint(w, `{"data":{"viewer":{"id":"u1"}}}`)
		case "query($id: ID!) { node(id: $id) { id } }":
			fmt.Fprintf(w, `{"data":{"node":null},"errors":[{"message":"Entity not found: %s","path":["node"],"extensions":{"code":"NOT_FOUND"}}]}`, req.Variables["id"])
		case "rate":
			w.WriteHeader(429)
			fmt.Fprint(w, `{"message":"slow down"}`)
		default:
			fmt.Fprint(w, `{"error_message":"odd shape","status_code":500}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGraphQL(t *testing.T) {
	srv := graphQLServer(t)
	ctx := provider.WithRequest(context.Background(), provider.Request{BaseURL: srv.URL})
	c := provider.Client(ctx, provider.HTTPOptions{})

	var out struct {
		Viewer struct{ ID string } `json:"viewer"`
	}
	if err := c.GraphQL(ctx, "/graphql", "{ viewer { id } }", nil, &out); err != nil || out.Viewer.ID != "u1" {
		t.Fatalf("out %+v err %v", out, err)
	}
	var noVars map[string]any
	if err := c.GraphQL(ctx, "/graphql", "{ viewer { id } }", noVars, &out); err != nil {
		t.Fatalf("a nil map must send no variables: %v", err)
	}

	err := c.GraphQL(ctx, "/graphql", "query($id: ID!) { node(id: $id) { id } }", map[string]any{"id": "x9"}, nil)
	var ge *provider.GraphQLError
	if !errors.As(err, &ge) || ge.Status != 200 || ge.Errors[0].Code() != "NOT_FOUND" {
		t.Fatalf("err %#v", err)
	}
	ds := provider.Diagnostics(err)
	if len(ds) != 1 || ds[0].Summary != "Entity not found: x9" || ds[0].Detail != "path node; code NOT_FOUND" || ds[0].Status != 200 {
		t.Fatalf("diagnostics %+v", ds)
	}

	var he *provider.HTTPError
	if err := c.GraphQL(ctx, "/graphql", "rate", nil, nil); !errors.As(err, &he) || he.Status != 429 || he.Message != "slow down" {
		t.Fatalf("err %v", err)
	}
	if err := c.GraphQL(ctx, "/graphql", "other", nil, nil); !errors.As(err, &he) || he.Status != 200 {
		t.Fatalf("a 200 without data must fail: %v", err)
	}
}

// A GraphQL call: errors[] returned with HTTP 200 become diagnostics.
func ExampleHTTPClient_GraphQL() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"data":null,"errors":[{"message":"Argument Validation Error","extensions":{"code":"INVALID_INPUT"}}]}`)
	}))
	defer srv.Close()
	ctx := provider.WithRequest(context.Background(), provider.Request{BaseURL: srv.URL})
	err := provider.Client(ctx, provider.HTTPOptions{}).GraphQL(ctx, "/graphql", `mutation { issueCreate(input: {}) { success } }`, nil, nil)
	d := provider.Diagnostics(err)[0]
	fmt.Println(d.Summary, "|", d.Detail, "|", d.Status)
	// Output: Argument Validation Error | code INVALID_INPUT | 200
}
