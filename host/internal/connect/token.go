package connect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/atomhq/atom/sdk/provider"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/atomhq/atom/catalog"
)

// tokenResult is a parsed token-endpoint answer.
type tokenResult struct {
	AccessToken  string
	RefreshToken string
	TokenSecret  string
	TokenType    string
	Scope        string
	ExpiresIn    time.Duration // 0 when the provider did not say
	Metadata     map[string]string
	// Secrets are other tokens of the response kept encrypted with the
	// connection's credentials (as credential fields).
	Secrets map[string]string
	raw     map[string]any
}

// RootTokenField names the credential field that keeps the token found at
// the root of a token response when the descriptor reads the
// connection's token from a nested path (Slack: the bot token beside the
// user token under authed_user).
const RootTokenField = "root_access_token"

// providerError is an error answer from a provider's token, revocation or
// check endpoint. Its text is the provider's own error and description;
// it never contains what was sent.
type providerError struct {
	Status      int
	Code        string
	Description string
	Transient   bool
}

func (e *providerError) Error() string {
	var b strings.Builder
	if e.Code != "" {
		b.WriteString(e.Code)
	} else {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	return b.String()
}

// varsOf builds the template variables of a connection.
func varsOf(params, metadata map[string]string, sec *secrets) map[string]map[string]string {
	c := provider.Credentials{Params: params, Metadata: metadata}
	if sec != nil {
		c.Fields, c.AccessToken, c.APIKey, c.Username, c.Password = sec.Fields, sec.AccessToken, sec.APIKey, sec.Username, sec.Password
	}
	return TemplateVars(c)
}

// TemplateVars returns the variables descriptor templates see for a
// connection: {{connection.X}} its parameters, {{credentials.X}} its
// credential fields and tokens (also under the names Nango and
// Activepieces use: accessToken/access_token, apiKey/api_key, username,
// password), {{metadata.X}} its token-response and callback fields.
func TemplateVars(c provider.Credentials) map[string]map[string]string {
	cred := map[string]string{}
	for k, v := range c.Fields {
		cred[k] = v
	}
	set := func(v string, names ...string) {
		if v == "" {
			return
		}
		for _, n := range names {
			if _, ok := cred[n]; !ok {
				cred[n] = v
			}
		}
	}
	set(c.AccessToken, "accessToken", "access_token")
	set(c.APIKey, "apiKey", "api_key")
	set(c.Username, "username")
	set(c.Password, "password")
	return map[string]map[string]string{
		catalog.NSConnection:  nonNil(c.Params),
		catalog.NSCredentials: cred,
		catalog.NSMetadata:    nonNil(c.Metadata),
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// expandURL expands a URL template of auth a (whose allowed values are
// taken as is); a missing variable is an input error naming the
// connection parameter to supply.
func expandURL(what, tmpl string, a *catalog.Auth, vars map[string]map[string]string) (string, error) {
	u, err := catalog.ExpandURLWith(tmpl, vars, a.AllowedValues)
	if err != nil {
		return "", &Error{Code: CodeInvalidInput, Status: 400, Msg: fmt.Sprintf("cannot build the %s: %v", what, err), Err: err}
	}
	return u, nil
}

func expandMap(m map[string]string, vars map[string]map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(m))
	for k, v := range m {
		x, err := catalog.ExpandTemplate(v, vars)
		if err != nil {
			return nil, &Error{Code: CodeInvalidInput, Status: 400, Msg: fmt.Sprintf("parameter %s: %v", k, err), Err: err}
		}
		out[k] = x
	}
	return out, nil
}

// grant calls a token endpoint (urlTmpl) with fields, the descriptor's
// extra params and token headers, all expanded with the connection's
// variables; what names the URL in errors. With the operator's client the
// endpoint's host must be one the descriptor fixes (secretURL).
func (s *Service) grant(ctx context.Context, provider string, a *catalog.Auth, what, urlTmpl string, params map[string]string, vars map[string]map[string]string, cl client, fields map[string]string) (*tokenResult, error) {
	endpoint, err := secretURL(provider, what, urlTmpl, a, cl, vars)
	if err != nil {
		return nil, err
	}
	extra, err := expandMap(params, vars)
	if err != nil {
		return nil, err
	}
	headers, err := expandMap(a.TokenHeaders, vars)
	if err != nil {
		return nil, err
	}
	return s.tokenCall(ctx, a, endpoint, cl, fields, extra, headers)
}

// tokenCall posts one token-endpoint request shaped as the descriptor
// says: client authentication in a Basic header or in the body, a form or
// JSON body, extra static parameters and headers.
func (s *Service) tokenCall(ctx context.Context, a *catalog.Auth, endpoint string, cl client, fields, extra, headers map[string]string) (*tokenResult, error) {
	body := map[string]string{}
	for k, v := range extra {
		body[k] = v
	}
	for k, v := range fields {
		body[k] = v
	}
	basic := a.TokenAuth == "basic"
	if !basic {
		body["client_id"] = cl.ID
		if cl.Secret != "" {
			body["client_secret"] = cl.Secret
		}
	}
	var rb []byte
	ctype := "application/x-www-form-urlencoded"
	if a.TokenBody == "json" {
		ctype = "application/json"
		rb, _ = json.Marshal(body)
	} else {
		f := url.Values{}
		for k, v := range body {
			f.Set(k, v)
		}
		rb = []byte(f.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(rb))
	if err != nil {
		return nil, fmt.Errorf("token endpoint: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if basic {
		req.SetBasicAuth(url.QueryEscape(cl.ID), url.QueryEscape(cl.Secret))
	}
	resp, err := s.secretClient.Do(req)
	if err != nil {
		return nil, &providerError{Code: "unreachable", Description: redactURLError(err), Transient: true}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, &providerError{Status: resp.StatusCode, Code: "unreadable_response", Description: err.Error(), Transient: true}
	}
	raw := parseBody(resp.Header.Get("Content-Type"), data)
	if perr := errorOf(resp.StatusCode, raw, data); perr != nil {
		return nil, perr
	}
	return extractToken(a, raw)
}

// redactURLError keeps a transport error's cause without the URL, which may
// carry query parameters.
func redactURLError(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

// parseBody decodes a JSON or form-encoded body into a generic map.
func parseBody(contentType string, data []byte) map[string]any {
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimSpace(data)
	if mt == "application/json" || strings.HasSuffix(mt, "+json") || (len(trimmed) > 0 && trimmed[0] == '{') {
		var m map[string]any
		if json.Unmarshal(trimmed, &m) == nil {
			return m
		}
	}
	if vals, err := url.ParseQuery(string(trimmed)); err == nil && len(vals) > 0 && !bytes.ContainsAny(trimmed, "<{ \n") {
		m := make(map[string]any, len(vals))
		for k := range vals {
			m[k] = vals.Get(k)
		}
		return m
	}
	return nil
}

// errorOf returns the provider error in a response: any non-2xx status, or
// an OAuth error object sent with 200 (Slack's {"ok":false}, GitHub's
// legacy endpoint).
func errorOf(status int, raw map[string]any, data []byte) *providerError {
	code, _ := raw["error"].(string)
	desc, _ := raw["error_description"].(string)
	if desc == "" {
		desc, _ = raw["message"].(string)
	}
	if e, ok := raw["error"].(map[string]any); ok { // {"error":{"code":..,"message":..}}
		code = str(e["code"])
		if code == "" {
			code = str(e["type"])
		}
		desc = str(e["message"])
	}
	okFalse := false
	if v, has := raw["ok"]; has {
		if b, isBool := v.(bool); isBool && !b {
			okFalse = true
		}
	}
	if status >= 200 && status < 300 && code == "" && !okFalse {
		return nil
	}
	if status >= 200 && status < 300 && raw == nil {
		return nil
	}
	pe := &providerError{Status: status, Code: code, Description: desc}
	if pe.Code == "" && pe.Description == "" && status >= 300 {
		pe.Description = snippet(data)
	}
	if pe.Code == "" && okFalse {
		pe.Code = "error"
	}
	pe.Transient = status >= 500 || status == http.StatusTooManyRequests || code == "temporarily_unavailable" || code == "server_error"
	return pe
}

func snippet(data []byte) string {
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Scalar renders a JSON value as text: strings as is, numbers without
// exponent noise, booleans, "" for null, anything else as JSON.
func Scalar(v any) string { return str(v) }

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// lookup follows a dotted path ("team.id") through nested objects.
func lookup(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, part := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = obj[part]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// extractToken reads the token from the response, under TokenPath when
// the descriptor names one, and the metadata fields it keeps.
func extractToken(a *catalog.Auth, raw map[string]any) (*tokenResult, error) {
	if raw == nil {
		return nil, &providerError{Code: "invalid_response", Description: "token response is neither JSON nor form-encoded"}
	}
	obj := raw
	var rootToken string
	if a.TokenPath != "" {
		v, ok := lookup(raw, a.TokenPath)
		nested, isObj := v.(map[string]any)
		switch {
		case isObj && str(nested["access_token"]) != "":
			obj, rootToken = nested, str(raw["access_token"])
		case str(raw["access_token"]) != "":
			// Nothing under the path (e.g. a Slack install with bot
			// scopes only): the root token is the connection's token.
		case !ok || !isObj:
			return nil, &providerError{Code: "invalid_response", Description: fmt.Sprintf("token response has no %q object", a.TokenPath)}
		default:
			obj = nested
		}
	}
	t := &tokenResult{
		AccessToken:  str(obj["access_token"]),
		RefreshToken: str(obj["refresh_token"]),
		TokenType:    str(obj["token_type"]),
		Scope:        str(obj["scope"]),
		TokenSecret:  str(obj["oauth_token_secret"]),
		raw:          raw,
	}
	if rootToken != "" && rootToken != t.AccessToken {
		t.Secrets = map[string]string{RootTokenField: rootToken}
	}
	if t.AccessToken == "" {
		t.AccessToken = str(obj["oauth_token"])
	}
	if t.TokenType == "" {
		t.TokenType = str(raw["token_type"])
	}
	if t.Scope == "" {
		t.Scope = str(raw["scope"])
	}
	if t.AccessToken == "" {
		return nil, &providerError{Code: "invalid_response", Description: "token response has no access_token"}
	}
	if n, err := strconv.ParseFloat(str(obj["expires_in"]), 64); err == nil && n > 0 {
		t.ExpiresIn = time.Duration(n * float64(time.Second))
	}
	for _, name := range a.TokenMetadata {
		if v, ok := lookup(raw, name); ok && v != nil {
			if t.Metadata == nil {
				t.Metadata = map[string]string{}
			}
			t.Metadata[name] = str(v)
		}
	}
	return t, nil
}
