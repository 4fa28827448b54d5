package runtimes

import (
	"context"
	"errors"
	"sync"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/sdk/provider"
)

// BaseURLFunc resolves the API base URL of an execution for provider id
// with creds; operatorKey is true when creds carry the operator's
// host-wide key ({PROVIDER}_API_KEY), which a tenant's values may not
// send elsewhere. An error wrapping catalog.ErrTenantChosenHost or
// catalog.ErrNotLabel refuses the call; any other error means there is
// no base URL. generic.BaseURLs is the host's.
type BaseURLFunc func(id string, creds provider.Credentials, operatorKey bool) (string, error)

type operatorKeyCtx struct{}

// WithOperatorKey marks the execution of ctx as carrying the operator's
// host-wide key: its base URL is resolved under the operator's rules.
func WithOperatorKey(ctx context.Context) context.Context {
	return context.WithValue(ctx, operatorKeyCtx{}, true)
}

// OperatorKey reports whether the execution of ctx carries the
// operator's host-wide key.
func OperatorKey(ctx context.Context) bool {
	v, _ := ctx.Value(operatorKeyCtx{}).(bool)
	return v
}

// Refused reports whether a base URL error refuses the call (the
// operator's key would go to a host a tenant chose, or a value is not
// one DNS label) rather than leaving it without a base URL.
func Refused(err error) bool {
	return errors.Is(err, catalog.ErrTenantChosenHost) || errors.Is(err, catalog.ErrNotLabel)
}

type baseURLNote struct {
	mu  sync.Mutex
	url string
}

type baseURLNoteCtx struct{}

// RecordBaseURL returns a context under which the adapter serving a call
// notes the base URL it resolved (NoteBaseURL), and a function reading
// it after the call: the engine tells answers of the provider's API host
// from others with it.
func RecordBaseURL(ctx context.Context) (context.Context, func() string) {
	n := &baseURLNote{}
	return context.WithValue(ctx, baseURLNoteCtx{}, n), func() string {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.url
	}
}

// NoteBaseURL records the base URL of the call of ctx for RecordBaseURL.
func NoteBaseURL(ctx context.Context, base string) {
	if n, ok := ctx.Value(baseURLNoteCtx{}).(*baseURLNote); ok {
		n.mu.Lock()
		n.url = base
		n.mu.Unlock()
	}
}

// ResolveBaseURL is how an adapter fills req.BaseURL for provider id when
// the caller left it empty: through resolve (none when nil). It returns
// only the errors that refuse the call, and notes the base URL
// (NoteBaseURL).
func ResolveBaseURL(ctx context.Context, resolve BaseURLFunc, id string, req *provider.Request) error {
	if req.BaseURL == "" && resolve != nil {
		base, err := resolve(id, req.Credentials, OperatorKey(ctx))
		if Refused(err) {
			return err
		}
		if err == nil {
			req.BaseURL = base
		}
	}
	NoteBaseURL(ctx, req.BaseURL)
	return nil
}
