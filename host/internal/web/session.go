package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/apikey"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/vault"
)

const (
	// CookieName is the session cookie.
	CookieName = "atom_session"
	// CSRFHeader carries the session's CSRF token on requests that change
	// state.
	CSRFHeader = "X-CSRF-Token"
	// maxCookieLen bounds what the host tries to open.
	maxCookieLen = 2048
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// session is the sealed content of the cookie. It holds no secret of the
// tenant: the API key is identified by its id and public lookup prefix so
// every request can check that it is still valid.
type session struct {
	ID       string `json:"sid"`
	TenantID string `json:"tid"`
	KeyID    string `json:"kid"`
	Lookup   string `json:"lk"`
	CSRF     string `json:"csrf"`
	Expires  int64  `json:"exp"`
}

// sessionAD binds sealed cookies to their purpose, so no other ciphertext
// sealed by the ring opens as a session.
var sessionAD = vault.AD{Table: "web_session", Column: "cookie"}

// sessions seals and opens cookies and remembers signed-out session ids
// until they expire.
type sessions struct {
	ring *vault.Keyring
	now  func() time.Time

	mu        sync.Mutex
	revoked   map[string]time.Time
	lastSweep time.Time
}

func newSessions(ring *vault.Keyring, now func() time.Time) *sessions {
	return &sessions{ring: ring, now: now, revoked: map[string]time.Time{}}
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("web: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessions) seal(ss *session) (string, error) {
	plain, err := json.Marshal(ss)
	if err != nil {
		return "", err
	}
	ct, _, err := s.ring.Seal(plain, sessionAD)
	if err != nil {
		return "", fmt.Errorf("seal session: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(ct), nil
}

// open returns the session a cookie value holds, or false when it does
// not authenticate, has expired or was signed out.
func (s *sessions) open(value string) (*session, bool) {
	if value == "" || len(value) > maxCookieLen {
		return nil, false
	}
	ct, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return nil, false
	}
	plain, err := s.ring.Open(ct, sessionAD)
	if err != nil {
		return nil, false
	}
	var ss session
	if err := json.Unmarshal(plain, &ss); err != nil || ss.ID == "" || ss.TenantID == "" || ss.CSRF == "" {
		return nil, false
	}
	if s.now().Unix() >= ss.Expires {
		return nil, false
	}
	s.mu.Lock()
	_, gone := s.revoked[ss.ID]
	s.mu.Unlock()
	return &ss, !gone
}

// sessionHash is what the database keeps of a signed-out session: the
// SHA-256 of its id, never the id.
func sessionHash(ss *session) string {
	sum := sha256.Sum256([]byte(ss.ID))
	return hex.EncodeToString(sum[:])
}

// revokeStored refuses the session from now until it expires on every
// host sharing the database, also after a restart.
func (u *UI) revokeStored(c *fiber.Ctx, ss *session) error {
	return u.cfg.Store.InTenant(c.UserContext(), ss.TenantID, func(tx store.Tx) error {
		return tx.RevokeSession(c.UserContext(), sessionHash(ss), time.Unix(ss.Expires, 0))
	})
}

// revoke refuses the session id on this host from now until it expires.
func (s *sessions) revoke(ss *session) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.lastSweep) > time.Minute {
		for id, exp := range s.revoked {
			if now.After(exp) {
				delete(s.revoked, id)
			}
		}
		s.lastSweep = now
	}
	s.revoked[ss.ID] = time.Unix(ss.Expires, 0)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func hasBearer(c *fiber.Ctx) bool {
	scheme, _, ok := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
	return ok && strings.EqualFold(scheme, "Bearer")
}

func csrfOK(c *fiber.Ctx, ss *session) bool {
	got := c.Get(CSRFHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ss.CSRF)) == 1
}

// current returns the request's session after checking that it was not
// signed out (on any host sharing the database) and that its API key is
// still valid.
func (u *UI) current(c *fiber.Ctx) (*session, bool) {
	return u.currentOf(c.UserContext(), c.Cookies(CookieName))
}

// currentOf is current for a cookie's value.
func (u *UI) currentOf(ctx context.Context, cookie string) (*session, bool) {
	ss, ok := u.sessions.open(cookie)
	if !ok {
		return nil, false
	}
	var gone bool
	err := u.cfg.Store.InTenant(ctx, ss.TenantID, func(tx store.Tx) error {
		var err error
		gone, err = tx.SessionRevoked(ctx, sessionHash(ss), u.cfg.Now())
		return err
	})
	if err != nil {
		u.cfg.Logger.Error("web session: check revocation", "err", err.Error())
		return nil, false
	}
	if gone {
		return nil, false
	}
	k, err := u.cfg.Store.LookupAPIKey(ctx, ss.Lookup)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			u.cfg.Logger.Error("web session: look up api key", "err", err.Error())
		}
		return nil, false
	}
	if k.ID != ss.KeyID || k.TenantID != ss.TenantID || k.RevokedAt != nil {
		return nil, false
	}
	return ss, true
}

// Authenticate resolves the session cookie to its tenant. A request that
// sends an Authorization header is left to the API key check; a request
// with an unsafe method must carry the session's CSRF token, otherwise it
// is not authenticated. The principal records whether the token came, so
// a GET that changes state (?action=disconnect) can require it.
func (u *UI) Authenticate(c *fiber.Ctx) (*api.Principal, bool) {
	if hasBearer(c) {
		return nil, false
	}
	ss, ok := u.current(c)
	if !ok {
		return nil, false
	}
	csrf := csrfOK(c, ss)
	if !safeMethod(c.Method()) && !csrf {
		return nil, false
	}
	cookie, id := c.Cookies(CookieName), ss.ID
	recheck := func(ctx context.Context) bool {
		now, ok := u.currentOf(ctx, cookie)
		return ok && now.ID == id
	}
	return &api.Principal{TenantID: ss.TenantID, Session: true, CSRF: csrf, Recheck: recheck}, true
}

// Guard is Fiber middleware for /api that answers 403 with the JSON error
// when a request authenticated only by the session cookie changes state
// without the session's CSRF token. Authenticate refuses such requests
// too; Guard, registered before the API's authentication gate, makes the
// refusal say why.
func (u *UI) Guard(c *fiber.Ctx) error {
	if safeMethod(c.Method()) || hasBearer(c) || c.Cookies(CookieName) == "" {
		return c.Next()
	}
	ss, ok := u.sessions.open(c.Cookies(CookieName))
	if ok && !csrfOK(c, ss) {
		return api.Fail(http.StatusForbidden, "csrf_failed", "missing or wrong "+CSRFHeader+" header: reload the page and try again")
	}
	return c.Next()
}

func (u *UI) setCookie(c *fiber.Ctx, value string, expires time.Time) {
	ck := &fiber.Cookie{
		Name:     CookieName,
		Value:    value,
		Path:     "/",
		HTTPOnly: true,
		Secure:   u.secure,
		SameSite: fiber.CookieSameSiteStrictMode,
	}
	if value == "" {
		ck.Expires = time.Unix(0, 0)
	} else {
		ck.Expires = expires
		ck.MaxAge = int(expires.Sub(u.cfg.Now()).Seconds())
		if ck.MaxAge <= 0 {
			ck.MaxAge = 1
		}
	}
	c.Cookie(ck)
}

type sessionBody struct {
	SignedIn  bool       `json:"signed_in"`
	TenantID  string     `json:"tenant_id,omitempty"`
	CSRFToken string     `json:"csrf_token,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func bodyOf(ss *session) sessionBody {
	exp := time.Unix(ss.Expires, 0).UTC()
	return sessionBody{SignedIn: true, TenantID: ss.TenantID, CSRFToken: ss.CSRF, ExpiresAt: &exp}
}

// sessionInfo tells the page whether it is signed in and hands it the
// CSRF token (readable only by same-origin scripts).
func (u *UI) sessionInfo(c *fiber.Ctx) error {
	c.Set("Cache-Control", "no-store")
	ss, ok := u.current(c)
	if !ok {
		return c.JSON(sessionBody{})
	}
	return c.JSON(bodyOf(ss))
}

// sameOrigin refuses sign-in posts from other sites (login CSRF): the
// browser's Origin and Sec-Fetch-Site headers must name this host.
func (u *UI) sameOrigin(c *fiber.Ctx) bool {
	if c.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return true
	}
	want := u.origin
	if want == "" {
		want = c.Protocol() + "://" + c.Hostname()
	}
	return strings.EqualFold(origin, want)
}

func wantsJSON(c *fiber.Ctx) bool {
	return strings.Contains(c.Get(fiber.HeaderAccept), "application/json") ||
		strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON)
}

// signIn verifies a tenant API key like the API does and starts a session.
func (u *UI) signIn(c *fiber.Ctx) error {
	c.Set("Cache-Control", "no-store")
	if !u.sameOrigin(c) {
		return api.Fail(http.StatusForbidden, "cross_origin", "sign in from the integrations page of this host")
	}
	var key string
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON) {
		var in struct {
			APIKey string `json:"api_key"`
		}
		if err := api.DecodeJSON(c, &in); err != nil {
			return err
		}
		key = in.APIKey
	} else {
		key = c.FormValue("api_key")
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return api.Fail(http.StatusBadRequest, "invalid_input", "api_key is required: paste a tenant API key")
	}
	if u.cfg.AdminKey != "" && subtle.ConstantTimeCompare([]byte(key), []byte(u.cfg.AdminKey)) == 1 {
		// Whoever sends the admin key already holds it: saying so tells
		// them nothing the admin API would not.
		return api.Fail(http.StatusUnauthorized, "admin_key", "this is the admin key (ATOM_ADMIN_KEY), which the page does not take: you may have pasted the admin key; sign in with a tenant API key instead")
	}
	invalid := api.Fail(http.StatusUnauthorized, "unauthorized", "invalid or revoked API key: paste a tenant API key (atom_…)")
	lookup, ok := apikey.Lookup(key)
	if !ok {
		return invalid
	}
	k, err := u.cfg.Store.LookupAPIKey(c.UserContext(), lookup)
	if errors.Is(err, store.ErrNotFound) {
		return invalid
	}
	if err != nil {
		return err
	}
	if !apikey.Verify(key, k.Hash) || k.RevokedAt != nil {
		return invalid
	}
	exp := u.cfg.Now().Add(u.cfg.SessionTTL)
	ss := &session{ID: randomToken(), TenantID: k.TenantID, KeyID: k.ID, Lookup: lookup, CSRF: randomToken(), Expires: exp.Unix()}
	value, err := u.sessions.seal(ss)
	if err != nil {
		return err
	}
	u.setCookie(c, value, exp)
	u.cfg.Logger.Info("web sign-in", "tenant_id", k.TenantID, "api_key_id", k.ID)
	if !wantsJSON(c) {
		return c.Redirect("/integrations", http.StatusSeeOther)
	}
	return c.JSON(bodyOf(ss))
}

// signOut ends the session: the cookie is cleared and its id refused.
func (u *UI) signOut(c *fiber.Ctx) error {
	c.Set("Cache-Control", "no-store")
	if ss, ok := u.sessions.open(c.Cookies(CookieName)); ok {
		if !csrfOK(c, ss) {
			return api.Fail(http.StatusForbidden, "csrf_failed", "missing or wrong "+CSRFHeader+" header: reload the page and try again")
		}
		u.sessions.revoke(ss)
		if err := u.revokeStored(c, ss); err != nil {
			u.cfg.Logger.Error("web sign-out: record revocation", "tenant_id", ss.TenantID, "err", err.Error())
			return api.Fail(http.StatusServiceUnavailable, "sign_out_failed", "the sign-out could not be recorded; try again")
		}
		u.cfg.Logger.Info("web sign-out", "tenant_id", ss.TenantID)
	}
	u.setCookie(c, "", time.Time{})
	return c.SendStatus(http.StatusNoContent)
}
