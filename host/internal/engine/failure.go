package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/sdk/provider"
)

// The failure model. A failed execution answers the same whatever runtime
// served it (native plugin, wasm piece, generic custom_api_call), live and
// when an Idempotency-Key replays it:
//
//	condition                                            status  code
//	provider rejected the credential (401; 403 with      424     connection_rejected
//	  WWW-Authenticate error="invalid_token")
//	rate limited: the provider's 429, or the host's      429     rate_limited, Retry-After
//	  own outbound limit after ATOM_RATE_MAX_WAIT
//	provider answered 5xx, or could not be reached       502     upstream_error
//	the request or the action ran out of time            504     timeout
//	any other failure the action reports (a provider     422     action_failed, field
//	  validation error names the input field)
//
// The class comes from what the host's outbound client saw of the
// execution's last request (outbound.Record), not from what a plugin
// says: a plugin cannot have a connection marked for re-auth, or a
// provider's Retry-After changed, by its diagnostics. The connection is
// marked for re-auth only when the provider says the token is invalid
// (RFC 6750's invalid_token) or answers 401 again after the execution
// refreshed it; a 401 to an API key or any other 403 leaves it as it is.
const (
	// CodeConnectionRejected: the provider rejected the connection's
	// credential.
	CodeConnectionRejected = "connection_rejected"
	// CodeUpstreamError: the provider answered 5xx or could not be
	// reached.
	CodeUpstreamError = connect.CodeUpstreamError
)

func init() {
	statusOfCode[CodeConnectionRejected] = http.StatusFailedDependency
	statusOfCode[CodeUpstreamError] = http.StatusBadGateway
}

// Rejecter marks a connection for re-auth after the provider said its
// token is invalid. *connect.Service satisfies it; Credentials that do
// not leave connections as they are.
type Rejecter interface {
	MarkRejected(ctx context.Context, tenantID, connectionID, reason string) error
}

// pastDeadline reports whether ctx's deadline has passed, by the clock:
// the plugin's side of the deadline (never earlier than the host's) may
// fire before ctx's own timer has run on a busy host.
func pastDeadline(ctx context.Context) bool {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// retrySeconds is a Retry-After in whole seconds, at least 1.
func retrySeconds(d time.Duration) int {
	return max(int((d+time.Second-1)/time.Second), 1)
}

// failedRun classifies an execution whose runtime returned err (a host
// rate-limit refusal, a timeout, a plugin that failed or is unavailable).
func (e *Engine) failedRun(res *Result, err error) *Result {
	var rl *outbound.RateLimitError
	if errors.As(err, &rl) {
		res.Status, res.Code, res.Message = http.StatusTooManyRequests, CodeRateLimited, rl.Error()
		res.RetryAfter = retrySeconds(rl.RetryAfter)
		return res
	}
	return e.failure(res, err)
}

// failedAction classifies an execution whose action reported failure (an
// error diagnostic), with what the outbound client saw of its requests;
// ctx is the execution's, baseURL the provider API's it was given.
func (e *Engine) failedAction(ctx context.Context, res *Result, seen outbound.Seen, h *execHost, baseURL string) *Result {
	field := ""
	for _, d := range res.Diagnostics {
		if d.Severity == provider.SeverityError {
			res.Message, field = outbound.Clip(d.Summary, maxErrorMessage), d.Field
			break
		}
	}
	if len(field) > maxErrorField || !utf8.ValidString(field) {
		// Names no parameter of any provider's.
		field = ""
	}
	if pastDeadline(ctx) {
		// The action gave up when its deadline passed (a plugin's request
		// waits on the plugin's side of the deadline, which the host's
		// record may not see end).
		res.Status, res.Code = http.StatusGatewayTimeout, CodeTimeout
		return res
	}
	if upstreamFailure(res, seen, res.Message) {
		e.reject(ctx, res, seen, h, baseURL)
		return res
	}
	res.Status, res.Code, res.Field = http.StatusUnprocessableEntity, CodeActionFailed, field
	return res
}

// upstreamFailure sets res by the table's upstream rows and reports
// whether one applied; msg, when set, is the action's own summary.
func upstreamFailure(res *Result, seen outbound.Seen, msg string) bool {
	say := func(def string) string {
		if msg != "" {
			return msg
		}
		return def
	}
	switch {
	case seen.Kind == outbound.SeenRateLimited:
		res.Status, res.Code = http.StatusTooManyRequests, CodeRateLimited
		res.Message = fmt.Sprintf("the host's outbound rate limit for this provider was reached; retry in %s", seen.RetryAfter.Round(time.Millisecond))
		res.RetryAfter = retrySeconds(seen.RetryAfter)
	case seen.Kind == outbound.SeenAnswer && seen.Status == http.StatusTooManyRequests:
		res.Status, res.Code = http.StatusTooManyRequests, CodeRateLimited
		res.Message = say("the provider rate limited the request (HTTP 429)")
		res.RetryAfter = retrySeconds(seen.RetryAfter)
	case seen.Kind == outbound.SeenAnswer && (seen.Status == http.StatusUnauthorized || seen.Status == http.StatusForbidden && seen.TokenInvalid):
		res.Status, res.Code = http.StatusFailedDependency, CodeConnectionRejected
		res.Message = say(fmt.Sprintf("the provider rejected the connection's credential (HTTP %d)", seen.Status))
	case seen.Kind == outbound.SeenAnswer && seen.Status >= 500:
		res.Status, res.Code = http.StatusBadGateway, CodeUpstreamError
		res.Message = say(fmt.Sprintf("the provider failed (HTTP %d)", seen.Status))
	case seen.Kind == outbound.SeenUnreachable:
		res.Status, res.Code = http.StatusBadGateway, CodeUpstreamError
		res.Message = say("the provider could not be reached")
	case seen.Kind == outbound.SeenTimeout:
		res.Status, res.Code = http.StatusGatewayTimeout, CodeTimeout
		res.Message = say("the request to the provider timed out")
	default:
		return false
	}
	return true
}

// reject marks the execution's connection for re-auth when the provider
// said its token is invalid, or answered 401 after the execution
// refreshed it. Only an answer of the provider's API host (baseURL's,
// which the host resolved from the catalog) counts: a host a plugin
// declares besides cannot have the tenant's connection revoked.
func (e *Engine) reject(ctx context.Context, res *Result, seen outbound.Seen, h *execHost, baseURL string) {
	if res.Code != CodeConnectionRejected || h == nil || h.connID == "" {
		return
	}
	if u, err := url.Parse(baseURL); err != nil || u.Hostname() == "" || !strings.EqualFold(u.Hostname(), seen.Host) {
		return
	}
	if !seen.TokenInvalid && !(seen.Status == http.StatusUnauthorized && h.renewed.Load()) {
		return
	}
	r, ok := e.cfg.Credentials.(Rejecter)
	if !ok {
		return
	}
	reason := fmt.Sprintf("the provider rejected the token (HTTP %d, invalid_token) in execution %s", seen.Status, res.ExecutionID)
	if !seen.TokenInvalid {
		reason = fmt.Sprintf("the provider rejected a freshly refreshed token (HTTP 401) in execution %s", res.ExecutionID)
	}
	if err := r.MarkRejected(context.WithoutCancel(ctx), h.tenant, h.connID, reason); err != nil {
		e.log.Warn("mark connection for re-auth", "tenant_id", h.tenant, "connection_id", h.connID, "err", outbound.Redact(err.Error()))
	}
}

// maxErrorMessage bounds error.message where a plugin or a provider
// writes it (an action's failure summary, a plugin's error text): the
// answer, its replay and the record carry the same bounded text.
const maxErrorMessage = 2000

// maxErrorField bounds error.field; a longer one is dropped.
const maxErrorField = 200
