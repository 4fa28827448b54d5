package piece_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/atomhq/atom/sdk/piece"
	"github.com/atomhq/atom/sdk/provider"
)

// fakeHost answers host calls from memory.
type fakeHost struct{ store map[string][]byte }

func (h *fakeHost) HTTP(req piece.HTTPRequest) (*piece.HTTPResponse, error) {
	return &piece.HTTPResponse{Status: 404, Body: `{"message":"Unknown Webhook"}`}, nil
}
func (h *fakeHost) Credentials() (piece.Credentials, error) {
	return piece.Credentials{Type: "api_key", APIKey: "k"}, nil
}
func (h *fakeHost) Refresh() (piece.Credentials, error) { return h.Credentials() }
func (h *fakeHost) StoreGet(key string) ([]byte, bool, error) {
	v, ok := h.store[key]
	return v, ok, nil
}
func (h *fakeHost) StorePut(key string, value []byte) error { h.store[key] = value; return nil }
func (h *fakeHost) Log(int, string)                         {}

var demo = piece.Define(piece.Piece{
	ID: "demo", Name: "Demo", Hosts: []string{"api.example.com"},
	Actions: []piece.Action{
		{Name: "greet", Props: []piece.Prop{piece.ShortText("name", "Name").Required()}, Run: func(c *piece.Context) (any, error) {
			name, err := c.Require("name")
			if err != nil {
				return nil, err
			}
			return map[string]string{"greeting": "hello " + name}, nil
		}},
		{Name: "call", Run: func(c *piece.Context) (any, error) {
			resp, err := c.JSON("GET", "https://api.example.com/x", nil, nil)
			if err != nil {
				return nil, err
			}
			if !resp.OK() {
				return nil, resp.Fail("call failed")
			}
			return resp.Output()
		}},
	},
})

func run(t *testing.T, action, input string) provider.Response {
	t.Helper()
	in, _ := json.Marshal(piece.ExecuteInput{TenantID: "t", Action: action, Input: json.RawMessage(input)})
	var resp provider.Response
	if err := json.Unmarshal(demo.Execute(in, &fakeHost{store: map[string][]byte{}}), &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestExecute(t *testing.T) {
	if r := run(t, "greet", `{"name":"Ada"}`); r.Failed() || string(r.Output) != `{"greeting":"hello Ada"}` {
		t.Fatalf("greet: %+v", r)
	}
	if r := run(t, "greet", `{}`); !r.Failed() || r.Diagnostics[0].Field != "name" {
		t.Fatalf("missing field: %+v", r)
	}
	if r := run(t, "call", `{}`); !r.Failed() || r.Diagnostics[0].Status != 404 {
		t.Fatalf("upstream error: %+v", r)
	}
	if r := run(t, "nope", `{}`); !r.Failed() {
		t.Fatal("unknown action succeeded")
	}
}

// The ABI's JSON shapes are those of sdk/provider.
func TestJSONMatchesProviderTypes(t *testing.T) {
	c := piece.Credentials{Type: "oauth2", AccessToken: "a", Fields: map[string]string{"f": "1"}, Params: map[string]string{"p": "2"}}
	b, _ := json.Marshal(c)
	var pc provider.Credentials
	if err := json.Unmarshal(b, &pc); err != nil {
		t.Fatal(err)
	}
	back, _ := json.Marshal(pc)
	if string(back) != string(b) {
		t.Fatalf("credentials JSON differs:\n%s\n%s", b, back)
	}
	var m provider.Manifest
	mb, _ := json.Marshal(demo.Manifest())
	if err := json.Unmarshal(mb, &m); err != nil || m.ID != "demo" || len(m.Actions) != 2 || len(m.Actions[0].Input) == 0 {
		t.Fatalf("manifest %+v %v", m, err)
	}
}

func ExampleInputSchema() {
	schema := piece.InputSchema([]piece.Prop{
		piece.ShortText("content", "Message").Required(),
		piece.StaticDropdown("mode", "Mode", piece.Option{Label: "Add", Value: "add"}),
	})
	fmt.Println(string(schema))
	// Output: {"$schema":"https://json-schema.org/draft/2020-12/schema","properties":{"content":{"title":"Message","type":"string"},"mode":{"enum":["add"],"title":"Mode","x-atom-labels":["Add"]}},"required":["content"],"type":"object"}
}
