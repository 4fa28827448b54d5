package provider_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

func TestLinkHeader(t *testing.T) {
	h := http.Header{}
	h.Add("Link", `<https://api.example.com/items?page=2&a=1,2>; rel="next", <https://api.example.com/items?page=9>; rel="last"`)
	h.Add("Link", `<https://api.example.com/items?page=1>; rel="first prev"; title="a, b"`)
	links := provider.LinkHeader(h)
	want := map[string]string{
		"next":  "https://api.example.com/items?page=2&a=1,2",
		"last":  "https://api.example.com/items?page=9",
		"first": "https://api.example.com/items?page=1",
		"prev":  "https://api.example.com/items?page=1",
	}
	if len(links) != len(want) {
		t.Fatalf("links %v", links)
	}
	for k, v := range want {
		if links[k] != v {
			t.Errorf("%s = %q, want %q", k, links[k], v)
		}
	}
	if q := provider.NextPageQuery(h); q.Get("page") != "2" {
		t.Fatalf("next query %v", q)
	}
	if q := provider.NextPageQuery(http.Header{"Link": {`<x>; rel="prev"`}}); q != nil {
		t.Fatalf("no next page, got %v", q)
	}
}

func TestExchangeReturnsHeadersAndErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "41")
		if r.URL.Path == "/missing" {
			w.WriteHeader(404)
			fmt.Fprint(w, `{"message":"Not Found"}`)
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer srv.Close()
	ctx := provider.WithRequest(context.Background(), provider.Request{BaseURL: srv.URL})
	c := provider.Client(ctx, provider.HTTPOptions{})
	var out struct{ OK bool }
	h, err := c.Exchange(ctx, http.MethodGet, "/ok", nil, "", nil, &out)
	if err != nil || !out.OK || h.Get("X-RateLimit-Remaining") != "41" {
		t.Fatalf("out %+v header %v err %v", out, h, err)
	}
	h, err = c.Exchange(ctx, http.MethodGet, "/missing", nil, "", nil, nil)
	he, ok := err.(*provider.HTTPError)
	if !ok || he.Status != 404 || he.Message != "Not Found" || h.Get("X-RateLimit-Remaining") != "41" {
		t.Fatalf("err %v header %v", err, h)
	}
}

// Link-header pagination: the next page's "page" parameter becomes the
// cursor handed back to the caller.
func ExampleNextPageQuery() {
	h := http.Header{"Link": {`<https://api.github.com/user/repos?page=3&per_page=2>; rel="next", <https://api.github.com/user/repos?page=7&per_page=2>; rel="last"`}}
	fmt.Println(provider.NextPageQuery(h).Get("page"))
	fmt.Println(provider.LinkHeader(h)["last"])
	// Output:
	// 3
	// https://api.github.com/user/repos?page=7&per_page=2
}
