package catalog

import (
	"fmt"
	"slices"
	"strings"
)

// Host-wide secrets are the operator's: {PROVIDER}_CLIENT_ID and
// _CLIENT_SECRET sent to token, refresh, revocation and request-token
// endpoints, and {PROVIDER}_API_KEY sent to an api_key entry's API. The
// rule this file states: such a secret only goes to a URL whose host the
// operator's descriptor fixes, either literally or through a value from
// the descriptor's list of allowed values (ConnectionParamOptions,
// MetadataOptions). A host that any other value chooses (a shop
// subdomain, an instance URL, a custom domain, a callback parameter)
// needs the tenant's own OAuth app or key.

// SecretURL is one URL template of a descriptor that carries a host-wide
// secret when the operator's credentials are used.
type SecretURL struct {
	// Field is the descriptor field ("auth.token_url", "api.base_url").
	Field    string
	Template string
}

// SecretURLs returns the templates of d's primary auth that carry a
// host-wide secret with the operator's credentials: the token, refresh,
// revocation and request-token URLs of OAuth kinds, and the base URL of
// an api_key entry ({PROVIDER}_API_KEY serves when a tenant has no
// connection). Alternatives are only ever used with credentials the
// tenant types in, so they carry no host-wide secret.
func SecretURLs(d *Descriptor) []SecretURL {
	var out []SecretURL
	add := func(field, tmpl string) {
		if tmpl != "" {
			out = append(out, SecretURL{Field: field, Template: tmpl})
		}
	}
	a := &d.Auth
	switch a.Kind {
	case AuthOAuth2, AuthOAuth2CC, AuthOAuth1:
		add("auth.token_url", a.TokenURL)
		add("auth.refresh_url", a.RefreshURL)
		add("auth.revocation_url", a.RevocationURL)
		add("auth.request_token_url", a.RequestTokenURL)
	case AuthAPIKey:
		add("api.base_url", d.API.BaseURL)
	}
	return out
}

// AllowedValues returns the values the descriptor allows for a template
// variable: ConnectionParamOptions for {{connection.X}}, MetadataOptions
// for {{metadata.X}}, nothing for {{credentials.X}} (typed in by the
// tenant).
func (a *Auth) AllowedValues(v TemplateVar) []string {
	switch v.Namespace {
	case NSConnection:
		return a.ConnectionParamOptions[v.Name]
	case NSMetadata:
		return a.MetadataOptions[v.Name]
	}
	return nil
}

// HostVars returns the variables that land in the scheme, host or port
// of some alternative of a URL template.
func HostVars(tmpl string) []TemplateVar {
	var out []TemplateVar
	for _, alt := range Alternatives(tmpl) {
		var before strings.Builder
		last := 0
		for _, loc := range varPattern.FindAllStringSubmatchIndex(alt, -1) {
			before.WriteString(alt[last:loc[0]])
			v := TemplateVar{Namespace: alt[loc[2]:loc[3]], Name: alt[loc[4]:loc[5]]}
			if position(before.String()) <= posPort && !slices.Contains(out, v) {
				out = append(out, v)
			}
			before.WriteString("x")
			last = loc[1]
		}
	}
	return out
}

// TenantChosenHostVars returns, in order, the variables that choose the
// host of one of d's secret-bearing URLs without a list of allowed
// values: what TenantChosenHosts must list.
func TenantChosenHostVars(d *Descriptor) []string {
	var out []string
	for _, su := range SecretURLs(d) {
		for _, v := range HostVars(su.Template) {
			if len(d.Auth.AllowedValues(v)) == 0 && !slices.Contains(out, v.String()) {
				out = append(out, v.String())
			}
		}
	}
	return out
}

// SecretHostProblems checks d against the rule: every variable that
// chooses the host of a secret-bearing URL must be constrained by a list
// of allowed values, or be declared in auth.tenant_chosen_hosts (so that
// tenants are told their own OAuth app or key is needed). It returns one
// line per problem, naming the field and the variable.
func SecretHostProblems(d *Descriptor) []string {
	var out []string
	for _, su := range SecretURLs(d) {
		for _, v := range HostVars(su.Template) {
			if len(d.Auth.AllowedValues(v)) > 0 || slices.Contains(d.Auth.TenantChosenHosts, v.String()) {
				continue
			}
			out = append(out, fmt.Sprintf("%s: %s: %s chooses the host of a URL that carries the operator's secret, "+
				"with no list of allowed values and not declared in auth.tenant_chosen_hosts", d.ID, su.Field, v))
		}
	}
	return out
}

// HostValueOK reports whether value may fill v wherever v is placed in
// the scheme, host or port of tmpl (as ExpandURL would check it): a whole
// http(s) URL where v starts an alternative, a host name inside the
// host, a port number after it. Values placed in a path or query are
// escaped and always fit.
func HostValueOK(tmpl string, v TemplateVar, value string) bool {
	for _, alt := range Alternatives(tmpl) {
		var before strings.Builder
		last := 0
		for _, loc := range varPattern.FindAllStringSubmatchIndex(alt, -1) {
			before.WriteString(alt[last:loc[0]])
			w := TemplateVar{Namespace: alt[loc[2]:loc[3]], Name: alt[loc[4]:loc[5]]}
			if w == v && position(before.String()) <= posPort {
				if _, err := urlValue(v, value, before.String()); err != nil {
					return false
				}
			}
			before.WriteString("x")
			last = loc[1]
		}
	}
	return true
}
