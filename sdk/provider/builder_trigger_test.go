package provider_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

func TestBuilderTriggers(t *testing.T) {
	b := provider.New(provider.Manifest{ID: "x"}).
		Trigger(provider.TriggerDef{Name: "new_row", Kind: provider.TriggerPolling,
			Poll: func(ctx context.Context, req provider.TriggerRequest, state json.RawMessage) (provider.PollResult, error) {
				r, _ := provider.RequestFrom(ctx)
				return provider.PollResult{Events: []provider.Event{{ID: r.Action + "/" + req.TenantID, Payload: json.RawMessage(`{}`)}},
					State: append(json.RawMessage(`[`), append(state, ']')...)}, nil
			}}).
		Trigger(provider.TriggerDef{Name: "hook", Kind: provider.TriggerWebhook,
			Enable: func(context.Context, provider.TriggerRequest, string) (json.RawMessage, error) {
				return json.RawMessage(`{"id":1}`), nil
			},
			Disable: func(context.Context, provider.TriggerRequest, json.RawMessage) error { return nil },
			Handle: func(_ context.Context, _ provider.TriggerRequest, hook provider.WebhookRequest, reg json.RawMessage) (provider.HandleResult, error) {
				if err := provider.VerifyGitHub(hook.Headers, hook.Body, "s"); err != nil {
					return provider.HandleResult{}, err
				}
				return provider.HandleResult{}, nil
			}})
	m := b.Manifest()
	if len(m.Triggers) != 2 || m.Triggers[0].Name != "hook" || m.Triggers[1].Kind != provider.TriggerPolling || string(m.Triggers[1].Input) != `{"type":"object"}` {
		t.Fatalf("manifest triggers %+v", m.Triggers)
	}
	ctx := context.Background()
	res, err := provider.DispatchTrigger(ctx, b, provider.TriggerCall{Op: provider.TriggerOpPoll,
		TriggerRequest: provider.TriggerRequest{Trigger: "new_row", TenantID: "t1"}, State: json.RawMessage(`7`)})
	if err != nil || len(res.Events) != 1 || res.Events[0].ID != "new_row/t1" || string(res.State) != `[7]` {
		t.Fatalf("poll %+v, %v", res, err)
	}
	res, err = provider.DispatchTrigger(ctx, b, provider.TriggerCall{Op: provider.TriggerOpEnable, TriggerRequest: provider.TriggerRequest{Trigger: "hook"}})
	if err != nil || string(res.Registration) != `{"id":1}` {
		t.Fatalf("enable %+v, %v", res, err)
	}
	_, err = provider.DispatchTrigger(ctx, b, provider.TriggerCall{Op: provider.TriggerOpHandle, TriggerRequest: provider.TriggerRequest{Trigger: "hook"},
		Webhook: &provider.WebhookRequest{Body: []byte("x")}})
	if !errors.Is(err, provider.ErrInvalidSignature) {
		t.Fatalf("handle without a signature: %v", err)
	}
	for _, c := range []provider.TriggerCall{
		{Op: provider.TriggerOpPoll, TriggerRequest: provider.TriggerRequest{Trigger: "hook"}},
		{Op: provider.TriggerOpEnable, TriggerRequest: provider.TriggerRequest{Trigger: "new_row"}},
		{Op: provider.TriggerOpPoll, TriggerRequest: provider.TriggerRequest{Trigger: "missing"}},
		{Op: provider.TriggerOpRoute},
		{Op: "other"},
	} {
		if _, err := provider.DispatchTrigger(ctx, b, c); !errors.Is(err, provider.ErrTriggerUnsupported) {
			t.Errorf("%s %s: err = %v, want ErrTriggerUnsupported", c.Op, c.Trigger, err)
		}
	}
	// A provider implementing none of the interfaces.
	plain := struct{ provider.Provider }{b}
	if _, err := provider.DispatchTrigger(ctx, plain, provider.TriggerCall{Op: provider.TriggerOpPoll}); !errors.Is(err, provider.ErrTriggerUnsupported) {
		t.Fatalf("plain provider: %v", err)
	}
}

func TestBuilderTriggerPanics(t *testing.T) {
	for name, def := range map[string]provider.TriggerDef{
		"no name":  {Kind: provider.TriggerPolling},
		"no poll":  {Name: "a", Kind: provider.TriggerPolling},
		"bad kind": {Name: "a", Kind: "push"},
		"webhook part": {Name: "a", Kind: provider.TriggerWebhook, Handle: func(context.Context, provider.TriggerRequest, provider.WebhookRequest, json.RawMessage) (provider.HandleResult, error) {
			return provider.HandleResult{}, nil
		}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			provider.New(provider.Manifest{ID: "x"}).Trigger(def)
		}()
	}
}
