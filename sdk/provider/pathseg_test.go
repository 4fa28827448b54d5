package provider_test

import (
	"fmt"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

func TestPathSegment(t *testing.T) {
	for _, bad := range []string{"", " ", ".", ".."} {
		if _, err := provider.PathSegment("id", bad); err == nil || provider.Diagnostics(err)[0].Field != "id" {
			t.Errorf("%q: err %v", bad, err)
		}
	}
	if s, err := provider.PathSegment("id", "a/../b?c#d"); err != nil || s != "a%2F..%2Fb%3Fc%23d" {
		t.Fatalf("got %q, %v", s, err)
	}
	if _, err := provider.PathSegments("owner", "o", "repo", ".."); err == nil || provider.Diagnostics(err)[0].Field != "repo" {
		t.Fatalf("err %v", err)
	}
}

func ExamplePathSegments() {
	seg, err := provider.PathSegments("owner", "atomhq", "repo", "atom/../secrets")
	fmt.Println("/repos/"+seg[0]+"/"+seg[1], err)
	_, err = provider.PathSegment("issue", "..")
	fmt.Println(err)
	// Output:
	// /repos/atomhq/atom%2F..%2Fsecrets <nil>
	// issue: is not a valid identifier
}
