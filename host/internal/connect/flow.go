package connect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/webhook"
)

// ConnectOptions are the tenant's choices when starting a connection.
type ConnectOptions struct {
	// Params are connection parameters the descriptor declares (Shopify
	// "subdomain", Zoho "region").
	Params map[string]string
	// Scopes replace the default scopes when set.
	Scopes []string
	// ReturnTo is where the browser goes after the callback: a relative
	// path, or an absolute URL under Config.AllowedReturnTo.
	ReturnTo string
}

// ConnectResult is the spec's connect response.
type ConnectResult struct {
	AuthURL string `json:"authUrl"`
	State   string `json:"state"`
}

// CallbackResult says where a finished (or failed) authorization belongs.
// TenantID and ReturnTo are set whenever the state was valid.
type CallbackResult struct {
	TenantID   string
	Provider   string
	ReturnTo   string
	Connection *store.Connection
}

// stateExtra is the non-secret part of a pending authorization.
type stateExtra struct {
	ReturnTo     string            `json:"return_to,omitempty"`
	Params       map[string]string `json:"params,omitempty"`
	Scopes       []string          `json:"scopes,omitempty"`
	RequestToken string            `json:"request_token,omitempty"`
}

// stateSecret is the encrypted part of a pending authorization.
type stateSecret struct {
	Verifier           string `json:"verifier,omitempty"`
	RequestTokenSecret string `json:"request_token_secret,omitempty"`
}

// HashState returns the stored form of a state: hex SHA-256.
func HashState(state string) string {
	h := sha256.Sum256([]byte(state))
	return hex.EncodeToString(h[:])
}

// StartConnect begins an OAuth authorization for the tenant (and user,
// when userID is not empty) and returns the provider URL to send the
// browser to. The state is single use, expires after Config.StateTTL and
// is bound to tenant, user, provider and redirect URI; only its hash is
// stored.
func (s *Service) StartConnect(ctx context.Context, tenantID, userID, provider string, opts ConnectOptions) (ConnectResult, error) {
	d, err := s.descriptor(provider)
	if err != nil {
		return ConnectResult{}, err
	}
	a := &d.Auth
	if a.Kind != catalog.AuthOAuth2 && a.Kind != catalog.AuthOAuth1 {
		return ConnectResult{}, &Error{Code: CodeUnsupported, Status: 400, Msg: fmt.Sprintf(
			"%s connects with %s credentials, not a browser flow: use POST /api/v1/connections/%s", provider, a.Kind, provider)}
	}
	if err := s.checkReturnTo(opts.ReturnTo); err != nil {
		return ConnectResult{}, err
	}
	params, err := checkParams(d, a, opts.Params)
	if err != nil {
		return ConnectResult{}, err
	}
	cl, err := s.oauthClient(ctx, tenantID, provider)
	if err != nil {
		return ConnectResult{}, err
	}
	if err := checkTokenHost(provider, a, cl, varsOf(params, nil, nil)); err != nil {
		return ConnectResult{}, err
	}
	scopes := opts.Scopes
	if len(scopes) == 0 {
		scopes = cl.Scopes
	}
	if len(scopes) == 0 {
		scopes = a.Scopes
	}
	state := randomToken(32)
	redirect := s.RedirectURI(provider)
	st := &store.OAuthState{
		ID: newID("st"), TenantID: tenantID, UserID: userID, StateHash: HashState(state),
		Provider: provider, RedirectURI: redirect, CreatedAt: s.now(), ExpiresAt: s.now().Add(s.cfg.StateTTL),
	}
	extra := stateExtra{ReturnTo: opts.ReturnTo, Params: params, Scopes: scopes}
	var sec stateSecret
	vars := varsOf(params, nil, nil)

	var authURL string
	if a.Kind == catalog.AuthOAuth1 {
		authURL, err = s.startOAuth1(ctx, provider, a, cl, redirect, state, scopes, vars, &extra, &sec)
	} else {
		authURL, err = s.authCodeURL(a, cl, redirect, state, scopes, vars, &sec)
	}
	if err != nil {
		return ConnectResult{}, err
	}
	st.Extra, _ = json.Marshal(extra)
	if sec != (stateSecret{}) {
		pt, _ := json.Marshal(sec)
		if st.SecretCT, st.KeyID, err = s.cfg.Keyring.Seal(pt, stateAD(tenantID, provider, st.ID)); err != nil {
			return ConnectResult{}, err
		}
	}
	err = s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		if err := checkUser(ctx, tx, userID); err != nil {
			return err
		}
		if err := s.checkStateCap(ctx, tx); err != nil {
			return err
		}
		return tx.CreateState(ctx, st)
	})
	if _, ok := AsError(err); ok {
		return ConnectResult{}, err
	}
	if err != nil {
		return ConnectResult{}, fmt.Errorf("save state: %w", err)
	}
	return ConnectResult{AuthURL: authURL, State: state}, nil
}

func (s *Service) authCodeURL(a *catalog.Auth, cl client, redirect, state string, scopes []string, vars map[string]map[string]string, sec *stateSecret) (string, error) {
	authz, err := expandURL("authorization URL", a.AuthorizationURL, a, vars)
	if err != nil {
		return "", err
	}
	conf := oauth2.Config{ClientID: cl.ID, RedirectURL: redirect, Endpoint: oauth2.Endpoint{AuthURL: authz}}
	var opts []oauth2.AuthCodeOption
	if len(scopes) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("scope", strings.Join(scopes, separator(a))))
	}
	extra, err := expandMap(a.AuthorizationParams, vars)
	if err != nil {
		return "", err
	}
	for k, v := range extra {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	if a.PKCE {
		sec.Verifier = oauth2.GenerateVerifier()
		if strings.EqualFold(a.PKCEMethod, "plain") {
			opts = append(opts, oauth2.SetAuthURLParam("code_challenge_method", "plain"), oauth2.SetAuthURLParam("code_challenge", sec.Verifier))
		} else {
			opts = append(opts, oauth2.S256ChallengeOption(sec.Verifier))
		}
	}
	return conf.AuthCodeURL(state, opts...), nil
}

func separator(a *catalog.Auth) string {
	if a.ScopeSeparator != "" {
		return a.ScopeSeparator
	}
	return " "
}

// checkParams keeps the connection parameters the descriptor declares,
// each checked by checkValue, and rejects others.
func checkParams(d *catalog.Descriptor, a *catalog.Auth, in map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range in {
		if !slices.Contains(a.ConnectionParams, k) {
			return nil, &Error{Code: CodeInvalidInput, Status: 400, Msg: fmt.Sprintf("unknown connection parameter %q (expected one of: %s)", k, strings.Join(a.ConnectionParams, ", "))}
		}
		if v = strings.TrimSpace(v); v != "" {
			if err := checkParamValue(k, v); err != nil {
				return nil, err
			}
			if err := checkValue(d, a, catalog.NSConnection, k, v); err != nil {
				return nil, err
			}
			out[k] = v
		}
	}
	return out, nil
}

// checkParamValue refuses a connection parameter value that is not
// valid UTF-8, holds a control character or exceeds
// store.MaxParamValue characters.
func checkParamValue(k, v string) error {
	bad := func(why string) error {
		return &Error{Code: CodeInvalidInput, Status: 400, Msg: fmt.Sprintf("connection parameter %s %s", k, why)}
	}
	if !utf8.ValidString(v) {
		return bad("must be valid UTF-8")
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return bad("must not contain control characters")
	}
	if utf8.RuneCountInString(v) > store.MaxParamValue {
		return bad(fmt.Sprintf("must be at most %d characters", store.MaxParamValue))
	}
	return nil
}

// checkTokenHost refuses, before the browser leaves, a connection whose
// token endpoint would receive the operator's client at a host the
// tenant chose. Templates that need values the callback brings are
// checked when it comes.
func checkTokenHost(provider string, a *catalog.Auth, cl client, vars map[string]map[string]string) error {
	for _, t := range []struct{ what, tmpl string }{{"token URL", a.TokenURL}, {"request token URL", a.RequestTokenURL}} {
		if t.tmpl == "" {
			continue
		}
		if _, err := secretURL(provider, t.what, t.tmpl, a, cl, vars); err != nil && !errors.Is(err, catalog.ErrMissingVariable) {
			return err
		}
	}
	return nil
}

// maxReturnTo bounds return_to (kept with the state until the callback).
const maxReturnTo = 2048

// checkReturnTo allows relative paths and absolute URLs under an allowed
// prefix, so the callback cannot be used as an open redirect.
func (s *Service) checkReturnTo(rt string) error {
	if rt == "" {
		return nil
	}
	bad := &Error{Code: CodeInvalidReturnTo, Status: 400, Msg: "return_to must be a relative path or an allowed URL"}
	if strings.ContainsAny(rt, "\\\r\n\t") || strings.IndexFunc(rt, unicode.IsControl) >= 0 || !utf8.ValidString(rt) {
		return bad
	}
	if utf8.RuneCountInString(rt) > maxReturnTo {
		return &Error{Code: CodeInvalidReturnTo, Status: 400, Msg: fmt.Sprintf("return_to must be at most %d characters", maxReturnTo)}
	}
	if strings.HasPrefix(rt, "/") && !strings.HasPrefix(rt, "//") {
		return nil
	}
	for _, p := range s.cfg.AllowedReturnTo {
		if !strings.HasPrefix(rt, p) {
			continue
		}
		rest := rt[len(p):]
		if strings.HasSuffix(p, "/") || rest == "" || strings.ContainsAny(rest[:1], "/?#") {
			return nil
		}
	}
	return bad
}

// Callback completes an authorization: it consumes the state, exchanges
// the code and stores the connection. Any problem with the state returns
// an *Error with code invalid_state and message "Invalid state", and
// stores nothing. The result carries the tenant and return target whenever
// the state was valid, so handlers can redirect even on failure.
func (s *Service) Callback(ctx context.Context, provider string, query url.Values) (CallbackResult, error) {
	res := CallbackResult{Provider: provider}
	state := query.Get("state")
	if state == "" || len(state) > 512 {
		return res, invalidState("missing state")
	}
	hash := HashState(state)
	now := s.now()
	tenantID, err := s.cfg.Store.LookupStateTenant(ctx, hash, now)
	if errors.Is(err, store.ErrNotFound) {
		return res, invalidState("unknown or expired state")
	}
	if err != nil {
		return res, err
	}
	var st *store.OAuthState
	err = s.cfg.Store.InTenant(ctx, tenantID, func(tx store.Tx) error {
		var err error
		st, err = tx.ConsumeState(ctx, hash)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return res, invalidState("state already used")
	}
	if err != nil {
		return res, err
	}
	switch {
	case st.Provider != provider:
		return res, invalidState(fmt.Sprintf("state issued for another provider (%s)", st.Provider))
	case !now.Before(st.ExpiresAt):
		return res, invalidState("state expired")
	case st.RedirectURI != s.RedirectURI(provider):
		return res, invalidState("redirect URI changed since the state was issued")
	}
	var extra stateExtra
	if len(st.Extra) > 0 {
		if err := json.Unmarshal(st.Extra, &extra); err != nil {
			return res, invalidState("unreadable state")
		}
	}
	var sec stateSecret
	if len(st.SecretCT) > 0 {
		pt, err := s.cfg.Keyring.Open(st.SecretCT, stateAD(st.TenantID, st.Provider, st.ID))
		if err != nil {
			return res, invalidState("state secret does not decrypt")
		}
		if err := json.Unmarshal(pt, &sec); err != nil {
			return res, invalidState("unreadable state secret")
		}
	}
	res.TenantID, res.ReturnTo = st.TenantID, extra.ReturnTo

	if e := query.Get("error"); e != "" {
		desc := query.Get("error_description")
		if e == "access_denied" {
			return res, &Error{Code: CodeAccessDenied, Status: 403, Msg: "Access denied: the authorization was declined at " + provider}
		}
		return res, &Error{Code: CodeTokenExchangeFailed, Status: 502, Msg: "Token exchange failed: " + (&providerError{Code: e, Description: desc}).Error()}
	}
	d, err := s.descriptor(provider)
	if err != nil {
		return res, err
	}
	cl, err := s.oauthClient(ctx, st.TenantID, provider)
	if err != nil {
		return res, err
	}
	params := extra.Params
	if params == nil {
		params = map[string]string{}
	}
	// Values the callback brings are checked like those of the connect
	// request: whoever calls the callback URL chooses them.
	for _, k := range d.Auth.ConnectionParams { // QuickBooks realmId arrives in the callback
		if v := query.Get(k); v != "" {
			if _, set := params[k]; !set {
				if err := checkValue(d, &d.Auth, catalog.NSConnection, k, v); err != nil {
					return res, err
				}
				params[k] = v
			}
		}
	}
	metadata := map[string]string{}
	for _, k := range d.Auth.RedirectMetadata {
		if v := query.Get(k); v != "" {
			if err := checkValue(d, &d.Auth, catalog.NSMetadata, k, v); err != nil {
				return res, err
			}
			metadata[k] = v
		}
	}

	var tok *tokenResult
	if d.Auth.Kind == catalog.AuthOAuth1 {
		tok, err = s.finishOAuth1(ctx, provider, &d.Auth, cl, query, &extra, &sec, varsOf(params, metadata, nil))
	} else {
		tok, err = s.exchangeCode(ctx, provider, &d.Auth, cl, st.RedirectURI, query.Get("code"), sec.Verifier, varsOf(params, metadata, nil))
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return res, err
		}
		s.log.WarnContext(ctx, "token exchange failed", "tenant", st.TenantID, "provider", provider, "err", err)
		return res, &Error{Code: CodeTokenExchangeFailed, Status: 502, Msg: "Token exchange failed: " + err.Error()}
	}
	if err := checkTokenMetadata(d, tok); err != nil {
		return res, err
	}
	for k, v := range tok.Metadata {
		metadata[k] = v
	}
	if d.Auth.Kind == catalog.AuthOAuth1 {
		// OAuth 1.0a tokens are used with the consumer key (Trello's
		// key+token); the key is public, the secret stays in the host.
		metadata["consumer_key"] = cl.ID
	}
	c := &store.Connection{
		TenantID: st.TenantID, UserID: st.UserID, Provider: provider, AuthKind: d.Auth.Kind,
		TokenType: tok.TokenType, Scope: tok.Scope, Status: store.StatusActive,
		Metadata: metadata, Params: params,
	}
	if c.Scope == "" {
		c.Scope = strings.Join(extra.Scopes, separator(&d.Auth))
	}
	c.InstanceURL = metadata["instance_url"]
	s.applyExpiry(c, tok, now)
	c.LastRefreshedAt = &now
	sec2 := &secrets{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenSecret: tok.TokenSecret, Fields: tok.Secrets}
	if err := s.saveConnection(ctx, c, sec2); err != nil {
		return res, fmt.Errorf("save connection: %w", err)
	}
	res.Connection = c
	s.audit(ctx, c.TenantID, c.UserID, "connection.created", c.Provider, map[string]string{"connection_id": c.ID, "kind": c.AuthKind})
	s.emit(ctx, webhook.EventConnectionCreated, c, "")
	return res, nil
}

// applyExpiry sets ExpiresAt from expires_in and schedules the token's
// background refresh (scheduleRefresh).
func (s *Service) applyExpiry(c *store.Connection, tok *tokenResult, now time.Time) {
	c.ExpiresAt, c.NextRefreshAt = nil, nil
	if tok.ExpiresIn > 0 {
		exp := now.Add(tok.ExpiresIn)
		c.ExpiresAt = &exp
	}
	s.scheduleRefresh(c, tok, now)
}

func (s *Service) exchangeCode(ctx context.Context, provider string, a *catalog.Auth, cl client, redirect, code, verifier string, vars map[string]map[string]string) (*tokenResult, error) {
	if code == "" {
		return nil, &Error{Code: CodeInvalidCallback, Status: 400, Msg: "the callback carries no authorization code"}
	}
	fields := map[string]string{"grant_type": "authorization_code", "code": code, "redirect_uri": redirect}
	if verifier != "" {
		fields["code_verifier"] = verifier
	}
	return s.grant(ctx, provider, a, "token URL", a.TokenURL, a.TokenParams, vars, cl, fields)
}

// checkTokenMetadata checks the token-response fields kept with the
// connection like any other value that fills a template.
func checkTokenMetadata(d *catalog.Descriptor, tok *tokenResult) error {
	for k, v := range tok.Metadata {
		if err := checkValue(d, &d.Auth, catalog.NSMetadata, k, v); err != nil {
			e, _ := AsError(err)
			return &Error{Code: CodeTokenExchangeFailed, Status: 502, Msg: "Token exchange failed: the token response's " + e.Msg}
		}
	}
	return nil
}
