package catalog

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Template namespaces.
const (
	NSConnection  = "connection"
	NSCredentials = "credentials"
	NSMetadata    = "metadata"
)

// ErrMissingVariable is wrapped by the errors ExpandTemplate and ExpandURL
// return when a template names a variable the caller did not supply.
var ErrMissingVariable = errors.New("missing template variable")

// varPattern matches one {{namespace.name}} reference. Names may hold
// dots (token-response paths such as "team.id") and hyphens (Zoho's
// "accounts-server").
var varPattern = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\.([A-Za-z0-9_.\-]+)\s*\}\}`)

// TemplateVar is one variable reference in a template.
type TemplateVar struct {
	Namespace string
	Name      string
}

// String returns the reference as "namespace.name".
func (v TemplateVar) String() string { return v.Namespace + "." + v.Name }

// TemplateVars returns the distinct variables a template references, in
// order of first appearance, across all of its alternatives.
func TemplateVars(tmpl string) []TemplateVar {
	var out []TemplateVar
	seen := map[TemplateVar]bool{}
	for _, m := range varPattern.FindAllStringSubmatch(tmpl, -1) {
		v := TemplateVar{Namespace: m[1], Name: m[2]}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// Alternatives splits a template into its " || " separated alternatives.
// A template without "||" has one alternative.
func Alternatives(tmpl string) []string {
	parts := strings.Split(tmpl, "||")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// ExpandTemplate replaces every {{namespace.name}} reference in tmpl with
// vars[namespace][name]. Namespaces are "connection", "credentials" and
// "metadata".
//
// A template may offer alternatives separated by "||" (e.g.
// "https://{{connection.hostname}}/x || https://login.example.com/x"):
// the first alternative whose variables are all supplied (non-empty) is
// used. When none is complete, the error names the first missing variable
// of the last alternative and wraps ErrMissingVariable. Text outside
// references is copied unchanged; values are not escaped (use ExpandURL
// for URLs).
func ExpandTemplate(tmpl string, vars map[string]map[string]string) (string, error) {
	return expand(tmpl, vars, nil)
}

// ExpandURL expands a URL template like ExpandTemplate, but refuses values
// that would change which server the URL points at: a value substituted
// inside the host must be a plain host name (letters, digits, '-', '.'),
// a value that starts the template must be an absolute http(s) URL
// without user info, query or fragment, and values in the path or query
// are escaped. The result must parse as an absolute http(s) URL.
func ExpandURL(tmpl string, vars map[string]map[string]string) (string, error) {
	out, err := expand(tmpl, vars, urlValue)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(out)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("expanded template %q is not an absolute http(s) URL", tmpl)
	}
	return out, nil
}

// valueFilter checks or rewrites one value given the text of the
// alternative before the reference.
type valueFilter func(v TemplateVar, value, before string) (string, error)

func expand(tmpl string, vars map[string]map[string]string, filter valueFilter) (string, error) {
	alts := Alternatives(tmpl)
	var lastErr error
	for _, alt := range alts {
		out, err := expandOne(alt, vars, filter)
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, ErrMissingVariable) {
			return "", err
		}
		lastErr = err
	}
	return "", lastErr
}

func expandOne(alt string, vars map[string]map[string]string, filter valueFilter) (string, error) {
	var b strings.Builder
	last := 0
	for _, loc := range varPattern.FindAllStringSubmatchIndex(alt, -1) {
		v := TemplateVar{Namespace: alt[loc[2]:loc[3]], Name: alt[loc[4]:loc[5]]}
		switch v.Namespace {
		case NSConnection, NSCredentials, NSMetadata:
		default:
			return "", fmt.Errorf("template variable %s: unknown namespace %q", v, v.Namespace)
		}
		value := vars[v.Namespace][v.Name]
		if value == "" {
			return "", fmt.Errorf("template variable %s: %w", v, ErrMissingVariable)
		}
		b.WriteString(alt[last:loc[0]])
		if filter != nil {
			var err error
			if value, err = filter(v, value, b.String()); err != nil {
				return "", err
			}
		}
		b.WriteString(value)
		last = loc[1]
	}
	b.WriteString(alt[last:])
	out := b.String()
	if strings.Contains(out, "{{") {
		return "", fmt.Errorf("template %q holds an expression that cannot be expanded", alt)
	}
	return out, nil
}

var hostValue = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?)*(:[0-9]{1,5})?$`)

// urlValue is the valueFilter of ExpandURL. Only the name of the variable
// appears in errors, never its value, since values may be secrets.
func urlValue(v TemplateVar, value, before string) (string, error) {
	if before == "" {
		u, err := url.Parse(value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return "", fmt.Errorf("template variable %s: must be an absolute http(s) URL without user info, query or fragment", v)
		}
		return strings.TrimSuffix(value, "/"), nil
	}
	rest := before
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
		if !strings.ContainsAny(rest, "/?#") {
			if !hostValue.MatchString(value) {
				return "", fmt.Errorf("template variable %s: must be a host name", v)
			}
			return value, nil
		}
	}
	if strings.ContainsAny(before, "?#") {
		return url.QueryEscape(value), nil
	}
	return url.PathEscape(value), nil
}

// ConnectionParamUse classifies the connection parameters a set of templates
// reference: required ones appear in the last (fallback) alternative of
// some template; optional ones only in alternatives that have a fallback.
func ConnectionParamUse(templates []string) (required, optional []string) {
	req := map[string]bool{}
	opt := map[string]bool{}
	for _, t := range templates {
		alts := Alternatives(t)
		for i, alt := range alts {
			for _, v := range TemplateVars(alt) {
				if v.Namespace != NSConnection {
					continue
				}
				if i == len(alts)-1 {
					req[v.Name] = true
				} else {
					opt[v.Name] = true
				}
			}
		}
	}
	for n := range req {
		required = append(required, n)
		delete(opt, n)
	}
	for n := range opt {
		optional = append(optional, n)
	}
	sort.Strings(required)
	sort.Strings(optional)
	return required, optional
}
