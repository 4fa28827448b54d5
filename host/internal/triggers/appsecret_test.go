package triggers

import (
	"encoding/json"
	"testing"
)

func TestWithAppSecret(t *testing.T) {
	for _, c := range []struct{ reg, secret, want string }{
		{`{"id":1,"topic":"orders/create"}`, "shpss_1", `{"id":1,"signing_secret":"shpss_1","topic":"orders/create"}`},
		{`{"id":1,"signing_secret":"own"}`, "shpss_1", `{"id":1,"signing_secret":"own"}`},
		{`{"id":1}`, "", `{"id":1}`},
		{``, "s", `{"signing_secret":"s"}`},
		{`"opaque"`, "s", `"opaque"`},
	} {
		if got := string(withAppSecret(json.RawMessage(c.reg), c.secret)); got != c.want {
			t.Errorf("withAppSecret(%s, %q) = %s, want %s", c.reg, c.secret, got, c.want)
		}
	}
}
