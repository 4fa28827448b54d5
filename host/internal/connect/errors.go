package connect

import (
	"errors"
	"fmt"
)

// Error codes carried by *Error. Handlers put the code in redirects
// (/integrations?error=<code>) and JSON error bodies.
const (
	CodeInvalidState         = "invalid_state"
	CodeTokenExchangeFailed  = "token_exchange_failed"
	CodeAccessDenied         = "access_denied"
	CodeNotConfigured        = "not_configured"
	CodeProviderNotConnected = "provider_not_connected"
	CodeUnknownProvider      = "unknown_provider"
	CodeUnsupported          = "unsupported_auth"
	CodeInvalidInput         = "invalid_input"
	CodeInvalidCredentials   = "invalid_credentials"
	CodeRefreshFailed        = "refresh_failed"
	CodeConnectionExpired    = "connection_expired"
	CodeConnectionRevoked    = "connection_revoked"
	CodeInvalidReturnTo      = "invalid_return_to"
	CodeUnknownUser          = "unknown_user"
	// CodeTenantAppRequired refuses to send the operator's credentials to
	// a host the tenant chose: the tenant needs its own OAuth app or key.
	CodeTenantAppRequired = "tenant_app_required"
	// CodeOAuthAppNotFound: the tenant registered no OAuth app for the
	// provider (reading or deleting it).
	CodeOAuthAppNotFound = "oauth_app_not_found"
	// CodeUpstreamError: the provider could not be reached, or answered
	// 5xx, while checking credentials (the executions' code for the same).
	CodeUpstreamError = "upstream_error"
	// CodeInvalidCallback: the provider's redirect back carries no
	// authorization code (or OAuth 1 token and verifier).
	CodeInvalidCallback = "invalid_callback"
)

// Error is a connection-flow failure a user may see. Code is a short
// machine-readable code (the Code* constants); Message is the text safe to
// show to the tenant. Err, when set, is the underlying cause for logs; it
// never holds secrets.
type Error struct {
	Code string
	Msg  string
	// Status is the HTTP status a handler should answer with.
	Status int
	Err    error
}

// Error returns the message with the cause, for logs.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

// Message returns the user-facing text (for JSON bodies).
func (e *Error) Message() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error by code, so errors.Is(err, ErrInvalidState)
// works for any invalid-state error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinel errors for errors.Is; the errors returned carry more detail.
var (
	ErrInvalidState         = &Error{Code: CodeInvalidState, Msg: "Invalid state", Status: 400}
	ErrProviderNotConnected = &Error{Code: CodeProviderNotConnected, Msg: "Provider not connected", Status: 404}
	ErrNotConfigured        = &Error{Code: CodeNotConfigured, Msg: "provider is not configured", Status: 400}
	ErrUnknownProvider      = &Error{Code: CodeUnknownProvider, Msg: "unknown provider", Status: 404}
	ErrTokenExchange        = &Error{Code: CodeTokenExchangeFailed, Msg: "Token exchange failed", Status: 502}
	ErrAccessDenied         = &Error{Code: CodeAccessDenied, Msg: "Access denied", Status: 403}
	ErrRefreshFailed        = &Error{Code: CodeRefreshFailed, Msg: "Token refresh failed", Status: 502}
	ErrConnectionExpired    = &Error{Code: CodeConnectionExpired, Msg: "Connection expired", Status: 401}
	ErrConnectionRevoked    = &Error{Code: CodeConnectionRevoked, Msg: "Connection revoked", Status: 401}
	ErrInvalidInput         = &Error{Code: CodeInvalidInput, Msg: "invalid input", Status: 400}
	ErrInvalidCredentials   = &Error{Code: CodeInvalidCredentials, Msg: "invalid credentials", Status: 400}
	ErrTenantAppRequired    = &Error{Code: CodeTenantAppRequired, Msg: "the tenant's own OAuth app or key is required", Status: 400}
)

// invalidState returns the spec's "Invalid state" error with a private
// cause for logs.
func invalidState(cause string) *Error {
	return &Error{Code: CodeInvalidState, Msg: "Invalid state", Status: 400, Err: errors.New(cause)}
}

func newErr(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Msg: fmt.Sprintf(format, args...)}
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
