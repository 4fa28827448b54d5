package fakeprovider_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/plugins/native/github/github"
	"github.com/atomhq/atom/plugins/native/linear/linear"
	"github.com/atomhq/atom/plugins/native/shopify/shopify"
	"github.com/atomhq/atom/plugins/native/slack/slack"
	"github.com/atomhq/atom/plugins/native/stripe/stripe"
	"github.com/atomhq/atom/sdk/provider"
)

// webhookInstance enables trigger with input, pointing the provider at a
// receiver that runs Handle with the registration (plus extra fields the
// host adds), and returns both.
func webhookInstance(t *testing.T, p *plug, trigger, input string, extra map[string]string) (*receiver, json.RawMessage) {
	t.Helper()
	var reg json.RawMessage
	// The provider may call before Enable returns (GitHub's ping): the
	// hook waits for the registration, as a host that stores the instance
	// first would.
	ready := make(chan struct{})
	rc := newReceiver(t, func(hook provider.WebhookRequest) (provider.TriggerResult, error) {
		<-ready
		return p.call(provider.TriggerOpHandle, trigger, input, func(c *provider.TriggerCall) { c.Webhook, c.Registration = &hook, reg })
	})
	res, err := p.call(provider.TriggerOpEnable, trigger, input, func(c *provider.TriggerCall) { c.WebhookURL = rc.URL + "/api/v1/hooks/h1" })
	if err != nil {
		close(ready)
		t.Fatalf("enable %s: %v", trigger, err)
	}
	reg = res.Registration
	if len(extra) > 0 {
		var m map[string]any
		_ = json.Unmarshal(reg, &m)
		for k, v := range extra {
			m[k] = v
		}
		reg, _ = json.Marshal(m)
	}
	close(ready)
	return rc, reg
}

func TestStripeEventTrigger(t *testing.T) {
	apps := fakeprovider.NewApps(t)
	p := newPlug(t, apps, "stripe", stripe.New())
	p.creds = provider.Credentials{Type: "api_key", APIKey: apps.Token}
	input := `{"events":["payment_intent.succeeded","charge.refunded"]}`
	rc, reg := webhookInstance(t, p, "event", input, nil)
	var r struct{ ID, Secret string }
	_ = json.Unmarshal(reg, &r)
	hooks := apps.Hooks()
	if len(hooks) != 1 || hooks[0].ID != r.ID || hooks[0].Secret != r.Secret || !strings.HasPrefix(r.Secret, "whsec_") ||
		strings.Join(hooks[0].Events, ",") != "payment_intent.succeeded,charge.refunded" {
		t.Fatalf("registration %s, fake hooks %+v", reg, hooks)
	}

	// Two events, each sent three times, last first: two events, once each.
	var ds []fakeprovider.Delivery
	ds = append(ds, apps.StripeEvent("payment_intent.succeeded", map[string]any{"id": "pi_1", "object": "payment_intent", "amount": 2000}, fakeprovider.EmitOptions{})...)
	ds = append(ds, apps.StripeEvent("charge.refunded", map[string]any{"id": "ch_1", "object": "charge"}, fakeprovider.EmitOptions{})...)
	allStatus(t, apps.Send(ds, fakeprovider.EmitOptions{Repeat: 3, Reverse: true}), 200)
	evs, refused := rc.got()
	if len(evs) != 2 || refused != 0 || evs[0].ID == evs[1].ID || !strings.HasPrefix(evs[0].ID, "evt_") {
		t.Fatalf("events %v, refused %d", ids(evs), refused)
	}
	if m := payload(t, evs[0]); m["type"] != "charge.refunded" || evs[0].OccurredAt.IsZero() {
		t.Fatalf("first event (sent first) %v", m)
	}
	// A type the endpoint does not listen to is not sent at all.
	if ds := apps.StripeEvent("customer.created", map[string]any{}, fakeprovider.EmitOptions{}); len(ds) != 0 {
		t.Fatalf("customer.created sent to %d endpoints", len(ds))
	}
	// Forged and stale signatures are refused.
	allStatus(t, apps.Send(apps.StripeEvent("payment_intent.succeeded", map[string]any{"id": "pi_2"}, fakeprovider.EmitOptions{Forge: true}), fakeprovider.EmitOptions{}), 401)
	allStatus(t, apps.Send(apps.StripeEvent("payment_intent.succeeded", map[string]any{"id": "pi_3"}, fakeprovider.EmitOptions{SignedAt: time.Now().Add(-10 * time.Minute)}), fakeprovider.EmitOptions{}), 401)
	if evs, refused := rc.got(); len(evs) != 2 || refused != 2 {
		t.Fatalf("after forged and stale: %d events, %d refused", len(evs), refused)
	}
	// Disable deletes the endpoint; a second Disable finds it gone and
	// succeeds.
	for range 2 {
		if _, err := p.call(provider.TriggerOpDisable, "event", input, func(c *provider.TriggerCall) { c.Registration = reg }); err != nil {
			t.Fatalf("disable: %v", err)
		}
	}
	if liveHooks(apps, "stripe") != 0 {
		t.Fatalf("endpoint still registered: %+v", apps.Hooks())
	}
	// A bad key cannot register.
	p.creds.APIKey = "sk_wrong"
	if _, err := p.call(provider.TriggerOpEnable, "event", input, func(c *provider.TriggerCall) { c.WebhookURL = "https://h.example/x" }); err == nil {
		t.Fatal("enable with a bad key succeeded")
	}
}

func TestGitHubWebhookTriggers(t *testing.T) {
	apps := fakeprovider.NewApps(t)
	p := newPlug(t, apps, "github", github.New())
	rc, reg := webhookInstance(t, p, "issues", `{"owner":"octo","repo":"hello","actions":["opened"]}`, nil)
	// GitHub pings the new hook: answered, no event.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds := apps.Deliveries()
		if len(ds) == 1 && ds[0].Header.Get("X-GitHub-Event") == "ping" && ds[0].Status != 0 {
			if ds[0].Status != 200 {
				t.Fatalf("ping answered %d %s", ds[0].Status, ds[0].Reply)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ping delivered: %+v", ds)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if evs, _ := rc.got(); len(evs) != 0 {
		t.Fatalf("ping made events %v", ids(evs))
	}
	opened := map[string]any{"action": "opened", "issue": map[string]any{"id": 1, "number": 7, "title": "Crash", "updated_at": "2026-01-02T03:04:05Z"}}
	closed := map[string]any{"action": "closed", "issue": map[string]any{"id": 1, "number": 7, "updated_at": "2026-01-02T04:04:05Z"}}
	allStatus(t, apps.Send(apps.GitHubEvent("octo/hello", "issues", opened, fakeprovider.EmitOptions{}), fakeprovider.EmitOptions{Repeat: 2}), 200)
	allStatus(t, apps.Send(apps.GitHubEvent("octo/hello", "issues", closed, fakeprovider.EmitOptions{}), fakeprovider.EmitOptions{}), 200)
	evs, _ := rc.got()
	if len(evs) != 1 || payload(t, evs[0])["action"] != "opened" || !evs[0].OccurredAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("events %v", ids(evs))
	}
	// Another repository's events never reach the hook.
	if ds := apps.GitHubEvent("octo/other", "issues", opened, fakeprovider.EmitOptions{}); len(ds) != 0 {
		t.Fatalf("other repository's event sent to %d hooks", len(ds))
	}
	allStatus(t, apps.Send(apps.GitHubEvent("octo/hello", "issues", opened, fakeprovider.EmitOptions{Forge: true}), fakeprovider.EmitOptions{}), 401)
	if _, err := p.call(provider.TriggerOpDisable, "issues", `{}`, func(c *provider.TriggerCall) { c.Registration = reg }); err != nil {
		t.Fatalf("disable: %v", err)
	}
	if liveHooks(apps, "github") != 0 {
		t.Fatalf("hook still registered")
	}

	// pull_request and push, with the branch filter.
	prc, _ := webhookInstance(t, p, "pull_request", `{"owner":"octo","repo":"hello"}`, nil)
	allStatus(t, apps.Send(apps.GitHubEvent("octo/hello", "pull_request", map[string]any{"action": "opened", "number": 2, "pull_request": map[string]any{"id": 9, "updated_at": "2026-01-02T03:04:05Z"}}, fakeprovider.EmitOptions{}), fakeprovider.EmitOptions{}), 200)
	if evs, _ := prc.got(); len(evs) != 1 || payload(t, evs[0])["number"] != float64(2) {
		t.Fatalf("pull_request events %v", ids(evs))
	}
	src, _ := webhookInstance(t, p, "push", `{"owner":"octo","repo":"hello","branch":"main"}`, nil)
	for _, ref := range []string{"refs/heads/dev", "refs/heads/main"} {
		allStatus(t, apps.Send(apps.GitHubEvent("octo/hello", "push", map[string]any{"ref": ref, "before": "a", "after": "b", "commits": []any{},
			"head_commit": map[string]any{"id": "b", "timestamp": "2026-01-02T03:04:05+01:00"}}, fakeprovider.EmitOptions{}), fakeprovider.EmitOptions{}), 200)
	}
	if evs, _ := src.got(); len(evs) != 1 || payload(t, evs[0])["ref"] != "refs/heads/main" {
		t.Fatalf("push events %v", ids(evs))
	}
	// Hostile input cannot steer the hook to another path.
	if _, err := p.call(provider.TriggerOpEnable, "push", `{"owner":"..","repo":"hello"}`, func(c *provider.TriggerCall) { c.WebhookURL = "https://h.example/x" }); err == nil {
		t.Fatal("enable with owner .. succeeded")
	}
}

func TestShopifyOrderTrigger(t *testing.T) {
	apps := fakeprovider.NewApps(t)
	p := newPlug(t, apps, "shopify", shopify.New())
	p.creds.Params = map[string]string{"shop": "acme"}
	// The host adds the app's client secret to the registration.
	rc, reg := webhookInstance(t, p, "order", `{"topic":"orders/create"}`, map[string]string{"signing_secret": apps.ShopifySecret})
	if hooks := apps.Hooks(); len(hooks) != 1 || hooks[0].Events[0] != "orders/create" {
		t.Fatalf("fake hooks %+v", hooks)
	}
	order := map[string]any{"id": 820982911946154508, "name": "#1001", "total_price": "199.00", "updated_at": "2026-01-02T03:04:05-05:00"}
	// Shopify retries: the same X-Shopify-Event-Id, one event.
	allStatus(t, apps.Send(apps.ShopifyOrder("orders/create", order, fakeprovider.EmitOptions{}), fakeprovider.EmitOptions{Repeat: 3}), 200)
	evs, _ := rc.got()
	if len(evs) != 1 {
		t.Fatalf("events %v", ids(evs))
	}
	m := payload(t, evs[0])
	if m["topic"] != "orders/create" || m["shop_domain"] != "acme.myshopify.com" || m["order"].(map[string]any)["name"] != "#1001" {
		t.Fatalf("payload %v", m)
	}
	allStatus(t, apps.Send(apps.ShopifyOrder("orders/create", order, fakeprovider.EmitOptions{Forge: true}), fakeprovider.EmitOptions{}), 401)
	// Without the app's secret nothing is accepted.
	res, err := p.call(provider.TriggerOpHandle, "order", `{}`, func(c *provider.TriggerCall) {
		d := apps.ShopifyOrder("orders/create", order, fakeprovider.EmitOptions{})[0]
		c.Webhook = &provider.WebhookRequest{Method: "POST", Headers: d.Header, Body: d.Body}
		c.Registration = json.RawMessage(`{"id":1,"topic":"orders/create"}`)
	})
	if err == nil || len(res.Events) != 0 {
		t.Fatalf("handle without a secret: %+v, %v", res, err)
	}
	if _, err := p.call(provider.TriggerOpDisable, "order", `{}`, func(c *provider.TriggerCall) { c.Registration = reg }); err != nil {
		t.Fatalf("disable: %v", err)
	}
	if liveHooks(apps, "shopify") != 0 {
		t.Fatal("webhook still registered")
	}
}

func TestLinearWebhookTrigger(t *testing.T) {
	apps := fakeprovider.NewApps(t)
	p := newPlug(t, apps, "linear", linear.New())
	p.creds = provider.Credentials{Type: "api_key", APIKey: apps.Token}
	input := `{"resource_types":["Issue"],"actions":["create"]}`
	rc, reg := webhookInstance(t, p, "webhook", input, nil)
	if hooks := apps.Hooks(); len(hooks) != 1 || len(hooks[0].Secret) != 64 || hooks[0].Events[0] != "Issue" {
		t.Fatalf("fake hooks %+v", hooks)
	}
	issue := map[string]any{"id": "2174add1", "identifier": "ENG-12", "title": "Crash", "teamId": "t1"}
	allStatus(t, apps.Send(apps.LinearEvent("create", "Issue", issue, fakeprovider.EmitOptions{}), fakeprovider.EmitOptions{Repeat: 2}), 200)
	allStatus(t, apps.Send(apps.LinearEvent("update", "Issue", issue, fakeprovider.EmitOptions{}), fakeprovider.EmitOptions{}), 200)
	evs, _ := rc.got()
	if len(evs) != 1 || payload(t, evs[0])["action"] != "create" {
		t.Fatalf("events %v", ids(evs))
	}
	allStatus(t, apps.Send(apps.LinearEvent("create", "Issue", issue, fakeprovider.EmitOptions{Forge: true}), fakeprovider.EmitOptions{}), 401)
	allStatus(t, apps.Send(apps.LinearEvent("create", "Issue", issue, fakeprovider.EmitOptions{SignedAt: time.Now().Add(-5 * time.Minute)}), fakeprovider.EmitOptions{}), 401)
	for range 2 { // the second finds it deleted
		if _, err := p.call(provider.TriggerOpDisable, "webhook", input, func(c *provider.TriggerCall) { c.Registration = reg }); err != nil {
			t.Fatalf("disable: %v", err)
		}
	}
	if liveHooks(apps, "linear") != 0 {
		t.Fatal("webhook still registered")
	}
}

func TestSlackMessageTrigger(t *testing.T) {
	apps := fakeprovider.NewApps(t)
	p := newPlug(t, apps, "slack", slack.New())
	app := json.RawMessage(`{"signing_secret":"` + apps.SlackSigningSecret + `"}`)
	input := `{"channel":"C0123ABCD"}`
	var routed []string
	rc := newReceiver(t, func(hook provider.WebhookRequest) (provider.TriggerResult, error) {
		// The host's app route: Route, then Handle for the account's
		// instances; a request Route cannot place (url_verification) is
		// handled with the app's secret alone.
		r, err := p.call(provider.TriggerOpRoute, "", `{}`, func(c *provider.TriggerCall) { c.Webhook = &hook })
		if err == nil {
			routed = append(routed, r.Route)
		}
		return p.call(provider.TriggerOpHandle, "message_in_channel", input, func(c *provider.TriggerCall) { c.Webhook, c.Registration = &hook, app })
	})
	if err := apps.SetSlackRequestURL(rc.URL + "/api/v1/hooks/app/slack"); err != nil {
		t.Fatalf("url_verification: %v", err)
	}
	allStatus(t, apps.Send(apps.SlackMessage("C0123ABCD", "U1", "hello", nil, fakeprovider.EmitOptions{}), fakeprovider.EmitOptions{Repeat: 3}), 200)
	for _, extra := range []map[string]any{nil, {"bot_id": "B1"}, {"subtype": "message_changed"}, {"thread_ts": "1.000001"}} {
		ch := "C0123ABCD"
		if extra == nil {
			ch = "C0OTHER"
		}
		allStatus(t, apps.Send(apps.SlackMessage(ch, "U1", "ignored", extra, fakeprovider.EmitOptions{}), fakeprovider.EmitOptions{}), 200)
	}
	evs, _ := rc.got()
	if len(evs) != 1 {
		t.Fatalf("events %v", ids(evs))
	}
	if m := payload(t, evs[0]); m["text"] != "hello" || m["team_id"] != apps.SlackTeam || m["channel"] != "C0123ABCD" || evs[0].OccurredAt.IsZero() {
		t.Fatalf("payload %v", m)
	}
	if len(routed) == 0 || routed[0] != apps.SlackTeam {
		t.Fatalf("routed to %v, want %s", routed, apps.SlackTeam)
	}
	allStatus(t, apps.Send(apps.SlackMessage("C0123ABCD", "U1", "x", nil, fakeprovider.EmitOptions{Forge: true}), fakeprovider.EmitOptions{}), 401)
	allStatus(t, apps.Send(apps.SlackMessage("C0123ABCD", "U1", "x", nil, fakeprovider.EmitOptions{SignedAt: time.Now().Add(-6 * time.Minute)}), fakeprovider.EmitOptions{}), 401)
	if _, refused := rc.got(); refused != 2 {
		t.Fatalf("refused %d, want 2", refused)
	}
	// A forged url_verification is refused too: the challenge is not
	// echoed to whoever asks.
	body := []byte(`{"type":"url_verification","challenge":"steal"}`)
	_, err := p.call(provider.TriggerOpHandle, "message_in_channel", input, func(c *provider.TriggerCall) {
		c.Webhook = &provider.WebhookRequest{Method: "POST", Body: body}
		c.Registration = app
	})
	if !errors.Is(err, provider.ErrInvalidSignature) {
		t.Fatalf("unsigned url_verification: %v", err)
	}
}
