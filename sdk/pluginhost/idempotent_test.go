package pluginhost_test

import (
	"context"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

// TestIdempotentCrossesTheWire: an action's idempotent flag reaches the
// host over the real go-plugin gRPC transport; an action that does not
// declare it reads as not idempotent.
func TestIdempotentCrossesTheWire(t *testing.T) {
	handle := func(context.Context, *provider.Call) (any, error) { return "ok", nil }
	p := provider.New(provider.Manifest{ID: "hello", Version: "1.0.0"}).
		Action(provider.ActionDef{Name: "get", Idempotent: true, Handle: handle}).
		Action(provider.ActionDef{Name: "send", Handle: handle})
	got := map[string]bool{}
	for _, a := range providertest.Serve(t, p).Manifest().Actions {
		got[a.Name] = a.Idempotent
	}
	if len(got) != 2 || !got["get"] || got["send"] {
		t.Fatalf("idempotent flags over the wire: %v", got)
	}
}
