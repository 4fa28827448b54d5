package providertest

import (
	"context"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

// RunTrigger runs one trigger call of p, as the host would: in-process
// through provider.DispatchTrigger, or through the go-plugin gRPC path
// with OverGRPC or Using. BaseURL, Tenant and WithHost apply to the call
// as to Run (a BaseURL or tenant the call already names is kept). It
// returns the operation's result and error: a refused signature wraps
// provider.ErrInvalidSignature, whichever path ran it.
func RunTrigger(t testing.TB, p provider.Provider, call provider.TriggerCall, opts ...Option) (provider.TriggerResult, error) {
	t.Helper()
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.host == nil {
		o.host = NewHost()
	}
	if call.ExecutionID == "" {
		call.ExecutionID = "trigger-test"
	}
	if call.TenantID == "" {
		call.TenantID = o.req.TenantID
	}
	if call.TenantID == "" {
		call.TenantID = "tenant-test"
	}
	if call.BaseURL == "" {
		call.BaseURL = o.req.BaseURL
	}
	ctx := context.Background()
	if d, ok := t.(interface{ Context() context.Context }); ok && d.Context() != nil {
		ctx = d.Context()
	}
	client := o.client
	if client == nil && o.grpc {
		client = Serve(t, p)
	}
	if client != nil {
		return client.Trigger(ctx, call, o.host)
	}
	return provider.DispatchTrigger(provider.WithHost(ctx, o.host), p, call)
}
