package provider_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestTokenHeaderFollowsRefresh(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization")+"|"+r.Header.Get("X-Token"))
		if r.Header.Get("X-Token") != "new" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	h := providertest.NewHost()
	h.RefreshCredentials = provider.Credentials{Type: "oauth2", AccessToken: "new"}
	p := provider.New(provider.Manifest{ID: "x"}).
		HTTP(provider.HTTPOptions{Client: provider.TokenHeader("X-Token", "", nil)}).
		Action(provider.ActionDef{Name: "a", Handle: func(ctx context.Context, c *provider.Call) (any, error) {
			return nil, c.HTTP().GetJSON(ctx, "/", nil, nil)
		}})
	resp := providertest.Run(t, p, "a", nil, provider.Credentials{Type: "oauth2", AccessToken: "old"},
		providertest.BaseURL(srv.URL), providertest.WithHost(h))
	if resp.Failed() || len(seen) != 2 || seen[0] != "|old" || seen[1] != "|new" {
		t.Fatalf("failed %v, seen %q", resp.Diagnostics, seen)
	}
}

func ExampleTokenHeader() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("Authorization=%q X-Shopify-Access-Token=%q\n", r.Header.Get("Authorization"), r.Header.Get("X-Shopify-Access-Token"))
	}))
	defer srv.Close()
	ctx := provider.WithRequest(context.Background(), provider.Request{
		BaseURL: srv.URL, Credentials: provider.Credentials{Type: "oauth2", AccessToken: "shpat_1"},
	})
	c := provider.Client(ctx, provider.HTTPOptions{Client: provider.TokenHeader("X-Shopify-Access-Token", "", nil)})
	_ = c.GetJSON(ctx, "/admin/api/2024-07/shop.json", nil, nil)
	// Output: Authorization="" X-Shopify-Access-Token="shpat_1"
}
