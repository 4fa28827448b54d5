package connect

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/store"
)

// A host-wide secret (the operator's OAuth client from
// {PROVIDER}_CLIENT_ID/_CLIENT_SECRET) is only sent to a URL whose host
// the descriptor fixes: literally, or through one of its allowed values.
// Who controls each template source:
//
//   - connection parameters: the tenant (connect request, and the
//     callback's query for parameters the provider returns there);
//   - redirect metadata: whoever calls the callback URL, i.e. the tenant;
//   - token metadata: the provider's token endpoint;
//   - credentials: the tenant, who typed them in.
//
// None of them may choose the host of a URL carrying the operator's
// client unless the descriptor lists the value, or the template puts the
// value as one label under a parent domain it names (Shopify's
// {{connection.shop}}.myshopify.com) and the value is a single DNS label.
// The tenant's own OAuth app may go to hosts the tenant chose: the secret
// is the tenant's.

// maxValueLen bounds a connection parameter or metadata value, in
// characters, like the column that keeps it.
const maxValueLen = store.MaxParamValue

// secretURL expands the template of a URL that carries cl's credentials.
// With the operator's client, a value that is not one of the descriptor's
// allowed values may not choose the host: the error tells the tenant to
// register its own OAuth app.
func secretURL(provider, what, tmpl string, a *catalog.Auth, cl client, vars map[string]map[string]string) (string, error) {
	if !cl.HostWide {
		return expandURL(what, tmpl, a, vars)
	}
	u, err := catalog.ExpandSecretURL(tmpl, vars, a.AllowedValues)
	var he *catalog.HostError
	if errors.As(err, &he) {
		return "", tenantAppRequired(provider, what, a, he.Var)
	}
	var le *catalog.LabelError
	if errors.As(err, &le) {
		return "", &Error{Code: CodeInvalidInput, Status: 400, Msg: fmt.Sprintf(
			"the %s of %s puts %s as one label in front of %s, so with the operator's OAuth client it must be a single DNS label "+
				"(letters, digits and '-', 1 to 63 characters, not starting or ending with '-'; no '.', ':', '@' or '%%'), e.g. the name before .%s; "+
				"or register your own OAuth app with PUT /api/v1/oauth-apps/%s",
			what, provider, describeVar(le.Var), le.Parent, le.Parent, provider), Err: err}
	}
	if err != nil {
		return "", &Error{Code: CodeInvalidInput, Status: 400, Msg: fmt.Sprintf("cannot build the %s: %v", what, err), Err: err}
	}
	return u, nil
}

func tenantAppRequired(provider, what string, a *catalog.Auth, v catalog.TemplateVar) *Error {
	hint := ""
	if opts := a.AllowedValues(v); len(opts) > 0 {
		hint = fmt.Sprintf(" (allowed values of %s: %s)", v.Name, strings.Join(opts, ", "))
	}
	return &Error{Code: CodeTenantAppRequired, Status: 400, Msg: fmt.Sprintf(
		"the %s of %s takes its host from %s, which the tenant chooses; the operator's OAuth client (%s_CLIENT_SECRET) is only sent to hosts the catalog fixes%s: "+
			"register your own OAuth app with PUT /api/v1/oauth-apps/%s, or use a value the catalog allows",
		what, provider, describeVar(v), EnvName(provider), hint, provider)}
}

func describeVar(v catalog.TemplateVar) string {
	switch v.Namespace {
	case catalog.NSConnection:
		return "connection parameter " + v.Name
	case catalog.NSMetadata:
		return "callback or token-response field " + v.Name
	case catalog.NSCredentials:
		return "credential field " + v.Name
	}
	return v.String()
}

// urlTemplates are the URL templates a descriptor fills with connection
// values under auth a.
func urlTemplates(d *catalog.Descriptor, a *catalog.Auth) []string {
	return []string{a.AuthorizationURL, a.TokenURL, a.RefreshURL, a.RevocationURL, a.RequestTokenURL, a.CheckURL, d.API.BaseURL}
}

// checkValue validates one value of a connection parameter (namespace
// connection) or a redirect or token metadata field (namespace metadata),
// whatever supplied it (connect request, callback query, token response):
// one of the descriptor's allowed values when it lists some; otherwise
// printable text, at most maxValueLen characters unless a token-response field
// (Notion's owner object may be longer), that is a host name where a
// template puts it in a URL's host (a whole URL or a port where the
// template puts one of those). The message names the field, never the
// value.
func checkValue(d *catalog.Descriptor, a *catalog.Auth, ns, name, value string) error {
	label := "connection parameter " + name
	if ns == catalog.NSMetadata {
		label = "field " + name
	}
	v := catalog.TemplateVar{Namespace: ns, Name: name}
	if opts := a.AllowedValues(v); len(opts) > 0 {
		if !slices.Contains(opts, value) {
			return &Error{Code: CodeInvalidInput, Status: 400, Msg: fmt.Sprintf("%s must be one of: %s", label, strings.Join(opts, ", "))}
		}
		return nil
	}
	if utf8.RuneCountInString(value) > maxValueLen && !(ns == catalog.NSMetadata && slices.Contains(a.TokenMetadata, name)) {
		return &Error{Code: CodeInvalidInput, Status: 400, Msg: fmt.Sprintf("%s must be at most %d characters", label, maxValueLen)}
	}
	for _, r := range value {
		if r < 0x20 || r == 0x7f {
			return &Error{Code: CodeInvalidInput, Status: 400, Msg: fmt.Sprintf("%s contains control characters", label)}
		}
	}
	for _, t := range urlTemplates(d, a) {
		if !catalog.HostValueOK(t, v, value) {
			return &Error{Code: CodeInvalidInput, Status: 400, Msg: fmt.Sprintf(
				"%s is part of a URL's host, so it must be a host name (letters, digits, '-' and '.', without port, path, '@' or encoded characters), "+
					"or a whole http(s) URL where the URL starts with it", label)}
		}
	}
	return nil
}
