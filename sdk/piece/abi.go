package piece

import (
	"encoding/json"
	"time"
)

// ABIVersion is the version of the piece ABI described in ABI.md. A module
// reports it from its atom_abi_version export; the host refuses modules
// that report another version.
const ABIVersion = 1

// Status codes returned by host functions (see ABI.md, "Host functions").
// A non-negative result is the length of the result; a negative one is one
// of these codes, and the error's JSON is then pending for result_read.
const (
	StatusNotFound = -1 // store_get: the key does not exist
	StatusRefused  = -2 // the host refused the call (undeclared host, limit, no execution)
	StatusFailed   = -3 // the call was made and failed (transport error, store error)
	StatusInvalid  = -4 // the request could not be decoded
)

// Log levels for the log host function.
const (
	LogDebug = 0
	LogInfo  = 1
	LogWarn  = 2
	LogError = 3
)

// ExecuteInput is the JSON the host passes to atom_execute. Credentials are
// not part of it: a piece asks for them with the credentials host function
// while the execution runs.
type ExecuteInput struct {
	ExecutionID string          `json:"execution_id"`
	TenantID    string          `json:"tenant_id"`
	Action      string          `json:"action"`
	Input       json.RawMessage `json:"input"`
	BaseURL     string          `json:"base_url,omitempty"`
}

// HTTPRequest is the JSON a piece passes to the http_request host function.
// Exactly one of Body and BodyBase64 may be set.
type HTTPRequest struct {
	Method     string              `json:"method"`
	URL        string              `json:"url"`
	Headers    map[string][]string `json:"headers,omitempty"`
	Body       string              `json:"body,omitempty"`
	BodyBase64 string              `json:"body_base64,omitempty"`
}

// HTTPResponse is the JSON the http_request host function returns. Body
// holds the body when it is valid UTF-8, BodyBase64 otherwise.
type HTTPResponse struct {
	Status     int                 `json:"status"`
	Headers    map[string][]string `json:"headers,omitempty"`
	Body       string              `json:"body,omitempty"`
	BodyBase64 string              `json:"body_base64,omitempty"`
}

// HostError is the JSON pending after a host function returned a negative
// status.
type HostError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Limits are what a piece asks of the host; the host bounds both values by
// its own configuration.
type Limits struct {
	// MemoryPages is the maximum linear memory in 64 KiB pages.
	MemoryPages uint32 `json:"memory_pages,omitempty"`
	// TimeoutMS is the per-call deadline in milliseconds.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
}

// AuthSpec says how a tenant connects to the provider a piece serves.
type AuthSpec struct {
	// Kind is one of oauth2, oauth2_cc, oauth1, api_key, basic, custom, none.
	Kind string `json:"kind"`
	// Fields names the credential fields of api_key, basic and custom kinds.
	Fields []string `json:"fields,omitempty"`
	// Scopes are the OAuth scopes the actions need.
	Scopes []string `json:"scopes,omitempty"`
}

// ManifestJSON is the JSON atom_manifest returns. Its first fields are the
// JSON of provider.Manifest; Hosts, Auth and Limits are specific to pieces.
type ManifestJSON struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Version     string       `json:"version"`
	Description string       `json:"description,omitempty"`
	Categories  []string     `json:"categories,omitempty"`
	Actions     []ActionJSON `json:"actions"`
	// ABI is the ABI version the piece was written for.
	ABI int `json:"abi"`
	// Hosts lists the hosts the piece may call: exact names
	// ("api.telegram.org") or one leading wildcard label ("*.api.mailchimp.com").
	Hosts  []string `json:"hosts"`
	Auth   AuthSpec `json:"auth"`
	Limits Limits   `json:"limits,omitempty"`
	// Triggers are optional: a module listing any exports atom_trigger.
	Triggers []TriggerJSON `json:"triggers,omitempty"`
}

// ActionJSON is one action in ManifestJSON; it has the JSON of
// provider.Action.
type ActionJSON struct {
	Name        string          `json:"name"`
	DisplayName string          `json:"display_name,omitempty"`
	Description string          `json:"description,omitempty"`
	Input       json.RawMessage `json:"input_schema,omitempty"`
	Output      json.RawMessage `json:"output_schema,omitempty"`
	// Idempotent is optional: pieces built before it existed declare
	// nothing, and their actions are treated as not idempotent.
	Idempotent bool `json:"idempotent,omitempty"`
}

// Credentials are the credentials of the running execution. The JSON is
// that of provider.Credentials.
type Credentials struct {
	Type        string            `json:"type"`
	AccessToken string            `json:"access_token,omitempty"`
	TokenSecret string            `json:"token_secret,omitempty"`
	TokenType   string            `json:"token_type,omitempty"`
	ExpiresAt   time.Time         `json:"expires_at,omitempty"`
	APIKey      string            `json:"api_key,omitempty"`
	Username    string            `json:"username,omitempty"`
	Password    string            `json:"password,omitempty"`
	Fields      map[string]string `json:"fields,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Params      map[string]string `json:"params,omitempty"`
}

// Lookup returns the named value from Fields, Params or Metadata, in that
// order, or "" when none holds it.
func (c Credentials) Lookup(name string) string {
	if v := c.Fields[name]; v != "" {
		return v
	}
	if v := c.Params[name]; v != "" {
		return v
	}
	return c.Metadata[name]
}

// Secret returns the credential a request should carry: the access token
// for OAuth kinds, the API key for api_key, else the "token", "api_key" or
// "apiKey" field.
func (c Credentials) Secret() string {
	switch {
	case c.AccessToken != "":
		return c.AccessToken
	case c.APIKey != "":
		return c.APIKey
	}
	for _, k := range []string{"token", "api_key", "apiKey", "access_token"} {
		if v := c.Lookup(k); v != "" {
			return v
		}
	}
	return ""
}

// Diagnostic is an error or warning reported as data, with the JSON of
// provider.Diagnostic.
type Diagnostic struct {
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
	Field    string `json:"field,omitempty"`
	Status   int    `json:"status,omitempty"`
}

// ResponseJSON is the JSON atom_execute returns, that of provider.Response.
type ResponseJSON struct {
	Output      json.RawMessage `json:"output,omitempty"`
	Diagnostics []Diagnostic    `json:"diagnostics,omitempty"`
}
