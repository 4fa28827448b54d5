package overlay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/atomhq/atom/catalog"
)

// Overrides is the format of catalog/overrides.json, the committed overlay
// the import applies: facts the source data lacks, never hand edits of output.
type Overrides struct {
	// Entries patch imported entries by id.
	Entries map[string]EntryOverride `json:"entries"`
	// Add lists whole descriptors for integrations missing from the data.
	Add []json.RawMessage `json:"add"`
}

// EntryOverride patches one imported entry.
type EntryOverride struct {
	// Why documents the override; it is not copied into the output.
	Why string `json:"why"`
	// AddCategories are categories added to the entry.
	AddCategories []string `json:"add_categories,omitempty"`
	// RenameConnectionParams renames connection parameters everywhere
	// they appear (Shopify's "subdomain" is the "shop" of its docs).
	RenameConnectionParams map[string]string `json:"rename_connection_params,omitempty"`
	// Auth and API are merged field by field into the entry's primary
	// auth and API (JSON keys as in the descriptor).
	Auth map[string]any `json:"auth,omitempty"`
	API  map[string]any `json:"api,omitempty"`
	// AddAuthAlternatives are ways to connect appended to the entry's
	// alternatives (a personal access token the data does not list, say).
	AddAuthAlternatives []json.RawMessage `json:"add_auth_alternatives,omitempty"`
	// DropAuthKinds removes the alternatives of these kinds, for ways the
	// data lists that Atom cannot serve (the primary way stays).
	DropAuthKinds []string `json:"drop_auth_kinds,omitempty"`
}

// Added converts one entry of the overrides file's "add" list into the
// descriptor the import commits for it: decoded strictly, marked as the
// catalog's own (Source "atom"), completed by Finish and validated. name
// labels errors.
func Added(name string, raw []byte) (*catalog.Descriptor, error) {
	d, err := catalog.DecodeDescriptor(name, raw)
	if err != nil {
		return nil, err
	}
	d.Source = "atom"
	d.Connectable, d.NotConnectableReason, d.Implementations = false, "", nil
	Finish(d, "")
	if err := catalog.Validate(d); err != nil {
		return nil, fmt.Errorf("overrides add %s: %w", d.ID, err)
	}
	return d, nil
}

// Finish completes a descriptor the way the catalog commits it: it
// orders categories, derives where an api_key is sent and which
// connection parameters are required or optional, declares the variables
// with which a tenant chooses the host of a secret-bearing URL, decides
// connectability and sets implementations. reason, when not empty, is a
// problem that blocks connecting found in facts the descriptor does not
// keep; it becomes NotConnectableReason.
func Finish(d *catalog.Descriptor, reason string) {
	d.Categories = normCategories(d.Categories)
	deriveAPIKey(d)
	templates := authTemplates(&d.Auth)
	templates = append(templates, d.API.BaseURL)
	templates = append(templates, sortedValues(d.API.Headers)...)
	required, optional := catalog.ConnectionParamUse(templates)
	for _, p := range append(required, optional...) {
		if !contains(d.Auth.ConnectionParams, p) {
			d.Auth.ConnectionParams = append(d.Auth.ConnectionParams, p)
		}
	}
	d.Auth.OptionalConnectionParams = optional
	// Hosts of secret-bearing URLs that a tenant's value chooses are
	// declared, so the catalog says the tenant's own app or key is needed.
	d.Auth.TenantChosenHosts = catalog.TenantChosenHostVars(d)
	if reason == "" {
		reason = connectReason(d, templates)
	}
	d.Connectable = reason == ""
	d.NotConnectableReason = reason
	d.Implementations = []string{}
	if d.Connectable {
		d.Implementations = []string{catalog.ImplGeneric}
	}
}

func authTemplates(a *catalog.Auth) []string {
	t := []string{a.AuthorizationURL, a.TokenURL, a.RefreshURL, a.RevocationURL, a.RequestTokenURL, a.CheckURL}
	t = append(t, a.Scopes...)
	for _, m := range []map[string]string{a.AuthorizationParams, a.TokenParams, a.RefreshParams, a.TokenHeaders} {
		t = append(t, sortedValues(m)...)
	}
	return t
}

// sortedValues returns m's values in key order, so output never depends
// on map iteration order.
func sortedValues(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

func connectReason(d *catalog.Descriptor, templates []string) string {
	a := &d.Auth
	var exprs []string
	for _, t := range templates {
		for _, e := range runtimeExprs(t) {
			if !contains(exprs, e) {
				exprs = append(exprs, e)
			}
		}
	}
	switch {
	case len(exprs) > 0:
		return fmt.Sprintf("needs runtime template expressions Atom does not expand: %s", strings.Join(exprs, ", "))
	case a.Kind == catalog.AuthOAuth2 && a.AuthorizationURL == "":
		return "oauth2 entry without an authorization URL in the source data"
	case (a.Kind == catalog.AuthOAuth2 || a.Kind == catalog.AuthOAuth2CC) && a.TokenURL == "":
		return a.Kind + " entry without a token URL in the source data"
	case a.Kind == catalog.AuthOAuth1 && (a.RequestTokenURL == "" || a.AuthorizationURL == "" || a.TokenURL == ""):
		return "oauth1 entry without request-token, authorization and token URLs in the source data"
	case d.API.BaseURL == "":
		return "no API base URL in the source data"
	}
	return ""
}

// Marshal renders a descriptor as the committed file content: two-space
// indentation, struct field order, sorted map keys, trailing newline.
func Marshal(d *catalog.Descriptor) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var exprHead = regexp.MustCompile(`\{\{\s*\$?([A-Za-z_][A-Za-z0-9_]*)(\.?)`)

// runtimeExprs returns the names of the distinct expressions other than
// plain {{connection|credentials|metadata.X}} references found in s
// ("now", "base64", "awsSigV4", ...).
func runtimeExprs(s string) []string {
	var out []string
	for _, m := range exprHead.FindAllStringSubmatch(s, -1) {
		if m[2] == "." && (m[1] == catalog.NSConnection || m[1] == catalog.NSCredentials || m[1] == catalog.NSMetadata) {
			continue
		}
		if !contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// deriveAPIKey sets where an api_key is sent from a header of the form
// "<prefix>{{credentials.X}}", e.g. "Bearer {{credentials.apiKey}}".
func deriveAPIKey(d *catalog.Descriptor) {
	a := &d.Auth
	if a.Kind != catalog.AuthAPIKey || a.APIKeyIn != "" {
		return
	}
	names := make([]string, 0, len(d.API.Headers))
	for k := range d.API.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := d.API.Headers[k]
		m := credSuffix.FindStringSubmatch(v)
		if m == nil || strings.Contains(m[1], "{{") {
			continue
		}
		a.APIKeyIn = "header"
		a.APIKeyName = http.CanonicalHeaderKey(k)
		a.APIKeyPrefix = m[1]
		if !contains(a.CredentialFields, m[2]) {
			a.CredentialFields = append(a.CredentialFields, m[2])
		}
		return
	}
}

var credSuffix = regexp.MustCompile(`^(.*?)\{\{credentials\.([A-Za-z0-9_]+)\}\}$`)

func normCategories(in []string) []string {
	order := map[string]int{}
	for i, c := range catalog.AllCategories() {
		order[c.ID] = i
	}
	seen := map[string]bool{}
	var out []string
	for _, c := range in {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return order[out[i]] < order[out[j]] })
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
