package fakeprovider_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dghubble/oauth1"

	"github.com/atomhq/atom/host/internal/fakeprovider"
)

// recorder remembers the last request a client sent.
type recorder struct{ last *http.Request }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.last = req.Clone(req.Context())
	return http.DefaultTransport.RoundTrip(req)
}

func getJSON(t *testing.T, c *http.Client, req *http.Request) (int, map[string]string, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]string
	json.Unmarshal(b, &m)
	return resp.StatusCode, m, string(b)
}

// TestOAuth1FlowWithIndependentClient runs Trello's three-legged flow with
// an OAuth 1.0a client library written independently of the fake.
func TestOAuth1FlowWithIndependentClient(t *testing.T) {
	for _, consent := range []bool{false, true} {
		s := fakeprovider.New(t, fakeprovider.Quirks{Consent: consent})
		cfg := oauth1.Config{
			ConsumerKey:    s.ClientID,
			ConsumerSecret: s.ClientSecret,
			CallbackURL:    callback,
			Endpoint: oauth1.Endpoint{
				RequestTokenURL: s.URL + "/oauth1/request_token",
				AuthorizeURL:    s.URL + "/oauth1/authorize",
				AccessTokenURL:  s.URL + "/oauth1/access_token",
			},
		}
		reqToken, reqSecret, err := cfg.RequestToken()
		if err != nil {
			t.Fatalf("request token: %v", err)
		}
		authURL, _ := cfg.AuthorizationURL(reqToken)
		q := authURL.Query()
		q.Set("name", "Atom")
		q.Set("scope", "read,write")
		q.Set("expiration", "never")
		authURL.RawQuery = q.Encode()
		var loc *url.URL
		if consent {
			resp, err := noRedirect.Get(authURL.String())
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			id := between(string(page), `name="request" value="`, `"`)
			resp, err = noRedirect.PostForm(s.URL+"/oauth1/authorize", url.Values{"request": {id}, "decision": {"approve"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, _ = url.Parse(resp.Header.Get("Location"))
		} else {
			loc = authorize(t, authURL.String())
		}
		if loc.Query().Get("oauth_token") != reqToken || loc.Query().Get("oauth_verifier") == "" {
			t.Fatalf("callback %s", loc)
		}
		if a := s.Authorizations(); a[0].Params["expiration"][0] != "never" || len(a[0].Scopes) != 2 {
			t.Fatalf("authorization = %+v", a[0])
		}
		if _, _, err := cfg.AccessToken(reqToken, reqSecret, "wrong"); err == nil {
			t.Fatal("wrong verifier accepted")
		}
		accTok, accSecret, err := cfg.AccessToken(reqToken, reqSecret, loc.Query().Get("oauth_verifier"))
		if err != nil {
			t.Fatalf("access token: %v", err)
		}
		if _, _, err := cfg.AccessToken(reqToken, reqSecret, loc.Query().Get("oauth_verifier")); err == nil {
			t.Fatal("request token used twice")
		}

		rec := &recorder{}
		ctx := context.WithValue(context.Background(), oauth1.HTTPClient, &http.Client{Transport: rec})
		client := cfg.Client(ctx, oauth1.NewToken(accTok, accSecret))
		req, _ := http.NewRequest("GET", s.URL+"/api/me?fields=all", nil)
		if st, body, raw := getJSON(t, client, req); st != 200 || body["token_kind"] != "oauth1" {
			t.Fatalf("signed /api/me: %d %s", st, raw)
		}

		// The same signed request again is a replay.
		if st, _, raw := getJSON(t, http.DefaultClient, rec.last); st != 401 || raw != "nonce already used" {
			t.Fatalf("replay: %d %s", st, raw)
		}
		// A changed parameter breaks the signature.
		tampered := rec.last.Clone(context.Background())
		tampered.URL.RawQuery = "fields=none"
		if st, _, raw := getJSON(t, http.DefaultClient, tampered); st != 401 || raw != "invalid signature" {
			t.Fatalf("tampered: %d %s", st, raw)
		}
		// A wrong token secret breaks it too.
		bad := cfg.Client(context.Background(), oauth1.NewToken(accTok, "not-the-secret"))
		if st, _, raw := getJSON(t, bad, req); st != 401 || raw != "invalid signature" {
			t.Fatalf("wrong secret: %d %s", st, raw)
		}

		// Trello also takes the consumer key and token as query parameters.
		trello, _ := http.NewRequest("GET", s.URL+"/api/me?key="+url.QueryEscape(s.ClientID)+"&token="+url.QueryEscape(accTok), nil)
		if st, body, raw := getJSON(t, http.DefaultClient, trello); st != 200 || body["token_kind"] != "oauth1" {
			t.Fatalf("key+token: %d %s", st, raw)
		}
		s.RevokeAll()
		if st, _, _ := getJSON(t, http.DefaultClient, trello); st != 401 {
			t.Fatalf("revoked key+token: %d", st)
		}
		if st, _, _ := getJSON(t, client, req); st != 401 {
			t.Fatalf("revoked signed call: %d", st)
		}
	}
}

func TestOAuth1RequestTokenNeedsConsumerSignature(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Quirks{})
	cfg := oauth1.Config{
		ConsumerKey: s.ClientID, ConsumerSecret: "wrong", CallbackURL: callback,
		Endpoint: oauth1.Endpoint{RequestTokenURL: s.URL + "/oauth1/request_token"},
	}
	if _, _, err := cfg.RequestToken(); err == nil {
		t.Fatal("request token with a wrong consumer secret")
	}
	cfg.ConsumerKey, cfg.ConsumerSecret = "other", s.ClientSecret
	if _, _, err := cfg.RequestToken(); err == nil {
		t.Fatal("request token with an unknown consumer key")
	}
}

func between(s, start, end string) string {
	_, rest, _ := strings.Cut(s, start)
	v, _, _ := strings.Cut(rest, end)
	return v
}
