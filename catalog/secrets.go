package catalog

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Host-wide secrets are the operator's: {PROVIDER}_CLIENT_ID and
// _CLIENT_SECRET sent to token, refresh, revocation and request-token
// endpoints, and {PROVIDER}_API_KEY sent to an api_key entry's API. The
// rule this file states: such a secret only goes to a URL whose host the
// operator's descriptor fixes, either literally, through a value from the
// descriptor's list of allowed values (ConnectionParamOptions,
// MetadataOptions), or through a value that fills exactly one DNS label
// directly under a parent domain the descriptor writes out (Shopify's
// https://{{connection.shop}}.myshopify.com, Zendesk's
// {{connection.subdomain}}.zendesk.com): such a host stays within the
// provider's own domain, provided the value is a single DNS label (see
// ValidLabelValue) and the parent is a registrable domain, not a public
// suffix such as "com" or "co.uk" (see LabelParent). A host that any other
// value chooses (an instance URL, a custom domain, a whole host name, a
// callback parameter naming a server) needs the tenant's own OAuth app or
// key.

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
	hostPlaces(tmpl, func(v TemplateVar, _ string, _, _ int, _ string) bool {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
		return true
	})
	return out
}

// hostPlaces calls fn for each variable reference in the scheme, host or
// port of each alternative of tmpl, with the alternative, the reference's
// span in it and the text before it (earlier references read as "x"),
// until fn returns false.
func hostPlaces(tmpl string, fn func(v TemplateVar, alt string, start, end int, before string) bool) {
	for _, alt := range Alternatives(tmpl) {
		var before strings.Builder
		last := 0
		for _, loc := range varPattern.FindAllStringSubmatchIndex(alt, -1) {
			before.WriteString(alt[last:loc[0]])
			v := TemplateVar{Namespace: alt[loc[2]:loc[3]], Name: alt[loc[4]:loc[5]]}
			if position(before.String()) <= posPort && !fn(v, alt, loc[0], loc[1], before.String()) {
				return
			}
			before.WriteString("x")
			last = loc[1]
		}
	}
}

// LabelParent returns the parent domain under which v fills one DNS label
// in tmpl, when every place of v in the scheme, host or port of every
// alternative of tmpl is a whole label of the host directly followed by
// a parent domain written literally ("https://{{connection.shop}}.myshopify.com/…"
// gives "myshopify.com"). It returns "" when v is not in the host or some
// place is not such a label: the whole host or URL, part of a label
// ("{{connection.x}}-api.example.com"), a port, or a label whose parent
// holds a variable, has a single label ("{{connection.x}}.com"), is a
// public suffix ("{{connection.x}}.co.uk") or is not a DNS name. Where
// alternatives name different parents, the first is returned.
func LabelParent(tmpl string, v TemplateVar) string {
	parent, ok := "", true
	hostPlaces(tmpl, func(w TemplateVar, alt string, start, end int, _ string) bool {
		if w != v {
			return true
		}
		p := labelParentAt(alt, start, end)
		if p == "" {
			ok = false
			return false
		}
		if parent == "" {
			parent = p
		}
		return true
	})
	if !ok {
		return ""
	}
	return parent
}

// labelParentAt returns the literal parent domain of the variable
// reference alt[start:end] when it is a whole label of the host followed
// by such a parent (see LabelParent), else "".
func labelParentAt(alt string, start, end int) string {
	before := alt[:start]
	if position(before) != posHost {
		return ""
	}
	// The label starts the host (after "://" or user info) or follows a dot.
	if !strings.HasSuffix(before, "://") && !strings.HasSuffix(before, "@") && !strings.HasSuffix(before, ".") {
		return ""
	}
	rest := alt[end:]
	if i := strings.IndexAny(rest, "/?#:"); i >= 0 {
		rest = rest[:i]
	}
	parent, ok := strings.CutPrefix(rest, ".")
	if !ok || strings.Contains(parent, "{{") || !registrableParent(parent) {
		return ""
	}
	return parent
}

// registrableParent reports whether a domain written in a descriptor may
// be the fixed parent of a one-label variable: a DNS name (see
// validHostName) of at least two labels that is not itself a public
// suffix of the ICANN section of the Public Suffix List ("co.uk",
// "com.au"), under which anyone could register the label. Suffixes of the
// list's private section (myshopify.com) are the providers' own domains
// and pass.
func registrableParent(p string) bool {
	if !validHostName(p) || !strings.Contains(p, ".") {
		return false
	}
	p = strings.ToLower(p)
	suffix, icann := publicsuffix.PublicSuffix(p)
	return !(icann && suffix == p)
}

// fixedHostVar reports whether v, in one of d's secret-bearing URL
// templates tmpl, leaves the host fixed by the descriptor: v has a list of
// allowed values, or fills one label under a literal parent domain.
func fixedHostVar(d *Descriptor, tmpl string, v TemplateVar) bool {
	return len(d.Auth.AllowedValues(v)) > 0 || LabelParent(tmpl, v) != ""
}

// TenantChosenHostVars returns, in order, the variables that choose the
// host of one of d's secret-bearing URLs without a list of allowed values
// and not as one label under a literal parent domain: what
// TenantChosenHosts must list.
func TenantChosenHostVars(d *Descriptor) []string {
	var out []string
	for _, su := range SecretURLs(d) {
		for _, v := range HostVars(su.Template) {
			if !fixedHostVar(d, su.Template, v) && !slices.Contains(out, v.String()) {
				out = append(out, v.String())
			}
		}
	}
	return out
}

// LabelHostVars returns, in order, the variables without a list of
// allowed values that fill one label under a literal parent domain in
// every secret-bearing URL of d whose host they are in: their values are
// held to a single DNS label when an operator secret rides on the request,
// and the tenant needs no app or key of its own for them.
func LabelHostVars(d *Descriptor) []string {
	var out []string
	chosen := TenantChosenHostVars(d)
	for _, su := range SecretURLs(d) {
		for _, v := range HostVars(su.Template) {
			if len(d.Auth.AllowedValues(v)) == 0 && !slices.Contains(chosen, v.String()) && !slices.Contains(out, v.String()) {
				out = append(out, v.String())
			}
		}
	}
	return out
}

// SecretHostProblems checks d against the rule: every variable that
// chooses the host of a secret-bearing URL must be constrained by a list
// of allowed values, fill one label under a literal parent domain, or be
// declared in auth.tenant_chosen_hosts (so that tenants are told their own
// OAuth app or key is needed). It returns one line per problem, naming the
// field and the variable.
func SecretHostProblems(d *Descriptor) []string {
	var out []string
	for _, su := range SecretURLs(d) {
		for _, v := range HostVars(su.Template) {
			if fixedHostVar(d, su.Template, v) || slices.Contains(d.Auth.TenantChosenHosts, v.String()) {
				continue
			}
			out = append(out, fmt.Sprintf("%s: %s: %s chooses the host of a URL that carries the operator's secret, "+
				"with no list of allowed values, not as one label under a domain the descriptor names, and not declared in auth.tenant_chosen_hosts", d.ID, su.Field, v))
		}
	}
	chosen := TenantChosenHostVars(d)
	for _, v := range d.Auth.TenantChosenHosts {
		if !slices.Contains(chosen, v) {
			out = append(out, fmt.Sprintf("%s: auth.tenant_chosen_hosts: %s chooses no host of a URL that carries the operator's secret "+
				"(or only through allowed values or as one label under a domain the descriptor names): drop it", d.ID, v))
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
	ok := true
	hostPlaces(tmpl, func(w TemplateVar, _ string, _, _ int, before string) bool {
		if w == v {
			if _, err := urlValue(v, value, before); err != nil {
				ok = false
			}
		}
		return ok
	})
	return ok
}
