package demo_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"golang.org/x/oauth2"

	"github.com/atomhq/atom/host/internal/demo"
)

// TestMountedInFiber mounts the demo the way the server does, through
// Fiber's net/http adaptor, and connects through it.
func TestMountedInFiber(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	baseURL := "http://" + l.Addr().String()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.All("/demo/*", adaptor.HTTPHandler(demo.New(demo.Config{ClientID: "cid", ClientSecret: "cs", BaseURL: baseURL})))
	go app.Listener(l)
	t.Cleanup(func() { app.Shutdown() })

	cfg := &oauth2.Config{
		ClientID: "cid", ClientSecret: "cs", RedirectURL: baseURL + demo.CallbackPath, Scopes: []string{"profile"},
		Endpoint: oauth2.Endpoint{AuthURL: baseURL + "/demo/oauth/authorize", TokenURL: baseURL + "/demo/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	verifier := oauth2.GenerateVerifier()
	resp, err := noRedirect.Get(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, rest, _ := strings.Cut(string(page), `name="request" value="`)
	id, _, _ := strings.Cut(rest, `"`)
	resp, err = noRedirect.PostForm(baseURL+"/demo/oauth/authorize", url.Values{"request": {id}, "decision": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), baseURL+demo.CallbackPath+"?") {
		t.Fatalf("redirected to %q", resp.Header.Get("Location"))
	}
	tok, err := cfg.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	resp, err = cfg.Client(context.Background(), tok).Get(baseURL + "/demo/api/me")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"demo-user"`) {
		t.Fatalf("/demo/api/me: %d %s", resp.StatusCode, body)
	}
}
