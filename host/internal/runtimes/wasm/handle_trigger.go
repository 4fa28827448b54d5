package wasm

import (
	"context"
	"errors"

	hostrt "github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/provider"
)

var _ hostrt.Triggers = (*Handle)(nil)

// Trigger runs a trigger operation on the current version, retried on its
// successor like Execute when a concurrent swap retired the version first:
// the host's trigger engine keeps the Handle, as the registry does.
func (h *Handle) Trigger(ctx context.Context, call provider.TriggerCall, host hostrt.Host) (provider.TriggerResult, error) {
	for {
		p := h.cur.Load()
		res, err := p.Trigger(ctx, call, host)
		if errors.Is(err, errRetired) && h.cur.Load() != p {
			continue
		}
		return res, err
	}
}
