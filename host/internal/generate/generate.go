// Package generate scaffolds a native integration in a repository
// checkout: `atom generate integration --provider <id> --auth
// oauth2|api_key|basic` writes a provider plugin built on the public SDK
// (main.go, the provider package with one example action, a test against
// a local fake of the API, a README), adds or marks the integration in the
// catalog exactly as the catalog's own commands would, and appends the
// provider's variables to .env.example.
//
// Nothing is overwritten without Options.Force; the generated Go code is
// gofmt-formatted and passes go vet and its own test as written.
package generate

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"go/format"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"unicode"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/catalog/overlay"
	"github.com/atomhq/atom/host/internal/connect"
)

//go:embed templates/*.tmpl
var templates embed.FS

var tmpl = template.Must(template.ParseFS(templates, "templates/*.tmpl"))

// Module is the Go module path a repository root must declare.
const Module = "github.com/atomhq/atom"

// Auth kinds the generator scaffolds.
const (
	AuthOAuth2 = catalog.AuthOAuth2
	AuthAPIKey = catalog.AuthAPIKey
	AuthBasic  = catalog.AuthBasic
)

// DefaultAPIKeyHeader is the header a new api_key integration's key is
// sent in; edit the generated provider and its catalog entry together to
// change it.
const DefaultAPIKeyHeader = "X-Api-Key"

var (
	// ErrInvalidOptions is wrapped by every error about a flag's value.
	ErrInvalidOptions = errors.New("invalid options")
	// ErrNotRepo is returned when Options.Dir is not an Atom checkout.
	ErrNotRepo = errors.New("not an Atom repository root")
)

var idPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Options are the inputs of Integration.
type Options struct {
	// Provider is the catalog id: lowercase letters, digits and single
	// hyphens, at most 64 characters.
	Provider string
	// Auth is oauth2, api_key or basic.
	Auth string
	// Name is the display name; derived from the id (or taken from an
	// existing catalog entry) when empty.
	Name string
	// BaseURL is the API's base URL (https); taken from an existing
	// catalog entry, or a placeholder, when empty.
	BaseURL string
	// Category is a catalog category id or name; "other" when empty for a
	// new entry.
	Category string
	// Force overwrites the plugin's files when they exist.
	Force bool
	// Dir is the repository root; "." when empty.
	Dir string
}

// Result says what Integration did. Paths are relative to the repository
// root, with forward slashes.
type Result struct {
	ID      string
	Package string
	Auth    string
	// Created and Overwritten are the plugin files written.
	Created     []string
	Overwritten []string
	// Catalog lists the catalog files written, with what changed.
	Catalog []Change
	// EnvAdded are the variables appended to .env.example.
	EnvAdded []string
	// CatalogAdded is true when the id was new to the catalog.
	CatalogAdded bool
	// Notes are things the author must finish by hand.
	Notes []string
}

// Change is one file updated outside the plugin directory.
type Change struct {
	Path string
	What string
}

// ExistsError is returned, before anything is written, when plugin files
// exist and Options.Force is not set.
type ExistsError struct {
	Files []string
}

// Error lists the existing files.
func (e *ExistsError) Error() string {
	return fmt.Sprintf("refusing to overwrite existing files (use --force): %s", strings.Join(e.Files, ", "))
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
}

// ValidateID checks a provider id: lowercase letters and digits in groups
// joined by single hyphens, at most 64 characters.
func ValidateID(id string) error {
	switch {
	case id == "":
		return invalid("--provider is required")
	case len(id) > 64:
		return invalid("provider id %q is longer than 64 characters", id)
	case !idPattern.MatchString(id):
		return invalid("provider id %q must be lowercase letters, digits and single hyphens (e.g. acme-widgets), not starting or ending with a hyphen", id)
	}
	return nil
}

// ValidateAuth checks an auth kind.
func ValidateAuth(kind string) error {
	switch kind {
	case AuthOAuth2, AuthAPIKey, AuthBasic:
		return nil
	case "":
		return invalid("--auth is required: oauth2, api_key or basic")
	case "apikey", "api-key":
		return invalid("auth kind %q: did you mean api_key?", kind)
	}
	return invalid("auth kind %q is not one of oauth2, api_key, basic", kind)
}

// PackageName returns the Go package name of a provider id: the id
// without hyphens, prefixed with "p" when it starts with a digit and
// suffixed with "api" when it would clash with a Go keyword or a package
// the generated code imports.
func PackageName(id string) string {
	p := strings.ReplaceAll(id, "-", "")
	if p != "" && p[0] >= '0' && p[0] <= '9' {
		p = "p" + p
	}
	switch p {
	case "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough",
		"for", "func", "go", "goto", "if", "import", "interface", "map", "package", "range",
		"return", "select", "struct", "switch", "type", "var",
		"main", "provider", "providertest", "context", "json", "http", "httptest", "io", "strings", "sync", "testing":
		p += "api"
	}
	return p
}

// DisplayName derives a display name from an id ("acme-widgets" →
// "Acme Widgets").
func DisplayName(id string) string {
	words := strings.Split(id, "-")
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

// EnvLines returns the .env.example variables of a provider, as
// NAME="value" lines: the OAuth client settings for oauth2, the host-wide
// fallback key for api_key, and for basic (whose usernames and passwords
// belong to each tenant's connection) the base URL override.
func EnvLines(id, auth string) []string {
	e := connect.EnvName(id)
	switch auth {
	case AuthOAuth2:
		return []string{
			e + `_CLIENT_ID=""`,
			e + `_CLIENT_SECRET=""`,
			e + `_REDIRECT_URI="https://your-domain.com/api/integrations/` + id + `/callback"`,
		}
	case AuthAPIKey:
		return []string{e + `_API_KEY=""`}
	}
	return []string{e + `_API_BASE_URL=""`}
}

// plan is everything derived from Options before any file is touched.
type plan struct {
	root     string
	data     tmplData
	existing *catalog.Descriptor
	entry    []byte // the overrides "add" entry for a new id
	files    []file
	notes    []string
}

type file struct {
	path string // relative, slash-separated
	body []byte
}

// tmplData feeds the templates.
type tmplData struct {
	ID, Pkg, Name, Auth, BaseURL, Env, Description string
	Categories                                     []string
	// Host is the base URL's host, the provider's one allowed host.
	Host               string
	HasKey, KeyQuery   bool
	KeyName, KeyPrefix string
}

// Integration scaffolds the integration opts describes in the repository
// at opts.Dir and reports what it wrote. Invalid options, a directory that
// is not an Atom checkout, and existing plugin files without Force are
// refused before anything is written.
func Integration(opts Options) (*Result, error) {
	p, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	res := &Result{ID: p.data.ID, Package: p.data.Pkg, Auth: p.data.Auth, Notes: p.notes}
	var exists []string
	for _, f := range p.files {
		if _, err := os.Stat(filepath.Join(p.root, f.path)); err == nil {
			exists = append(exists, f.path)
		}
	}
	if len(exists) > 0 && !opts.Force {
		return nil, &ExistsError{Files: exists}
	}

	if p.entry != nil {
		d, appended, err := overlay.Add(p.root, p.entry)
		if err != nil {
			return nil, fmt.Errorf("add %s to the catalog: %w", p.data.ID, err)
		}
		res.CatalogAdded = true
		if appended {
			res.Catalog = append(res.Catalog, Change{overlay.OverridesFile, fmt.Sprintf("added %q to \"add\"", d.ID)})
		}
		res.Catalog = append(res.Catalog, Change{overlay.DataDir + "/" + d.ID + ".json", "descriptor as the importer writes it"})
	}

	for _, f := range p.files {
		full := filepath.Join(p.root, f.path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return res, err
		}
		if err := os.WriteFile(full, f.body, 0o644); err != nil {
			return res, err
		}
		if slices.Contains(exists, f.path) {
			res.Overwritten = append(res.Overwritten, f.path)
		} else {
			res.Created = append(res.Created, f.path)
		}
	}

	changed, err := overlay.SyncImplementations(p.root)
	if err != nil {
		return res, fmt.Errorf("sync %s: %w", overlay.ImplementationsFile, err)
	}
	if changed {
		res.Catalog = append(res.Catalog, Change{overlay.ImplementationsFile, p.data.ID + " served by its native plugin"})
	}

	added, err := AppendEnv(filepath.Join(p.root, ".env.example"), p.data.Name, p.data.Auth, EnvLines(p.data.ID, p.data.Auth))
	if err != nil {
		return res, fmt.Errorf("update .env.example: %w", err)
	}
	res.EnvAdded = added
	return res, nil
}

// prepare validates opts, reads the catalog entry if any and renders
// every file.
func prepare(opts Options) (*plan, error) {
	id, auth := strings.TrimSpace(opts.Provider), strings.TrimSpace(opts.Auth)
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if err := ValidateAuth(auth); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(opts.Name)
	if strings.IndexFunc(name, unicode.IsControl) >= 0 || len(name) > 100 {
		return nil, invalid("--name must be one line of at most 100 characters")
	}
	base := strings.TrimRight(strings.TrimSpace(opts.BaseURL), "/")
	if base != "" {
		if err := validateBaseURL(base); err != nil {
			return nil, err
		}
	}
	var category string
	if opts.Category != "" {
		c, ok := catalog.LookupCategory(opts.Category)
		if !ok {
			ids := []string{}
			for _, c := range catalog.AllCategories() {
				ids = append(ids, c.ID)
			}
			return nil, invalid("unknown category %q; known: %s", opts.Category, strings.Join(ids, ", "))
		}
		category = c.ID
	}

	root := opts.Dir
	if root == "" {
		root = "."
	}
	if err := checkRepo(root); err != nil {
		return nil, err
	}
	existing, ok, err := overlay.Lookup(root, id)
	if err != nil {
		return nil, fmt.Errorf("read the catalog entry of %s: %w", id, err)
	}

	p := &plan{root: root}
	d := tmplData{ID: id, Pkg: PackageName(id), Auth: auth, Env: connect.EnvName(id)}
	if ok {
		p.existing = existing
		d.Name = existing.Name
		if b := existing.API.BaseURL; b != "" && !strings.Contains(b, "{{") {
			d.BaseURL = strings.TrimRight(b, "/")
		}
		d.Categories = existing.Categories
		kinds := []string{existing.Auth.Kind}
		for _, a := range append([]catalog.Auth{existing.Auth}, existing.AuthAlternatives...) {
			if a.Kind != existing.Auth.Kind {
				kinds = append(kinds, a.Kind)
			}
			if a.Kind == AuthAPIKey && !d.HasKey {
				d.HasKey, d.KeyName, d.KeyPrefix = true, a.APIKeyName, a.APIKeyPrefix
				switch {
				case a.APIKeyIn == "query":
					d.KeyQuery = true
					if d.KeyName == "" {
						d.KeyName = "api_key"
					}
				case d.KeyName == "":
					// The host's default for a key without a placement.
					d.KeyName, d.KeyPrefix = "Authorization", "Bearer "
				}
			}
		}
		if !slices.Contains(kinds, auth) {
			p.notes = append(p.notes, fmt.Sprintf("the catalog entry %s connects with %s, not %s: tenants' credentials will be %s; patch its auth in %s (\"entries\") if the API takes %s",
				id, strings.Join(kinds, " or "), auth, kinds[0], overlay.OverridesFile, auth))
		}
		if base != "" && base != d.BaseURL {
			p.notes = append(p.notes, fmt.Sprintf("--base-url only sets the plugin's fallback; the host sends the catalog's base URL %q (patch it in %s, or set %s_API_BASE_URL)",
				existing.API.BaseURL, overlay.OverridesFile, d.Env))
		}
	}
	if name != "" {
		d.Name = name
	}
	if d.Name == "" {
		d.Name = DisplayName(id)
	}
	if base != "" {
		d.BaseURL = base
	}
	if d.BaseURL == "" {
		d.BaseURL = "https://api." + id + ".example.com"
	}
	if d.BaseURL == "https://api."+id+".example.com" && (!ok || existing.API.BaseURL == "") {
		p.notes = append(p.notes, fmt.Sprintf("the base URL is a placeholder (%s): pass --base-url, or edit the provider's BaseURL and its catalog entry", d.BaseURL))
	}
	if u, err := url.Parse(d.BaseURL); err == nil {
		d.Host = u.Hostname()
	}
	if category != "" {
		d.Categories = []string{category}
	}
	if len(d.Categories) == 0 {
		d.Categories = []string{"other"}
	}
	if auth == AuthAPIKey && !d.HasKey {
		d.HasKey, d.KeyName = true, DefaultAPIKeyHeader
	}
	d.Description = d.Name + " API."

	if !ok {
		entry, err := newEntry(d)
		if err != nil {
			return nil, err
		}
		p.entry = entry
		if auth == AuthOAuth2 {
			p.notes = append(p.notes, fmt.Sprintf("the OAuth endpoints in %s are placeholders (https://%s.example.com/oauth/...): replace them and the scopes, then run `make catalog` (or re-run with --force) to rewrite %s/%s.json",
				overlay.OverridesFile, id, overlay.DataDir, id))
		}
	}

	dir := "plugins/native/" + id
	for _, f := range []struct{ tmpl, path string }{
		{"main.go.tmpl", dir + "/main.go"},
		{"provider.go.tmpl", dir + "/" + d.Pkg + "/" + d.Pkg + ".go"},
		{"provider_test.go.tmpl", dir + "/" + d.Pkg + "/" + d.Pkg + "_test.go"},
		{"README.md.tmpl", dir + "/README.md"},
	} {
		var b bytes.Buffer
		if err := tmpl.ExecuteTemplate(&b, f.tmpl, d); err != nil {
			return nil, fmt.Errorf("render %s: %w", f.path, err)
		}
		body := b.Bytes()
		if strings.HasSuffix(f.path, ".go") {
			if body, err = format.Source(body); err != nil {
				return nil, fmt.Errorf("format %s: %w", f.path, err)
			}
		}
		p.files = append(p.files, file{f.path, body})
	}
	p.data = d
	return p, nil
}

func validateBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return invalid("--base-url %q must be an absolute http(s) URL such as https://api.example.com", s)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Contains(s, "{{") {
		return invalid("--base-url %q must have no user info, query, fragment or template", s)
	}
	return nil
}

// checkRepo makes sure root is an Atom checkout, whose go.mod declares
// Module, so the generated imports resolve.
func checkRepo(root string) error {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return fmt.Errorf("%w: %s has no go.mod (run from the repository root or pass --dir)", ErrNotRepo, root)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == Module {
			return nil
		}
	}
	return fmt.Errorf("%w: %s/go.mod is not module %s", ErrNotRepo, root, Module)
}

// newEntry returns the overrides "add" entry of a new integration: its
// auth kind with what connecting needs (placeholder OAuth endpoints that
// validate, the API key's placement, basic's fields) and its base URL.
func newEntry(d tmplData) ([]byte, error) {
	type auth struct {
		Kind             string   `json:"kind"`
		AuthorizationURL string   `json:"authorization_url,omitempty"`
		TokenURL         string   `json:"token_url,omitempty"`
		ScopeSeparator   string   `json:"scope_separator,omitempty"`
		TokenAuth        string   `json:"token_auth,omitempty"`
		CredentialFields []string `json:"credential_fields,omitempty"`
		APIKeyIn         string   `json:"api_key_in,omitempty"`
		APIKeyName       string   `json:"api_key_name,omitempty"`
		APIKeyPrefix     string   `json:"api_key_prefix,omitempty"`
	}
	a := auth{Kind: d.Auth}
	switch d.Auth {
	case AuthOAuth2:
		a.AuthorizationURL = "https://" + d.ID + ".example.com/oauth/authorize"
		a.TokenURL = "https://" + d.ID + ".example.com/oauth/token"
		a.ScopeSeparator = " "
		a.TokenAuth = "body"
	case AuthAPIKey:
		a.CredentialFields = []string{"apiKey"}
		a.APIKeyIn, a.APIKeyName, a.APIKeyPrefix = "header", d.KeyName, d.KeyPrefix
		if d.KeyQuery {
			a.APIKeyIn = "query"
		}
	case AuthBasic:
		a.CredentialFields = []string{"username", "password"}
	}
	entry := struct {
		ID                   string            `json:"id"`
		Name                 string            `json:"name"`
		Categories           []string          `json:"categories"`
		Auth                 auth              `json:"auth"`
		API                  map[string]string `json:"api"`
		Implementations      []string          `json:"implementations"`
		Connectable          bool              `json:"connectable"`
		NotConnectableReason string            `json:"not_connectable_reason"`
	}{d.ID, d.Name, d.Categories, a, map[string]string{"base_url": d.BaseURL}, []string{}, false, "computed by the importer"}
	var b bytes.Buffer
	enc := jsonEncoder(&b)
	if err := enc.Encode(entry); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(b.Bytes()), nil
}
