// Command benchpoll is the benchmark fixture plugin of polling triggers:
// provider "benchpoll" with one polling trigger, tick, whose poll asks
// the fake provider for GET /poll?tag=<input tag>, so the fake can count
// the polls of every instance.
//
//	go build -o <dir>/atom-provider-benchpoll ./host/internal/bench/testdata/benchpoll
package main

import (
	"context"
	"encoding/json"

	"github.com/atomhq/atom/sdk/provider"
)

func main() {
	provider.Serve(provider.New(provider.Manifest{ID: "benchpoll", Name: "Bench poll", Version: "1.0.0"}).
		Trigger(provider.TriggerDef{Name: "tick", Kind: provider.TriggerPolling,
			Input: json.RawMessage(`{"type":"object","properties":{"tag":{"type":"string"}}}`),
			Poll: func(ctx context.Context, req provider.TriggerRequest, state json.RawMessage) (provider.PollResult, error) {
				var in struct {
					Tag string `json:"tag"`
				}
				_ = json.Unmarshal(req.Input, &in)
				var items []json.RawMessage
				if err := provider.Client(ctx, provider.HTTPOptions{}).GetJSON(ctx, "/poll", map[string][]string{"tag": {in.Tag}}, &items); err != nil {
					return provider.PollResult{}, err
				}
				return provider.PollResult{State: state}, nil
			}}).
		Action(provider.ActionDef{Name: "noop", Handle: func(context.Context, *provider.Call) (any, error) { return map[string]any{}, nil }}))
}
