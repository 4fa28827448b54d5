package connect

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/webhook"
)

// CredentialsInput is what a tenant enters for api_key, basic, custom and
// oauth2_cc connections.
type CredentialsInput struct {
	APIKey   string            `json:"api_key,omitempty"`
	Username string            `json:"username,omitempty"`
	Password string            `json:"password,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
	Params   map[string]string `json:"params,omitempty"`
	// Scopes are requested by oauth2_cc connections.
	Scopes []string `json:"scopes,omitempty"`
	// AuthKind picks one of the ways the descriptor offers to connect
	// (e.g. "api_key" for Stripe, whose primary way is OAuth). By default
	// the first that takes typed-in credentials is used.
	AuthKind string `json:"auth_kind,omitempty"`
}

// typedIn reports whether an auth kind takes credentials a tenant types in.
func typedIn(kind string) bool {
	switch kind {
	case catalog.AuthAPIKey, catalog.AuthBasic, catalog.AuthCustom, catalog.AuthOAuth2CC:
		return true
	}
	return false
}

// credentialAuth returns the descriptor's way to connect with typed-in
// credentials: the one of kind (if given), else the primary when it takes
// them, else the first alternative that does.
func credentialAuth(d *catalog.Descriptor, kind string) (*catalog.Auth, error) {
	all := append([]catalog.Auth{d.Auth}, d.AuthAlternatives...)
	if kind != "" {
		var offered []string
		for i := range all {
			if all[i].Kind == kind {
				return &all[i], nil
			}
			if !slices.Contains(offered, all[i].Kind) {
				offered = append(offered, all[i].Kind)
			}
		}
		return nil, &Error{Code: CodeInvalidInput, Status: 400, Msg: fmt.Sprintf(
			"%s offers no %s connection (it offers: %s)", d.ID, kind, strings.Join(offered, ", "))}
	}
	for i := range all {
		if typedIn(all[i].Kind) {
			return &all[i], nil
		}
	}
	return &all[0], nil
}

// ConnectCredentials stores credentials the tenant typed in. Required
// fields are checked (the error names the field); when the descriptor has
// a check_url the credentials are tried against the provider first, and a
// rejection returns an invalid_credentials error carrying the provider's
// message. oauth2_cc connections fetch their first token here with the
// tenant's client id and secret (fields client_id and client_secret).
func (s *Service) ConnectCredentials(ctx context.Context, tenantID, userID, providerID string, in CredentialsInput) (*store.Connection, error) {
	d, err := s.descriptor(providerID)
	if err != nil {
		return nil, err
	}
	a, err := credentialAuth(d, strings.TrimSpace(in.AuthKind))
	if err != nil {
		return nil, err
	}
	// Check and apply credentials the way the chosen way says.
	dd := *d
	dd.Auth = *a
	d, a = &dd, &dd.Auth
	params, err := checkParams(d, a, in.Params)
	if err != nil {
		return nil, err
	}
	sec := &secrets{Fields: map[string]string{}}
	for k, v := range in.Fields {
		if v = strings.TrimSpace(v); v != "" {
			sec.Fields[k] = v
		}
	}
	missing := func(name string) error {
		return &Error{Code: CodeInvalidInput, Status: 400, Msg: fmt.Sprintf("%s is required to connect %s", name, providerID)}
	}
	c := &store.Connection{TenantID: tenantID, UserID: userID, Provider: providerID, AuthKind: a.Kind, Status: store.StatusActive, Params: params, Metadata: map[string]string{}}
	switch a.Kind {
	case catalog.AuthAPIKey:
		sec.APIKey = strings.TrimSpace(in.APIKey)
		if sec.APIKey == "" && len(a.CredentialFields) == 1 {
			sec.APIKey = sec.Fields[a.CredentialFields[0]]
		}
		if sec.APIKey == "" {
			return nil, missing("api_key")
		}
	case catalog.AuthBasic:
		sec.Username, sec.Password = strings.TrimSpace(in.Username), in.Password
		if sec.Username == "" {
			sec.Username = sec.Fields["username"]
		}
		if sec.Password == "" {
			sec.Password = sec.Fields["password"]
		}
		if sec.Username == "" {
			return nil, missing("username")
		}
		if sec.Password == "" && slices.Contains(a.CredentialFields, "password") {
			return nil, missing("password")
		}
		delete(sec.Fields, "password")
	case catalog.AuthCustom:
		for _, f := range a.CredentialFields {
			if sec.Fields[f] == "" {
				return nil, missing(f)
			}
		}
		if len(sec.Fields) == 0 {
			return nil, missing("fields")
		}
	case catalog.AuthOAuth2CC:
		if clientField(sec, "client_id", "clientId") == "" {
			return nil, missing("fields.client_id")
		}
		if clientField(sec, "client_secret", "clientSecret") == "" {
			return nil, missing("fields.client_secret")
		}
	default:
		return nil, &Error{Code: CodeUnsupported, Status: 400, Msg: fmt.Sprintf(
			"%s connects through the browser: use GET /api/integrations/%s?action=connect", providerID, providerID)}
	}
	now := s.now()
	vars := varsOf(params, nil, sec)
	if a.Kind == catalog.AuthOAuth2CC {
		tok, err := s.clientCredentialsToken(ctx, a, tenantID, providerID, sec, vars, in.Scopes)
		if err != nil {
			if e, ok := AsError(err); ok {
				return nil, e
			}
			return nil, &Error{Code: CodeInvalidCredentials, Status: 400, Msg: fmt.Sprintf("%s rejected the client credentials: %v", providerID, err), Err: err}
		}
		sec.AccessToken = tok.AccessToken
		c.TokenType, c.Scope, c.Metadata = tok.TokenType, tok.Scope, nonNil(tok.Metadata)
		if c.Scope == "" {
			c.Scope = strings.Join(in.Scopes, separator(a))
		}
		s.applyExpiry(c, tok, now)
		c.LastRefreshedAt = &now
	} else if a.CheckURL != "" {
		if err := s.check(ctx, d, params, sec); err != nil {
			return nil, err
		}
	}
	if err := s.saveConnection(ctx, c, sec); err != nil {
		return nil, fmt.Errorf("save connection: %w", err)
	}
	s.audit(ctx, tenantID, userID, "connection.created", providerID, map[string]string{"connection_id": c.ID, "kind": c.AuthKind})
	s.emit(ctx, webhook.EventConnectionCreated, c, "")
	return c, nil
}

func clientField(sec *secrets, names ...string) string {
	for _, n := range names {
		if v := sec.Fields[n]; v != "" {
			return v
		}
	}
	return ""
}

// clientCredentialsToken fetches a token with the client credentials grant
// using the connection's own client id and secret.
func (s *Service) clientCredentialsToken(ctx context.Context, a *catalog.Auth, tenantID, providerID string, sec *secrets, vars map[string]map[string]string, scopes []string) (*tokenResult, error) {
	cl := client{ID: clientField(sec, "client_id", "clientId"), Secret: clientField(sec, "client_secret", "clientSecret")}
	if cl.ID == "" {
		var err error
		if cl, err = s.oauthClient(ctx, tenantID, providerID); err != nil {
			return nil, err
		}
	}
	fields := map[string]string{"grant_type": "client_credentials"}
	if len(scopes) == 0 {
		scopes = a.Scopes
	}
	if len(scopes) > 0 {
		fields["scope"] = strings.Join(scopes, separator(a))
	}
	return s.grant(ctx, providerID, a, "token URL", a.TokenURL, a.TokenParams, vars, cl, fields)
}

// check calls the descriptor's check_url with the credentials applied.
func (s *Service) check(ctx context.Context, d *catalog.Descriptor, params map[string]string, sec *secrets) error {
	vars := varsOf(params, nil, sec)
	target, err := expandURL("check URL", d.Auth.CheckURL, &d.Auth, vars)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if err := ApplyCredentials(req, d, vars, sec.APIKey, sec.Username, sec.Password); err != nil {
		return err
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return &Error{Code: CodeUpstreamError, Status: 502, Msg: fmt.Sprintf("could not verify the credentials with %s: %s", d.ID, redactURLError(err))}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	pe := errorOf(resp.StatusCode, parseBody(resp.Header.Get("Content-Type"), data), data)
	return &Error{Code: CodeInvalidCredentials, Status: 400, Msg: fmt.Sprintf("%s rejected the credentials: %s", d.ID, pe.Error())}
}

// ApplyCredentials authenticates req as the descriptor says: an API key in
// the configured header or query parameter, HTTP Basic for basic
// connections, or the descriptor's templated API headers.
func ApplyCredentials(req *http.Request, d *catalog.Descriptor, vars map[string]map[string]string, apiKey, username, password string) error {
	a := &d.Auth
	switch {
	case a.Kind == catalog.AuthBasic:
		req.SetBasicAuth(username, password)
		return nil
	case a.Kind == catalog.AuthAPIKey && a.APIKeyIn == "query":
		name := a.APIKeyName
		if name == "" {
			name = "api_key"
		}
		q := req.URL.Query()
		q.Set(name, a.APIKeyPrefix+apiKey)
		req.URL.RawQuery = q.Encode()
		return nil
	case a.Kind == catalog.AuthAPIKey && (a.APIKeyIn == "header" || a.APIKeyName != ""):
		name := a.APIKeyName
		if name == "" {
			name = "Authorization"
		}
		req.Header.Set(name, a.APIKeyPrefix+apiKey)
		return nil
	}
	if len(d.API.Headers) > 0 {
		h, err := expandMap(d.API.Headers, vars)
		if err != nil {
			return err
		}
		for k, v := range h {
			req.Header.Set(k, v)
		}
		return nil
	}
	if a.Kind == catalog.AuthAPIKey {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	return nil
}
