package connect

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"golang.org/x/sync/singleflight"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/host/internal/webhook"
)

// Descriptors looks catalog entries up by id. *catalog.Catalog satisfies
// it; tests pass hand-built descriptors.
type Descriptors interface {
	Get(id string) (*catalog.Descriptor, bool)
}

// Enqueuer inserts background jobs. *jobs.Client satisfies it.
type Enqueuer interface {
	Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
}

// Config configures a Service. Store, Keyring and Catalog are required.
type Config struct {
	Store   store.Store
	Keyring *vault.Keyring
	Catalog Descriptors
	// BaseURL is the host's public URL; callbacks are
	// BaseURL/api/integrations/{provider}/callback unless
	// {PROVIDER}_REDIRECT_URI is set.
	BaseURL string
	// Env reads {PROVIDER}_CLIENT_ID, _CLIENT_SECRET, _REDIRECT_URI and
	// _API_KEY; os.Getenv when nil.
	Env func(string) string
	// HTTPClient calls providers; a client with a 30-second timeout when nil.
	HTTPClient *http.Client
	// AllowedReturnTo lists absolute URL prefixes a post-connect redirect
	// may point at. Relative paths ("/x", never "//x") are always allowed.
	AllowedReturnTo []string
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
	// Logger logs flow events without secrets; slog.Default when nil.
	Logger *slog.Logger
	// RefreshSkew is the on-demand margin: a caller asking for
	// credentials refreshes a token that expires within it (default 60s)
	// if the background has not, but never before the token's scheduled
	// refresh time.
	RefreshSkew time.Duration
	// RefreshFraction is the part of a token's lifetime after which the
	// background refreshes it (default 0.8), moved by up to RefreshJitter
	// of the lifetime either way (default 0.05: between 75 % and 85 %).
	RefreshFraction float64
	RefreshJitter   float64
	// RefreshFloor is the least time between two refreshes of a
	// connection that was not forced, unless its token expired
	// (default 10s).
	RefreshFloor time.Duration
	// DefaultLifetime is assumed for tokens without expires_in (default 1h).
	DefaultLifetime time.Duration
	// StateTTL is how long an authorization may take (default 10 minutes).
	StateTTL time.Duration
	// ForceRefreshInterval collapses forced refreshes: a ForceRefresh
	// within this interval of the last refresh returns the current token
	// (default 5s).
	ForceRefreshInterval time.Duration
	// BackoffBase and BackoffMax bound the cooldown after a transient
	// refresh failure (defaults 30s and 1h), doubling per failure.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Webhooks emits connection events; none when nil.
	Webhooks *webhook.Sender
	// Jobs enqueues background refreshes; optional.
	Jobs Enqueuer
	// CredentialCacheTTL is how long Credentials may serve a connection's
	// decrypted credentials from memory instead of reading and decrypting
	// the row again (default 2s; negative turns the cache off). Saving,
	// refreshing or disconnecting a connection in this process drops its
	// entry at once; a change made by another replica is seen within the
	// TTL.
	CredentialCacheTTL time.Duration
	// SpoolDir keeps, encrypted with the vault key, the tokens a provider
	// issued on refresh that could not be written to the database yet;
	// they are written when the database is back, or replayed at the next
	// start. None (memory only) when empty.
	SpoolDir string
	// RefreshWriteWait is how long a refresh retries writing the tokens
	// it received before it hands them out unstored and leaves the write
	// to the background (default 30s).
	RefreshWriteWait time.Duration
}

// DefaultCredentialCacheTTL is Config.CredentialCacheTTL's default.
const DefaultCredentialCacheTTL = 2 * time.Second

// Service runs connection flows and keeps tokens fresh. It is safe for
// concurrent use; several Services (in one process or on several hosts)
// may share one database.
type Service struct {
	cfg Config
	log *slog.Logger
	sf  singleflight.Group

	mu   sync.RWMutex
	jobs Enqueuer

	creds *credCache
	// secretClient sends requests that carry client credentials.
	secretClient *http.Client
	// limits are the per-tenant caps (limits.go).
	limits limitsHolder
	// hooks are told of connection changes (hooks.go).
	hooks hooksHolder

	// pend holds refresh results not stored yet (spool.go).
	pend      pendingSet
	done      chan struct{}
	closeOnce sync.Once
}

// New validates cfg, fills defaults and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Keyring == nil || cfg.Catalog == nil {
		return nil, errors.New("connect: Store, Keyring and Catalog are required")
	}
	if cfg.Env == nil {
		cfg.Env = os.Getenv
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CredentialCacheTTL == 0 {
		cfg.CredentialCacheTTL = DefaultCredentialCacheTTL
	}
	if cfg.RefreshSkew <= 0 {
		cfg.RefreshSkew = DefaultRefreshMargin
	}
	if cfg.RefreshFraction <= 0 || cfg.RefreshFraction >= 1 {
		cfg.RefreshFraction = DefaultRefreshFraction
	}
	if cfg.RefreshJitter < 0 {
		cfg.RefreshJitter = 0
	} else if cfg.RefreshJitter == 0 {
		cfg.RefreshJitter = DefaultRefreshJitter
	}
	if cfg.RefreshFloor <= 0 {
		cfg.RefreshFloor = DefaultRefreshFloor
	}
	if cfg.DefaultLifetime <= 0 {
		cfg.DefaultLifetime = time.Hour
	}
	if cfg.StateTTL <= 0 {
		cfg.StateTTL = 10 * time.Minute
	}
	if cfg.ForceRefreshInterval <= 0 {
		cfg.ForceRefreshInterval = 5 * time.Second
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 30 * time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = time.Hour
	}
	if cfg.RefreshWriteWait <= 0 {
		cfg.RefreshWriteWait = 30 * time.Second
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	s := &Service{cfg: cfg, log: cfg.Logger.With("component", "connect"), jobs: cfg.Jobs, creds: newCredCache(),
		secretClient: sameHostOnly(cfg.HTTPClient), done: make(chan struct{}),
		pend: pendingSet{m: map[string]*pendingTokens{}}}
	if s.cfg.SpoolDir != "" {
		if err := s.loadSpool(); err != nil {
			// Refreshes still retry their writes in memory.
			s.log.Error("refresh spool unavailable", "dir", s.cfg.SpoolDir, "err", err)
			s.cfg.SpoolDir = ""
		}
		s.runReplayer()
	}
	return s, nil
}

// sameHostOnly returns a copy of c that follows a redirect only to the
// same scheme and host. Requests carrying a client secret use it: a 307
// or 308 would send the secret, in the body, to wherever the endpoint
// points (an open redirect on the provider's domain, say).
func sameHostOnly(c *http.Client) *http.Client {
	cp := *c
	next := c.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
			return http.ErrUseLastResponse
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cp
}

// SetJobs sets the job queue after construction, for wiring where the
// queue's workers need the Service first.
func (s *Service) SetJobs(j Enqueuer) {
	s.mu.Lock()
	s.jobs = j
	s.mu.Unlock()
}

func (s *Service) queue() Enqueuer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.jobs
}

func (s *Service) now() time.Time { return s.cfg.Clock().UTC() }

// EnvName returns the environment-variable prefix of a provider: its id
// upper-cased with every non-alphanumeric character replaced by '_'
// ("google-drive" → "GOOGLE_DRIVE").
func EnvName(provider string) string {
	b := []byte(strings.ToUpper(provider))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// RedirectURI returns the callback URL registered for provider.
func (s *Service) RedirectURI(provider string) string {
	if v := strings.TrimSpace(s.cfg.Env(EnvName(provider) + "_REDIRECT_URI")); v != "" {
		return v
	}
	return s.cfg.BaseURL + "/api/integrations/" + url.PathEscape(provider) + "/callback"
}

func (s *Service) descriptor(provider string) (*catalog.Descriptor, error) {
	d, ok := s.cfg.Catalog.Get(provider)
	if !ok || d == nil {
		return nil, &Error{Code: CodeUnknownProvider, Status: 404, Msg: fmt.Sprintf("Unknown provider %q", provider)}
	}
	return d, nil
}

// client is the OAuth client registration in force for one tenant.
type client struct {
	ID     string
	Secret string
	Scopes []string
	// HostWide is true for the operator's client ({PROVIDER}_CLIENT_ID and
	// _CLIENT_SECRET), shared by all tenants: it is only sent to hosts the
	// descriptor fixes (see secretURL).
	HostWide bool
}

// oauthClient returns the tenant's own OAuth app for provider if one is
// registered, else the {PROVIDER}_CLIENT_ID/_CLIENT_SECRET environment
// variables.
func (s *Service) oauthClient(ctx context.Context, tenantID, provider string) (client, error) {
	var c client
	var found bool
	err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		app, err := tx.GetOAuthApp(ctx, provider)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		secret, err := s.cfg.Keyring.Open(app.ClientSecretCT, appAD(tenantID, provider))
		if err != nil {
			return fmt.Errorf("oauth app %s: %w", provider, err)
		}
		c = client{ID: app.ClientID, Secret: string(secret), Scopes: splitScopes(app.Scopes)}
		found = true
		return nil
	})
	if err != nil {
		return client{}, err
	}
	if found {
		return c, nil
	}
	env := EnvName(provider)
	c.ID = strings.TrimSpace(s.cfg.Env(env + "_CLIENT_ID"))
	c.Secret = strings.TrimSpace(s.cfg.Env(env + "_CLIENT_SECRET"))
	c.HostWide = true
	if c.ID == "" || c.Secret == "" {
		return client{}, &Error{Code: CodeNotConfigured, Status: 400, Msg: notConfiguredMsg(provider)}
	}
	return c, nil
}

// hostClientSet reports whether the operator set {PROVIDER}_CLIENT_ID and
// _CLIENT_SECRET for provider.
func (s *Service) hostClientSet(provider string) bool {
	env := EnvName(provider)
	return strings.TrimSpace(s.cfg.Env(env+"_CLIENT_ID")) != "" && strings.TrimSpace(s.cfg.Env(env+"_CLIENT_SECRET")) != ""
}

// notConfiguredMsg says what to do when provider has no OAuth app: the
// operator's environment variables or the tenant's own app.
func notConfiguredMsg(provider string) string {
	env := EnvName(provider)
	return fmt.Sprintf("%s is not configured: set %s_CLIENT_ID and %s_CLIENT_SECRET, or register a tenant OAuth app with PUT /api/v1/oauth-apps/%s",
		provider, env, env, provider)
}

func splitScopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
}

// Associated data of every encrypted column the package writes. They match
// store.SecretRow so key rotation re-encrypts with the same binding.
func connAD(tenantID, provider, id string) vault.AD {
	return vault.AD{Table: "integration_tokens", Column: "credentials", TenantID: tenantID, Provider: provider, RowID: id}
}

func stateAD(tenantID, provider, id string) vault.AD {
	return vault.AD{Table: "oauth_states", Column: "secret", TenantID: tenantID, Provider: provider, RowID: id}
}

func appAD(tenantID, provider string) vault.AD {
	return vault.AD{Table: "oauth_apps", Column: "client_secret", TenantID: tenantID, Provider: provider, RowID: provider}
}

// secrets is the plaintext of Connection.CredentialsCT.
type secrets struct {
	AccessToken  string            `json:"access_token,omitempty"`
	RefreshToken string            `json:"refresh_token,omitempty"`
	TokenSecret  string            `json:"token_secret,omitempty"`
	APIKey       string            `json:"api_key,omitempty"`
	Username     string            `json:"username,omitempty"`
	Password     string            `json:"password,omitempty"`
	Fields       map[string]string `json:"fields,omitempty"`
}

func (s *Service) seal(c *store.Connection, sec *secrets) error {
	pt, err := json.Marshal(sec)
	if err != nil {
		return err
	}
	ct, kid, err := s.cfg.Keyring.Seal(pt, connAD(c.TenantID, c.Provider, c.ID))
	if err != nil {
		return err
	}
	c.CredentialsCT, c.KeyID = ct, kid
	return nil
}

func (s *Service) open(c *store.Connection) (*secrets, error) {
	pt, err := s.cfg.Keyring.Open(c.CredentialsCT, connAD(c.TenantID, c.Provider, c.ID))
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", c.ID, err)
	}
	var sec secrets
	if err := json.Unmarshal(pt, &sec); err != nil {
		return nil, fmt.Errorf("connection %s: credentials: %w", c.ID, err)
	}
	return &sec, nil
}

// saveConnection upserts c with its secrets in one transaction. The row id
// must be known before sealing (it is part of the associated data), so an
// existing row's id is reused.
func (s *Service) saveConnection(ctx context.Context, c *store.Connection, sec *secrets) error {
	defer s.creds.forget(cacheKey(c.TenantID, c.UserID, c.Provider))
	return s.cfg.Store.InTenant(ctx, c.TenantID, func(tx store.Tx) error {
		if err := checkUser(ctx, tx, c.UserID); err != nil {
			return err
		}
		old, err := tx.GetConnection(ctx, c.Provider, c.UserID)
		switch {
		case err == nil:
			c.ID = old.ID
		case errors.Is(err, store.ErrNotFound):
			c.ID = newID("conn")
		default:
			return err
		}
		if err := s.seal(c, sec); err != nil {
			return err
		}
		id := c.ID
		if err := tx.UpsertConnection(ctx, c); err != nil {
			return err
		}
		if c.ID != id { // the store kept another id: bind the secret to it
			if err := s.seal(c, sec); err != nil {
				return err
			}
			return tx.UpdateConnection(ctx, c)
		}
		return nil
	})
}

// checkUser refuses a user id the tenant has not created, with an error
// that says how to create it.
func checkUser(ctx context.Context, tx store.Tx, userID string) error {
	if userID == "" {
		return nil
	}
	_, err := tx.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return &Error{Code: CodeUnknownUser, Status: http.StatusBadRequest,
			Msg: fmt.Sprintf("unknown user %q: create it with POST /api/v1/users before connecting on its behalf", userID)}
	}
	return err
}

func (s *Service) getConnection(ctx context.Context, tenantID, userID, provider string) (*store.Connection, error) {
	var c *store.Connection
	err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		var err error
		c, err = tx.GetConnection(ctx, provider, userID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Code: CodeProviderNotConnected, Status: 404, Msg: "Provider not connected"}
	}
	return c, err
}

func (s *Service) audit(ctx context.Context, tenantID, actor, action, target string, details map[string]string) {
	b, _ := json.Marshal(details)
	err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		return tx.AddAudit(ctx, &store.AuditEvent{ID: newID("aud"), TenantID: tenantID, Actor: actor, Action: action, Target: target, Details: b, CreatedAt: s.now()})
	})
	if err != nil {
		s.log.WarnContext(ctx, "audit write failed", "tenant", tenantID, "action", action, "err", err)
	}
}

// emit sends a connection webhook event; failures are logged.
func (s *Service) emit(ctx context.Context, typ string, c *store.Connection, reason string) {
	s.changed(ctx, typ, c)
	if s.cfg.Webhooks == nil {
		return
	}
	data := webhook.ConnectionData{Provider: c.Provider, ConnectionID: c.ID, UserID: c.UserID, Status: c.Status, Reason: reason}
	if err := s.cfg.Webhooks.Emit(ctx, c.TenantID, typ, data); err != nil {
		s.log.WarnContext(ctx, "webhook emit failed", "tenant", c.TenantID, "event", typ, "err", err)
	}
}

// randomToken returns n random bytes, base64url without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func newID(prefix string) string { return prefix + "_" + randomToken(16) }
