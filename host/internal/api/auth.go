package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/host/internal/apikey"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/store"
)

// Principal is the caller of a tenant route.
type Principal struct {
	TenantID string
	// UserID is the tenant's user the call acts for (X-Atom-User-Id
	// header), or "" for the tenant as a whole.
	UserID string
	// KeyID is the API key used, or "" for a browser session.
	KeyID string
	// Session is true when the call came from a signed-in browser.
	Session bool
	// CSRF is true when a session call carried the session's CSRF token.
	CSRF bool
	// Recheck, when set, reports whether the credential this principal
	// was authenticated with is still good (not revoked, not expired); a
	// long-lived response such as an event stream calls it as it goes.
	Recheck func(ctx context.Context) bool
}

// StillValid reports whether p's credential is still good. A principal
// without a way to tell is taken as valid.
func (p *Principal) StillValid(ctx context.Context) bool {
	return p.Recheck == nil || p.Recheck(ctx)
}

// requireIntent refuses a state change authenticated by the page's
// cookie alone. Unsafe methods are refused earlier (the WebUI's guard);
// handlers call it for GETs that change state, such as the spec's
// ?action=connect and ?action=disconnect.
func requireIntent(c *fiber.Ctx) error {
	if p := principalOf(c); p != nil && p.Session && !p.CSRF {
		return apiErr(http.StatusForbidden, "csrf_required", "this request changes state: send the session's X-CSRF-Token header or Authorization: Bearer <tenant API key>")
	}
	return nil
}

const principalKey = "atom.principal"

func principalOf(c *fiber.Ctx) *Principal {
	p, _ := c.Locals(principalKey).(*Principal)
	return p
}

// SetPrincipal attaches an authenticated caller to the request.
func SetPrincipal(c *fiber.Ctx, p *Principal) { c.Locals(principalKey, p) }

var userIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:@-]{1,64}$`)

func bearer(c *fiber.Ctx) (string, bool) {
	h := c.Get(fiber.HeaderAuthorization)
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// maxStateLen bounds the state parameter a callback may carry; connect
// issues far shorter ones.
const maxStateLen = 512

// requireState is the OAuth callbacks' guard. The browser returns from
// the provider without a credential; what authenticates the call is the
// single-use state connect issued, which the handler redeems. The guard
// refuses callbacks that carry no usable state before any work is done,
// and makes sure no tenant credential sent along is taken for the caller.
func (s *Server) requireState(c *fiber.Ctx) error {
	if st := c.Query("state"); st == "" || len(st) > maxStateLen {
		return connect.ErrInvalidState
	}
	c.Locals(principalKey, nil)
	return c.Next()
}

// requireTenant is the tenant routes' guard: it authenticates a tenant
// API key, or the page's session cookie through the WebUI.
func (s *Server) requireTenant(c *fiber.Ctx) error {
	if s.deps.Web != nil {
		if p, ok := s.deps.Web.Authenticate(c); ok {
			SetPrincipal(c, p)
			return c.Next()
		}
	}
	key, ok := bearer(c)
	if !ok {
		return apiErr(http.StatusUnauthorized, "unauthorized", "missing API key: send Authorization: Bearer <tenant API key>")
	}
	p, err := s.authenticateKey(c, key)
	if err != nil {
		return err
	}
	if u := c.Get("X-Atom-User-Id"); u != "" {
		if !userIDRe.MatchString(u) {
			return apiErr(http.StatusBadRequest, "invalid_user_id", "X-Atom-User-Id must be 1-64 characters of letters, digits and _.:@-")
		}
		p.UserID = u
	}
	SetPrincipal(c, p)
	return c.Next()
}

// AuthenticateKey resolves a tenant API key to its principal; errors are
// 401 API errors that never say which check failed.
func (s *Server) authenticateKey(c *fiber.Ctx, key string) (*Principal, error) {
	invalid := apiErr(http.StatusUnauthorized, "unauthorized", "invalid or revoked API key")
	lookup, ok := apikey.Lookup(key)
	if !ok {
		return nil, invalid
	}
	k, err := s.deps.Store.LookupAPIKey(c.UserContext(), lookup)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	if !apikey.Verify(key, k.Hash) || k.RevokedAt != nil {
		return nil, invalid
	}
	tenant, id := k.TenantID, k.ID
	recheck := func(ctx context.Context) bool {
		k, err := s.deps.Store.LookupAPIKey(ctx, lookup)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return false
		case err != nil:
			return true // the database is away; the next check decides
		}
		return k.ID == id && k.TenantID == tenant && k.RevokedAt == nil && apikey.Verify(key, k.Hash)
	}
	return &Principal{TenantID: tenant, KeyID: id, Recheck: recheck}, nil
}

// requireAdmin checks ATOM_ADMIN_KEY in constant time.
func (s *Server) requireAdmin(c *fiber.Ctx) error {
	want := s.deps.Config.AdminKey
	if want == "" {
		return apiErr(http.StatusForbidden, "admin_disabled", "the admin API is disabled: set ATOM_ADMIN_KEY")
	}
	key, ok := bearer(c)
	if !ok {
		return apiErr(http.StatusUnauthorized, "unauthorized", "missing admin key: send Authorization: Bearer <ATOM_ADMIN_KEY>")
	}
	a, b := sha256.Sum256([]byte(key)), sha256.Sum256([]byte(want))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return apiErr(http.StatusUnauthorized, "unauthorized", "invalid admin key")
	}
	return c.Next()
}

func (s *Server) me(c *fiber.Ctx) error {
	p := principalOf(c)
	var t *store.Tenant
	err := s.deps.Store.InTenant(c.UserContext(), p.TenantID, func(tx store.Tx) error {
		var err error
		t, err = tx.GetTenant(c.UserContext())
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(tenantJSON(t, p))
}

type tenantBody struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	WebhookURL string    `json:"webhook_url,omitempty"`
	UserID     string    `json:"user_id,omitempty"`
	APIKeyID   string    `json:"api_key_id,omitempty"`
}

func tenantJSON(t *store.Tenant, p *Principal) tenantBody {
	b := tenantBody{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, WebhookURL: t.WebhookURL}
	if p != nil {
		b.UserID, b.APIKeyID = p.UserID, p.KeyID
	}
	return b
}
