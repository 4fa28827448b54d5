package fakeprovider_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/atomhq/atom/host/internal/fakeprovider"
)

func BenchmarkRefresh(b *testing.B) {
	s := fakeprovider.New(b, fakeprovider.Quirks{RotateRefresh: true})
	rt := s.IssueToken(time.Hour).RefreshToken
	c := s.Client()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(s.ClientID, s.ClientSecret)
		resp, err := c.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp.StatusCode)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		rt = s.CurrentRefreshToken()
	}
}

func BenchmarkAPIMe(b *testing.B) {
	s := fakeprovider.New(b, fakeprovider.Quirks{})
	at := s.IssueToken(time.Hour).AccessToken
	c := s.Client()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", s.URL+"/api/me", nil)
			req.Header.Set("Authorization", "Bearer "+at)
			resp, err := c.Do(req)
			if err != nil || resp.StatusCode != 200 {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// Example starts a fake provider outside a test and fetches a token with
// the client credentials grant.
func Example() {
	s := fakeprovider.Start(fakeprovider.Quirks{TokenAuth: "basic", ExpiresIn: 600})
	defer s.Close()
	cfg := clientcredentials.Config{ClientID: s.ClientID, ClientSecret: s.ClientSecret, TokenURL: s.Endpoint().TokenURL}
	tok, err := cfg.Token(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.TokenType, s.TokenRequests()[0].AuthStyle, s.TokenRequests()[0].GrantType)
	// Output: Bearer basic client_credentials
}
