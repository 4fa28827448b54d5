// Package web serves the integrations page at /integrations: a catalog of
// every integration with search and filters, connect and disconnect, and a
// panel to try a provider's actions and to manage the connection's
// triggers and follow their events. The page is plain HTML, CSS and
// JavaScript embedded in the binary; it calls the host's REST API with the
// fetch API.
//
// A tenant signs in once with its API key. The page then holds an
// HttpOnly, SameSite=Strict session cookie whose content (session id,
// tenant, API key id, CSRF token, expiry) is sealed with AES-256-GCM under
// the vault key ring, so any replica that shares ATOM_ENCRYPTION_KEYS can
// open it and the API key itself never reaches the browser's storage.
// Every request re-checks that the key is still valid, so revoking the key
// ends its sessions everywhere. Requests that change state and are
// authenticated by the cookie must carry the session's CSRF token in the
// X-CSRF-Token header. Signing out clears the cookie and refuses its
// session id on this replica until it expires.
//
// Routes:
//
//	GET    /integrations               the page
//	GET    /integrations/popup-done    end of the OAuth popup; tells the opener
//	GET    /integrations/assets/*      the page's script, style sheet and icon
//	GET    /favicon.ico                the icon (SVG), for browsers that ask the root
//	GET    /integrations/session       {"signed_in","tenant_id","csrf_token","expires_at"}
//	POST   /integrations/session       sign in: form or JSON {"api_key"}
//	DELETE /integrations/session       sign out (X-CSRF-Token)
package web

import (
	"embed"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/vault"
)

//go:embed static
var staticFS embed.FS

// DefaultSessionTTL is how long a browser session lasts after sign-in.
const DefaultSessionTTL = 8 * time.Hour

// Config configures the page.
type Config struct {
	// Store verifies API keys at sign-in and on every request.
	Store store.Store
	// Keyring seals the session cookie (its active key seals, every key
	// opens, so rotating ATOM_ENCRYPTION_KEYS keeps sessions valid).
	Keyring *vault.Keyring
	// BaseURL is the host's public URL: an https URL sets the cookie's
	// Secure flag, and its origin is the only one sign-in accepts.
	BaseURL string
	// SessionTTL is the session lifetime (DefaultSessionTTL when zero).
	SessionTTL time.Duration
	// Logger receives sign-in events (never a key); slog.Default when nil.
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// AdminKey is ATOM_ADMIN_KEY: sign-in refuses it with a message that
	// says so, since the page only takes tenant keys.
	AdminKey string
}

// UI is the integrations page. It implements api.WebUI and is safe for
// concurrent use.
type UI struct {
	cfg      Config
	secure   bool
	origin   string
	sessions *sessions
	assets   map[string]asset
}

type asset struct {
	body        []byte
	contentType string
}

var _ api.WebUI = (*UI)(nil)

// New builds the page from cfg; Store and Keyring are required.
func New(cfg Config) (*UI, error) {
	if cfg.Store == nil || cfg.Keyring == nil {
		return nil, errorf("web: Store and Keyring are required")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	u := &UI{cfg: cfg, assets: map[string]asset{}}
	if b, err := url.Parse(cfg.BaseURL); err == nil && b.Host != "" {
		u.secure = b.Scheme == "https"
		u.origin = b.Scheme + "://" + b.Host
	}
	u.sessions = newSessions(cfg.Keyring, cfg.Now)
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		u.assets[strings.TrimPrefix(p, "static/")] = asset{body: body, contentType: ct}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// ForHost builds the page over h's store, key ring and configuration:
// pass it as app.Options.Web (atom serve does).
func ForHost(h *app.Host) (api.WebUI, error) {
	u, err := New(Config{Store: h.Store, Keyring: h.Keyring, BaseURL: h.Config.BaseURL, Logger: h.Log, AdminKey: h.Config.AdminKey})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Mount registers the page's routes on the public router: the page and
// its assets need no credential, GET /integrations/session reads the
// cookie, sign-in checks the API key it is given and sign-out the
// session's CSRF token.
func (u *UI) Mount(a *api.Router) {
	a.Get("/integrations", u.page("index.html"))
	a.Get("/integrations/", func(c *fiber.Ctx) error { return c.Redirect("/integrations", http.StatusMovedPermanently) })
	a.Get("/integrations/popup-done", u.page("popup-done.html"))
	a.Get("/integrations/assets/:name", u.serveAsset)
	a.Get("/favicon.ico", u.favicon)
	a.Get("/integrations/session", u.sessionInfo)
	a.Post("/integrations/session", u.signIn)
	a.Delete("/integrations/session", u.signOut)
}

// securityHeaders keeps the page to its own origin: no inline script, no
// framing, no third-party fetches.
func securityHeaders(c *fiber.Ctx) {
	c.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("X-Frame-Options", "DENY")
}

func (u *UI) page(name string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a := u.assets[name]
		securityHeaders(c)
		c.Set("Cache-Control", "no-cache")
		c.Set(fiber.HeaderContentType, "text/html; charset=utf-8")
		return c.Send(a.body)
	}
}

func (u *UI) serveAsset(c *fiber.Ctx) error {
	name := c.Params("name")
	a, ok := u.assets[name]
	if !ok || strings.HasSuffix(name, ".html") {
		return api.Fail(http.StatusNotFound, "not_found", "no asset "+name)
	}
	securityHeaders(c)
	c.Set("Cache-Control", "no-cache")
	c.Set(fiber.HeaderContentType, a.contentType)
	return c.Send(a.body)
}

// favicon answers the browser's default /favicon.ico with the page's SVG
// icon; the pages also link it.
func (u *UI) favicon(c *fiber.Ctx) error {
	a := u.assets["favicon.svg"]
	securityHeaders(c)
	c.Set("Cache-Control", "public, max-age=86400")
	c.Set(fiber.HeaderContentType, a.contentType)
	return c.Send(a.body)
}
