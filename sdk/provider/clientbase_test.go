package provider_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

func TestClientWithBase(t *testing.T) {
	opts := provider.HTTPOptions{BaseURL: "https://default.example"}
	fromConn := func(u string, err error) (func() (string, error), *int) {
		calls := 0
		return func() (string, error) { calls++; return u, err }, &calls
	}
	for _, tc := range []struct {
		name, reqBase, connBase string
		connErr                 error
		want                    string
		calls                   int
	}{
		{"host base wins", "https://host.example/v1", "https://conn.example", nil, "https://host.example/v1/x", 0},
		{"connection base", "", "https://conn.example", nil, "https://conn.example/x", 1},
		{"default when connection has none", "", "", nil, "https://default.example/x", 1},
		{"connection error", "", "", errors.New("no instance_url"), "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := provider.WithRequest(context.Background(), provider.Request{BaseURL: tc.reqBase})
			base, calls := fromConn(tc.connBase, tc.connErr)
			hc, err := provider.ClientWithBase(ctx, opts, base)
			if *calls != tc.calls {
				t.Fatalf("base called %d times, want %d", *calls, tc.calls)
			}
			if tc.connErr != nil {
				if !errors.Is(err, tc.connErr) || hc != nil {
					t.Fatalf("got %v, %v; want the connection's error", hc, err)
				}
				return
			}
			got, err := hc.URL("/x", nil)
			if err != nil || got != tc.want {
				t.Fatalf("URL = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// A provider whose API host is the connection's instance_url, unless the
// host resolved one already.
func ExampleClientWithBase() {
	creds := provider.Credentials{Metadata: map[string]string{"instance_url": "https://acme.my.example.com"}}
	ctx := provider.WithRequest(context.Background(), provider.Request{})
	hc, err := provider.ClientWithBase(ctx, provider.HTTPOptions{}, func() (string, error) {
		if u := creds.Metadata["instance_url"]; u != "" {
			return u, nil
		}
		return "", provider.Errorf("the connection has no instance_url")
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	u, _ := hc.URL("/services/data", nil)
	fmt.Println(u)
	// Output: https://acme.my.example.com/services/data
}
