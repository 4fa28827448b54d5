package piece

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestRunTrigger(t *testing.T) {
	p := Define(Piece{ID: "t", Actions: []Action{{Name: "a", Run: func(*Context) (any, error) { return nil, nil }}},
		Triggers: []Trigger{{Name: "poll", Kind: TriggerPolling, Poll: func(c *Context, state json.RawMessage) ([]Event, json.RawMessage, error) {
			switch c.String("mode") {
			case "bad":
				return []Event{{ID: "x", Payload: json.RawMessage(`{`)}}, nil, nil
			case "sig":
				return nil, nil, ErrInvalidSignature
			}
			return []Event{{ID: "1", Payload: json.RawMessage(`{"n":1}`)}}, json.RawMessage(`{"s":` + string(state) + `}`), nil
		}}}})
	run := func(in string) TriggerOutput {
		var out TriggerOutput
		if err := json.Unmarshal(p.RunTrigger([]byte(in), nil), &out); err != nil {
			t.Fatalf("%s: result is not JSON: %v", in, err)
		}
		return out
	}
	out := run(`{"op":"poll","trigger":"poll","state":7}`)
	if out.Error != nil || len(out.Events) != 1 || string(out.State) != `{"s":7}` {
		t.Fatalf("poll %+v", out)
	}
	if out := run(`{"op":"poll","trigger":"poll","input":{"mode":"bad"}}`); out.Error == nil || out.Error.Code != "failed" {
		t.Fatalf("invalid payload: %+v", out)
	}
	if out := run(`{"op":"poll","trigger":"poll","input":{"mode":"sig"}}`); out.Error == nil || out.Error.Code != "signature_invalid" {
		t.Fatalf("signature: %+v", out)
	}
	for _, in := range []string{`{"op":"enable","trigger":"poll"}`, `{"op":"poll","trigger":"nope"}`, `{"op":"route"}`} {
		if out := run(in); out.Error == nil || out.Error.Code != "unsupported" {
			t.Fatalf("%s: %+v", in, out)
		}
	}
	if out := run(`not json`); out.Error == nil || !strings.Contains(out.Error.Message, "invalid trigger request") {
		t.Fatalf("garbage: %+v", out)
	}
	if !errors.Is(VerifyGitHub(nil, nil, "s"), ErrInvalidSignature) {
		t.Fatal("VerifyGitHub without a header accepted")
	}
	m := p.Manifest()
	if len(m.Triggers) != 1 || m.Triggers[0].Kind != TriggerPolling {
		t.Fatalf("manifest triggers %+v", m.Triggers)
	}
}
