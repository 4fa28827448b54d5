package catalog

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

//go:generate go run ./cmd/import -in ../../shared/data/providers.json -out data -overrides overrides.json

// dataFS holds the imported descriptors, one file per integration.
//
//go:embed data/*.json
var dataFS embed.FS

//go:embed implementations.json
var implementationsJSON []byte

// SchemaJSON is the JSON Schema (draft 2020-12) of a descriptor file.
//
//go:embed schema.json
var SchemaJSON []byte

// EnvCatalogDir names the environment variable holding Options.CustomDir.
const EnvCatalogDir = "ATOM_CATALOG_DIR"

// Options configures Load.
type Options struct {
	// CustomDir, when set, is a directory of extra descriptor files
	// (*.json, *.yaml, *.yml; one descriptor each). A file whose id exists
	// replaces that entry; a new id adds one. Its entries get Source
	// "custom".
	CustomDir string
	// Demo adds the built-in "demo" provider served by the host itself
	// (development mode only).
	Demo bool
	// DemoBaseURL is the host's public base URL used in the demo
	// provider's endpoints; default "http://localhost:8080".
	DemoBaseURL string
}

// OptionsFromEnv returns Options with CustomDir taken from
// ATOM_CATALOG_DIR.
func OptionsFromEnv() Options {
	return Options{CustomDir: os.Getenv(EnvCatalogDir)}
}

// Catalog is an immutable snapshot of all integration descriptors, safe
// for concurrent use. Descriptors it returns are shared and must not be
// modified.
type Catalog struct {
	entries []*Descriptor // sorted by id
	byID    map[string]int
	cats    []CategoryCount
	idx     *index
}

// embedded is the parsed embedded data, decoded once per process.
var embedded = sync.OnceValues(loadEmbedded)

func loadEmbedded() ([]*Descriptor, error) {
	files, err := fs.Glob(dataFS, "data/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	out := make([]*Descriptor, 0, len(files))
	for _, f := range files {
		b, err := dataFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		d, err := DecodeDescriptor("catalog/"+f, b)
		if err != nil {
			return nil, err
		}
		if want := strings.TrimSuffix(path.Base(f), ".json"); d.ID != want {
			return nil, &FieldError{File: "catalog/" + f, Field: "id", Problem: fmt.Sprintf("must match the file name %q", want)}
		}
		out = append(out, d)
	}
	return out, nil
}

// Load builds a snapshot from the embedded data, the implementations
// overlay, the custom directory (if any) and the demo provider (if
// asked). A broken custom file fails Load with a *FieldError naming the
// file and field.
func Load(opts Options) (*Catalog, error) {
	base, err := embedded()
	if err != nil {
		return nil, fmt.Errorf("catalog: embedded data: %w", err)
	}
	var custom []*Descriptor
	if opts.CustomDir != "" {
		if custom, err = LoadDir(opts.CustomDir); err != nil {
			return nil, err
		}
	}
	return build(base, custom, opts)
}

// LoadDir decodes every *.json, *.yaml and *.yml file of dir (not
// recursive; hidden files are skipped) as one descriptor each, sorted by
// file name. Two files with the same id are an error.
func LoadDir(dir string) ([]*Descriptor, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("catalog: custom dir: %w", err)
	}
	var out []*Descriptor
	seen := map[string]string{}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !isDescriptorFile(name) {
			continue
		}
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		d, err := DecodeDescriptor(p, b)
		if err != nil {
			return nil, err
		}
		if err := ValidateSchema(p, b); err != nil {
			return nil, err
		}
		if prev, dup := seen[d.ID]; dup {
			return nil, &FieldError{File: p, Field: "id", Problem: fmt.Sprintf("id %q is also defined in %s", d.ID, prev)}
		}
		seen[d.ID] = p
		d.Source = "custom"
		out = append(out, d)
	}
	return out, nil
}

func isDescriptorFile(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json", ".yaml", ".yml":
		return true
	}
	return false
}

func build(base, custom []*Descriptor, opts Options) (*Catalog, error) {
	var impls map[string][]string
	if err := json.Unmarshal(implementationsJSON, &impls); err != nil {
		return nil, fmt.Errorf("catalog: implementations.json: %w", err)
	}
	byID := make(map[string]*Descriptor, len(base)+len(custom)+1)
	for _, d := range base {
		byID[d.ID] = d
	}
	for _, d := range custom {
		byID[d.ID] = d
	}
	if opts.Demo {
		d := DemoDescriptor(opts.DemoBaseURL)
		byID[d.ID] = d
	}
	ids := make([]string, 0, len(impls))
	for id := range impls {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		d, ok := byID[id]
		if !ok {
			return nil, &FieldError{File: "catalog/implementations.json", Field: id, Problem: "no catalog entry with this id"}
		}
		for i, impl := range impls[id] {
			if !implKinds[impl] {
				return nil, &FieldError{File: "catalog/implementations.json", Field: fmt.Sprintf("%s[%d]", id, i), Problem: fmt.Sprintf("must be native, piece or generic (got %q)", impl)}
			}
		}
		cp := *d
		cp.Implementations = mergeImpls(d.Implementations, impls[id])
		byID[id] = &cp
	}
	c := &Catalog{byID: make(map[string]int, len(byID))}
	for _, d := range byID {
		if d.Connectable && !hasString(d.Implementations, ImplGeneric) {
			cp := *d
			cp.Implementations = mergeImpls(d.Implementations, []string{ImplGeneric})
			d = &cp
		}
		c.entries = append(c.entries, d)
	}
	sort.Slice(c.entries, func(i, j int) bool { return c.entries[i].ID < c.entries[j].ID })
	for i, d := range c.entries {
		c.byID[d.ID] = i
	}
	counts := map[string]int{}
	for _, d := range c.entries {
		for _, cat := range d.Categories {
			counts[cat]++
		}
	}
	for _, cat := range categories {
		c.cats = append(c.cats, CategoryCount{ID: cat.ID, DisplayName: cat.DisplayName, Count: counts[cat.ID]})
	}
	c.idx = newIndex(c.entries)
	return c, nil
}

// mergeImpls returns the union of a and b in the order native, piece,
// generic.
func mergeImpls(a, b []string) []string {
	out := []string{}
	for _, k := range []string{ImplNative, ImplPiece, ImplGeneric} {
		if hasString(a, k) || hasString(b, k) {
			out = append(out, k)
		}
	}
	return out
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// DemoDescriptor returns the built-in development provider whose OAuth
// endpoints and API the host serves under baseURL (default
// "http://localhost:8080").
func DemoDescriptor(baseURL string) *Descriptor {
	if baseURL == "" {
		baseURL = "http://localhost:8080"
	}
	baseURL = strings.TrimRight(baseURL, "/")
	return &Descriptor{
		ID:         "demo",
		Name:       "Demo Provider",
		Categories: []string{"productivity"},
		Auth: Auth{
			Kind:             AuthOAuth2,
			AuthorizationURL: baseURL + "/demo/oauth/authorize",
			TokenURL:         baseURL + "/demo/oauth/token",
			RevocationURL:    baseURL + "/demo/oauth/revoke",
			Scopes:           []string{"profile", "items:read", "echo"},
			ScopeSeparator:   " ",
			PKCE:             true,
			PKCEMethod:       "S256",
			TokenAuth:        "body",
			TokenBody:        "form",
			CheckURL:         baseURL + "/demo/api/me",
		},
		AuthAlternatives: []Auth{{
			Kind:             AuthAPIKey,
			CredentialFields: []string{"apiKey"},
			APIKeyIn:         "header",
			APIKeyName:       "Authorization",
			APIKeyPrefix:     "Bearer ",
			CheckURL:         baseURL + "/demo/api/key-check",
		}},
		API:             API{BaseURL: baseURL + "/demo/api"},
		Implementations: []string{ImplGeneric},
		Connectable:     true,
		Source:          "atom",
	}
}

// Get returns the entry with the given id.
func (c *Catalog) Get(id string) (*Descriptor, bool) {
	i, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	return c.entries[i], true
}

// All returns every entry sorted by id. The slice is a copy; the
// descriptors are shared.
// ForActivepieces returns the id of the entry an Activepieces piece named
// name (@activepieces/piece-<name>) serves: the entry whose
// ActivepiecesID is name, else name itself.
func (c *Catalog) ForActivepieces(name string) string {
	for _, d := range c.entries {
		if d.ActivepiecesID == name {
			return d.ID
		}
	}
	return name
}

func (c *Catalog) All() []*Descriptor {
	return append([]*Descriptor(nil), c.entries...)
}

// Len returns the number of entries.
func (c *Catalog) Len() int { return len(c.entries) }

// Categories returns every category in display order with the number of
// entries in it (an entry with several categories counts in each).
func (c *Catalog) Categories() []CategoryCount {
	return append([]CategoryCount(nil), c.cats...)
}

// CountImplementation returns how many entries list the implementation
// kind ("native", "piece", "generic").
func (c *Catalog) CountImplementation(kind string) int {
	n := 0
	for _, d := range c.entries {
		if hasString(d.Implementations, kind) {
			n++
		}
	}
	return n
}
