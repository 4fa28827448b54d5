package catalog

// Descriptor describes one integration: who it is, how a tenant connects
// to it and how its API is reached. Descriptors are data; provider quirks
// live here rather than in code.
//
// Templates use one syntax everywhere: {{connection.X}} for connection
// parameters (e.g. Shopify's shop), {{credentials.X}} for credential
// fields, {{metadata.X}} for token-response fields kept with the connection.
type Descriptor struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Categories []string `json:"categories"`
	Auth       Auth     `json:"auth"`
	// AuthAlternatives are other ways to connect, if any.
	AuthAlternatives []Auth `json:"auth_alternatives,omitempty"`
	API              API    `json:"api"`
	DocsURL          string `json:"docs_url,omitempty"`
	// Implementations lists what serves the entry: "native", "piece",
	// "generic". Every connectable entry has "generic".
	Implementations []string `json:"implementations"`
	// Actions are action names known for the entry (from pieces).
	Actions []string `json:"actions,omitempty"`
	// Triggers are trigger names known for the entry (from pieces).
	Triggers []string `json:"triggers,omitempty"`
	// Connectable is false when the data is too incomplete to connect;
	// NotConnectableReason says why.
	Connectable          bool   `json:"connectable"`
	NotConnectableReason string `json:"not_connectable_reason,omitempty"`
	// ActivepiecesID is the name Activepieces gives the integration
	// (@activepieces/piece-<name>) when it is not ID: a piece added from
	// that package serves this entry.
	ActivepiecesID string `json:"activepieces_id,omitempty"`
	// Source records where the facts came from ("nango", "activepieces",
	// "nango+activepieces", "atom" for entries added by the catalog's own
	// overlay, "custom" for files from the custom directory).
	Source string `json:"source,omitempty"`
	// Popular is true when the source data tags the entry as popular; it
	// breaks ties in search ranking.
	Popular bool `json:"popular,omitempty"`
}

// Auth kinds.
const (
	AuthOAuth2   = "oauth2"
	AuthOAuth2CC = "oauth2_cc"
	AuthOAuth1   = "oauth1"
	AuthAPIKey   = "api_key"
	AuthBasic    = "basic"
	AuthCustom   = "custom"
	AuthNone     = "none"
)

// Auth says how a tenant connects.
type Auth struct {
	Kind string `json:"kind"`

	// OAuth endpoints (templated).
	AuthorizationURL string `json:"authorization_url,omitempty"`
	TokenURL         string `json:"token_url,omitempty"`
	RefreshURL       string `json:"refresh_url,omitempty"`
	RevocationURL    string `json:"revocation_url,omitempty"`
	// OAuth 1.0a request-token endpoint.
	RequestTokenURL string `json:"request_token_url,omitempty"`

	Scopes         []string `json:"scopes,omitempty"`
	ScopeSeparator string   `json:"scope_separator,omitempty"`
	PKCE           bool     `json:"pkce,omitempty"`
	// PKCEMethod is "S256" (the default when empty) or "plain".
	PKCEMethod string `json:"pkce_method,omitempty"`
	// TokenAuth is how the client authenticates at the token endpoint:
	// "basic" (HTTP Basic header) or "body" (client_id/secret in the body).
	TokenAuth string `json:"token_auth,omitempty"`
	// TokenBody is the token request encoding: "form" or "json".
	TokenBody string `json:"token_body,omitempty"`

	AuthorizationParams map[string]string `json:"authorization_params,omitempty"`
	TokenParams         map[string]string `json:"token_params,omitempty"`
	RefreshParams       map[string]string `json:"refresh_params,omitempty"`
	// TokenHeaders are extra headers (templated) sent to the token endpoint.
	TokenHeaders map[string]string `json:"token_headers,omitempty"`

	// TokenPath is a dotted path to the object holding the token in the
	// token response (Slack user tokens: "authed_user").
	TokenPath string `json:"token_path,omitempty"`
	// TokenMetadata lists token-response fields kept with the connection
	// (Salesforce: "instance_url").
	TokenMetadata []string `json:"token_metadata,omitempty"`
	// RedirectMetadata lists query parameters of the OAuth callback kept
	// with the connection (Zoho "accounts-server"). Like TokenMetadata they
	// are referenced as {{metadata.X}}.
	RedirectMetadata []string `json:"redirect_metadata,omitempty"`
	// ConnectionParams are parameters the tenant supplies when connecting,
	// interpolated into URLs (Shopify "shop", Zoho "region").
	ConnectionParams       []string            `json:"connection_params,omitempty"`
	ConnectionParamOptions map[string][]string `json:"connection_param_options,omitempty"`
	// MetadataOptions lists, per redirect or token metadata field, the
	// values it may take (Zoho's "accounts-server": one URL per data
	// centre). A callback or token response carrying another value is
	// refused, and only listed values may choose the host of a URL that
	// carries an operator secret.
	MetadataOptions map[string][]string `json:"metadata_options,omitempty"`
	// TenantChosenHosts lists the template variables ("connection.hostname")
	// that choose the host of a URL carrying a host-wide secret (token,
	// refresh, revocation and request-token URLs; an api_key entry's base
	// URL) without a list of allowed values and not as one DNS label under
	// a parent domain the descriptor names (Shopify's
	// {{connection.shop}}.myshopify.com is fixed by the descriptor; see
	// LabelParent). When one of them is used the
	// host never sends the operator's credentials ({PROVIDER}_CLIENT_ID
	// and _CLIENT_SECRET, {PROVIDER}_API_KEY): the tenant registers its own
	// OAuth app or connects with its own key. The importer derives it;
	// SecretHostProblems checks it.
	TenantChosenHosts []string `json:"tenant_chosen_hosts,omitempty"`
	// OptionalConnectionParams are the ConnectionParams a tenant may leave
	// empty: they appear only in a template alternative that has a
	// fallback (see ExpandTemplate).
	OptionalConnectionParams []string `json:"optional_connection_params,omitempty"`
	// CredentialFields are the fields a tenant enters for api_key, basic
	// and custom kinds.
	CredentialFields []string `json:"credential_fields,omitempty"`

	// APIKey placement for api_key: In is "header" or "query"; Name is the
	// header or parameter name; Prefix goes before the key ("Bearer ").
	APIKeyIn     string `json:"api_key_in,omitempty"`
	APIKeyName   string `json:"api_key_name,omitempty"`
	APIKeyPrefix string `json:"api_key_prefix,omitempty"`

	// CheckURL, when set, is called (GET, with the credentials applied)
	// to verify credentials when a connection is created.
	CheckURL string `json:"check_url,omitempty"`

	// Mode is the source's own name for the auth mode ("OAUTH2",
	// "TWO_STEP", "CustomAuth", ...), kept to explain custom kinds.
	Mode string `json:"mode,omitempty"`
}

// API says how the provider's API is reached.
type API struct {
	// BaseURL is a template, e.g. "https://{{connection.shop}}.myshopify.com".
	BaseURL string `json:"base_url,omitempty"`
	// Headers are default headers (templated) sent with every call,
	// e.g. {"authorization": "Bearer {{credentials.apiKey}}"}.
	Headers map[string]string `json:"headers,omitempty"`
}
