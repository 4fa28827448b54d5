package connect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/store"
)

// OAuthAppInfo describes a tenant's OAuth app; the secret is never
// returned.
type OAuthAppInfo struct {
	Provider  string    `json:"provider"`
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PutOAuthApp registers (or replaces) the tenant's own OAuth client for
// provider. It overrides {PROVIDER}_CLIENT_ID/_CLIENT_SECRET for that
// tenant. The secret is stored encrypted.
func (s *Service) PutOAuthApp(ctx context.Context, tenantID, provider, clientID, clientSecret string, scopes []string) (*OAuthAppInfo, error) {
	d, err := s.descriptor(provider)
	if err != nil {
		return nil, err
	}
	switch d.Auth.Kind {
	case catalog.AuthOAuth2, catalog.AuthOAuth1, catalog.AuthOAuth2CC:
	default:
		return nil, &Error{Code: CodeUnsupported, Status: 400, Msg: fmt.Sprintf("%s does not use OAuth (auth kind %s)", provider, d.Auth.Kind)}
	}
	clientID, clientSecret = strings.TrimSpace(clientID), strings.TrimSpace(clientSecret)
	if clientID == "" || clientSecret == "" {
		return nil, &Error{Code: CodeInvalidInput, Status: 400, Msg: "client_id and client_secret are required"}
	}
	ct, kid, err := s.cfg.Keyring.Seal([]byte(clientSecret), appAD(tenantID, provider))
	if err != nil {
		return nil, err
	}
	now := s.now()
	app := &store.OAuthApp{TenantID: tenantID, Provider: provider, ClientID: clientID, ClientSecretCT: ct, KeyID: kid,
		Scopes: strings.Join(scopes, " "), CreatedAt: now, UpdatedAt: now}
	err = s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		if old, err := tx.GetOAuthApp(ctx, provider); err == nil {
			app.CreatedAt = old.CreatedAt
		}
		return tx.PutOAuthApp(ctx, app)
	})
	if err != nil {
		return nil, fmt.Errorf("put oauth app: %w", err)
	}
	s.audit(ctx, tenantID, "", "oauth_app.put", provider, map[string]string{"client_id": clientID})
	return appInfo(app), nil
}

// GetOAuthApp returns the tenant's OAuth app for provider, without its
// secret; an *Error with code not_configured when there is none.
func (s *Service) GetOAuthApp(ctx context.Context, tenantID, provider string) (*OAuthAppInfo, error) {
	var app *store.OAuthApp
	err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		var err error
		app, err = tx.GetOAuthApp(ctx, provider)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Code: CodeOAuthAppNotFound, Status: 404, Msg: "no OAuth app registered for " + provider}
	}
	if err != nil {
		return nil, err
	}
	return appInfo(app), nil
}

// DeleteOAuthApp removes the tenant's OAuth app for provider.
func (s *Service) DeleteOAuthApp(ctx context.Context, tenantID, provider string) error {
	err := s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error { return tx.DeleteOAuthApp(ctx, provider) })
	if errors.Is(err, store.ErrNotFound) {
		return &Error{Code: CodeOAuthAppNotFound, Status: 404, Msg: "no OAuth app registered for " + provider}
	}
	if err == nil {
		s.audit(ctx, tenantID, "", "oauth_app.delete", provider, nil)
	}
	return err
}

func appInfo(a *store.OAuthApp) *OAuthAppInfo {
	return &OAuthAppInfo{Provider: a.Provider, ClientID: a.ClientID, Scopes: splitScopes(a.Scopes), CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}
