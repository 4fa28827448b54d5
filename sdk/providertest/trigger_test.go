package providertest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestRunTriggerBothPaths(t *testing.T) {
	p := provider.New(provider.Manifest{ID: "hooks"}).Trigger(provider.TriggerDef{Name: "push", Kind: provider.TriggerWebhook,
		Enable: func(ctx context.Context, req provider.TriggerRequest, url string) (json.RawMessage, error) {
			return json.Marshal(map[string]string{"url": url, "base": req.BaseURL, "tenant": req.TenantID})
		},
		Disable: func(context.Context, provider.TriggerRequest, json.RawMessage) error { return nil },
		Handle: func(_ context.Context, _ provider.TriggerRequest, hook provider.WebhookRequest, _ json.RawMessage) (provider.HandleResult, error) {
			if err := provider.VerifyGitHub(hook.Headers, hook.Body, "s3cret"); err != nil {
				return provider.HandleResult{}, err
			}
			return provider.HandleResult{Events: []provider.Event{{ID: hook.Headers.Get("X-GitHub-Delivery"), Payload: hook.Body}}}, nil
		}})
	for name, via := range map[string][]providertest.Option{"direct": nil, "grpc": {providertest.OverGRPC()}} {
		t.Run(name, func(t *testing.T) {
			opts := append([]providertest.Option{providertest.BaseURL("http://fake.test"), providertest.Tenant("acme")}, via...)
			res, err := providertest.RunTrigger(t, p, provider.TriggerCall{Op: provider.TriggerOpEnable, WebhookURL: "https://h.test/x",
				TriggerRequest: provider.TriggerRequest{Trigger: "push"}}, opts...)
			if err != nil || string(res.Registration) != `{"base":"http://fake.test","tenant":"acme","url":"https://h.test/x"}` {
				t.Fatalf("enable: %s, %v", res.Registration, err)
			}
			hook := &provider.WebhookRequest{Method: "POST", Headers: http.Header{"X-Hub-Signature-256": {"sha256=00"}}, Body: []byte(`{}`)}
			_, err = providertest.RunTrigger(t, p, provider.TriggerCall{Op: provider.TriggerOpHandle, Webhook: hook,
				TriggerRequest: provider.TriggerRequest{Trigger: "push"}}, opts...)
			if !errors.Is(err, provider.ErrInvalidSignature) {
				t.Fatalf("forged: %v", err)
			}
		})
	}
}
