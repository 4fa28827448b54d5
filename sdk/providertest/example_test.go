package providertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func hello() *provider.Builder {
	return provider.New(provider.Manifest{ID: "hello", Version: "1.0.0"}).Action(provider.ActionDef{
		Name: "whoami",
		Handle: func(ctx context.Context, c *provider.Call) (any, error) {
			c.Log(provider.LevelInfo, "called")
			return map[string]string{"tenant": c.Request().TenantID, "type": c.Credentials().Type}, nil
		},
	})
}

func ExampleRun() {
	t := &testing.T{} // in a test, use the test's t
	host := providertest.NewHost()
	resp := providertest.Run(t, hello(), "whoami", nil, provider.Credentials{Type: "api_key", APIKey: "k"},
		providertest.Tenant("acme"), providertest.WithHost(host))
	var out map[string]string
	providertest.Output(t, resp, &out)
	fmt.Println(out["tenant"], out["type"], host.Logs()[0].Message)
	// Output: acme api_key called
}

func ExampleOverGRPC() {
	t := &testing.T{}
	resp := providertest.Run(t, hello(), "whoami", nil, provider.Credentials{Type: "oauth2"}, providertest.OverGRPC())
	fmt.Println(string(resp.Output))
	// Output: {"tenant":"tenant-test","type":"oauth2"}
}

func ExampleServe() {
	t := &testing.T{}
	client := providertest.Serve(t, hello())
	fmt.Println(client.Manifest().ID)
	// Output: hello
}

func ExampleHost() {
	h := providertest.NewHost()
	_ = h.StorePut(context.Background(), "cursor", []byte("42"))
	v, ok, _ := h.StoreGet(context.Background(), "cursor")
	_, err := h.Refresh(context.Background())
	fmt.Println(string(v), ok, err != nil, h.Refreshes())
	// Output: 42 true true 1
}

// A table test of a provider against a fake API: each case runs in-process
// and over gRPC, and the requests the fake saw and the response are
// compared with testdata/<name>.request.golden and .response.golden
// (go test -update rewrites them).
func ExampleRunCases() {
	t := &testing.T{} // in a test, use the test's t
	providertest.RunCases(t, providertest.Suite{
		New:  echo,
		Fake: fakeItems,
		GRPC: true,
	}, []providertest.Case{
		{Name: "put", Action: "put", Input: `{"id":"a b","data":{"z":1,"y":[true]}}`, Creds: provider.Credentials{Type: "api_key", APIKey: "k"}},
	})
}

func ExampleNewRecorder() {
	t := &testing.T{}
	fake := providertest.NewRecorder(t, []string{"Authorization"}, func(w http.ResponseWriter, r *http.Request, body []byte) {
		providertest.WriteJSON(w, 200, map[string]string{"login": "ada"})
	})
	resp := providertest.Run(t, echo(), "put", `{"id":"7","data":{"n":1}}`,
		provider.Credentials{Type: "api_key", APIKey: "k"}, providertest.BaseURL(fake.URL))
	fmt.Printf("%s\n%s\n", fake.Take(), resp.Output)
	// Output:
	// PUT /items/7
	// query a=x
	// query b=2,1
	// header Authorization: Bearer k
	// body {"n":1}
	//
	// {"login":"ada"}
}

func ExampleRunTrigger() {
	t := &testing.T{} // in a test, use the test's t
	p := provider.New(provider.Manifest{ID: "hello"}).Trigger(provider.TriggerDef{Name: "tick", Kind: provider.TriggerPolling,
		Poll: func(ctx context.Context, req provider.TriggerRequest, state json.RawMessage) (provider.PollResult, error) {
			return provider.PollResult{Events: []provider.Event{{ID: req.TenantID + "-1", Payload: json.RawMessage(`{}`)}}, State: json.RawMessage(`{"n":1}`)}, nil
		}})
	for _, opt := range []providertest.Option{providertest.Tenant("acme"), providertest.OverGRPC()} {
		res, err := providertest.RunTrigger(t, p, provider.TriggerCall{Op: provider.TriggerOpPoll,
			TriggerRequest: provider.TriggerRequest{Trigger: "tick"}}, opt)
		fmt.Println(res.Events[0].ID, string(res.State), err)
	}
	// Output:
	// acme-1 {"n":1} <nil>
	// tenant-test-1 {"n":1} <nil>
}
