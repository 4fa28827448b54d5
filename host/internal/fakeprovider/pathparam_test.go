package fakeprovider_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/dghubble/oauth1"
	"golang.org/x/oauth2"

	"github.com/atomhq/atom/host/internal/fakeprovider"
)

// TestPathParam serves a connection parameter (a Shopify shop) in the path
// prefix, as a descriptor's templated URLs would use it.
func TestPathParam(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{PathParams: []string{"shop1", "shop2"}})
	prefix := s.URL + "/p/shop1"
	cfg := &oauth2.Config{
		ClientID: s.ClientID, ClientSecret: s.ClientSecret, RedirectURL: callback,
		Endpoint: oauth2.Endpoint{AuthURL: prefix + "/oauth/authorize", TokenURL: prefix + "/oauth/token"},
	}
	loc := authorize(t, cfg.AuthCodeURL("x"))
	tok, err := cfg.Exchange(context.Background(), loc.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", s.URL+"/p/shop2/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if st, _, raw := getJSON(t, http.DefaultClient, req); st != 200 {
		t.Fatalf("/api/me: %d %s", st, raw)
	}
	if a := s.Authorizations()[0]; a.PathParam != "shop1" {
		t.Fatalf("authorization param %q", a.PathParam)
	}
	if tr := s.TokenRequests()[0]; tr.PathParam != "shop1" {
		t.Fatalf("token request param %q", tr.PathParam)
	}
	if ar := s.APIRequests()[0]; ar.PathParam != "shop2" || ar.Path != "/api/me" {
		t.Fatalf("api request %+v", ar)
	}
	resp, err := http.Get(s.URL + "/p/unknown/api/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("unknown shop: %d", resp.StatusCode)
	}

	// OAuth 1.0a signatures cover the prefixed path the client used.
	o1 := oauth1.Config{
		ConsumerKey: s.ClientID, ConsumerSecret: s.ClientSecret, CallbackURL: callback,
		Endpoint: oauth1.Endpoint{RequestTokenURL: prefix + "/oauth1/request_token"},
	}
	if _, _, err := o1.RequestToken(); err != nil {
		t.Fatalf("signed request under a prefix: %v", err)
	}
}
