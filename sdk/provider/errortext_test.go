package provider_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

func TestErrorText(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"", ""},
		{"  \n", ""},
		{"upstream connect error\n", "upstream connect error"},
		{"<html><body>502 Bad Gateway</body></html>", ""},
		{"  <?xml version=\"1.0\"?><Error/>", ""},
		{strings.Repeat("x", 299), strings.Repeat("x", 299)},
		{strings.Repeat("x", 300), ""},
	} {
		if got := provider.ErrorText([]byte(tc.body)); got != tc.want {
			t.Errorf("ErrorText(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

// A DecodeError that reads an API's {"error_message"} body and falls back
// to a short plain-text body.
func ExampleErrorText() {
	decode := func(e *provider.HTTPError, body []byte) {
		var v struct {
			Message string `json:"error_message"`
		}
		if json.Unmarshal(body, &v) != nil {
			e.Message = provider.ErrorText(body)
			return
		}
		e.Message = v.Message
	}
	for _, body := range []string{`{"error_message":"item not found"}`, "Service Unavailable\n", "<html>down</html>"} {
		e := &provider.HTTPError{Status: 503}
		decode(e, []byte(body))
		fmt.Printf("%q\n", e.Message)
	}
	// Output:
	// "item not found"
	// "Service Unavailable"
	// ""
}
