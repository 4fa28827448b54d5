// Package runtimes defines the one contract the host calls to run an
// action, whatever serves it: a native go-plugin process, a wasm piece or
// the generic HTTP action. Each runtime is an adapter behind Implementation.
package runtimes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// Kinds of implementation, as named in catalog descriptors.
const (
	KindNative  = "native"
	KindPiece   = "piece"
	KindGeneric = "generic"
)

// Host is what an implementation may ask of the host while it serves one
// execution: the SDK's provider.Host, the one contract plugins are written
// against. Every call is bound to that execution: a plugin cannot name
// another tenant or connection.
type Host = provider.Host

// Implementation serves the actions of one provider.
// Implementations are safe for concurrent use.
type Implementation interface {
	// Kind is KindNative, KindPiece or KindGeneric.
	Kind() string
	// Manifest returns the provider's manifest.
	Manifest() provider.Manifest
	// Execute runs one action. A non-nil error is a transport or runtime
	// failure (plugin crashed, sandbox trap, timeout); provider-side
	// failures are error diagnostics in the response.
	Execute(ctx context.Context, req provider.Request, host Host) (provider.Response, error)
}

// ErrUnavailable is returned (wrapped) when the implementation cannot serve
// the call at all: the plugin process died, is draining with no successor,
// or failed to start. The API maps it to 502.
var ErrUnavailable = errors.New("implementation unavailable")

// ErrPluginFailed is matched (errors.Is) by the errors of an
// implementation whose own code misbehaved while serving the call: a wasm
// guest trapped, panicked, ran out of its memory or wrote an invalid
// result. The plugin failed, not the host: the API maps it to 502
// plugin_failed. Adapters return it (or errors matching it) so that the
// engine knows no adapter's errors.
var ErrPluginFailed = errors.New("plugin failed")

// TooLargeError reports a reply or result over the host's cap
// (ATOM_MAX_UPSTREAM_BODY): a provider's reply read by an adapter, or a
// plugin's or piece's result. The execution answers 502 with Code.
type TooLargeError struct {
	// Code is CodeUpstreamTooLarge (a provider's reply) or
	// CodeResultTooLarge (a plugin's or piece's result).
	Code string
	// What names what was too large ("the provider's reply").
	What  string
	Limit int64
}

// Error codes of TooLargeError.
const (
	CodeUpstreamTooLarge = "upstream_too_large"
	CodeResultTooLarge   = "result_too_large"
)

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s exceeds the host's limit of %d bytes (ATOM_MAX_UPSTREAM_BODY); ask for less (a page, a range, a smaller export) or raise the limit", e.What, e.Limit)
}

// DeadlineError reports a call stopped at a runtime's own deadline (a
// piece's call timeout), which may be shorter than the execution's. It
// matches context.DeadlineExceeded.
type DeadlineError struct {
	// What names the call ("piece sandbox action loop").
	What  string
	Limit time.Duration
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("%s did not finish within %s", e.What, e.Limit)
}

func (e *DeadlineError) Unwrap() error { return context.DeadlineExceeded }

// ErrStoreQuota is returned (wrapped) by Host.StorePut when the write would
// take the tenant's store for the provider past its quota (number of keys
// or total bytes); the message says which.
var ErrStoreQuota = errors.New("store quota exceeded")
