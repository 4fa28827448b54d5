// Command forward is a native test plugin that forwards one request to
// its provider and reports the answer as a first-party plugin would: a
// non-2xx answer is the SDK's *provider.HTTPError (status, message,
// field), a request the host could not send is the SDK's error. The tests
// build it with:
//
//	go build -o <dir>/atom-provider-fwdnative ./host/internal/e2e/testdata/forward
package main

import (
	"context"
	"encoding/json"

	"github.com/atomhq/atom/sdk/provider"
)

func main() {
	provider.Serve(provider.New(provider.Manifest{ID: "fwdnative", Name: "Forward (native)", Version: "1.0.0"}).
		Action(provider.ActionDef{
			Name:  "call",
			Input: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}`),
			Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in struct {
				Path string `json:"path"`
			}) (any, error) {
				hc := provider.Client(ctx, provider.HTTPOptions{APIKey: provider.APIKeyHeader("X-Api-Key", "")})
				var out any
				if err := hc.SendJSON(ctx, "POST", in.Path, nil, map[string]string{"from": "native"}, &out); err != nil {
					return nil, err
				}
				return out, nil
			}),
		}))
}
