// Command triggers is the test fixture plugin of the native runtime's
// triggers: one polling trigger, one webhook trigger and one app webhook
// trigger, against the fake provider of the tests. Inputs make it hostile
// (too many events, an oversized state or message, a request to a host it
// did not declare). The tests build it with:
//
//	go build -o <dir>/atom-provider-triggers ./host/internal/runtimes/native/testdata/triggers
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

var id = "triggers"

type plugin struct {
	provider.Provider
}

func (p plugin) Manifest() provider.Manifest {
	m := p.Provider.Manifest()
	m.Triggers = []provider.Trigger{
		{Name: "new_item", Kind: provider.TriggerPolling, Description: "A new item.",
			Input: json.RawMessage(`{"type":"object","properties":{"hostile":{"type":"string"}}}`)},
		{Name: "item_event", Kind: provider.TriggerWebhook, Description: "An item event."},
		{Name: "team_message", Kind: provider.TriggerAppWebhook, Description: "A message in a team."},
	}
	return m
}

type pollInput struct {
	Hostile string `json:"hostile"`
}

type pollState struct {
	Cursor string `json:"cursor"`
	Polls  int    `json:"polls"`
}

type item struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Name      string    `json:"name"`
}

func (plugin) Poll(ctx context.Context, req provider.TriggerRequest, state json.RawMessage) (provider.PollResult, error) {
	var in pollInput
	_ = json.Unmarshal(req.Input, &in)
	var st pollState
	if len(state) > 0 {
		if err := json.Unmarshal(state, &st); err != nil {
			return provider.PollResult{}, fmt.Errorf("state: %w", err)
		}
	}
	switch in.Hostile {
	case "many_events":
		var es []provider.Event
		for i := range 5000 {
			es = append(es, provider.Event{ID: fmt.Sprint(i), Payload: json.RawMessage(`{}`)})
		}
		return provider.PollResult{Events: es}, nil
	case "big_state":
		return provider.PollResult{State: json.RawMessage(`"` + strings.Repeat("s", 1<<20) + `"`)}, nil
	case "big_message":
		// Past the wire bound: the host stops reading.
		return provider.PollResult{Events: []provider.Event{{ID: "x", Payload: json.RawMessage(`"` + strings.Repeat("p", 20<<20) + `"`)}}}, nil
	case "not_json":
		return provider.PollResult{Events: []provider.Event{{ID: "x", Payload: json.RawMessage(`{not json`)}}}, nil
	case "escape":
		r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://203.0.113.7/steal", nil)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			return provider.PollResult{}, err
		}
		resp.Body.Close()
		return provider.PollResult{}, nil
	}
	c := provider.Client(ctx, provider.HTTPOptions{})
	var items []item
	q := map[string][]string{}
	if st.Cursor != "" {
		q["after"] = []string{st.Cursor}
	}
	if err := c.GetJSON(ctx, "/items", q, &items); err != nil {
		return provider.PollResult{}, err
	}
	var out provider.PollResult
	for _, it := range items {
		payload, _ := json.Marshal(map[string]any{"item": it, "seen_key": req.Credentials.APIKey})
		out.Events = append(out.Events, provider.Event{ID: it.ID, OccurredAt: it.CreatedAt, Payload: payload})
	}
	// The fake lists items newest first and does not honour the cursor
	// precisely: the host's dedupe must drop what was already seen.
	if len(items) > 0 {
		st.Cursor = items[len(items)-1].ID
	}
	st.Polls++
	out.State, _ = json.Marshal(st)
	return out, nil
}

type registration struct {
	HookID string `json:"hook_id"`
	Secret string `json:"secret"`
}

func (plugin) Enable(ctx context.Context, req provider.TriggerRequest, webhookURL string) (json.RawMessage, error) {
	c := provider.Client(ctx, provider.HTTPOptions{})
	var hook struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if err := c.PostJSON(ctx, "/hooks", map[string]string{"url": webhookURL}, &hook); err != nil {
		return nil, err
	}
	return json.Marshal(registration{HookID: hook.ID, Secret: hook.Secret})
}

func (plugin) Disable(ctx context.Context, req provider.TriggerRequest, raw json.RawMessage) error {
	var reg registration
	if err := json.Unmarshal(raw, &reg); err != nil {
		return err
	}
	c := provider.Client(ctx, provider.HTTPOptions{})
	return c.Send(ctx, http.MethodDelete, "/hooks/"+reg.HookID, nil, "", nil, nil)
}

func (plugin) Handle(ctx context.Context, req provider.TriggerRequest, hook provider.WebhookRequest, raw json.RawMessage) (provider.HandleResult, error) {
	if req.Trigger == "team_message" {
		var app struct {
			SigningSecret string `json:"signing_secret"`
		}
		_ = json.Unmarshal(raw, &app)
		if err := provider.VerifySlack(hook.Headers, hook.Body, app.SigningSecret, 0, time.Time{}); err != nil {
			return provider.HandleResult{}, err
		}
		var ev struct {
			Type      string `json:"type"`
			Challenge string `json:"challenge"`
			EventID   string `json:"event_id"`
			Event     json.RawMessage
		}
		if err := json.Unmarshal(hook.Body, &ev); err != nil {
			return provider.HandleResult{}, err
		}
		if ev.Type == "url_verification" {
			return provider.HandleResult{Reply: &provider.WebhookReply{Status: 200,
				Headers: http.Header{"Content-Type": {"text/plain"}}, Body: []byte(ev.Challenge)}}, nil
		}
		return provider.HandleResult{Events: []provider.Event{{ID: ev.EventID, Payload: ev.Event}}}, nil
	}
	var reg registration
	if err := json.Unmarshal(raw, &reg); err != nil {
		return provider.HandleResult{}, err
	}
	if err := provider.VerifyStripe(hook.Headers, hook.Body, reg.Secret, 0, time.Time{}); err != nil {
		return provider.HandleResult{}, err
	}
	var ev struct {
		ID      string `json:"id"`
		Created int64  `json:"created"`
	}
	if err := json.Unmarshal(hook.Body, &ev); err != nil {
		return provider.HandleResult{}, err
	}
	return provider.HandleResult{Events: []provider.Event{{ID: ev.ID, OccurredAt: time.Unix(ev.Created, 0), Payload: hook.Body}}}, nil
}

func (plugin) Route(ctx context.Context, hook provider.WebhookRequest) (string, error) {
	var ev struct {
		TeamID string `json:"team_id"`
	}
	if err := json.Unmarshal(hook.Body, &ev); err != nil || ev.TeamID == "" {
		return "", fmt.Errorf("no team_id in the request")
	}
	// Route has no way out: a request fails.
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/", nil)
	if resp, err := http.DefaultClient.Do(r); err == nil {
		resp.Body.Close()
		return "", fmt.Errorf("route reached the network")
	}
	return ev.TeamID, nil
}

func main() {
	provider.Serve(plugin{provider.New(provider.Manifest{ID: id, Name: "Triggers", Version: "1.0.0"}).
		Action(provider.ActionDef{Name: "noop", Handle: func(context.Context, *provider.Call) (any, error) { return map[string]any{}, nil }})})
}
