package outbound

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// What the client saw of one execution's requests, for the engine's
// failure table: the class of the last answer or failure.
const (
	// SeenNothing: no request of the execution reached the client's
	// policy, or the last one was refused before it left (a non-public
	// address).
	SeenNothing = ""
	// SeenAnswer: the provider answered (Status, RetryAfter, TokenInvalid).
	SeenAnswer = "answer"
	// SeenRateLimited: the host's own limit refused the request after
	// MaxWait (RetryAfter is the computed wait).
	SeenRateLimited = "rate_limited"
	// SeenUnreachable: the provider could not be reached or dropped the
	// connection.
	SeenUnreachable = "unreachable"
	// SeenTimeout: the request ran out of time.
	SeenTimeout = "timeout"
)

// Seen is the class of the last outbound request of an execution.
type Seen struct {
	Kind string
	// Host is the host the request went to (lower case).
	Host string
	// Status is the provider's HTTP status (SeenAnswer).
	Status int
	// RetryAfter is the provider's Retry-After (seconds or HTTP date) or
	// the host limiter's wait; zero when neither was given.
	RetryAfter time.Duration
	// TokenInvalid: the provider says the credential is invalid or
	// revoked (WWW-Authenticate: Bearer error="invalid_token").
	TokenInvalid bool
}

// Record keeps what the client saw of one execution's requests. It is
// safe for concurrent use.
type Record struct {
	mu   sync.Mutex
	last Seen
}

// Last returns the class of the last request.
func (r *Record) Last() Seen {
	if r == nil {
		return Seen{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func (r *Record) set(s Seen) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.last = s
	r.mu.Unlock()
}

type recordCtxKey struct{}

// Observe returns a context whose outbound requests are recorded in the
// returned Record.
func Observe(ctx context.Context) (context.Context, *Record) {
	r := &Record{}
	return context.WithValue(ctx, recordCtxKey{}, r), r
}

// RecordOf returns the Record ctx's requests go to, or nil.
func RecordOf(ctx context.Context) *Record {
	r, _ := ctx.Value(recordCtxKey{}).(*Record)
	return r
}

// WithRecord returns ctx with its requests recorded in r (a request made
// on another context for the same execution, such as a plugin's).
func WithRecord(ctx context.Context, r *Record) context.Context {
	if r == nil {
		return ctx
	}
	return context.WithValue(ctx, recordCtxKey{}, r)
}

// observe records the outcome of one request in its context's Record.
func observe(req *http.Request, resp *http.Response, err error, now time.Time) {
	r := RecordOf(req.Context())
	if r == nil {
		return
	}
	s := classify(resp, err, now)
	if s.Kind != SeenNothing && req.URL != nil {
		s.Host = strings.ToLower(req.URL.Hostname())
	}
	r.set(s)
}

func classify(resp *http.Response, err error, now time.Time) Seen {
	if err == nil && resp != nil {
		s := Seen{Kind: SeenAnswer, Status: resp.StatusCode}
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			s.RetryAfter = d
		}
		s.TokenInvalid = tokenInvalid(resp)
		return s
	}
	var rl *RateLimitError
	var ae *AddressError
	var ne net.Error
	switch {
	case err == nil:
		return Seen{}
	case errors.As(err, &rl):
		return Seen{Kind: SeenRateLimited, RetryAfter: rl.RetryAfter}
	case errors.As(err, &ae), errors.Is(err, context.Canceled):
		// A policy refusal or the caller leaving: nothing about the
		// provider.
		return Seen{}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return Seen{Kind: SeenTimeout}
	}
	return Seen{Kind: SeenUnreachable}
}

// tokenInvalid reports whether an answer says the credential is invalid
// or revoked, as OAuth 2.0 bearer token usage (RFC 6750 §3.1) does.
func tokenInvalid(resp *http.Response) bool {
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		return false
	}
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		v = strings.ToLower(v)
		if strings.Contains(v, `error="invalid_token"`) || strings.Contains(v, "error=invalid_token") {
			return true
		}
	}
	return false
}
