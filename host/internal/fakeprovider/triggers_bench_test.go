package fakeprovider_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/plugins/native/hubspot/hubspot"
	"github.com/atomhq/atom/plugins/native/stripe/stripe"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

// BenchmarkStripeHandle measures one Stripe webhook through the plugin's
// Handle over go-plugin: signature check, parse, event out.
func BenchmarkStripeHandle(b *testing.B) {
	apps := fakeprovider.NewApps(b)
	c := providertest.Serve(b, stripe.New())
	host := providertest.NewHost()
	req := provider.TriggerRequest{Trigger: "event", Input: json.RawMessage(`{"events":["*"]}`),
		Credentials: provider.Credentials{Type: "api_key", APIKey: apps.Token}, BaseURL: apps.BaseURL("stripe")}
	res, err := c.Trigger(context.Background(), provider.TriggerCall{Op: provider.TriggerOpEnable, TriggerRequest: req, WebhookURL: "https://h.example/hook"}, host)
	if err != nil {
		b.Fatal(err)
	}
	d := apps.StripeEvent("payment_intent.succeeded", map[string]any{"id": "pi_1", "object": "payment_intent", "amount": 2000}, fakeprovider.EmitOptions{})[0]
	call := provider.TriggerCall{Op: provider.TriggerOpHandle, TriggerRequest: req, Registration: res.Registration,
		Webhook: &provider.WebhookRequest{Method: "POST", Headers: d.Header, Body: d.Body}}
	for b.Loop() {
		if r, err := c.Trigger(context.Background(), call, host); err != nil || len(r.Events) != 1 {
			b.Fatal(r, err)
		}
	}
}

// BenchmarkHubSpotPoll measures one HubSpot contact poll over go-plugin
// against the fake: a search page of 100 contacts read and turned into
// events.
func BenchmarkHubSpotPoll(b *testing.B) {
	apps := fakeprovider.NewApps(b)
	at := time.Now().Add(time.Minute)
	for range 100 {
		apps.AddContact(map[string]string{"email": "c@example.com"}, at)
	}
	c := providertest.Serve(b, hubspot.New())
	host := providertest.NewHost()
	state, _ := json.Marshal(map[string]int64{"since": time.Now().UnixMilli()})
	call := provider.TriggerCall{Op: provider.TriggerOpPoll, State: state, TriggerRequest: provider.TriggerRequest{Trigger: "new_or_updated_contact",
		Credentials: provider.Credentials{Type: "oauth2", AccessToken: apps.Token}, BaseURL: apps.BaseURL("hubspot")}}
	for b.Loop() {
		if r, err := c.Trigger(context.Background(), call, host); err != nil || len(r.Events) != 100 {
			b.Fatal(len(r.Events), err)
		}
	}
}
