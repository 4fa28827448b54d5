package faults

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/store/sqlite"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// expireStates moves every stored state's expiry into the past, as the
// owner (the host itself never rewrites a state).
func (h *host) expireStates(t *testing.T) {
	t.Helper()
	past := time.Now().Add(-time.Minute)
	if h.Backend == "postgres" {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, h.PG.OwnerURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `UPDATE oauth_states SET expires_at = $1`, past); err != nil {
			t.Fatal(err)
		}
		return
	}
	db := h.App.Store.(*sqlite.Store).DB()
	if _, err := db.Exec(`UPDATE oauth_states SET expires_at = ?`, past.UnixMicro()); err != nil {
		t.Fatal(err)
	}
}

// TestAttackOAuth tampers with every part of the OAuth flow: forged,
// replayed, expired, cross-provider and cross-tenant states, redirect URI
// tampering and open-redirect attempts. Each is refused with a clear
// error and stores nothing.
func TestAttackOAuth(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			if backend == "postgres" {
				storetest.RequirePostgres(t)
			}
			h := startHost(t, hosttest.Options{Backend: backend})
			a, b := h.NewTenant("a"), h.NewTenant("b")
			notConnected := func(t *testing.T, tn hosttest.Tenant, providers ...string) {
				t.Helper()
				for _, p := range providers {
					var st struct {
						Connected bool `json:"connected"`
					}
					h.Must(h.Call("GET", "/api/integrations/"+p+"?action=status", tn.Key, nil, nil), 200, &st)
					if st.Connected {
						t.Fatalf("%s connected after a refused callback", p)
					}
				}
			}
			invalidState := func(t *testing.T, r hosttest.Response) {
				t.Helper()
				code, msg := r.ErrorCode()
				if r.Status != 400 || code != "invalid_state" || msg != "Invalid state" {
					t.Fatalf("want 400 invalid_state \"Invalid state\", got %d %s", r.Status, r.Body)
				}
			}
			tokensBefore := len(h.fake.TokenRequests())
			noExchange := func(t *testing.T) {
				t.Helper()
				if n := len(h.fake.TokenRequests()); n != tokensBefore {
					t.Fatalf("%d token exchanges happened for refused callbacks", n-tokensBefore)
				}
			}

			t.Run("forged state", func(t *testing.T) {
				invalidState(t, h.callback("fakeoauth", url.Values{"code": {"x"}, "state": {"forged-" + strings.Repeat("A", 40)}}))
				invalidState(t, h.callback("fakeoauth", url.Values{"code": {"x"}}))
				invalidState(t, h.callback("fakeoauth", url.Values{"code": {"x"}, "state": {strings.Repeat("s", 5000)}}))
				noExchange(t)
				notConnected(t, a, "fakeoauth")
			})
			t.Run("forged state without JSON redirects to the page with the code", func(t *testing.T) {
				r := h.Call("GET", "/api/integrations/fakeoauth/callback?state=forged&code=x", "", nil, nil)
				if r.Status != 302 || r.Header.Get("Location") != "/integrations?error=invalid_state" {
					t.Fatalf("%d %q", r.Status, r.Header.Get("Location"))
				}
			})
			t.Run("cross-provider state (callback on another provider's path)", func(t *testing.T) {
				state, authURL := h.startOAuth(a, "fakeoauth", "")
				code := h.authorize(authURL)
				invalidState(t, h.callback("fakeother", url.Values{"code": {code}, "state": {state}}))
				// The state was single use: the real callback now fails too.
				invalidState(t, h.callback("fakeoauth", url.Values{"code": {code}, "state": {state}}))
				noExchange(t)
				notConnected(t, a, "fakeoauth", "fakeother")
			})
			t.Run("expired state", func(t *testing.T) {
				state, authURL := h.startOAuth(a, "fakeoauth", "")
				code := h.authorize(authURL)
				h.expireStates(t)
				invalidState(t, h.callback("fakeoauth", url.Values{"code": {code}, "state": {state}}))
				noExchange(t)
				notConnected(t, a, "fakeoauth")
			})
			t.Run("replayed state", func(t *testing.T) {
				state, authURL := h.startOAuth(a, "fakeoauth", "")
				code := h.authorize(authURL)
				h.Must(h.callback("fakeoauth", url.Values{"code": {code}, "state": {state}}), 200, nil)
				tokensBefore = len(h.fake.TokenRequests())
				invalidState(t, h.callback("fakeoauth", url.Values{"code": {code}, "state": {state}}))
				noExchange(t)
				h.Must(h.Call("GET", "/api/integrations/fakeoauth?action=disconnect", a.Key, nil, nil), 200, nil)
			})
			t.Run("cross-tenant: B's code with A's state fails PKCE, nothing stored", func(t *testing.T) {
				aState, _ := h.startOAuth(a, "fakeoauth", "")
				_, bAuth := h.startOAuth(b, "fakeoauth", "")
				bCode := h.authorize(bAuth)
				r := h.callback("fakeoauth", url.Values{"code": {bCode}, "state": {aState}})
				code, msg := r.ErrorCode()
				if r.Status != 502 || code != "token_exchange_failed" || !strings.HasPrefix(msg, "Token exchange failed") {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				notConnected(t, a, "fakeoauth")
				notConnected(t, b, "fakeoauth")
				tokensBefore = len(h.fake.TokenRequests())
			})
			t.Run("provider error in the callback", func(t *testing.T) {
				state, _ := h.startOAuth(a, "fakeoauth", "")
				r := h.callback("fakeoauth", url.Values{"error": {"access_denied"}, "state": {state}})
				if code, _ := r.ErrorCode(); r.Status != 403 || code != "access_denied" {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				noExchange(t)
				notConnected(t, a, "fakeoauth")
			})
			t.Run("redirect_uri tampered in the authorization URL: the provider refuses the exchange", func(t *testing.T) {
				state, authURL := h.startOAuth(a, "fakeoauth", "")
				u, _ := url.Parse(authURL)
				q := u.Query()
				q.Set("redirect_uri", "https://evil.test/callback")
				u.RawQuery = q.Encode()
				code := h.authorize(u.String())
				r := h.callback("fakeoauth", url.Values{"code": {code}, "state": {state}})
				code2, msg := r.ErrorCode()
				if r.Status != 502 || code2 != "token_exchange_failed" || !strings.Contains(msg, "redirect_uri") {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				notConnected(t, a, "fakeoauth")
				tokensBefore = len(h.fake.TokenRequests())
			})
			for _, rt := range []string{"https://evil.test", "https://evil.test/integrations", "//evil.test", "/\\evil.test", "\\\\evil.test",
				"javascript:alert(1)", "JaVaScRiPt:alert(1)", "http:evil.test", "/\t/evil.test", "data:text/html,x", "https:/evil.test"} {
				t.Run("open redirect return_to="+rt, func(t *testing.T) {
					r := h.Call("GET", "/api/integrations/fakeoauth?action=connect&return_to="+url.QueryEscape(rt), a.Key, nil, nil)
					code, msg := r.ErrorCode()
					if r.Status != 400 || code != "invalid_return_to" || msg == "" {
						t.Fatalf("%d %s", r.Status, r.Body)
					}
				})
			}
			t.Run("relative return_to is kept and the redirect stays on the host", func(t *testing.T) {
				state, authURL := h.startOAuth(a, "fakeoauth", "/integrations?tab=mine")
				code := h.authorize(authURL)
				r := h.Call("GET", "/api/integrations/fakeoauth/callback?"+url.Values{"code": {code}, "state": {state}}.Encode(), "", nil, nil)
				loc := r.Header.Get("Location")
				if r.Status != 302 || !strings.HasPrefix(loc, "/integrations?") || strings.HasPrefix(loc, "//") || !strings.Contains(loc, "success=fakeoauth") {
					t.Fatalf("%d %q", r.Status, loc)
				}
			})
		})
	}
}
