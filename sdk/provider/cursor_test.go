package provider_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

func TestFollowLink(t *testing.T) {
	ctx := provider.WithRequest(context.Background(), provider.Request{BaseURL: "https://graph.example.test/v1.0"})
	c := provider.Client(ctx, provider.HTTPOptions{})
	cases := []struct {
		link, prefix string
		ok           bool
	}{
		{"https://graph.example.test/v1.0/me/messages?$skiptoken=abc", "", true},
		{"https://GRAPH.example.test/v1.0/me/messages", "/v1.0/", true},
		{"https://graph.example.test/beta/me", "/v1.0/", false},
		{"http://graph.example.test/v1.0/me", "", false},
		{"https://evil.example.test/v1.0/me", "", false},
		{"https://user@graph.example.test/v1.0/me", "", false},
		{"/v1.0/me/messages", "", false},
		{"::", "", false},
	}
	for _, tc := range cases {
		var err error
		if tc.prefix != "" {
			_, err = c.FollowLinkPath("cursor", tc.link, tc.prefix)
		} else {
			_, err = c.FollowLink("cursor", tc.link)
		}
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.link, err, tc.ok)
		}
		if err != nil && provider.Diagnostics(err)[0].Field != "cursor" {
			t.Errorf("%s: diagnostic %+v", tc.link, provider.Diagnostics(err))
		}
	}
}

func ExampleHTTPClient_FollowLink() {
	ctx := provider.WithRequest(context.Background(), provider.Request{BaseURL: "https://graph.microsoft.com/v1.0"})
	c := provider.Client(ctx, provider.HTTPOptions{})
	next, err := c.FollowLink("cursor", "https://graph.microsoft.com/v1.0/me/messages?$skiptoken=X1")
	fmt.Println(next, err)
	_, err = c.FollowLink("cursor", "https://attacker.example/steal")
	fmt.Println(err)
	// Output:
	// https://graph.microsoft.com/v1.0/me/messages?$skiptoken=X1 <nil>
	// cursor: is not a next-page link of this API
}
