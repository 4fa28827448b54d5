package native

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/triggers"
	"github.com/atomhq/atom/sdk/pluginhost"
	"github.com/atomhq/atom/sdk/provider"
)

var _ runtimes.Triggers = (*Plugin)(nil)

// Trigger runs one trigger operation in the plugin's current version,
// starting its process if needed, under the same slot limit, deadline and
// egress as Execute: the plugin's requests go out through the host, for
// call's tenant, with placeholders for the connection's secrets unless the
// manifest asks for raw ones. A route call runs with no host: no
// credentials and no way out. The answer is checked against
// triggers.DefaultLimits (and the wire bounds it first, at
// rpc.MaxTriggerMessage).
func (p *Plugin) Trigger(ctx context.Context, call provider.TriggerCall, host runtimes.Host) (provider.TriggerResult, error) {
	if err := triggers.Allowed(p.Manifest(), call); err != nil {
		return provider.TriggerResult{}, fmt.Errorf("plugin %s: %v: %w", p.id, err, runtimes.ErrUnknownTrigger)
	}
	ctx, v, proc, release, err := p.acquire(ctx)
	if err != nil {
		return provider.TriggerResult{}, err
	}
	defer release()
	res, err := p.trigger(ctx, proc.client, call, host)
	switch {
	case err == nil:
	case errors.Is(err, provider.ErrInvalidSignature):
		return provider.TriggerResult{}, fmt.Errorf("plugin %s: %w", p.id, err)
	case errors.Is(err, pluginhost.ErrTriggerFailed):
		msg := strings.TrimPrefix(err.Error(), pluginhost.ErrTriggerFailed.Error()+": ")
		return provider.TriggerResult{}, fmt.Errorf("plugin %s: %w: %s", p.id, runtimes.ErrTriggerFailed, msg)
	case errors.Is(err, provider.ErrTriggerUnsupported):
		return provider.TriggerResult{}, fmt.Errorf("plugin %s: %v: %w", p.id, err, runtimes.ErrUnknownTrigger)
	default:
		return provider.TriggerResult{}, p.callFailed(v, proc, err)
	}
	if err := ctx.Err(); err != nil {
		return provider.TriggerResult{}, fmt.Errorf("plugin %s: %w", p.id, err)
	}
	if err := triggers.Check(call.Op, res, triggers.DefaultLimits); err != nil {
		return provider.TriggerResult{}, fmt.Errorf("plugin %s: %w", p.id, err)
	}
	return res, nil
}

// trigger runs call in client with the host side of an execution.
func (p *Plugin) trigger(ctx context.Context, client *pluginhost.Client, call provider.TriggerCall, host runtimes.Host) (provider.TriggerResult, error) {
	if call.Op == provider.TriggerOpRoute {
		// Route reads the request alone: no tenant, credentials or egress.
		call.TriggerRequest = provider.TriggerRequest{}
		return client.Trigger(ctx, call, noHost{})
	}
	c := p.newCall(provider.Request{ExecutionID: call.ExecutionID, TenantID: call.TenantID, Action: call.Trigger, BaseURL: call.BaseURL}, host)
	c.seen = outbound.RecordOf(ctx)
	if c.raw && !slices.Contains(p.m.cfg.RawCredentials, p.id) {
		return provider.TriggerResult{}, fmt.Errorf("%w: plugin %s declares raw_credentials; list it in ATOM_PLUGIN_RAW_CREDENTIALS to hand it connections' secrets", runtimes.ErrUnavailable, p.id)
	}
	if !c.raw {
		call.Credentials = c.mask(call.Credentials)
	}
	res, err := client.Trigger(ctx, call, c)
	if errors.Is(err, pluginhost.ErrTriggerFailed) {
		if rl := c.limited.Load(); rl != nil {
			return provider.TriggerResult{}, rl
		}
	}
	return res, err
}

// noHost answers the callbacks of a call that has no execution behind it:
// every one fails, and it sends no request (it is no provider.Egress).
type noHost struct{}

func (noHost) Refresh(context.Context) (provider.Credentials, error) {
	return provider.Credentials{}, provider.ErrNoHost
}
func (noHost) StoreGet(context.Context, string) ([]byte, bool, error) {
	return nil, false, provider.ErrNoHost
}
func (noHost) StorePut(context.Context, string, []byte) error { return provider.ErrNoHost }
func (noHost) Log(context.Context, string, string)            {}
