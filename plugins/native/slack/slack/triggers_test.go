package slack_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/atomhq/atom/plugins/native/slack/slack"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

const signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"

func signed(body string, at time.Time, secret string) *provider.WebhookRequest {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":" + body))
	return &provider.WebhookRequest{Method: "POST", Body: []byte(body), Headers: http.Header{
		"X-Slack-Request-Timestamp": {ts}, "X-Slack-Signature": {"v0=" + hex.EncodeToString(m.Sum(nil))}}}
}

func message(ev map[string]any) string {
	ev["type"] = "message"
	b, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": "T1", "event_id": "Ev1", "event_time": 1767323045, "event": ev})
	return string(b)
}

func handle(t *testing.T, input string, hook *provider.WebhookRequest) (provider.TriggerResult, error) {
	return providertest.RunTrigger(t, slack.New(), provider.TriggerCall{Op: provider.TriggerOpHandle, Webhook: hook,
		Registration:   json.RawMessage(`{"signing_secret":"` + signingSecret + `"}`),
		TriggerRequest: provider.TriggerRequest{Trigger: "message_in_channel", Input: json.RawMessage(input)}})
}

func TestMessageFilters(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name, input string
		ev          map[string]any
		want        bool
	}{
		{"plain", `{"channel":"C1"}`, map[string]any{"channel": "C1", "user": "U1", "text": "hi", "ts": "1767323045.000200"}, true},
		{"other channel", `{"channel":"C1"}`, map[string]any{"channel": "C2", "ts": "1.1"}, false},
		{"bot", `{"channel":"C1"}`, map[string]any{"channel": "C1", "bot_id": "B1", "ts": "1.1"}, false},
		{"bot asked for", `{"channel":"C1","include_bots":true}`, map[string]any{"channel": "C1", "subtype": "bot_message", "bot_id": "B1", "ts": "1.1"}, true},
		{"reply", `{"channel":"C1"}`, map[string]any{"channel": "C1", "ts": "2.1", "thread_ts": "1.1"}, false},
		{"reply asked for", `{"channel":"C1","include_replies":true}`, map[string]any{"channel": "C1", "ts": "2.1", "thread_ts": "1.1"}, true},
		{"broadcast reply", `{"channel":"C1"}`, map[string]any{"channel": "C1", "subtype": "thread_broadcast", "ts": "2.1", "thread_ts": "1.1"}, true},
		{"edit", `{"channel":"C1"}`, map[string]any{"channel": "C1", "subtype": "message_changed", "ts": "2.1"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := handle(t, c.input, signed(message(c.ev), now, signingSecret))
			if err != nil || (len(res.Events) == 1) != c.want {
				t.Fatalf("events %+v, err %v; want an event: %v", res.Events, err, c.want)
			}
			if c.name == "plain" && !res.Events[0].OccurredAt.Equal(time.Unix(1767323045, 200000).UTC()) {
				t.Fatalf("occurred at %v", res.Events[0].OccurredAt)
			}
		})
	}
}

func TestMessageSignatureAndChallenge(t *testing.T) {
	now := time.Now()
	body := message(map[string]any{"channel": "C1", "ts": "1.1"})
	for name, hook := range map[string]*provider.WebhookRequest{
		"forged":   signed(body, now, "wrong"),
		"stale":    signed(body, now.Add(-6*time.Minute), signingSecret),
		"unsigned": {Method: "POST", Body: []byte(body)},
	} {
		if _, err := handle(t, `{"channel":"C1"}`, hook); !errors.Is(err, provider.ErrInvalidSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
	res, err := handle(t, `{"channel":"C1"}`, signed(`{"type":"url_verification","challenge":"3eZbrw1aB"}`, now, signingSecret))
	if err != nil || res.Reply == nil || string(res.Reply.Body) != "3eZbrw1aB" || res.Reply.Headers.Get("Content-Type") != "text/plain" {
		t.Fatalf("challenge: %+v %v", res.Reply, err)
	}
	// Without the app's secret nothing is accepted.
	_, err = providertest.RunTrigger(t, slack.New(), provider.TriggerCall{Op: provider.TriggerOpHandle, Webhook: signed(body, now, ""),
		TriggerRequest: provider.TriggerRequest{Trigger: "message_in_channel", Input: json.RawMessage(`{"channel":"C1"}`)}})
	if err == nil {
		t.Fatal("handled without a signing secret")
	}
}

func TestRouteByTeam(t *testing.T) {
	route := func(body string) (string, error) {
		res, err := providertest.RunTrigger(t, slack.New(), provider.TriggerCall{Op: provider.TriggerOpRoute,
			Webhook: &provider.WebhookRequest{Body: []byte(body)}}, providertest.OverGRPC())
		return res.Route, err
	}
	if id, err := route(message(map[string]any{"channel": "C1"})); err != nil || id != "T1" {
		t.Fatalf("route: %q %v", id, err)
	}
	for _, body := range []string{`{"type":"url_verification","challenge":"x"}`, `not json`} {
		if id, err := route(body); err == nil {
			t.Fatalf("route %s: %q", body, id)
		}
	}
}
