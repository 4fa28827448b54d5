package inputschema

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestCheck: the field at fault is named by its JSON pointer; an input
// that is not an object, or not JSON, is refused as a whole; a schema
// that does not compile is an error of its own, not a refusal.
func TestCheck(t *testing.T) {
	var c Checker
	schema := json.RawMessage(`{"type":"object","required":["to"],"properties":{"to":{"type":"string"},"n":{"type":"integer","minimum":1},"a/b":{"type":"boolean"}}}`)
	for _, tc := range []struct {
		input, field string
	}{
		{`{"to":"x"}`, ""},
		{``, "/"},
		{`{"to":"x","n":0}`, "/n"},
		{`{"to":1}`, "/to"},
		{`{"to":"x","a/b":"no"}`, "/a~1b"},
		{`[1]`, "input"},
		{`{"to":`, "input"},
	} {
		err := c.Check(schema, json.RawMessage(tc.input))
		var r *Refusal
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.input, err)
		case tc.field != "" && (!errors.As(err, &r) || r.Field != tc.field || r.Message == ""):
			t.Errorf("%s: %v (%+v), want field %s", tc.input, err, r, tc.field)
		}
	}
	if err := c.Check(json.RawMessage(`{"type":"nope"}`), json.RawMessage(`{}`)); err == nil || errors.As(err, new(*Refusal)) {
		t.Errorf("a schema that does not compile: %v", err)
	}
	if err := c.Check(nil, json.RawMessage(`{"any":1}`)); err != nil {
		t.Errorf("no schema: %v", err)
	}
}
