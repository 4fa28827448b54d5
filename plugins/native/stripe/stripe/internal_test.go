package stripe

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// The host skips validation (with a warning) for an input schema that
// does not compile, so every action's schema must compile as the draft
// the host uses, and must be closed.
func TestEveryInputSchemaCompiles(t *testing.T) {
	m := New().Manifest()
	if len(m.Actions) != len(Actions()) {
		t.Fatalf("manifest has %d actions, Actions() %d", len(m.Actions), len(Actions()))
	}
	for _, a := range m.Actions {
		if _, err := compileSchema(a.Name, a.Input); err != nil {
			t.Errorf("%s: %v", a.Name, err)
		}
		var s struct {
			AdditionalProperties *bool `json:"additionalProperties"`
		}
		if err := json.Unmarshal(a.Input, &s); err != nil {
			t.Fatal(err)
		}
		if a.Name != "test_connection" && a.Name != "get_balance" && (s.AdditionalProperties == nil || *s.AdditionalProperties) {
			t.Errorf("%s: input schema accepts unknown fields", a.Name)
		}
	}
	for _, o := range ops {
		if !strings.HasPrefix(o.Doc, "https://docs.stripe.com/api/") || o.Object == "" {
			t.Errorf("%s: doc %q object %q", o.Name, o.Doc, o.Object)
		}
		if strings.Contains(o.Path, "{id}") != containsString(o.Required, "id") {
			t.Errorf("%s: path %s but required %v", o.Name, o.Path, o.Required)
		}
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestFormValues(t *testing.T) {
	cases := []struct {
		in   string
		want string // url.Values.Encode of the result, unescaped
		err  string
	}{
		{in: `{}`, want: ``},
		{in: `{"amount":1999,"confirm":true,"off_session":false}`, want: `amount=1999&confirm=true&off_session=false`},
		{in: `{"amount":12345678901234567890}`, want: `amount=12345678901234567890`},
		{in: `{"metadata":{"b":"2","a":""}}`, want: `metadata[a]=&metadata[b]=2`},
		{in: `{"expand":["customer","invoice.subscription"]}`, want: `expand[]=customer&expand[]=invoice.subscription`},
		{in: `{"items":[{"price":"p1","quantity":2},{"id":"si_1","deleted":true}]}`, want: `items[0][price]=p1&items[0][quantity]=2&items[1][deleted]=true&items[1][id]=si_1`},
		{in: `{"created":{"gte":1,"lte":2}}`, want: `created[gte]=1&created[lte]=2`},
		{in: `{"shipping":{"name":"A","address":{"city":"Oslo"}}}`, want: `shipping[address][city]=Oslo&shipping[name]=A`},
		{in: `{"a":null}`, want: ``},
		{in: `{"metadata":{"x][amount":"1"}}`, err: "square brackets"},
		{in: `{"metadata":{"":"1"}}`, err: "square brackets"},
		{in: `{"a":[[1]]}`, err: "nested arrays"},
	}
	for _, c := range cases {
		var in map[string]any
		dec := json.NewDecoder(strings.NewReader(c.in))
		dec.UseNumber()
		if err := dec.Decode(&in); err != nil {
			t.Fatal(err)
		}
		v, err := formValues(in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		got, _ := url.QueryUnescape(v.Encode())
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}
