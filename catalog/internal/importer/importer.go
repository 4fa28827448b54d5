// Package importer turns the merged provider data file
// (shared/data/providers.json) into catalog descriptors. It keeps facts
// only, normalises templates and applies the catalog's overrides file;
// overlay.Finish completes each descriptor and decides which entries are
// connectable. Its output is deterministic: importing the same input
// twice writes identical bytes.
//
// It is repository tooling, run by `go generate ./catalog` (make
// catalog); the atom binary does not link it.
package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/catalog/overlay"
)

// rawEntry is one record of providers.json (only the fields used).
type rawEntry struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Categories       []string  `json:"categories"`
	SourceCategories rawSrcCat `json:"source_categories"`
	Auth             rawAuth   `json:"auth"`
	AuthAlternatives []rawAuth `json:"auth_alternatives"`
	API              rawAPI    `json:"api"`
	DocsURL          string    `json:"docs_url"`
	Sources          rawSource `json:"sources"`
	Actions          []string  `json:"actions"`
	Triggers         []string  `json:"triggers"`
}

type rawSrcCat struct {
	Nango []string `json:"nango"`
}

type rawSource struct {
	Nango        string `json:"nango"`
	Activepieces string `json:"activepieces"`
}

type rawAuth struct {
	Kind                   string           `json:"kind"`
	Source                 string           `json:"source"`
	SourceMode             string           `json:"source_mode"`
	AuthorizationURL       string           `json:"authorization_url"`
	TokenURL               string           `json:"token_url"`
	RefreshURL             string           `json:"refresh_url"`
	ScopesDefault          []string         `json:"scopes_default"`
	ScopeSeparator         string           `json:"scope_separator"`
	PKCE                   bool             `json:"pkce"`
	PKCEMethod             string           `json:"pkce_method"`
	TokenAuth              string           `json:"token_auth"`
	TokenAuthVariant       string           `json:"token_auth_variant"`
	TokenBody              string           `json:"token_body"`
	AuthorizationParams    map[string]any   `json:"authorization_params"`
	TokenParams            map[string]any   `json:"token_params"`
	RefreshParams          map[string]any   `json:"refresh_params"`
	TokenHeaders           map[string]any   `json:"token_headers"`
	ResponseTokenPath      string           `json:"response_token_path"`
	TokenMetadata          []string         `json:"token_metadata"`
	RedirectMetadata       []string         `json:"redirect_metadata"`
	ConnectionParams       []string         `json:"connection_params"`
	ConnectionParamOptions map[string][]any `json:"connection_param_options"`
	CredentialFields       []string         `json:"credential_fields"`
}

type rawAPI struct {
	BaseURL string            `json:"base_url"`
	Headers map[string]string `json:"headers"`
}

// Result is the outcome of an import.
type Result struct {
	Descriptors    []*catalog.Descriptor
	Connectable    int
	NotConnectable int
}

// Import converts providers.json bytes with the overrides bytes (may be
// nil) into validated descriptors sorted by id.
func Import(providers, overrides []byte) (*Result, error) {
	var raws []rawEntry
	if err := json.Unmarshal(providers, &raws); err != nil {
		return nil, fmt.Errorf("parse providers: %w", err)
	}
	var ov overlay.Overrides
	if len(overrides) > 0 {
		dec := json.NewDecoder(bytes.NewReader(overrides))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ov); err != nil {
			return nil, fmt.Errorf("parse overrides: %w", err)
		}
	}
	res := &Result{}
	seen := map[string]bool{}
	used := map[string]bool{}
	for i := range raws {
		r := &raws[i]
		if seen[r.ID] {
			return nil, fmt.Errorf("entry %s: duplicate id", r.ID)
		}
		seen[r.ID] = true
		d, reason := convert(r)
		if o, ok := ov.Entries[r.ID]; ok {
			used[r.ID] = true
			if err := applyOverride(d, o); err != nil {
				return nil, fmt.Errorf("override %s: %w", r.ID, err)
			}
		}
		overlay.Finish(d, reason)
		if err := catalog.Validate(d); err != nil {
			return nil, fmt.Errorf("entry %s: %w", r.ID, err)
		}
		res.Descriptors = append(res.Descriptors, d)
	}
	for id := range ov.Entries {
		if !used[id] {
			return nil, fmt.Errorf("override %s: no such entry in the data", id)
		}
	}
	for i, raw := range ov.Add {
		d, err := overlay.Added(fmt.Sprintf("overrides.json add[%d]", i), raw)
		if err != nil {
			return nil, err
		}
		if seen[d.ID] {
			return nil, fmt.Errorf("overrides add %s: id already in the data", d.ID)
		}
		seen[d.ID] = true
		res.Descriptors = append(res.Descriptors, d)
	}
	sort.Slice(res.Descriptors, func(i, j int) bool { return res.Descriptors[i].ID < res.Descriptors[j].ID })
	for _, d := range res.Descriptors {
		if d.Connectable {
			res.Connectable++
		} else {
			res.NotConnectable++
		}
	}
	return res, nil
}

// WriteDir writes one <id>.json per descriptor into dir, creating it, and
// removes other .json files there so the directory mirrors the import.
func WriteDir(dir string, ds []*catalog.Descriptor) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, d := range ds {
		b, err := overlay.Marshal(d)
		if err != nil {
			return fmt.Errorf("marshal %s: %w", d.ID, err)
		}
		name := d.ID + ".json"
		keep[name] = true
		p := filepath.Join(dir, name)
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, b) {
			continue
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	for _, p := range old {
		if !keep[filepath.Base(p)] {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// Run reads in and overridesPath, imports, writes outDir and prints one
// progress line to progress.
func Run(in, overridesPath, outDir string, progress io.Writer) (*Result, error) {
	data, err := os.ReadFile(in)
	if err != nil {
		return nil, err
	}
	var ov []byte
	if overridesPath != "" {
		if ov, err = os.ReadFile(overridesPath); err != nil {
			return nil, err
		}
	}
	res, err := Import(data, ov)
	if err != nil {
		return nil, err
	}
	if err := WriteDir(outDir, res.Descriptors); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "import: %d entries (%d connectable, %d not connectable) written to %s\n",
		len(res.Descriptors), res.Connectable, res.NotConnectable, outDir)
	return res, nil
}

// nangoCustomModes are Nango modes mapped to "custom" that need a
// provider-specific credential exchange Atom's connection flows lack.
var nangoCustomModes = map[string]bool{
	"TWO_STEP": true, "JWT": true, "SIGNATURE": true, "BILL": true,
	"AWS_SIGV4": true, "TBA": true, "CUSTOM": true,
}

// convert maps a raw entry to a descriptor; reason is a blocking problem
// found in raw facts that the descriptor does not keep.
func convert(r *rawEntry) (*catalog.Descriptor, string) {
	d := &catalog.Descriptor{
		ID:         r.ID,
		Name:       r.Name,
		Categories: append([]string(nil), r.Categories...),
		DocsURL:    r.DocsURL,
		Actions:    r.Actions,
		Triggers:   r.Triggers,
		API:        catalog.API{BaseURL: r.API.BaseURL, Headers: r.API.Headers},
	}
	if a := r.Sources.Activepieces; a != "" && a != r.ID {
		d.ActivepiecesID = a
	}
	switch {
	case r.Sources.Nango != "" && r.Sources.Activepieces != "":
		d.Source = "nango+activepieces"
	case r.Sources.Nango != "":
		d.Source = "nango"
	default:
		d.Source = "activepieces"
	}
	for _, c := range r.SourceCategories.Nango {
		if c == "popular" {
			d.Popular = true
		}
	}
	var reason string
	d.Auth, reason = convertAuth(&r.Auth)
	for i := range r.AuthAlternatives {
		a, _ := convertAuth(&r.AuthAlternatives[i])
		d.AuthAlternatives = append(d.AuthAlternatives, a)
	}
	// Token-response and redirect fields kept with the connection are
	// metadata, not parameters the tenant types in.
	meta := append(append([]string(nil), r.Auth.TokenMetadata...), r.Auth.RedirectMetadata...)
	d.API.BaseURL = toMetadata(d.API.BaseURL, meta)
	for k, v := range d.API.Headers {
		d.API.Headers[k] = toMetadata(v, meta)
	}
	return d, reason
}

func convertAuth(r *rawAuth) (catalog.Auth, string) {
	a := catalog.Auth{
		Kind:             r.Kind,
		AuthorizationURL: r.AuthorizationURL,
		TokenURL:         r.TokenURL,
		RefreshURL:       r.RefreshURL,
		Scopes:           r.ScopesDefault,
		PKCE:             r.PKCE,
		TokenPath:        r.ResponseTokenPath,
		TokenMetadata:    r.TokenMetadata,
		RedirectMetadata: r.RedirectMetadata,
		CredentialFields: r.CredentialFields,
		Mode:             r.SourceMode,
	}
	var reason string
	if r.Kind == "other" {
		a.Kind = catalog.AuthCustom
		reason = fmt.Sprintf("auth mode %s is not supported by Atom's connection flows", r.SourceMode)
	} else if r.Kind == catalog.AuthCustom && r.Source == "nango" && nangoCustomModes[r.SourceMode] {
		reason = fmt.Sprintf("auth mode %s needs a provider-specific credential exchange", r.SourceMode)
	}
	if r.TokenAuthVariant != "" && reason == "" {
		reason = fmt.Sprintf("token endpoint authentication %s is not supported", r.TokenAuthVariant)
	}
	if len(a.Scopes) > 0 || isOAuth(a.Kind) {
		a.ScopeSeparator = r.ScopeSeparator
	}
	if len(a.Scopes) == 0 {
		a.Scopes = nil
	}
	if r.PKCE && r.PKCEMethod != "" {
		a.PKCEMethod = r.PKCEMethod
	}
	if isOAuth(a.Kind) {
		a.TokenAuth = r.TokenAuth
		switch r.TokenBody {
		case "form", "json", "":
			a.TokenBody = r.TokenBody
		default:
			if reason == "" {
				reason = fmt.Sprintf("token request encoding %s is not supported", r.TokenBody)
			}
		}
	}
	a.AuthorizationParams = stringMap(r.AuthorizationParams)
	a.TokenParams = stringMap(r.TokenParams)
	a.RefreshParams = stringMap(r.RefreshParams)
	a.TokenHeaders = stringMap(r.TokenHeaders)
	if len(r.ConnectionParamOptions) > 0 {
		a.ConnectionParamOptions = map[string][]string{}
		for k, vs := range r.ConnectionParamOptions {
			for _, v := range vs {
				a.ConnectionParamOptions[k] = append(a.ConnectionParamOptions[k], scalar(v))
			}
		}
	}
	switch a.Kind {
	case catalog.AuthAPIKey:
		if len(a.CredentialFields) == 0 {
			a.CredentialFields = []string{"apiKey"}
		}
	case catalog.AuthBasic:
		if len(a.CredentialFields) == 0 {
			a.CredentialFields = []string{"username", "password"}
		}
	}
	meta := append(append([]string(nil), r.TokenMetadata...), r.RedirectMetadata...)
	for _, p := range []*string{&a.AuthorizationURL, &a.TokenURL, &a.RefreshURL} {
		*p = toMetadata(*p, meta)
	}
	for _, m := range []map[string]string{a.AuthorizationParams, a.TokenParams, a.RefreshParams, a.TokenHeaders} {
		for k, v := range m {
			m[k] = toMetadata(v, meta)
		}
	}
	for _, p := range r.ConnectionParams {
		if !contains(meta, p) {
			a.ConnectionParams = append(a.ConnectionParams, p)
		}
	}
	return a, reason
}

func isOAuth(kind string) bool {
	return kind == catalog.AuthOAuth2 || kind == catalog.AuthOAuth2CC || kind == catalog.AuthOAuth1
}

// toMetadata rewrites {{connection.X}} to {{metadata.X}} for every X in
// meta.
func toMetadata(s string, meta []string) string {
	for _, m := range meta {
		s = strings.ReplaceAll(s, "{{connection."+m+"}}", "{{metadata."+m+"}}")
	}
	return s
}

func stringMap(m map[string]any) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = scalar(v)
	}
	return out
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// applyOverride patches d with o.
func applyOverride(d *catalog.Descriptor, o overlay.EntryOverride) error {
	d.Categories = append(d.Categories, o.AddCategories...)
	if len(o.Auth) > 0 {
		if err := mergeJSON(&d.Auth, o.Auth); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if len(o.API) > 0 {
		if err := mergeJSON(&d.API, o.API); err != nil {
			return fmt.Errorf("api: %w", err)
		}
	}
	for from, to := range o.RenameConnectionParams {
		if err := renameParam(d, from, to); err != nil {
			return err
		}
	}
	for _, kind := range o.DropAuthKinds {
		n := len(d.AuthAlternatives)
		d.AuthAlternatives = slices.DeleteFunc(d.AuthAlternatives, func(a catalog.Auth) bool { return a.Kind == kind })
		if len(d.AuthAlternatives) == n {
			return fmt.Errorf("drop_auth_kinds %s: no such alternative", kind)
		}
	}
	for i, raw := range o.AddAuthAlternatives {
		var a catalog.Auth
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			return fmt.Errorf("add_auth_alternatives[%d]: %w", i, err)
		}
		for _, b := range append([]catalog.Auth{d.Auth}, d.AuthAlternatives...) {
			if b.Kind == a.Kind {
				return fmt.Errorf("add_auth_alternatives[%d]: the entry already offers %s", i, a.Kind)
			}
		}
		d.AuthAlternatives = append(d.AuthAlternatives, a)
	}
	return nil
}

// mergeJSON overlays patch onto *v key by key, strictly.
func mergeJSON(v any, patch map[string]any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for k, x := range patch {
		m[k] = x
	}
	if b, err = json.Marshal(m); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func renameParam(d *catalog.Descriptor, from, to string) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	old := "{{connection." + from + "}}"
	if !bytes.Contains(b, []byte(old)) {
		return fmt.Errorf("rename %s: not referenced", from)
	}
	b = bytes.ReplaceAll(b, []byte(old), []byte("{{connection."+to+"}}"))
	var nd catalog.Descriptor
	if err := json.Unmarshal(b, &nd); err != nil {
		return err
	}
	rename := func(a *catalog.Auth) {
		for i, p := range a.ConnectionParams {
			if p == from {
				a.ConnectionParams[i] = to
			}
		}
		if opts, ok := a.ConnectionParamOptions[from]; ok {
			delete(a.ConnectionParamOptions, from)
			a.ConnectionParamOptions[to] = opts
		}
	}
	rename(&nd.Auth)
	for i := range nd.AuthAlternatives {
		rename(&nd.AuthAlternatives[i])
	}
	*d = nd
	return nil
}
