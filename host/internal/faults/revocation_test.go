package faults

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/host/internal/web"
)

// TestAttackSignedOutSession signs in to the integrations page on one
// host, signs out, and replays the old cookie on that host and on a
// second host sharing the database (another replica, or the same host
// after a restart, which forgets everything held in memory): every route
// refuses it, on both backends.
func TestAttackSignedOutSession(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			keys, err := vault.Generate("k1")
			if err != nil {
				t.Fatal(err)
			}
			o := hosttest.Options{EncryptionKeys: keys, Backend: backend}
			if backend == "sqlite" {
				o.DatabaseURL = "sqlite://" + filepath.Join(t.TempDir(), "atom.db")
				o.MigrateDatabaseURL = o.DatabaseURL
			}
			a := startHost(t, o)
			if backend == "postgres" {
				o.DatabaseURL, o.MigrateDatabaseURL = a.PG.AppURL, a.PG.OwnerURL
			}
			tn := a.NewTenant("signed-out")
			signIn := func() (cookie, csrf string) {
				t.Helper()
				r := a.Call("POST", "/integrations/session", "", map[string]string{"api_key": tn.Key},
					map[string]string{"Origin": a.URL, "Accept": "application/json"})
				var body struct {
					CSRF string `json:"csrf_token"`
				}
				a.Must(r, 200, &body)
				for _, c := range (&http.Response{Header: r.Header}).Cookies() {
					if c.Name == web.CookieName {
						return c.Value, body.CSRF
					}
				}
				t.Fatalf("sign-in set no cookie: %v", r.Header)
				return "", ""
			}
			old, csrf := signIn()
			live, _ := signIn()
			hdr := func(cookie string) map[string]string {
				return map[string]string{"Cookie": web.CookieName + "=" + cookie, web.CSRFHeader: csrf, "Accept": "application/json"}
			}
			a.Must(a.Call("DELETE", "/integrations/session", "", nil, hdr(old)), http.StatusNoContent, nil)
			b := startHost(t, o) // a second replica on the same database

			routes := []struct{ method, path string }{
				{"GET", "/api/v1/me"},
				{"GET", "/api/v1/connections"},
				{"GET", "/api/v1/executions"},
				{"GET", "/api/integrations/fakekey?action=status"},
				{"POST", "/api/v1/connections/fakekey"},
				{"PUT", "/api/v1/webhook"},
				{"POST", "/api/v1/users"},
				{"DELETE", "/api/v1/connections/fakekey"},
			}
			cases := 0
			for _, h := range []*host{a, b} {
				for _, r := range routes {
					cases++
					got := h.Call(r.method, r.path, "", map[string]string{}, hdr(old))
					if got.Status != http.StatusUnauthorized && got.Status != http.StatusForbidden {
						t.Errorf("%s %s %s with a signed-out cookie: %d %.200s", h.URL, r.method, r.path, got.Status, got.Body)
					}
				}
				cases++
				var info struct {
					SignedIn bool `json:"signed_in"`
				}
				h.Must(h.Call("GET", "/integrations/session", "", nil, hdr(old)), 200, &info)
				if info.SignedIn {
					t.Errorf("%s: the signed-out session still reads as signed in", h.URL)
				}
				// A session that was not signed out still works there: the
				// refusals above are not vacuous.
				h.Must(h.Call("GET", "/api/v1/me", "", nil, hdr(live)), 200, nil)
			}
			if !t.Failed() {
				t.Logf("attack sessions: %d cases on %s, 0 succeeded", cases, backend)
			}
		})
	}
}
