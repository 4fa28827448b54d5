package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// FieldError reports a problem with one field of one descriptor file.
type FieldError struct {
	// File is the file the descriptor came from.
	File string
	// Field is the dotted path of the field ("auth.kind",
	// "auth.scopes[2]"); empty when the problem concerns the whole file.
	Field string
	// Problem says what is wrong.
	Problem string
	// Line is the 1-based line of the field in the file, when known
	// (CheckFile sets it).
	Line int
}

// Error returns "file: field: problem", or "file:line: field: problem"
// when the line is known.
func (e *FieldError) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	if e.Field == "" {
		return where + ": " + e.Problem
	}
	return where + ": " + e.Field + ": " + e.Problem
}

// DecodeDescriptor decodes one descriptor strictly from JSON or, when name
// ends in .yaml or .yml, YAML. Unknown fields, wrong types, trailing data
// and invalid values are refused with a *FieldError naming name, the
// field and the problem.
func DecodeDescriptor(name string, data []byte) (*Descriptor, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		j, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil, &FieldError{File: name, Problem: "invalid YAML: " + err.Error()}
		}
		data = j
	}
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &FieldError{File: name, Problem: "invalid JSON: " + err.Error()}
	}
	if field, problem := checkShape(raw, reflect.TypeOf(Descriptor{}), ""); problem != "" {
		return nil, &FieldError{File: name, Field: field, Problem: problem}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Descriptor
	if err := dec.Decode(&d); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &FieldError{File: name, Field: te.Field, Problem: "must be " + te.Type.String()}
		}
		return nil, &FieldError{File: name, Problem: err.Error()}
	}
	if dec.More() {
		return nil, &FieldError{File: name, Problem: "trailing data after the descriptor"}
	}
	if err := Validate(&d); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.File = name
			return nil, fe
		}
		return nil, &FieldError{File: name, Problem: err.Error()}
	}
	return &d, nil
}

// checkShape walks a decoded JSON value against the Go type it will be
// decoded into and reports the first unknown field or type mismatch with
// its dotted path, which encoding/json does not name for unknown fields.
func checkShape(v any, t reflect.Type, path string) (field, problem string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return "", ""
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return path, "must be an object"
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			fields[name] = f.Type
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				return join(path, k), "unknown field"
			}
			if f, p := checkShape(obj[k], ft, join(path, k)); p != "" {
				return f, p
			}
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return path, "must be an object"
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if f, p := checkShape(obj[k], t.Elem(), join(path, k)); p != "" {
				return f, p
			}
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return path, "must be an array"
		}
		for i, e := range arr {
			if f, p := checkShape(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return f, p
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			return path, "must be a string"
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return path, "must be a boolean"
		}
	}
	return "", ""
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

var (
	idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9\-_.]*$`)
	authKinds = map[string]bool{AuthOAuth2: true, AuthOAuth2CC: true, AuthOAuth1: true,
		AuthAPIKey: true, AuthBasic: true, AuthCustom: true, AuthNone: true}
	implKinds = map[string]bool{ImplNative: true, ImplPiece: true, ImplGeneric: true}
)

// Implementation kinds.
const (
	ImplNative  = "native"
	ImplPiece   = "piece"
	ImplGeneric = "generic"
)

// Validate checks the values of a decoded descriptor: required fields,
// enumerations, known categories, template syntax and that a connectable
// entry has what connecting needs (templates of entries that are not
// connectable may hold expressions Atom cannot expand and are not checked). The error is a *FieldError without a
// file name.
func Validate(d *Descriptor) error {
	bad := func(field, format string, a ...any) error {
		return &FieldError{Field: field, Problem: fmt.Sprintf(format, a...)}
	}
	if !idPattern.MatchString(d.ID) {
		return bad("id", "must be lowercase letters, digits, '-', '_' or '.' (got %q)", d.ID)
	}
	if strings.TrimSpace(d.Name) == "" {
		return bad("name", "is required")
	}
	if len(d.Categories) == 0 {
		return bad("categories", "needs at least one category")
	}
	for i, c := range d.Categories {
		if _, ok := categoryIndex[c]; !ok {
			return bad(fmt.Sprintf("categories[%d]", i), "unknown category %q", c)
		}
	}
	if err := validateAuth("auth", &d.Auth, d.Connectable); err != nil {
		return err
	}
	for i := range d.AuthAlternatives {
		if err := validateAuth(fmt.Sprintf("auth_alternatives[%d]", i), &d.AuthAlternatives[i], false); err != nil {
			return err
		}
	}
	for i, impl := range d.Implementations {
		if !implKinds[impl] {
			return bad(fmt.Sprintf("implementations[%d]", i), "must be native, piece or generic (got %q)", impl)
		}
	}
	if d.Connectable {
		if err := checkTemplate("api.base_url", d.API.BaseURL); err != nil {
			return err
		}
		for k, v := range d.API.Headers {
			if err := checkTemplate("api.headers."+k, v); err != nil {
				return err
			}
		}
		if d.NotConnectableReason != "" {
			return bad("not_connectable_reason", "must be empty when connectable is true")
		}
		if d.API.BaseURL == "" {
			return bad("api.base_url", "is required when connectable is true")
		}
		switch d.Auth.Kind {
		case AuthOAuth2:
			if d.Auth.AuthorizationURL == "" {
				return bad("auth.authorization_url", "is required for a connectable oauth2 entry")
			}
			fallthrough
		case AuthOAuth2CC:
			if d.Auth.TokenURL == "" {
				return bad("auth.token_url", "is required for a connectable %s entry", d.Auth.Kind)
			}
		case AuthOAuth1:
			if d.Auth.RequestTokenURL == "" || d.Auth.AuthorizationURL == "" || d.Auth.TokenURL == "" {
				return bad("auth.request_token_url", "oauth1 needs request_token_url, authorization_url and token_url")
			}
		}
	} else if d.NotConnectableReason == "" {
		return bad("not_connectable_reason", "is required when connectable is false")
	}
	return nil
}

// validateAuth checks one auth option; templates are checked only when
// the option must be usable as it stands (the primary auth of a
// connectable entry).
func validateAuth(path string, a *Auth, templates bool) error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{Field: path + "." + field, Problem: fmt.Sprintf(format, args...)}
	}
	if !authKinds[a.Kind] {
		return bad("kind", "must be one of oauth2, oauth2_cc, oauth1, api_key, basic, custom, none (got %q)", a.Kind)
	}
	switch a.TokenAuth {
	case "", "basic", "body":
	default:
		return bad("token_auth", "must be basic or body (got %q)", a.TokenAuth)
	}
	switch a.TokenBody {
	case "", "form", "json":
	default:
		return bad("token_body", "must be form or json (got %q)", a.TokenBody)
	}
	switch a.PKCEMethod {
	case "", "S256", "plain":
	default:
		return bad("pkce_method", "must be S256 or plain (got %q)", a.PKCEMethod)
	}
	switch a.APIKeyIn {
	case "", "header", "query":
	default:
		return bad("api_key_in", "must be header or query (got %q)", a.APIKeyIn)
	}
	if a.APIKeyIn != "" && a.APIKeyName == "" {
		return bad("api_key_name", "is required when api_key_in is set")
	}
	for k := range a.MetadataOptions {
		if !slices.Contains(a.RedirectMetadata, k) && !slices.Contains(a.TokenMetadata, k) {
			return bad("metadata_options."+k, "names no redirect_metadata or token_metadata field")
		}
	}
	for i, v := range a.TenantChosenHosts {
		if m := varPattern.FindStringSubmatch("{{" + v + "}}"); m == nil || m[0] != "{{"+v+"}}" {
			return bad(fmt.Sprintf("tenant_chosen_hosts[%d]", i), "must be a template variable such as connection.shop (got %q)", v)
		}
	}
	if !templates {
		return nil
	}
	for field, v := range map[string]string{
		"authorization_url": a.AuthorizationURL, "token_url": a.TokenURL,
		"refresh_url": a.RefreshURL, "revocation_url": a.RevocationURL,
		"request_token_url": a.RequestTokenURL, "check_url": a.CheckURL,
	} {
		if err := checkTemplate(path+"."+field, v); err != nil {
			return err
		}
	}
	return nil
}

// checkTemplate refuses malformed references and unknown namespaces.
func checkTemplate(field, tmpl string) error {
	if !strings.Contains(tmpl, "{{") {
		return nil
	}
	stripped := varPattern.ReplaceAllString(tmpl, "")
	if strings.Contains(stripped, "{{") || strings.Contains(stripped, "}}") {
		return &FieldError{Field: field, Problem: "holds a template expression other than {{connection.X}}, {{credentials.X}} or {{metadata.X}}"}
	}
	for _, v := range TemplateVars(tmpl) {
		switch v.Namespace {
		case NSConnection, NSCredentials, NSMetadata:
		default:
			return &FieldError{Field: field, Problem: fmt.Sprintf("unknown template namespace %q", v.Namespace)}
		}
	}
	return nil
}
