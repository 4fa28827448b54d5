package provider

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Egress is implemented by a Host that sends a provider's HTTP requests
// itself. The host serving a native plugin does: every request the plugin
// makes within an execution goes to the host, which checks it against the
// manifest's AllowedHosts and its outbound policy (no private addresses,
// a rate limit per tenant and provider, size caps), puts the connection's
// secrets in place of their placeholders, sends it, and returns the
// answer. Redirects are returned, not followed.
type Egress interface {
	RoundTrip(ctx context.Context, req *http.Request) (*http.Response, error)
}

// Codes of an EgressError.
const (
	EgressHostNotAllowed    = "host_not_allowed"
	EgressAddressForbidden  = "address_forbidden"
	EgressForeignCredential = "foreign_credential"
	EgressCredentialHost    = "credential_host_forbidden"
	EgressRateLimited       = "rate_limited"
	EgressTooLarge          = "too_large"
	EgressInvalidRequest    = "invalid_request"
	EgressTransport         = "transport_error"
	EgressNoExecution       = "no_execution"
)

// EgressError is a request the host refused to send, or sent without
// getting an answer. Code is one of the Egress* codes.
type EgressError struct {
	Code    string
	Message string
	// RetryAfter is set with EgressRateLimited.
	RetryAfter time.Duration
}

func (e *EgressError) Error() string {
	return fmt.Sprintf("the host did not send the request (%s): %s", e.Code, e.Message)
}

// Status is the class of the failure as an HTTP status, as the host's
// failure table answers it: 429 for a request the host's rate limit
// refused (RetryAfter says when to retry), 502 for a request sent without
// an answer (the provider could not be reached, dropped the connection or
// ran out of time); 0 for a request the host refused to send, which is
// the plugin's own failure.
func (e *EgressError) Status() int {
	switch e.Code {
	case EgressRateLimited:
		return http.StatusTooManyRequests
	case EgressTransport:
		return http.StatusBadGateway
	}
	return 0
}

// errNoExecution is the answer to a request made outside an execution by
// a served plugin: there is no way out but through the host.
var errNoExecution = &EgressError{Code: EgressNoExecution,
	Message: "the request was not made with an execution's context; build it with the context the action received"}

// hostTransport sends a request through the Egress of the execution its
// context belongs to, and refuses one whose context has none.
type hostTransport struct{}

func (hostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if e, ok := HostFrom(req.Context()).(Egress); ok {
		return e.RoundTrip(req.Context(), req)
	}
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return nil, errNoExecution
}
