package demo

import "github.com/atomhq/atom/catalog"

// Descriptor returns the catalog entry of the demo provider served by a
// Demo mounted at baseURL + "/demo/". Its OAuth 2.0 auth matches the demo
// server (PKCE, client_secret_post, form bodies); its alternative is the
// API-key variant with APIKey.
func Descriptor(baseURL string) catalog.Descriptor {
	base := trimSlash(baseURL) + "/demo"
	return catalog.Descriptor{
		ID:         "demo",
		Name:       "Atom Demo",
		Categories: []string{"developer-tools"},
		Auth: catalog.Auth{
			Kind:             catalog.AuthOAuth2,
			AuthorizationURL: base + "/oauth/authorize",
			TokenURL:         base + "/oauth/token",
			RevocationURL:    base + "/oauth/revoke",
			Scopes:           []string{"profile", "items:read", "echo"},
			ScopeSeparator:   " ",
			PKCE:             true,
			TokenAuth:        "body",
			TokenBody:        "form",
			CheckURL:         base + "/api/me",
		},
		AuthAlternatives: []catalog.Auth{{
			Kind:             catalog.AuthAPIKey,
			CredentialFields: []string{"apiKey"},
			APIKeyIn:         "header",
			APIKeyName:       "Authorization",
			APIKeyPrefix:     "Bearer ",
			CheckURL:         base + "/api/key-check",
		}},
		API:             catalog.API{BaseURL: base + "/api"},
		Implementations: []string{"generic"},
		Connectable:     true,
		Source:          "custom",
	}
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}
