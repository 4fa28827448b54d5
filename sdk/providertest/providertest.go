// Package providertest runs a provider against a fake host in unit tests:
// directly in-process with Run, or through the real go-plugin gRPC path
// (protocol, broker and host callbacks included) with Serve or the
// OverGRPC option.
//
//	resp := providertest.Run(t, stripe.New(), "get_balance", nil,
//		provider.Credentials{Type: "api_key", APIKey: "sk_test"},
//		providertest.BaseURL(fake.URL))
//
// For table tests against a fake API, NewRecorder starts an httptest
// server that records each request it answers, Golden and GoldenJSON
// compare output with files under testdata/ (rewritten with -update), and
// RunCases runs a table of Case values, comparing both the requests and
// the responses with golden files.
package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/atomhq/atom/sdk/pluginhost"
	"github.com/atomhq/atom/sdk/provider"
)

// Host is a fake provider.Host: Refresh returns RefreshCredentials (or
// RefreshError) and counts calls, the store is a map, and log lines are
// kept. Its methods are safe for concurrent use; set fields before use.
type Host struct {
	// RefreshCredentials are returned by Refresh.
	RefreshCredentials provider.Credentials
	// RefreshError, when set, is returned by Refresh instead.
	RefreshError error

	mu        sync.Mutex
	refreshes int
	store     map[string][]byte
	logs      []LogLine
}

// LogLine is one line a provider logged through its host.
type LogLine struct {
	Level   string
	Message string
}

var _ provider.Host = (*Host)(nil)

// NewHost returns a Host whose Refresh fails until RefreshCredentials or
// RefreshError is set.
func NewHost() *Host { return &Host{store: map[string][]byte{}} }

// Refresh counts the call and returns RefreshCredentials.
func (h *Host) Refresh(context.Context) (provider.Credentials, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refreshes++
	if h.RefreshError != nil {
		return provider.Credentials{}, h.RefreshError
	}
	if h.RefreshCredentials.Type == "" {
		return provider.Credentials{}, errors.New("providertest: no refresh credentials set")
	}
	return h.RefreshCredentials, nil
}

// Refreshes returns how many times Refresh was called.
func (h *Host) Refreshes() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.refreshes
}

// StoreGet reads the fake store.
func (h *Host) StoreGet(_ context.Context, key string) ([]byte, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.store[key]
	return v, ok, nil
}

// StorePut writes the fake store.
func (h *Host) StorePut(_ context.Context, key string, value []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.store == nil {
		h.store = map[string][]byte{}
	}
	h.store[key] = append([]byte(nil), value...)
	return nil
}

// Log keeps the line.
func (h *Host) Log(_ context.Context, level, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, LogLine{Level: level, Message: msg})
}

// Logs returns the lines logged so far.
func (h *Host) Logs() []LogLine {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]LogLine(nil), h.logs...)
}

// Option adjusts one Run.
type Option func(*options)

type options struct {
	req    provider.Request
	host   *Host
	grpc   bool
	client *pluginhost.Client
}

// BaseURL sets the request's base URL (usually an httptest server's URL).
func BaseURL(u string) Option { return func(o *options) { o.req.BaseURL = u } }

// Tenant sets the request's tenant id.
func Tenant(id string) Option { return func(o *options) { o.req.TenantID = id } }

// WithHost makes h answer the provider's host calls.
func WithHost(h *Host) Option { return func(o *options) { o.host = h } }

// OverGRPC runs the call through the real go-plugin gRPC path in-process.
func OverGRPC() Option { return func(o *options) { o.grpc = true } }

// Using runs the call through c, a client returned by Serve.
func Using(c *pluginhost.Client) Option { return func(o *options) { o.client = c } }

// Run executes action of p with input (marshalled to JSON; a
// json.RawMessage, []byte or string is used as is) and creds, and returns
// the response. A transport error fails the test.
func Run(t testing.TB, p provider.Provider, action string, input any, creds provider.Credentials, opts ...Option) provider.Response {
	t.Helper()
	o := options{req: provider.Request{
		ExecutionID: "exec-test",
		TenantID:    "tenant-test",
		Action:      action,
		Credentials: creds,
	}}
	for _, opt := range opts {
		opt(&o)
	}
	if o.host == nil {
		o.host = NewHost()
	}
	raw, err := marshalInput(input)
	if err != nil {
		t.Fatalf("providertest: encode input: %v", err)
	}
	o.req.Input = raw
	ctx := context.Background()
	if d, ok := t.(interface{ Context() context.Context }); ok && d.Context() != nil {
		ctx = d.Context()
	}
	client := o.client
	if client == nil && o.grpc {
		client = Serve(t, p)
	}
	var resp provider.Response
	if client != nil {
		resp, err = client.Execute(ctx, o.req, o.host)
	} else {
		ctx = provider.WithHost(provider.WithRequest(ctx, o.req), o.host)
		resp, err = p.Execute(ctx, o.req)
	}
	if err != nil {
		t.Fatalf("providertest: execute %s: %v", action, err)
	}
	return resp
}

// Serve serves p through go-plugin's gRPC transport in-process, the same
// protocol, broker and conversions a plugin process uses, and returns a
// client for it. Both ends close when the test ends.
func Serve(t testing.TB, p provider.Provider) *pluginhost.Client {
	t.Helper()
	set := provider.ServeConfig(p).VersionedPlugins[pluginhost.ProtocolVersion]
	client, _ := plugin.TestPluginGRPCConn(t, false, set)
	// Closing the client shuts the server down through go-plugin's
	// controller; stopping it here as well would race with that.
	t.Cleanup(func() { _ = client.Close() })
	c, err := pluginhost.Dispense(context.Background(), client)
	if err != nil {
		t.Fatalf("providertest: %v", err)
	}
	return c
}

func marshalInput(v any) (json.RawMessage, error) {
	switch in := v.(type) {
	case nil:
		return json.RawMessage(`{}`), nil
	case json.RawMessage:
		return in, nil
	case []byte:
		return in, nil
	case string:
		return json.RawMessage(in), nil
	}
	return json.Marshal(v)
}

// Output decodes resp's output into v, failing the test if resp failed or
// the output does not decode.
func Output(t testing.TB, resp provider.Response, v any) {
	t.Helper()
	if resp.Failed() {
		t.Fatalf("providertest: execution failed: %+v", resp.Diagnostics)
	}
	if err := json.Unmarshal(resp.Output, v); err != nil {
		t.Fatalf("providertest: decode output %s: %v", resp.Output, err)
	}
}
