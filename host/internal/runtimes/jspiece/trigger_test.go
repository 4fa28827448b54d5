package jspiece

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	hostrt "github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/triggers"
	"github.com/atomhq/atom/sdk/provider"
)

// providerFake is a provider API whose answers a test changes between
// calls; it records every request.
type providerFake struct {
	*httptest.Server
	mu      sync.Mutex
	answers map[string]string // "METHOD /path" → JSON
	seen    []upstreamRequest
}

func newProviderFake(t *testing.T) *providerFake {
	f := &providerFake{answers: map[string]string{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, upstreamRequest{Method: r.Method, Path: r.URL.Path + "?" + r.URL.RawQuery,
			Authorization: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"), Body: string(b)})
		a, ok := f.answers[r.Method+" "+r.URL.Path]
		f.mu.Unlock()
		if !ok {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, a)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *providerFake) set(route, answer string) {
	f.mu.Lock()
	f.answers[route] = answer
	f.mu.Unlock()
}

func (f *providerFake) requests() []upstreamRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.seen
	f.seen = nil
	return out
}

func triggerOf(t *testing.T, p *Piece, name string) provider.Trigger {
	t.Helper()
	var names []string
	for _, tr := range p.Manifest().Triggers {
		if tr.Name == name {
			return tr
		}
		names = append(names, tr.Name)
	}
	t.Fatalf("%s lists no trigger %s (it lists %v)", p.id, name, names)
	return provider.Trigger{}
}

// TestTidycalNewBookingPolls runs the new_booking trigger of the published
// Tidycal piece, built on pieces-common's pollingHelper (TIMEBASED): the
// first poll runs onEnable, which seeds the helper's watermark in the
// instance's state and reports nothing; later polls report only bookings
// created after it, each once.
func TestTidycalNewBookingPolls(t *testing.T) {
	fake := newProviderFake(t)
	p := loadSrc(t, bundled(t, "@activepieces/piece-tidycal"), "@activepieces/piece-tidycal", "tidycal", []string{"tidycal.com"}, fake.Server)
	tr := triggerOf(t, p, "new_booking")
	if tr.Kind != provider.TriggerPolling || len(tr.Sample) == 0 {
		t.Fatalf("new_booking listed as %+v", tr)
	}
	old := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	booking := func(id int, created string) string {
		return fmt.Sprintf(`{"id":%d,"contact_id":3,"starts_at":"2027-01-01T10:00:00.000000Z","created_at":%q,"contact":{"name":"Ada"}}`, id, created)
	}
	fake.set("GET /api/bookings", `{"data":[`+booking(1, old)+`]}`)
	host := newMemHost()
	poll := func(state json.RawMessage) provider.TriggerResult {
		t.Helper()
		res, err := p.Trigger(context.Background(), provider.TriggerCall{Op: provider.TriggerOpPoll, State: state,
			TriggerRequest: provider.TriggerRequest{ExecutionID: "tcl-1", TenantID: "t1", Trigger: "new_booking",
				Credentials: provider.Credentials{Type: "api_key", APIKey: "tidy-key-t1"}}}, host)
		if err != nil {
			t.Fatalf("poll: %v (logs %q)", err, host.logs)
		}
		return res
	}
	first := poll(nil)
	if len(first.Events) != 0 || len(first.State) == 0 {
		t.Fatalf("enabling poll: %+v", first)
	}
	if got := fake.requests(); len(got) != 0 {
		t.Fatalf("onEnable of a TIMEBASED trigger fetched %+v", got)
	}
	var st triggerState
	if err := json.Unmarshal(first.State, &st); err != nil || !st.Enabled || !strings.Contains(string(st.Store), `"lastPoll":`) {
		t.Fatalf("state after onEnable: %s", first.State)
	}
	second := poll(first.State)
	if len(second.Events) != 0 {
		t.Fatalf("a booking older than the trigger was reported: %+v", second.Events)
	}
	got := fake.requests()
	if len(got) != 1 || got[0].Method != "GET" || got[0].Path != "/api/bookings?cancelled=false" || got[0].Authorization != "Bearer tidy-key-t1" {
		t.Fatalf("provider got %+v", got)
	}
	// Tidycal's timestamps have microseconds; the helper compares
	// milliseconds, so the new booking is dated a second from now.
	fresh := time.Now().Add(time.Second).UTC().Format("2006-01-02T15:04:05.000000Z")
	fake.set("GET /api/bookings", `{"data":[`+booking(2, fresh)+`,`+booking(1, old)+`]}`)
	third := poll(second.State)
	if len(third.Events) != 1 {
		t.Fatalf("third poll: %d events %+v", len(third.Events), third.Events)
	}
	var item struct {
		ID      int    `json:"id"`
		Created string `json:"created_at"`
	}
	if err := json.Unmarshal(third.Events[0].Payload, &item); err != nil || item.ID != 2 || item.Created != fresh || !strings.HasPrefix(third.Events[0].ID, "sha256:") {
		t.Fatalf("event %s %s", third.Events[0].ID, third.Events[0].Payload)
	}
	if fourth := poll(third.State); len(fourth.Events) != 0 {
		t.Fatalf("booking 2 reported twice: %+v", fourth.Events)
	}
	// The state is the instance's, not the tenant's store.
	if len(host.store) != 0 {
		t.Fatalf("the trigger wrote the tenant store: %v", host.store)
	}
}

// TestClickUpWebhookTrigger runs a webhook trigger of the published
// ClickUp piece (the old framework, auth as a prop): onEnable registers
// the host's hook URL with ClickUp and keeps the webhook in its store,
// run turns ClickUp's request into an event enriched with the task, and
// onDisable deletes the webhook it registered.
func TestClickUpWebhookTrigger(t *testing.T) {
	fake := newProviderFake(t)
	p := loadSrc(t, bundled(t, "@activepieces/piece-clickup"), "@activepieces/piece-clickup", "clickup", []string{"api.clickup.com"}, fake.Server)
	tr := triggerOf(t, p, "clickup_trigger_task_created")
	var schema struct {
		Required   []string
		Properties map[string]any
	}
	if err := json.Unmarshal(tr.Input, &schema); err != nil {
		t.Fatal(err)
	}
	if tr.Kind != provider.TriggerWebhook || !reflect.DeepEqual(schema.Required, []string{"workspace_id"}) || schema.Properties["authentication"] != nil {
		t.Fatalf("task_created listed as %+v, schema %+v", tr, schema)
	}
	fake.set("POST /api/v2/team/9001/webhook", `{"id":"wh-77","webhook":{"id":"wh-77","endpoint":"https://atom.example/api/v1/hooks/hk_1"}}`)
	fake.set("GET /api/v2/task/86a1", `{"id":"86a1","name":"Ship it"}`)
	fake.set("DELETE /api/v2/webhook/wh-77", `{}`)
	host := newMemHost()
	req := provider.TriggerRequest{ExecutionID: "tcl-1", TenantID: "t1", Trigger: tr.Name, Input: json.RawMessage(`{"workspace_id":"9001"}`),
		Credentials: provider.Credentials{Type: "oauth2", AccessToken: "cu-token-t1", TokenType: "Bearer"}}
	hookURL := "https://atom.example/api/v1/hooks/hk_1"
	en, err := p.Trigger(context.Background(), provider.TriggerCall{Op: provider.TriggerOpEnable, TriggerRequest: req, WebhookURL: hookURL}, host)
	if err != nil {
		t.Fatalf("enable: %v (logs %q)", err, host.logs)
	}
	got := fake.requests()
	var body map[string]any
	if len(got) == 1 {
		_ = json.Unmarshal([]byte(got[0].Body), &body)
	}
	if len(got) != 1 || got[0].Method != "POST" || got[0].Path != "/api/v2/team/9001/webhook?" || got[0].Authorization != "Bearer cu-token-t1" ||
		!reflect.DeepEqual(body, map[string]any{"endpoint": hookURL, "events": []any{"taskCreated"}}) {
		t.Fatalf("registration request %+v", got)
	}
	if !strings.Contains(string(en.Registration), `"wh-77"`) {
		t.Fatalf("registration %s", en.Registration)
	}

	hook := provider.WebhookRequest{Method: "POST", Headers: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"event":"taskCreated","task_id":"86a1","webhook_id":"wh-77"}`)}
	res, err := p.Trigger(context.Background(), provider.TriggerCall{Op: provider.TriggerOpHandle, TriggerRequest: req, Registration: en.Registration, Webhook: &hook}, host)
	if err != nil {
		t.Fatalf("handle: %v", err)
	}
	var ev struct {
		Event  string
		TaskID string `json:"task_id"`
		Task   struct{ Name string }
	}
	if len(res.Events) != 1 || json.Unmarshal(res.Events[0].Payload, &ev) != nil || ev.Event != "taskCreated" || ev.TaskID != "86a1" || ev.Task.Name != "Ship it" {
		t.Fatalf("events %+v", res.Events)
	}
	if got := fake.requests(); len(got) != 1 || got[0].Path != "/api/v2/task/86a1?" || got[0].Authorization != "Bearer cu-token-t1" {
		t.Fatalf("enrichment requests %+v", got)
	}
	// The same delivery again is the same event id: the engine records it
	// once.
	again, err := p.Trigger(context.Background(), provider.TriggerCall{Op: provider.TriggerOpHandle, TriggerRequest: req, Registration: en.Registration, Webhook: &hook}, host)
	if err != nil || len(again.Events) != 1 || again.Events[0].ID != res.Events[0].ID {
		t.Fatalf("redelivery: %+v %v", again.Events, err)
	}
	fake.requests()

	if _, err := p.Trigger(context.Background(), provider.TriggerCall{Op: provider.TriggerOpDisable, TriggerRequest: req, Registration: en.Registration}, host); err != nil {
		t.Fatalf("disable: %v", err)
	}
	if got := fake.requests(); len(got) != 1 || got[0].Method != "DELETE" || got[0].Path != "/api/v2/webhook/wh-77?" || got[0].Authorization != "Bearer cu-token-t1" {
		t.Fatalf("unregistration requests %+v", got)
	}
	// Operations the kind has not are refused before the piece runs.
	if _, err := p.Trigger(context.Background(), provider.TriggerCall{Op: provider.TriggerOpPoll, TriggerRequest: req}, host); !errors.Is(err, hostrt.ErrUnknownTrigger) {
		t.Fatalf("poll of a webhook trigger: %v", err)
	}
}

// TestHostileTriggers: a trigger's run that never ends is stopped at the
// deadline, and answers past the host's limits (too many items, an item
// too large, a store too large to keep) are refused, their instances
// discarded or reused as for actions.
func TestHostileTriggers(t *testing.T) {
	p := loadHostile(t, nil, nil)
	enabled, _ := json.Marshal(triggerState{Enabled: true})
	for _, tc := range []struct {
		name, trigger, op string
		state             json.RawMessage
		want              error
	}{
		{"infinite loop in run", "loop", provider.TriggerOpPoll, enabled, ErrDeadline},
		{"infinite loop in onEnable", "hang", provider.TriggerOpEnable, nil, ErrDeadline},
		{"too many items", "many", provider.TriggerOpPoll, enabled, triggers.ErrInvalidResult},
		{"an item too large", "huge", provider.TriggerOpPoll, enabled, triggers.ErrInvalidResult},
		{"a store too large", "hoard", provider.TriggerOpPoll, nil, triggers.ErrInvalidResult},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Trigger(context.Background(), provider.TriggerCall{Op: tc.op, State: tc.state, WebhookURL: "https://atom.example/h",
				TriggerRequest: provider.TriggerRequest{ExecutionID: "tcl-h", TenantID: "t1", Trigger: tc.trigger}}, newMemHost())
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// The piece still serves calls afterwards.
	if resp, err := call(p, "t1", "store", map[string]any{}, nil); err != nil || resp.Failed() {
		t.Fatalf("after the hostile triggers: %+v %v", resp, err)
	}
}

// TestAirtableNewRecordDiffsSnapshots runs the new_record trigger of the
// published Airtable piece (the old framework, the airtable.js SDK): its
// onEnable keeps the table's snapshot in the instance's store, and each
// run reports the records not in the last snapshot (compared with
// assert.deepStrictEqual), so an unchanged table reports nothing.
func TestAirtableNewRecordDiffsSnapshots(t *testing.T) {
	fake := newProviderFake(t)
	p := loadSrc(t, bundled(t, "@activepieces/piece-airtable"), "@activepieces/piece-airtable", "airtable", []string{"api.airtable.com"}, fake.Server)
	if tr := triggerOf(t, p, "new_record"); tr.Kind != provider.TriggerPolling {
		t.Fatalf("new_record listed as %+v", tr)
	}
	rec := func(id, created, name string) string {
		return fmt.Sprintf(`{"id":%q,"createdTime":%q,"fields":{"Name":%q}}`, id, created, name)
	}
	fake.set("GET /v0/appBase1/tblPeople", `{"records":[`+rec("rec1", "2026-01-01T00:00:00.000Z", "Ada")+`]}`)
	host := newMemHost()
	var state json.RawMessage
	poll := func() []provider.Event {
		t.Helper()
		res, err := p.Trigger(context.Background(), provider.TriggerCall{Op: provider.TriggerOpPoll, State: state,
			TriggerRequest: provider.TriggerRequest{ExecutionID: "tcl-1", TenantID: "t1", Trigger: "new_record",
				Input:       json.RawMessage(`{"base":"appBase1","tableId":"tblPeople"}`),
				Credentials: provider.Credentials{Type: "api_key", APIKey: "pat-t1"}}}, host)
		if err != nil {
			t.Fatalf("poll: %v (logs %q)", err, host.logs)
		}
		state = res.State
		return res.Events
	}
	if evs := poll(); len(evs) != 0 {
		t.Fatalf("onEnable reported %+v", evs)
	}
	got := fake.requests()
	if len(got) != 1 || got[0].Method != "GET" || !strings.HasPrefix(got[0].Path, "/v0/appBase1/tblPeople?") || got[0].Authorization != "Bearer pat-t1" {
		t.Fatalf("snapshot request %+v", got)
	}
	if evs := poll(); len(evs) != 0 {
		t.Fatalf("an unchanged table reported %+v", evs)
	}
	fake.set("GET /v0/appBase1/tblPeople", `{"records":[`+rec("rec1", "2026-01-01T00:00:00.000Z", "Ada")+`,`+rec("rec2", "2026-01-02T00:00:00.000Z", "Grace")+`]}`)
	evs := poll()
	if len(evs) != 1 || !strings.Contains(string(evs[0].Payload), `"rec2"`) {
		t.Fatalf("after rec2 was added: %+v", evs)
	}
	if evs := poll(); len(evs) != 0 {
		t.Fatalf("rec2 reported twice: %+v", evs)
	}
}

// TestSlackAppWebhookTrigger runs an app webhook trigger of the published
// Slack piece as the engine's app webhook route does: the piece's
// parseAndReply names the team a request belongs to (without credentials
// or egress) or answers Slack's URL verification challenge; for an
// instance, its verify checks Slack's signature with the app's signing
// secret, onEnable's listeners pick the events, and run filters by the
// instance's channel.
func TestSlackAppWebhookTrigger(t *testing.T) {
	fake := newProviderFake(t)
	p := loadSrc(t, bundled(t, "@activepieces/piece-slack"), "@activepieces/piece-slack", "slack", []string{"slack.com"}, fake.Server)
	const name = "new-message-in-channel"
	if tr := triggerOf(t, p, name); tr.Kind != provider.TriggerAppWebhook {
		t.Fatalf("%s listed as %+v", name, tr)
	}
	const secret = "slack-signing-secret"
	signed := func(body, key string) *provider.WebhookRequest {
		ts := "1767225600"
		sig := "v0=" + hmacHex(key, "v0:"+ts+":"+body)
		return &provider.WebhookRequest{Method: "POST", Body: []byte(body), Headers: http.Header{"Content-Type": {"application/json"},
			"X-Slack-Request-Timestamp": {ts}, "X-Slack-Signature": {sig}}}
	}
	route := func(req *provider.WebhookRequest) string {
		t.Helper()
		res, err := p.Trigger(context.Background(), provider.TriggerCall{Op: provider.TriggerOpRoute, Webhook: req}, nil)
		if err != nil {
			t.Fatalf("route: %v", err)
		}
		return res.Route
	}
	reg, _ := json.Marshal(map[string]string{"signing_secret": secret})
	host := newMemHost()
	handle := func(req *provider.WebhookRequest) (provider.TriggerResult, error) {
		return p.Trigger(context.Background(), provider.TriggerCall{Op: provider.TriggerOpHandle, Registration: reg, Webhook: req,
			TriggerRequest: provider.TriggerRequest{ExecutionID: "tcl-1", TenantID: "t1", Trigger: name, Input: json.RawMessage(`{"channel":"C0123"}`),
				Credentials: provider.Credentials{Type: "oauth2", AccessToken: "xoxb-t1", TokenType: "bot", Metadata: map[string]string{"team.id": "T0001"}}}}, host)
	}

	challenge := `{"type":"url_verification","token":"x","challenge":"ch-3f9"}`
	if acc := route(signed(challenge, secret)); acc != "" {
		t.Fatalf("a challenge routed to %q", acc)
	}
	res, err := handle(signed(challenge, secret))
	if err != nil || res.Reply == nil || string(res.Reply.Body) != "ch-3f9" || len(res.Events) != 0 {
		t.Fatalf("challenge: %+v %v", res, err)
	}

	msg := func(channel, text string) string {
		return fmt.Sprintf(`{"type":"event_callback","team_id":"T0001","event_id":"Ev-%s","event":{"type":"message","channel":%q,"channel_type":"channel","user":"U1","text":%q,"ts":"1.1"}}`, text, channel, text)
	}
	if acc := route(signed(msg("C0123", "hello"), secret)); acc != "T0001" {
		t.Fatalf("routed to %q", acc)
	}
	res, err = handle(signed(msg("C0123", "hello"), secret))
	var ev struct{ Channel, Text string }
	if err != nil || len(res.Events) != 1 || json.Unmarshal(res.Events[0].Payload, &ev) != nil || ev.Channel != "C0123" || ev.Text != "hello" {
		t.Fatalf("message: %+v %v (logs %q)", res, err, host.logs)
	}
	if res, err := handle(signed(msg("C0999", "elsewhere"), secret)); err != nil || len(res.Events) != 0 {
		t.Fatalf("a message in another channel: %+v %v", res.Events, err)
	}
	reaction := `{"type":"event_callback","team_id":"T0001","event":{"type":"reaction_added","channel":"C0123","channel_type":"channel","reaction":"tada"}}`
	if res, err := handle(signed(reaction, secret)); err != nil || len(res.Events) != 0 {
		t.Fatalf("an event the trigger does not listen to: %+v %v", res.Events, err)
	}
	if _, err := handle(signed(msg("C0123", "forged"), "not-the-secret")); !errors.Is(err, provider.ErrInvalidSignature) {
		t.Fatalf("forged signature: %v", err)
	}
	if got := fake.requests(); len(got) != 0 {
		t.Fatalf("the trigger called Slack: %+v", got)
	}
}

func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// TestSlackAppWebhookUnrouted: a signed request no account was routed to
// gets the piece's reply and nothing else; one without a reply gets no
// events and runs no trigger hook.
func TestSlackAppWebhookUnrouted(t *testing.T) {
	fake := newProviderFake(t)
	p := loadSrc(t, bundled(t, "@activepieces/piece-slack"), "@activepieces/piece-slack", "slack", []string{"slack.com"}, fake.Server)
	reg, _ := json.Marshal(map[string]string{"signing_secret": "s3cret"})
	for _, body := range []string{`{"type":"event_callback","team_id":"T-unknown","event":{"type":"message","channel":"C1","channel_type":"channel"}}`, `{}`} {
		sig := "v0=" + hmacHex("s3cret", "v0:1:"+body)
		res, err := p.Trigger(context.Background(), provider.TriggerCall{Op: provider.TriggerOpHandle, Registration: reg,
			TriggerRequest: provider.TriggerRequest{Trigger: "new-message-in-channel"},
			Webhook:        &provider.WebhookRequest{Body: []byte(body), Headers: http.Header{"X-Slack-Request-Timestamp": {"1"}, "X-Slack-Signature": {sig}}}}, nil)
		if err != nil || len(res.Events) != 0 || res.Reply != nil {
			t.Fatalf("%s: %+v %v", body, res, err)
		}
	}
	if got := fake.requests(); len(got) != 0 {
		t.Fatalf("requests %+v", got)
	}
}
