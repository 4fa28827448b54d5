package provider

import (
	"encoding/json"
	"time"
)

// Manifest describes a provider: who it is and which actions it offers.
// The host reads it once per plugin start and validates inputs against the
// action schemas before any call reaches the plugin.
type Manifest struct {
	// ID is the catalog id this provider serves (e.g. "stripe").
	ID string `json:"id"`
	// Name is the display name.
	Name string `json:"name"`
	// Version is the provider's own version (semver recommended).
	Version string `json:"version"`
	// Description is one sentence about the provider.
	Description string `json:"description,omitempty"`
	// Categories are catalog category ids (e.g. "crm").
	Categories []string `json:"categories,omitempty"`
	// Actions are the operations a tenant can run.
	Actions []Action `json:"actions"`
	// Triggers are the event sources a tenant can subscribe to. A
	// provider listing any implements the optional interfaces of their
	// kinds (Poller, WebhookTriggers, AppWebhookRouter).
	Triggers []Trigger `json:"triggers,omitempty"`
	// AllowedHosts are the hosts the provider's requests may reach, as
	// "api.example.com" or "*.example.com" (any subdomain) for hosts that
	// depend on the connection ("{shop}.myshopify.com"). Served by a host,
	// every request goes out through it and may reach only these hosts and
	// the host of the execution's BaseURL.
	AllowedHosts []string `json:"allowed_hosts,omitempty"`
	// RawCredentials asks the host for the connection's secrets. Without
	// it the secrets in Request.Credentials are opaque per-execution
	// placeholders that the host replaces with the secrets in the
	// requests it sends for that execution to the allowed hosts, so the
	// plugin never holds a token. Only a provider that must compute with
	// a secret (sign a request with it, say) sets it; the admin API shows
	// it.
	RawCredentials bool `json:"raw_credentials,omitempty"`
}

// Action is one operation of a provider.
type Action struct {
	// Name is the action's identifier, used in URLs (snake_case).
	Name string `json:"name"`
	// DisplayName is a human title; Name is used when empty.
	DisplayName string `json:"display_name,omitempty"`
	// Description says what the action does.
	Description string `json:"description,omitempty"`
	// Input is the JSON Schema of the action's input object.
	Input json.RawMessage `json:"input_schema,omitempty"`
	// Output is the JSON Schema of the action's output.
	Output json.RawMessage `json:"output_schema,omitempty"`
	// Idempotent declares that calling the action twice with the same
	// input has the effect of calling it once (a read, a PUT of a whole
	// value, a create with the provider's own idempotency key). An
	// asynchronous execution of an idempotent action whose host died
	// mid-call is run again (at least once); any other action is never
	// called twice for one execution (at most once) and its execution is
	// settled as unknown instead.
	Idempotent bool `json:"idempotent,omitempty"`
}

// Credentials are the credentials of one execution, decrypted by the host
// for the tenant's connection. They are valid for that execution only.
type Credentials struct {
	// Type is the connection's auth kind: oauth2, oauth2_cc, oauth1,
	// api_key, basic, custom or none.
	Type string `json:"type"`
	// AccessToken is the OAuth access token (oauth2, oauth2_cc, oauth1).
	AccessToken string `json:"access_token,omitempty"`
	// TokenSecret is the OAuth 1.0a token secret.
	TokenSecret string `json:"token_secret,omitempty"`
	// TokenType is usually "Bearer".
	TokenType string `json:"token_type,omitempty"`
	// ExpiresAt is when AccessToken expires; zero when unknown.
	ExpiresAt time.Time `json:"expires_at,omitempty"`
	// APIKey is set for api_key connections.
	APIKey string `json:"api_key,omitempty"`
	// Username and Password are set for basic connections.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// Fields holds custom credential fields by name.
	Fields map[string]string `json:"fields,omitempty"`
	// Metadata holds token-response fields kept with the connection
	// (e.g. Salesforce "instance_url").
	Metadata map[string]string `json:"metadata,omitempty"`
	// Params holds connection parameters (e.g. Shopify "shop", Zoho "region").
	Params map[string]string `json:"params,omitempty"`
}

// Request is one execution of an action.
type Request struct {
	// ExecutionID identifies the execution in the host's records.
	ExecutionID string `json:"execution_id"`
	// TenantID is the tenant the execution runs for.
	TenantID string `json:"tenant_id"`
	// Action is the action's name.
	Action string `json:"action"`
	// Input is the validated input object.
	Input json.RawMessage `json:"input"`
	// Credentials are the connection's credentials.
	Credentials Credentials `json:"credentials"`
	// BaseURL is the provider API's base URL resolved by the host from
	// the catalog descriptor and connection parameters (overridable by
	// {PROVIDER}_API_BASE_URL). Providers should prefer it to a constant.
	BaseURL string `json:"base_url,omitempty"`
}

// Severity of a Diagnostic.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Diagnostic is an error or warning reported to the user as data.
// Go errors are reserved for transport failures.
type Diagnostic struct {
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
	// Field names the input field at fault, if any (JSON pointer or name).
	Field string `json:"field,omitempty"`
	// Status is the upstream HTTP status behind the diagnostic, if any.
	Status int `json:"status,omitempty"`
}

// Response is the result of an execution.
type Response struct {
	// Output is the action's JSON output.
	Output json.RawMessage `json:"output,omitempty"`
	// Diagnostics report errors and warnings. An execution with an
	// error diagnostic failed.
	Diagnostics []Diagnostic `json:"diagnostics,omitempty"`
}

// Failed reports whether r carries an error diagnostic.
func (r Response) Failed() bool {
	for _, d := range r.Diagnostics {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}
