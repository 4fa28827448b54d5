package demo_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/atomhq/atom/host/internal/demo"
)

// BenchmarkRefresh measures one rotating refresh over loopback HTTP.
func BenchmarkRefresh(b *testing.B) {
	srv := httptest.NewServer(demo.New(demo.Config{ClientID: "c", ClientSecret: "s", BaseURL: base}))
	defer srv.Close()
	c := srv.Client()
	// Connect once.
	verifier := oauth2.GenerateVerifier()
	q := url.Values{"client_id": {"c"}, "redirect_uri": {base + demo.CallbackPath}, "response_type": {"code"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	resp, err := noRedirect.Get(srv.URL + "/demo/oauth/authorize?" + q.Encode())
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, rest, _ := strings.Cut(string(page), `name="request" value="`)
	id, _, _ := strings.Cut(rest, `"`)
	resp, err = noRedirect.PostForm(srv.URL+"/demo/oauth/authorize", url.Values{"request": {id}, "decision": {"approve"}})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	token := func(v url.Values) string {
		v.Set("client_id", "c")
		v.Set("client_secret", "s")
		resp, err := c.PostForm(srv.URL+"/demo/oauth/token", v)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var tok struct {
			RefreshToken string `json:"refresh_token"`
		}
		json.NewDecoder(resp.Body).Decode(&tok)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("token: %d", resp.StatusCode)
		}
		return tok.RefreshToken
	}
	rt := token(url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {base + demo.CallbackPath}, "code_verifier": {verifier}})
	b.ResetTimer()
	for b.Loop() {
		rt = token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	}
}
