package providertest_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/atomhq/atom/sdk/providertest"
)

func TestQueryInt(t *testing.T) {
	q := url.Values{"per_page": {"25"}, "page": {"x"}, "empty": {""}}
	for _, tc := range []struct {
		key  string
		want int
	}{
		{"per_page", 25},
		{"page", 0},
		{"empty", 7},
		{"absent", 7},
	} {
		if got := providertest.QueryInt(q, tc.key, 7); got != tc.want {
			t.Errorf("QueryInt(%q) = %d, want %d", tc.key, got, tc.want)
		}
	}
}

// A fake list endpoint pages with per_page (30 unless given) and page.
func ExampleQueryInt() {
	q, _ := url.ParseQuery("page=2")
	per, page := providertest.QueryInt(q, "per_page", 30), providertest.QueryInt(q, "page", 1)
	fmt.Println(per, page)
	// Output: 30 2
}
