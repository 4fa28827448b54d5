package provider

import (
	"context"
	"errors"
	"sync"
)

// Provider is what a native plugin implements. Serve serves one Provider
// for the life of the plugin process.
//
// Execute may be called concurrently. The context carries the execution's
// Request (RequestFrom, CredentialsFrom) and its Host (HostFrom), and is
// cancelled when the host gives up on the call. Provider-side failures are
// error diagnostics in the Response; a returned error is a failure of the
// plugin itself and reaches the user as an internal error.
//
// New calls are added to the protocol as optional interfaces that a
// Provider may also implement; Provider itself does not change in v1.
type Provider interface {
	Manifest() Manifest
	Execute(ctx context.Context, req Request) (Response, error)
}

// Host is what a provider may ask of the host while it serves one
// execution. Every call is bound to that execution: the host answers only
// for the tenant and connection the execution runs for.
type Host interface {
	// Refresh forces a refresh of the execution's connection (after a 401
	// from the provider) and returns the new credentials.
	Refresh(ctx context.Context) (Credentials, error)
	// StoreGet and StorePut read and write the tenant's key-value store,
	// scoped to the provider.
	StoreGet(ctx context.Context, key string) ([]byte, bool, error)
	StorePut(ctx context.Context, key string, value []byte) error
	// Log records a line in the host's log with the execution's ids.
	Log(ctx context.Context, level, msg string)
}

// Log levels for Host.Log.
const (
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// ErrNoHost is returned by the Host of a context that carries none.
var ErrNoHost = errors.New("provider: no host in context")

type ctxKey int

const (
	callKey ctxKey = iota
	hostKey
)

// callState is the mutable per-execution state kept in a context: the
// request and its current credentials, which a refresh replaces.
type callState struct {
	req Request

	mu    sync.RWMutex
	creds Credentials
}

func (s *callState) credentials() Credentials {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.creds
}

func (s *callState) setCredentials(c Credentials) {
	s.mu.Lock()
	s.creds = c
	s.mu.Unlock()
}

// WithRequest returns a context that carries req for RequestFrom and
// CredentialsFrom. Serve does this for every call; tests and custom
// transports call it themselves.
func WithRequest(ctx context.Context, req Request) context.Context {
	return context.WithValue(ctx, callKey, &callState{req: req, creds: req.Credentials})
}

// RequestFrom returns the Request of the execution ctx belongs to. Its
// Credentials are those the call started with; see CredentialsFrom.
func RequestFrom(ctx context.Context) (Request, bool) {
	s, ok := ctx.Value(callKey).(*callState)
	if !ok {
		return Request{}, false
	}
	return s.req, true
}

// CredentialsFrom returns the current credentials of the execution ctx
// belongs to, including any refresh made during the call.
func CredentialsFrom(ctx context.Context) (Credentials, bool) {
	s, ok := ctx.Value(callKey).(*callState)
	if !ok {
		return Credentials{}, false
	}
	return s.credentials(), true
}

// WithHost returns a context that carries h for HostFrom.
func WithHost(ctx context.Context, h Host) context.Context {
	return context.WithValue(ctx, hostKey, h)
}

// HostFrom returns the Host of the execution ctx belongs to. Without one it
// returns a Host whose calls fail with ErrNoHost and whose Log is a no-op.
func HostFrom(ctx context.Context) Host {
	if h, ok := ctx.Value(hostKey).(Host); ok && h != nil {
		return h
	}
	return noHost{}
}

// Refresh asks the host to refresh the execution's connection and makes the
// new credentials current for the rest of the call.
func Refresh(ctx context.Context) (Credentials, error) {
	creds, err := HostFrom(ctx).Refresh(ctx)
	if err != nil {
		return Credentials{}, err
	}
	if s, ok := ctx.Value(callKey).(*callState); ok {
		s.setCredentials(creds)
	}
	return creds, nil
}

type noHost struct{}

func (noHost) Refresh(context.Context) (Credentials, error)           { return Credentials{}, ErrNoHost }
func (noHost) StoreGet(context.Context, string) ([]byte, bool, error) { return nil, false, ErrNoHost }
func (noHost) StorePut(context.Context, string, []byte) error         { return ErrNoHost }
func (noHost) Log(context.Context, string, string)                    {}
