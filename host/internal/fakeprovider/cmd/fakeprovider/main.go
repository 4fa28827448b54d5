// Command fakeprovider serves a fake OAuth and API provider (package
// fakeprovider) on an address, for tests in which several processes share
// one provider. It prints the base URL on the first line of standard output
// and serves until interrupted.
//
//	fakeprovider -addr 127.0.0.1:0 -client-id id -client-secret secret -rotate-refresh
//	fakeprovider -apps   # the provider APIs of the first-party triggers
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/atomhq/atom/host/internal/fakeprovider"
)

func main() {
	var q fakeprovider.Quirks
	var metadata string
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	apps := flag.Bool("apps", false, "serve the provider APIs of the first-party triggers (fakeprovider.Apps; settings on GET /_fake/config) instead")
	flag.StringVar(&q.ClientID, "client-id", "", "registered client id (random when empty)")
	flag.StringVar(&q.ClientSecret, "client-secret", "", "registered client secret (random when empty)")
	flag.StringVar(&q.RedirectURI, "redirect-uri", "", "registered redirect URI (any when empty)")
	flag.BoolVar(&q.RequirePKCE, "pkce", false, "require PKCE S256")
	flag.BoolVar(&q.Consent, "consent", false, "show a consent page instead of approving at once")
	flag.StringVar(&q.ScopeSeparator, "scope-separator", "", "scope separator (space when empty)")
	flag.StringVar(&q.TokenAuth, "token-auth", "", `client authentication at the token endpoint: "basic", "body" or "" for either`)
	flag.BoolVar(&q.RequestJSON, "request-json", false, "token endpoint accepts JSON bodies only")
	flag.BoolVar(&q.ResponseForm, "response-form", false, "form-encoded token responses")
	flag.StringVar(&q.NestedPath, "nested-path", "", `object holding the user token, e.g. "authed_user"`)
	flag.StringVar(&metadata, "metadata", "", "extra token-response fields, k=v,k=v")
	flag.IntVar(&q.ExpiresIn, "expires-in", 0, "access-token lifetime in seconds (3600 when 0)")
	flag.BoolVar(&q.NoExpiresIn, "no-expires-in", false, "omit expires_in")
	flag.BoolVar(&q.NoRefreshToken, "no-refresh-token", false, "issue no refresh tokens")
	flag.BoolVar(&q.RotateRefresh, "rotate-refresh", false, "rotate refresh tokens on every refresh")
	flag.BoolVar(&q.OmitRefreshOnRefresh, "omit-refresh-on-refresh", false, "leave refresh_token out of refresh responses")
	flag.DurationVar(&q.SlowToken, "slow-token", 0, "delay of every token response")
	flag.BoolVar(&q.ErrorsWithOK, "errors-with-ok", false, "token errors with HTTP 200")
	flag.StringVar(&q.APIKey, "api-key", "", "API key accepted by /api/key-check (random when empty)")
	flag.StringVar(&q.APIKeyHeader, "api-key-header", "", "header carrying the API key (Authorization: Bearer when empty)")
	flag.StringVar(&q.APIKeyQuery, "api-key-query", "", "query parameter also accepted for the API key")
	flag.Parse()
	if metadata != "" {
		q.Metadata = map[string]string{}
		for _, kv := range strings.Split(metadata, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				fmt.Fprintf(os.Stderr, "fakeprovider: bad -metadata entry %q\n", kv)
				os.Exit(2)
			}
			q.Metadata[k] = v
		}
	}
	if *apps {
		a, err := fakeprovider.ListenApps(*addr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "fakeprovider: %v\n", err)
			os.Exit(1)
		}
		fmt.Println(a.URL)
		waitSignal(a.Close)
		return
	}
	s, err := fakeprovider.Listen(*addr, q)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fakeprovider: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(s.URL)
	waitSignal(s.Close)
}

// waitSignal waits for SIGINT or SIGTERM, then closes the server, giving
// it five seconds.
func waitSignal(closeFn func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	done := make(chan struct{})
	go func() { closeFn(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}
