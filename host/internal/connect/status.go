package connect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/webhook"
)

// ConnectionStatus is the spec's status response, extended. It never
// holds secrets.
type ConnectionStatus struct {
	// Connected is true when an active connection exists.
	Connected  bool            `json:"connected"`
	Provider   string          `json:"provider"`
	Connection *ConnectionInfo `json:"connection,omitempty"`
	// OAuthApp says, for a provider whose primary way to connect is OAuth
	// 2.0 or 1.0a, which OAuth app a connect would use.
	OAuthApp *OAuthAppState `json:"oauth_app,omitempty"`
}

// OAuthAppState says which OAuth app a connect would use, so a client can
// tell the tenant before it starts a flow that cannot work. It never
// holds the operator's client id or any secret.
type OAuthAppState struct {
	// Configured is true when the tenant has its own app or the operator
	// set {PROVIDER}_CLIENT_ID and _CLIENT_SECRET.
	Configured bool `json:"configured"`
	// Source is "tenant" (the tenant's own app, which wins) or "host" (the
	// operator's); empty when none is configured.
	Source string `json:"source,omitempty"`
	// ClientID is the tenant's own app's client id (source "tenant" only).
	ClientID string `json:"client_id,omitempty"`
	// Message says what to do when no app is configured: the same text a
	// connect answers with.
	Message string `json:"message,omitempty"`
	// RedirectURI is the callback URL to register with the provider's app.
	RedirectURI string `json:"redirect_uri"`
}

// ConnectionInfo describes one connection without its secrets.
type ConnectionInfo struct {
	ID              string            `json:"id"`
	Provider        string            `json:"provider"`
	UserID          string            `json:"user_id,omitempty"`
	Scope           string            `json:"scope"`
	ConnectedAt     time.Time         `json:"connected_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
	Status          string            `json:"status"`
	StatusReason    string            `json:"status_reason,omitempty"`
	ExpiresAt       *time.Time        `json:"expires_at,omitempty"`
	LastRefreshedAt *time.Time        `json:"last_refreshed_at,omitempty"`
	AuthKind        string            `json:"auth_kind"`
	InstanceURL     string            `json:"instance_url,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	Params          map[string]string `json:"params,omitempty"`
}

// Info describes c without secrets.
func Info(c *store.Connection) *ConnectionInfo {
	return &ConnectionInfo{
		ID: c.ID, Provider: c.Provider, UserID: c.UserID, Scope: c.Scope,
		ConnectedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Status: c.Status, StatusReason: c.StatusReason,
		ExpiresAt: c.ExpiresAt, LastRefreshedAt: c.LastRefreshedAt, AuthKind: c.AuthKind,
		InstanceURL: c.InstanceURL, Metadata: c.Metadata, Params: c.Params,
	}
}

// Status reports the tenant's connection to provider. A missing connection
// is {"connected": false}, not an error.
func (s *Service) Status(ctx context.Context, tenantID, userID, provider string) (*ConnectionStatus, error) {
	d, err := s.descriptor(provider)
	if err != nil {
		return nil, err
	}
	st := &ConnectionStatus{Provider: provider}
	if d.Auth.Kind == catalog.AuthOAuth2 || d.Auth.Kind == catalog.AuthOAuth1 {
		if st.OAuthApp, err = s.oauthAppState(ctx, tenantID, provider); err != nil {
			return nil, err
		}
	}
	c, err := s.getConnection(ctx, tenantID, userID, provider)
	if errors.Is(err, ErrProviderNotConnected) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	st.Connected, st.Connection = c.Status == store.StatusActive, Info(c)
	return st, nil
}

// oauthAppState says which OAuth app a connect to provider would use,
// in the order oauthClient picks them.
func (s *Service) oauthAppState(ctx context.Context, tenantID, provider string) (*OAuthAppState, error) {
	st := &OAuthAppState{RedirectURI: s.RedirectURI(provider)}
	err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		app, err := tx.GetOAuthApp(ctx, provider)
		if err == nil {
			st.Configured, st.Source, st.ClientID = true, "tenant", app.ClientID
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	switch {
	case st.Configured:
	case s.hostClientSet(provider):
		st.Configured, st.Source = true, "host"
	default:
		st.Message = notConfiguredMsg(provider)
	}
	return st, nil
}

// List returns every connection of the tenant.
func (s *Service) List(ctx context.Context, tenantID string) ([]*ConnectionInfo, error) {
	var out []*ConnectionInfo
	err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		cs, err := tx.ListConnections(ctx)
		for i := range cs {
			out = append(out, Info(&cs[i]))
		}
		return err
	})
	return out, err
}

// Disconnect revokes the connection's tokens at the provider when the
// descriptor names a revocation endpoint (RFC 7009; failures are logged,
// not fatal), deletes the connection and emits connection.disconnected.
// It returns the "Provider not connected" error when there is none.
func (s *Service) Disconnect(ctx context.Context, tenantID, userID, provider string) error {
	c, err := s.getConnection(ctx, tenantID, userID, provider)
	if err != nil {
		return err
	}
	if d, ok := s.cfg.Catalog.Get(provider); ok && d.Auth.RevocationURL != "" && d.Auth.Kind == catalog.AuthOAuth2 {
		if err := s.revoke(ctx, d, c); err != nil {
			s.log.WarnContext(ctx, "token revocation failed", "tenant", tenantID, "provider", provider, "connection", c.ID, "err", err)
		}
	}
	s.removing(ctx, c)
	s.creds.forgetConn(c.ID)
	err = s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error { return tx.DeleteConnection(ctx, c.ID) })
	s.creds.forgetConn(c.ID)
	if errors.Is(err, store.ErrNotFound) {
		return &Error{Code: CodeProviderNotConnected, Status: 404, Msg: "Provider not connected"}
	}
	if err != nil {
		return fmt.Errorf("disconnect: %w", err)
	}
	s.audit(ctx, tenantID, userID, "connection.disconnected", provider, map[string]string{"connection_id": c.ID})
	c.Status = "disconnected"
	s.emit(ctx, webhook.EventConnectionDisconnected, c, "")
	return nil
}

// revoke posts the refresh token (which ends the grant) and the access
// token to the revocation endpoint.
func (s *Service) revoke(ctx context.Context, d *catalog.Descriptor, c *store.Connection) error {
	sec, err := s.open(c)
	if err != nil {
		return err
	}
	cl, err := s.oauthClient(ctx, c.TenantID, c.Provider)
	if err != nil {
		return err
	}
	endpoint, err := secretURL(c.Provider, "revocation URL", d.Auth.RevocationURL, &d.Auth, cl, varsOf(c.Params, c.Metadata, sec))
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range []struct{ tok, hint string }{{sec.RefreshToken, "refresh_token"}, {sec.AccessToken, "access_token"}} {
		if t.tok == "" {
			continue
		}
		form := url.Values{"token": {t.tok}, "token_type_hint": {t.hint}}
		if d.Auth.TokenAuth != "basic" {
			form.Set("client_id", cl.ID)
			form.Set("client_secret", cl.Secret)
		}
		body, ctype := form.Encode(), "application/x-www-form-urlencoded"
		if d.Auth.TokenBody == "json" {
			m := map[string]string{}
			for k := range form {
				m[k] = form.Get(k)
			}
			b, _ := json.Marshal(m)
			body, ctype = string(b), "application/json"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", ctype)
		if d.Auth.TokenAuth == "basic" {
			req.SetBasicAuth(url.QueryEscape(cl.ID), url.QueryEscape(cl.Secret))
		}
		resp, err := s.secretClient.Do(req)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s", t.hint, redactURLError(err)))
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			errs = append(errs, fmt.Errorf("%s: revocation endpoint answered %s", t.hint, resp.Status))
		}
	}
	return errors.Join(errs...)
}
