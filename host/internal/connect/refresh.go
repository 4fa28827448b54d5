package connect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

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
		if cr, c, ok := s.creds.get(key, s.now()); ok && !s.needsRefresh(c, true) {
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
	if s.needsRefresh(c, true) {
		c, err = s.refresh(ctx, c.TenantID, c.ID, false, true)
		if err != nil {
			return provider.Credentials{}, c, err
		}
	}
	creds, err := s.credentialsOf(c)
	if err == nil && ttl > 0 && !s.needsRefresh(c, true) {
		s.creds.put(gen, key, c, creds, s.now().Add(ttl))
	}
	return creds, c, err
}

// ForceRefresh refreshes a connection's token regardless of its expiry,
// after the provider answered 401. The caller allows one per execution;
// concurrent and closely repeated calls (within ForceRefreshInterval of the
// last refresh) share one refresh.
func (s *Service) ForceRefresh(ctx context.Context, tenantID, connectionID string) (provider.Credentials, error) {
	c, err := s.refresh(ctx, tenantID, connectionID, true, true)
	if err != nil {
		return provider.Credentials{}, err
	}
	return s.credentialsOf(c)
}

// RefreshConnection refreshes one connection if it is due (needsRefresh);
// the background job calls it.
func (s *Service) RefreshConnection(ctx context.Context, tenantID, connectionID string) error {
	_, err := s.refresh(ctx, tenantID, connectionID, false, false)
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
// flights in different processes serialize on a lock of the store
// (a PostgreSQL advisory lock held by a session of its own, no
// transaction) and compare-and-swap on Version. After taking the lock the
// row is re-read, so a token another replica just refreshed is used rather
// than refreshed again. Tokens the provider issues are written in a short
// transaction of their own and never dropped when that write fails
// (spool.go).
func (s *Service) refresh(ctx context.Context, tenantID, connID string, force, onDemand bool) (*store.Connection, error) {
	key := tenantID + "\x00" + connID
	s.creds.forgetConn(connID)
	defer s.creds.forgetConn(connID)
	ch := s.sf.DoChan(key, func() (any, error) {
		// The flight outlives any one caller's cancellation.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		c, err := s.refreshOnce(fctx, tenantID, connID, force, onDemand)
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

// refreshOnce serializes with other processes (a store-level lock on
// PostgreSQL; SQLite serves one process, where single-flight is the lock),
// reads the row, calls the provider without any transaction open and
// writes what it issued in a short transaction of its own (storeIssued).
func (s *Service) refreshOnce(ctx context.Context, tenantID, connID string, force, onDemand bool) (*store.Connection, error) {
	if l, ok := s.cfg.Store.(store.RefreshLocker); ok {
		unlock, err := l.LockRefresh(ctx, connID)
		if err != nil {
			return nil, fmt.Errorf("refresh %s: %w", connID, err)
		}
		defer unlock()
	}
	// Tokens issued earlier and not stored yet go in first: they are
	// newer than the row.
	s.replayPending(ctx, connID)
	return s.refreshRow(ctx, tenantID, connID, force, onDemand, true)
}

// decide returns whether c must be refreshed now and, when not, the error
// to report (nil when the current token is good).
func (s *Service) decide(c *store.Connection, force, onDemand bool) (bool, error) {
	if err := usable(c); err != nil {
		return false, err
	}
	if !refreshable(c) {
		if force {
			return false, &Error{Code: CodeUnsupported, Status: 400, Msg: c.AuthKind + " credentials cannot be refreshed"}
		}
		return false, nil
	}
	if force {
		if c.LastRefreshedAt != nil && s.now().Sub(*c.LastRefreshedAt) < s.cfg.ForceRefreshInterval {
			return false, nil // refreshed a moment ago, by us or another replica
		}
	} else if !s.needsRefresh(c, onDemand) {
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

func (s *Service) readConn(ctx context.Context, tenantID, connID string) (*store.Connection, error) {
	var c *store.Connection
	err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		var err error
		c, err = tx.GetConnectionByID(ctx, connID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Code: CodeProviderNotConnected, Status: 404, Msg: "Provider not connected"}
	}
	if err != nil {
		return nil, fmt.Errorf("refresh %s: %w", connID, err)
	}
	return c, nil
}

// refreshRow refreshes the stored connection if it must be. recheck
// allows one second attempt when the provider refuses the refresh token
// as invalid_grant but a newer one has been stored since it was read.
func (s *Service) refreshRow(ctx context.Context, tenantID, connID string, force, onDemand bool, recheck bool) (*store.Connection, error) {
	c, err := s.readConn(ctx, tenantID, connID)
	if err != nil {
		return nil, err
	}
	c, base := s.overlayPending(c)
	need, derr := s.decide(c, force, onDemand)
	if !need {
		return c, derr
	}
	r := s.performRefresh(ctx, c)
	if r.next == nil {
		return c, r.err
	}
	if r.issued {
		if base != nil {
			r.pending.Prior = append(slices.Clone(base.Prior), base.Sent)
		}
		stored, err := s.persistIssued(ctx, r.pending)
		if err != nil {
			return nil, err
		}
		if r.event != "" {
			s.emit(ctx, r.event, stored, stored.StatusReason)
		}
		return stored, nil
	}
	if r.invalidGrant && recheck {
		// The token we sent may have been used by a refresh whose result
		// was stored (or spooled) after we read the row: after a crash,
		// a database outage or by another replica. Use the newer one
		// before declaring the grant dead.
		s.replayPending(ctx, connID)
		fresh, ferr := s.readConn(ctx, tenantID, connID)
		if ferr == nil && s.refreshTokenHash(fresh) != r.sent {
			s.log.InfoContext(ctx, "refresh token was replaced while refreshing; using the newer one",
				"tenant", tenantID, "connection", connID)
			return s.refreshRow(ctx, tenantID, connID, force, onDemand, false)
		}
	}
	err = s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error { return tx.UpdateConnection(ctx, r.next) })
	if errors.Is(err, store.ErrConflict) {
		// Another writer won; its row is newer than ours.
		fresh, rerr := s.readConn(ctx, tenantID, connID)
		if rerr != nil {
			return nil, rerr
		}
		return fresh, usable(fresh)
	}
	if err != nil {
		return c, fmt.Errorf("refresh %s: %w", connID, err)
	}
	if r.event != "" {
		s.emit(ctx, r.event, r.next, r.next.StatusReason)
	}
	return r.next, r.err
}

// refreshResult is what one call to the provider produced.
type refreshResult struct {
	// next is the row to write; nil when nothing is to be written.
	next  *store.Connection
	event string // webhook event to emit once written
	err   error  // for the caller
	// issued is set when the provider issued tokens; pending then carries
	// them to storeIssued.
	issued  bool
	pending *pendingTokens
	// sent is the hash of the refresh token sent; invalidGrant tells
	// that the provider refused it as invalid_grant.
	sent         string
	invalidGrant bool
}

// performRefresh calls the provider and returns what to write.
func (s *Service) performRefresh(ctx context.Context, c *store.Connection) refreshResult {
	sec, err := s.open(c)
	if err != nil {
		return refreshResult{err: err}
	}
	d, err := s.descriptor(c.Provider)
	if err != nil {
		return refreshResult{err: err}
	}
	sent := tokenHash(sec.RefreshToken)
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
			return refreshResult{err: err}
		}
		s.log.InfoContext(ctx, "token refreshed", "tenant", c.TenantID, "provider", c.Provider, "connection", c.ID)
		r := refreshResult{next: &next, issued: true, sent: sent,
			pending: &pendingTokens{Conn: next, Sent: sent}}
		if wasFailing {
			r.event = webhook.EventConnectionRecovered
		}
		return r
	}

	var e *Error
	if errors.As(err, &e) { // configuration problem on our side: report, keep the row
		return refreshResult{err: err}
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
		return refreshResult{next: &next, event: event, err: rerr, sent: sent}
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
	return refreshResult{next: &next, event: webhook.EventConnectionRefreshFailed, sent: sent,
		err:          &Error{Code: code, Status: 401, Msg: msg + ": " + pe.Error()},
		invalidGrant: pe.Code == "invalid_grant" && c.AuthKind == catalog.AuthOAuth2}
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

// RefreshDue lists the connections due for refresh within lookahead (their
// scheduled refresh, backoff or, for rows without a schedule, expiry) and
// enqueues one refresh job per connection, scheduled at the connection's
// refresh time; without a job queue it refreshes those due now inline. It
// returns how many it listed.
func (s *Service) RefreshDue(ctx context.Context, lookahead time.Duration, limit int) (int, error) {
	refs, err := s.cfg.Store.DueConnections(ctx, s.now().Add(lookahead), limit)
	if err != nil {
		return 0, fmt.Errorf("due connections: %w", err)
	}
	q := s.queue()
	for _, r := range refs {
		if q != nil {
			if err := q.Enqueue(ctx, RefreshArgs{TenantID: r.TenantID, ConnectionID: r.ConnectionID}, s.jobTime(ctx, r)); err != nil {
				return 0, err
			}
			continue
		}
		if err := s.RefreshConnection(ctx, r.TenantID, r.ConnectionID); err != nil {
			s.log.WarnContext(ctx, "background refresh failed", "tenant", r.TenantID, "connection", r.ConnectionID, "err", err)
		}
	}
	return len(refs), nil
}

// jobTime returns the insert options that run r's refresh job at its
// refresh time, or nil to run it at once. The delay is measured on the
// Service's clock and applied to the queue's (wall) clock.
func (s *Service) jobTime(ctx context.Context, r store.ConnRef) *river.InsertOpts {
	c, err := s.readConn(ctx, r.TenantID, r.ConnectionID)
	if err != nil {
		return nil
	}
	at, ok := s.refreshAt(c)
	if !ok {
		return nil
	}
	if d := at.Sub(s.now()); d > 0 {
		return &river.InsertOpts{ScheduledAt: time.Now().Add(d)}
	}
	return nil
}
