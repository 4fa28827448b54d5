// Command benchecho is the benchmark fixture native plugin: provider
// "benchecho" with one action, echo, that returns the text it is given. The wasm
// piece in ../benchpiece does the same work, so the two runtimes can be
// compared call for call.
//
//	go build -o <dir>/atom-provider-benchecho ./host/internal/bench/testdata/benchecho
package main

import (
	"context"

	"github.com/atomhq/atom/sdk/provider"
)

func main() {
	provider.Serve(provider.New(provider.Manifest{ID: "benchecho", Name: "Bench echo", Version: "1.0.0"}).
		Action(provider.ActionDef{
			Name: "echo",
			Handle: func(ctx context.Context, c *provider.Call) (any, error) {
				var in struct {
					Text string `json:"text"`
				}
				if err := c.Decode(&in); err != nil {
					return nil, err
				}
				return map[string]any{"text": in.Text}, nil
			},
		}))
}
