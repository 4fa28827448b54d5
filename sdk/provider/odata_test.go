package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

// odataServer serves /v1.0/items in pages of two with $skiptoken links.
func odataServer() *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1.0/items" || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		page := map[string]any{"value": []string{"a", "b"}, "@odata.nextLink": srv.URL + "/v1.0/items?$top=2&$skiptoken=p2"}
		if r.URL.Query().Get("$skiptoken") == "p2" {
			page = map[string]any{"value": []string{"c"}}
		} else if r.URL.Query().Get("$top") != "2" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(page)
	}))
	return srv
}

func TestGetODataPage(t *testing.T) {
	srv := odataServer()
	defer srv.Close()
	ctx := provider.WithRequest(context.Background(), provider.Request{BaseURL: srv.URL,
		Credentials: provider.Credentials{Type: "oauth2", AccessToken: "tok"}})
	c := provider.Client(ctx, provider.HTTPOptions{})
	p1, err := c.GetODataPage(ctx, "/v1.0/items", map[string][]string{"$top": {"2"}}, "cursor", "")
	if err != nil || len(p1.Value) != 2 || p1.NextLink == "" {
		t.Fatalf("page 1: %+v %v", p1, err)
	}
	p2, err := c.GetODataPage(ctx, "/v1.0/items", nil, "cursor", p1.NextLink)
	if err != nil || len(p2.Value) != 1 || p2.NextLink != "" {
		t.Fatalf("page 2: %+v %v", p2, err)
	}
	if _, err := c.GetODataPage(ctx, "/v1.0/items", nil, "cursor", srv.URL+"/beta/items"); err == nil || provider.Diagnostics(err)[0].Field != "cursor" {
		t.Fatalf("foreign prefix accepted: %v", err)
	}
}

func ExampleHTTPClient_GetODataPage() {
	srv := odataServer()
	defer srv.Close()
	ctx := provider.WithRequest(context.Background(), provider.Request{BaseURL: srv.URL,
		Credentials: provider.Credentials{Type: "oauth2", AccessToken: "tok"}})
	c := provider.Client(ctx, provider.HTTPOptions{})
	next := ""
	for {
		page, err := c.GetODataPage(ctx, "/v1.0/items", map[string][]string{"$top": {"2"}}, "cursor", next)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, v := range page.Value {
			fmt.Print(string(v), " ")
		}
		if next = page.NextLink; next == "" {
			break
		}
	}
	fmt.Println()
	// Output: "a" "b" "c"
}
