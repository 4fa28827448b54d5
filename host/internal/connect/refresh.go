package connect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/webhook"
	"github.com/atomhq/atom/sdk/provider"
)

// Credentials returns the decrypted credentials of the tenant's connection
// to provider, refreshing the access token first when it expires within
// Config.RefreshSkew. Executions call it once per run.
//
// For api_key providers without a connection, {PROVIDER}_API_KEY serves as
// the credential when set (the returned connection is then nil).
func (s *Service) Credentials(ctx context.Context, tenantID, userID, providerID string) (provider.Credentials, *store.Connection, error) {
	key := cacheKey(tenantID, userID, providerID)
	ttl := s.cfg.CredentialCacheTTL
	if ttl > 0 {
		if cr, c, ok := s.creds.get(key, s.now()); ok && !s.needsRefresh(c, s.cfg.RefreshSkew) {
			return cr, c, nil
		}
	}
	gen := s.creds.generation()
	c, err := s.getConnection(ctx, tenantID, userID, providerID)
	if errors.Is(err, ErrProviderNotConnected) {
		if d, ok := s.cfg.Catalog.Get(providerID); ok && d.Auth.Kind == catalog.AuthAPIKey {
			if key := strings.TrimSpace(s.cfg.Env(EnvName(providerID) + "_API_KEY")); key != "" {
				return provider.Credentials{Type: catalog.AuthAPIKey, APIKey: key}, nil, nil
			}
		}
	}
	if err != nil {
		return provider.Credentials{}, nil, err
	}
	if err := usable(c); err != nil {
		return provider.Credentials{}, c, err
	}
	if s.needsRefresh(c, s.cfg.RefreshSkew) {
		c, err = s.refresh(ctx, c.TenantID, c.ID, false, s.cfg.RefreshSkew)
		if err != nil {
			return provider.Credentials{}, c, err
		}
	}
	creds, err := s.credentialsOf(c)
	if err == nil && ttl > 0 && !s.needsRefresh(c, s.cfg.RefreshSkew) {
		s.creds.put(gen, key, c, creds, s.now().Add(ttl))
	}
	return creds, c, err
}

// ForceRefresh refreshes a connection's token regardless of its expiry,
// after the provider answered 401. The caller allows one per execution;
// concurrent and closely repeated calls (within ForceRefreshInterval of the
// last refresh) share one refresh.
func (s *Service) ForceRefresh(ctx context.Context, tenantID, connectionID string) (provider.Credentials, error) {
	c, err := s.refresh(ctx, tenantID, connectionID, true, 0)
	if err != nil {
		return provider.Credentials{}, err
	}
	return s.credentialsOf(c)
}

// RefreshConnection refreshes one connection if it expires within the
// proactive window; the background job calls it.
func (s *Service) RefreshConnection(ctx context.Context, tenantID, connectionID string, window time.Duration) error {
	_, err := s.refresh(ctx, tenantID, connectionID, false, window)
	return err
}

// usable reports why a connection cannot be used, if it cannot.
func usable(c *store.Connection) error {
	switch c.Status {
	case store.StatusExpired:
		return &Error{Code: CodeConnectionExpired, Status: 401, Msg: reasonMsg("Connection expired; reconnect "+c.Provider, c.StatusReason)}
	case store.StatusRevoked:
		return &Error{Code: CodeConnectionRevoked, Status: 401, Msg: reasonMsg("Connection revoked; reconnect "+c.Provider, c.StatusReason)}
	case store.StatusError:
		return &Error{Code: CodeRefreshFailed, Status: 502, Msg: reasonMsg("Connection is in error", c.StatusReason)}
	}
	return nil
}

func reasonMsg(msg, reason string) string {
	if reason == "" {
		return msg
	}
	return msg + ": " + reason
}

func refreshable(c *store.Connection) bool {
	return c.AuthKind == catalog.AuthOAuth2 || c.AuthKind == catalog.AuthOAuth2CC
}

// coolingDown reports whether a failed refresh forbids another attempt yet.
func (s *Service) coolingDown(c *store.Connection) bool {
	return c.FailureCount > 0 && c.NextRefreshAt != nil && s.now().Before(*c.NextRefreshAt)
}

// needsRefresh reports whether c's token expires within window (or, for
// tokens without an expiry, whether its scheduled refresh is due).
func (s *Service) needsRefresh(c *store.Connection, window time.Duration) bool {
	if !refreshable(c) || c.Status != store.StatusActive {
		return false
	}
	now := s.now()
	if c.ExpiresAt != nil {
		return !now.Add(window).Before(*c.ExpiresAt)
	}
	return c.NextRefreshAt != nil && !now.Before(*c.NextRefreshAt)
}

func (s *Service) expired(c *store.Connection) bool {
	return c.ExpiresAt != nil && !s.now().Before(*c.ExpiresAt)
}

// refreshOutcome is what one flight produced.
type refreshOutcome struct {
	conn *store.Connection
	err  error
}

// refresh runs at most one refresh per connection at a time: callers in
// this process share one flight (singleflight keyed by connection), and
// flights in different processes serialize on the connection's row lock
// (Postgres SELECT … FOR UPDATE) and compare-and-swap on Version. After
// taking the lock the row is re-read, so a token another replica just
// refreshed is used rather than refreshed again.
func (s *Service) refresh(ctx context.Context, tenantID, connID string, force bool, window time.Duration) (*store.Connection, error) {
	key := tenantID + "\x00" + connID
	s.creds.forgetConn(connID)
	defer s.creds.forgetConn(connID)
	ch := s.sf.DoChan(key, func() (any, error) {
		// The flight outlives any one caller's cancellation.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		c, err := s.refreshOnce(fctx, tenantID, connID, force, window)
		return refreshOutcome{conn: c, err: err}, nil
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		out := r.Val.(refreshOutcome)
		if out.conn != nil {
			cp := *out.conn // callers get their own copy
			return &cp, out.err
		}
		return nil, out.err
	}
}

func (s *Service) refreshOnce(ctx context.Context, tenantID, connID string, force bool, window time.Duration) (*store.Connection, error) {
	if s.cfg.Store.Backend() == "postgres" {
		return s.refreshLocked(ctx, tenantID, connID, force, window)
	}
	return s.refreshCAS(ctx, tenantID, connID, force, window)
}

// decide returns whether c must be refreshed now and, when not, the error
// to report (nil when the current token is good).
func (s *Service) decide(c *store.Connection, force bool, window time.Duration) (bool, error) {
	if err := usable(c); err != nil {
		return false, err
	}
	if !refreshable(c) {
		if force {
			return false, &Error{Code: CodeRefreshFailed, Status: 400, Msg: c.AuthKind + " credentials cannot be refreshed"}
		}
		return false, nil
	}
	if force {
		if c.LastRefreshedAt != nil && s.now().Sub(*c.LastRefreshedAt) < s.cfg.ForceRefreshInterval {
			return false, nil // refreshed a moment ago, by us or another replica
		}
	} else if !s.needsRefresh(c, window) {
		return false, nil
	}
	if s.coolingDown(c) {
		if s.expired(c) || force {
			return false, &Error{Code: CodeRefreshFailed, Status: 502, Msg: reasonMsg(
				fmt.Sprintf("Token refresh failed; next attempt after %s", c.NextRefreshAt.UTC().Format(time.RFC3339)), c.StatusReason)}
		}
		return false, nil // still valid: use it while backing off
	}
	return true, nil
}

// refreshLocked holds the row lock across the provider call. Single-flight
// ensures each process holds at most one database connection per
// connection being refreshed.
func (s *Service) refreshLocked(ctx context.Context, tenantID, connID string, force bool, window time.Duration) (*store.Connection, error) {
	var out *store.Connection
	var result error
	var event string
	err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		c, err := tx.LockConnection(ctx, connID)
		if err != nil {
			return err
		}
		out = c
		need, derr := s.decide(c, force, window)
		if !need {
			result = derr
			return nil
		}
		next, ev, rerr := s.performRefresh(ctx, c)
		if next == nil {
			result = rerr
			return nil
		}
		if err := tx.UpdateConnection(ctx, next); err != nil {
			return err
		}
		out, event, result = next, ev, rerr
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Code: CodeProviderNotConnected, Status: 404, Msg: "Provider not connected"}
	}
	if err != nil {
		return out, fmt.Errorf("refresh %s: %w", connID, err)
	}
	if event != "" {
		s.emit(ctx, event, out, out.StatusReason)
	}
	return out, result
}

// refreshCAS reads, calls the provider without holding a transaction, and
// writes with compare-and-swap. SQLite serves one process (single-flight
// is its lock); a lost race is resolved by taking the newer row.
func (s *Service) refreshCAS(ctx context.Context, tenantID, connID string, force bool, window time.Duration) (*store.Connection, error) {
	read := func() (*store.Connection, error) {
		var c *store.Connection
		err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
			var err error
			c, err = tx.GetConnectionByID(ctx, connID)
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			return nil, &Error{Code: CodeProviderNotConnected, Status: 404, Msg: "Provider not connected"}
		}
		return c, err
	}
	c, err := read()
	if err != nil {
		return nil, err
	}
	need, derr := s.decide(c, force, window)
	if !need {
		return c, derr
	}
	next, event, rerr := s.performRefresh(ctx, c)
	if next == nil {
		return c, rerr
	}
	err = s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error { return tx.UpdateConnection(ctx, next) })
	if errors.Is(err, store.ErrConflict) {
		// Another writer won; its row is newer than ours.
		fresh, rerr2 := read()
		if rerr2 != nil {
			return nil, rerr2
		}
		return fresh, usable(fresh)
	}
	if err != nil {
		return c, fmt.Errorf("refresh %s: %w", connID, err)
	}
	if event != "" {
		s.emit(ctx, event, next, next.StatusReason)
	}
	return next, rerr
}

// performRefresh calls the provider and returns the connection to write
// (nil when nothing is to be written), the webhook event to emit and the
// error for the caller.
func (s *Service) performRefresh(ctx context.Context, c *store.Connection) (*store.Connection, string, error) {
	sec, err := s.open(c)
	if err != nil {
		return nil, "", err
	}
	d, err := s.descriptor(c.Provider)
	if err != nil {
		return nil, "", err
	}
	tok, err := s.callRefresh(ctx, d, c, sec)
	if err == nil {
		err = checkTokenMetadata(d, tok)
	}
	now := s.now()
	next := *c
	next.Metadata = cloneMap(c.Metadata)
	if err == nil {
		wasFailing := c.FailureCount > 0 || c.Status != store.StatusActive
		sec.AccessToken = tok.AccessToken
		if tok.RefreshToken != "" { // rotated; otherwise keep the one we have
			sec.RefreshToken = tok.RefreshToken
		}
		for k, v := range tok.Secrets {
			if sec.Fields == nil {
				sec.Fields = map[string]string{}
			}
			sec.Fields[k] = v
		}
		if tok.TokenType != "" {
			next.TokenType = tok.TokenType
		}
		if tok.Scope != "" {
			next.Scope = tok.Scope
		}
		for k, v := range tok.Metadata {
			next.Metadata[k] = v
		}
		if v := next.Metadata["instance_url"]; v != "" {
			next.InstanceURL = v
		}
		if tok.RefreshToken == "" && sec.RefreshToken != "" {
			tok.RefreshToken = sec.RefreshToken // for applyExpiry's scheduling
		}
		s.applyExpiry(&next, tok, now)
		next.LastRefreshedAt = &now
		next.FailureCount = 0
		next.Status, next.StatusReason = store.StatusActive, ""
		if err := s.seal(&next, sec); err != nil {
			return nil, "", err
		}
		s.log.InfoContext(ctx, "token refreshed", "tenant", c.TenantID, "provider", c.Provider, "connection", c.ID)
		if wasFailing {
			return &next, webhook.EventConnectionRecovered, nil
		}
		return &next, "", nil
	}

	var e *Error
	if errors.As(err, &e) { // configuration problem on our side: report, keep the row
		return nil, "", err
	}
	pe, ok := err.(*providerError)
	if !ok {
		pe = &providerError{Code: "error", Description: err.Error(), Transient: true}
	}
	s.log.WarnContext(ctx, "token refresh failed", "tenant", c.TenantID, "provider", c.Provider, "connection", c.ID, "err", pe.Error(), "transient", pe.Transient)
	next.FailureCount = c.FailureCount + 1
	if pe.Transient {
		backoff := s.cfg.BackoffBase << min(next.FailureCount-1, 16)
		if backoff > s.cfg.BackoffMax || backoff <= 0 {
			backoff = s.cfg.BackoffMax
		}
		at := now.Add(backoff)
		next.NextRefreshAt = &at
		next.StatusReason = "refresh temporarily failing: " + pe.Error()
		event := ""
		if c.FailureCount == 0 {
			event = webhook.EventConnectionRefreshFailed
		}
		var rerr error
		if s.expired(c) {
			rerr = &Error{Code: CodeRefreshFailed, Status: 502, Msg: "Token refresh failed: " + pe.Error()}
		}
		return &next, event, rerr
	}
	next.Status = store.StatusExpired
	code := CodeConnectionExpired
	if isRevocation(pe) {
		next.Status, code = store.StatusRevoked, CodeConnectionRevoked
	} else if pe.Code == "invalid_client" || pe.Code == "unauthorized_client" {
		next.Status, code = store.StatusError, CodeRefreshFailed
	}
	next.StatusReason = pe.Error()
	next.NextRefreshAt = nil
	msg := "Connection expired; reconnect " + c.Provider
	switch next.Status {
	case store.StatusRevoked:
		msg = "Connection revoked; reconnect " + c.Provider
	case store.StatusError:
		msg = "Token refresh failed"
	}
	return &next, webhook.EventConnectionRefreshFailed, &Error{Code: code, Status: 401, Msg: msg + ": " + pe.Error()}
}

// isRevocation tells a revoked grant from an expired one.
func isRevocation(pe *providerError) bool {
	switch pe.Code {
	case "token_revoked", "access_denied", "revoked", "app_uninstalled", "account_inactive":
		return true
	}
	// invalid_grant covers both ("Token has been expired or revoked."):
	// report it as expired, which asks for the same reconnect.
	return false
}

func (s *Service) callRefresh(ctx context.Context, d *catalog.Descriptor, c *store.Connection, sec *secrets) (*tokenResult, error) {
	a := &d.Auth
	vars := varsOf(c.Params, c.Metadata, sec)
	if c.AuthKind == catalog.AuthOAuth2CC {
		return s.clientCredentialsToken(ctx, a, c.TenantID, c.Provider, sec, vars, splitScopes(c.Scope))
	}
	if sec.RefreshToken == "" {
		return nil, &providerError{Code: "invalid_grant", Description: "the connection has no refresh token"}
	}
	cl, err := s.oauthClient(ctx, c.TenantID, c.Provider)
	if err != nil {
		return nil, err
	}
	tmpl := a.RefreshURL
	if tmpl == "" {
		tmpl = a.TokenURL
	}
	return s.grant(ctx, c.Provider, a, "refresh URL", tmpl, a.RefreshParams, vars, cl, map[string]string{"grant_type": "refresh_token", "refresh_token": sec.RefreshToken})
}

// credentialsOf decrypts c into what an execution receives.
func (s *Service) credentialsOf(c *store.Connection) (provider.Credentials, error) {
	sec, err := s.open(c)
	if err != nil {
		return provider.Credentials{}, err
	}
	cr := provider.Credentials{
		Type: c.AuthKind, AccessToken: sec.AccessToken, TokenSecret: sec.TokenSecret, TokenType: c.TokenType,
		APIKey: sec.APIKey, Username: sec.Username, Password: sec.Password,
		Fields: cloneMap(sec.Fields), Metadata: cloneMap(c.Metadata), Params: cloneMap(c.Params),
	}
	if c.AuthKind == catalog.AuthOAuth2CC { // the client secret stays in the host
		delete(cr.Fields, "client_secret")
		delete(cr.Fields, "clientSecret")
	}
	if cr.TokenType == "" && cr.AccessToken != "" && c.AuthKind != catalog.AuthOAuth1 {
		cr.TokenType = "Bearer"
	}
	if c.ExpiresAt != nil {
		cr.ExpiresAt = *c.ExpiresAt
	}
	return cr, nil
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// RefreshDue lists connections that expire within window (or whose
// scheduled refresh or backoff is due) and enqueues one refresh job per
// connection; without a job queue it refreshes them inline. It returns how
// many it scheduled.
func (s *Service) RefreshDue(ctx context.Context, window time.Duration, limit int) (int, error) {
	refs, err := s.cfg.Store.DueConnections(ctx, s.now().Add(window), limit)
	if err != nil {
		return 0, fmt.Errorf("due connections: %w", err)
	}
	q := s.queue()
	for _, r := range refs {
		if q != nil {
			if err := q.Enqueue(ctx, RefreshArgs{TenantID: r.TenantID, ConnectionID: r.ConnectionID, Window: window}, nil); err != nil {
				return 0, err
			}
			continue
		}
		if err := s.RefreshConnection(ctx, r.TenantID, r.ConnectionID, window); err != nil {
			s.log.WarnContext(ctx, "background refresh failed", "tenant", r.TenantID, "connection", r.ConnectionID, "err", err)
		}
	}
	return len(refs), nil
}
