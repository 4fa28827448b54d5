package catalog

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
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
// inside the host must be a plain host name (see ValidHostValue) and the
// resulting host a DNS name, not an IP address; a value after the host's
// ':' must be a port number; a value that starts the template must be an
// absolute http(s) URL without user info, query or fragment; values in
// the path or query are escaped, and a path value may not be "." or "..".
// The result must parse as an absolute http(s) URL.
func ExpandURL(tmpl string, vars map[string]map[string]string) (string, error) {
	return expandURL(tmpl, vars, nil, false)
}

// ExpandURLWith expands a URL template like ExpandURL, except that a value
// listed by allowed for its variable is taken as is in the scheme, host
// or port: the descriptor's author chose it (e.g. a data centre's host
// and port). Other values are checked as ExpandURL checks them.
func ExpandURLWith(tmpl string, vars map[string]map[string]string, allowed func(TemplateVar) []string) (string, error) {
	return expandURL(tmpl, vars, allowed, false)
}

// ErrTenantChosenHost is wrapped by the errors ExpandSecretURL returns when
// a value the descriptor does not list would choose the URL's host.
var ErrTenantChosenHost = errors.New("the host would be chosen by a value the descriptor does not allow")

// HostError reports the template variable whose value would choose the
// host of a URL that carries an operator secret. It never holds the value.
type HostError struct {
	Var TemplateVar
}

func (e *HostError) Error() string {
	return fmt.Sprintf("template variable %s sets the host, and its value is not one of the values the descriptor allows", e.Var)
}

// Unwrap returns ErrTenantChosenHost.
func (e *HostError) Unwrap() error { return ErrTenantChosenHost }

// ErrNotLabel is wrapped by the errors ExpandSecretURL returns when a
// value that fills one label under a parent domain is not a single DNS
// label.
var ErrNotLabel = errors.New("the value is not a single DNS label")

// LabelError reports the template variable whose value, placed as one
// label under the literal parent domain Parent of a URL that carries an
// operator secret, is not a single DNS label. It never holds the value.
type LabelError struct {
	Var    TemplateVar
	Parent string
}

func (e *LabelError) Error() string {
	return fmt.Sprintf("template variable %s is one label of the host under %s, so it must be a single DNS label: "+
		"letters, digits and '-', 1 to 63 characters, not starting or ending with '-' (no '.', ':', '@', '%%', spaces or other characters)", e.Var, e.Parent)
}

// Unwrap returns ErrNotLabel.
func (e *LabelError) Unwrap() error { return ErrNotLabel }

// ValidLabelValue reports whether v is a single DNS label (RFC 1123):
// ASCII letters, digits and hyphens, 1 to 63 characters, neither starting
// nor ending with a hyphen. A label cannot leave the parent domain it is
// placed under: it has no dot, user info, port, path, percent-encoding or
// non-ASCII character.
func ValidLabelValue(v string) bool { return dnsLabel.MatchString(v) }

// ExpandSecretURL expands the template of a URL that will carry a
// host-wide (operator) secret, such as a token endpoint called with the
// operator's OAuth client or a base URL called with {PROVIDER}_API_KEY.
// It works like ExpandURL, except that every variable placed in the
// URL's scheme, host or port must leave the host fixed by the descriptor,
// never by the tenant. Either its value is listed by allowed (exactly; a
// whole-URL value may differ only by a trailing '/'), or, for a variable
// without a list, the template places it as one whole label directly
// under a parent domain it writes out (see LabelParent) and the value is
// a single DNS label (see
// ValidLabelValue; otherwise the error is a *LabelError wrapping
// ErrNotLabel). Any other value there is refused with a *HostError
// wrapping ErrTenantChosenHost. allowed may be nil (no value is listed).
func ExpandSecretURL(tmpl string, vars map[string]map[string]string, allowed func(TemplateVar) []string) (string, error) {
	return expandURL(tmpl, vars, allowed, true)
}

// expandURL expands a URL template. A value listed by allowed (may be nil)
// is taken as is in the scheme, host or port; with strict, an unlisted
// value there is refused with a *HostError, otherwise it is checked.
func expandURL(tmpl string, vars map[string]map[string]string, allowed func(TemplateVar) []string, strict bool) (string, error) {
	var lastErr error
	for _, alt := range Alternatives(tmpl) {
		out, err := expandURLOne(alt, vars, allowed, strict)
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

// expandURLOne expands one alternative of a URL template.
func expandURLOne(alt string, vars map[string]map[string]string, allowed func(TemplateVar) []string, strict bool) (string, error) {
	var freeHost bool // an unlisted value was placed in the host
	// The references of alt in order, so the filter, called once per
	// reference, knows which one it fills.
	refs := varPattern.FindAllStringIndex(alt, -1)
	n := 0
	out, err := expandOne(alt, vars, func(v TemplateVar, value, before string) (string, error) {
		ref := refs[n]
		n++
		pos := position(before)
		if pos <= posPort {
			var listed []string
			if allowed != nil {
				listed = allowed(v)
			}
			for _, a := range listed {
				if value == a || (pos == posURL && strings.TrimSuffix(value, "/") == strings.TrimSuffix(a, "/")) {
					return strings.TrimSuffix(value, "/"), nil
				}
			}
			if strict {
				// A variable with a list takes listed values only, even
				// where a label would do.
				parent := labelParentAt(alt, ref[0], ref[1])
				if parent == "" || len(listed) > 0 {
					return "", &HostError{Var: v}
				}
				if !ValidLabelValue(value) {
					return "", &LabelError{Var: v, Parent: parent}
				}
			}
		}
		if pos == posHost {
			freeHost = true
		}
		return urlValue(v, value, before)
	})
	if err != nil {
		return "", err
	}
	u, err := url.Parse(out)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("expanded template %q is not an absolute http(s) URL", alt)
	}
	if freeHost && !validHostName(u.Hostname()) {
		return "", fmt.Errorf("expanded template %q does not name a DNS host", alt)
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

// A URL template variable lands in one of these parts of the URL, judged
// from the text before it.
const (
	posURL   = iota // the value starts the template: a whole base URL
	posHost         // inside the host name
	posPort         // after the host's ':'
	posPath         // in the path
	posQuery        // in the query or fragment
)

// position says where a value substituted after before lands.
func position(before string) int {
	if before == "" {
		return posURL
	}
	if i := strings.Index(before, "://"); i >= 0 {
		auth := before[i+3:]
		if !strings.ContainsAny(auth, "/?#") {
			if strings.Contains(auth[strings.LastIndex(auth, "@")+1:], ":") {
				return posPort
			}
			return posHost
		}
	}
	if strings.ContainsAny(before, "?#") {
		return posQuery
	}
	return posPath
}

// dnsLabel is one LDH label of a host name (RFC 1123): ASCII letters,
// digits and inner hyphens, 1 to 63 characters.
var dnsLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// ValidHostValue reports whether v may be substituted into a URL's host
// name: one or more dot-separated DNS labels, at most 253 characters.
// Everything that could move the request elsewhere is refused: user info
// ('@'), a port (':'), a path, query or fragment, percent-encoding,
// backslashes, empty labels ("..", a trailing dot) and non-ASCII text
// (IDNA look-alikes; punycode "xn--" labels are plain ASCII and pass).
func ValidHostValue(v string) bool {
	if v == "" || len(v) > 253 {
		return false
	}
	for _, l := range strings.Split(v, ".") {
		if !dnsLabel.MatchString(l) {
			return false
		}
	}
	return true
}

// validHostName reports whether the host of an expanded URL is a DNS name
// (not an IP address: its last label is not numeric).
func validHostName(h string) bool {
	if !ValidHostValue(h) {
		return false
	}
	last := h[strings.LastIndex(h, ".")+1:]
	return strings.Trim(last, "0123456789") != "" && !strings.HasPrefix(strings.ToLower(last), "0x")
}

// urlValue is the valueFilter of ExpandURL. Only the name of the variable
// appears in errors, never its value, since values may be secrets.
func urlValue(v TemplateVar, value, before string) (string, error) {
	switch position(before) {
	case posURL:
		u, err := url.Parse(value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" ||
			!(ValidHostValue(u.Hostname()) || isIP(u.Hostname())) || strings.ContainsAny(value, "\\%") {
			return "", fmt.Errorf("template variable %s: must be an absolute http(s) URL without user info, query or fragment", v)
		}
		return strings.TrimSuffix(value, "/"), nil
	case posHost:
		if !ValidHostValue(value) {
			return "", fmt.Errorf("template variable %s: must be a host name (letters, digits, '-' and '.'; no port, path, '@' or encoded characters)", v)
		}
		return value, nil
	case posPort:
		if n, err := strconv.Atoi(value); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != value {
			return "", fmt.Errorf("template variable %s: must be a port number", v)
		}
		return value, nil
	case posQuery:
		return url.QueryEscape(value), nil
	}
	if value == "." || value == ".." {
		return "", fmt.Errorf("template variable %s: must not be a dot segment", v)
	}
	return url.PathEscape(value), nil
}

func isIP(h string) bool {
	_, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
	return err == nil
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
