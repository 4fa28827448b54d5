package providertest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

// recordingTB keeps the errors a check reports instead of failing the
// surrounding test.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, format)
}

func manifestWith(inputs map[string]string) provider.Manifest {
	b := provider.New(provider.Manifest{ID: "m", Version: "1.0.0"})
	for name, in := range inputs {
		def := provider.ActionDef{Name: name, Handle: func(context.Context, *provider.Call) (any, error) { return nil, nil }}
		if in != "" {
			def.Input = provider.Schema(in)
		}
		b.Action(def)
	}
	return b.Manifest()
}

func TestClosedInputs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inputs map[string]string
		open   []string
		errors int
	}{
		{"closed", map[string]string{"a": `{"type":"object","additionalProperties":false}`}, nil, 0},
		{"open", map[string]string{"a": `{"type":"object"}`}, nil, 1},
		{"open allowed", map[string]string{"test_connection": `{"type":"object"}`}, []string{"test_connection"}, 0},
		{"additional schema", map[string]string{"a": `{"type":"object","additionalProperties":{"type":"string"}}`}, nil, 1},
		{"default schema", map[string]string{"a": ""}, nil, 1},
		{"default schema allowed", map[string]string{"a": ""}, []string{"a"}, 0},
		{"not an object", map[string]string{"a": `["x"]`}, nil, 1},
		{"mixed", map[string]string{"a": `{"additionalProperties":false}`, "b": `{}`, "c": `{}`}, []string{"c"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			providertest.ClosedInputs(rec, manifestWith(tc.inputs), tc.open...)
			if len(rec.errors) != tc.errors {
				t.Fatalf("errors %q, want %d", rec.errors, tc.errors)
			}
			for _, e := range rec.errors {
				if !strings.Contains(e, "closed object") {
					t.Errorf("error %q", e)
				}
			}
		})
	}
}

// A manifest test that requires every action but test_connection to
// reject unknown input fields, then compares the manifest with its golden
// file.
func ExampleClosedInputs() {
	t := &testing.T{} // in a test, use the test's t
	m := manifestWith(map[string]string{
		"test_connection": `{"type":"object"}`,
		"get_item":        `{"type":"object","additionalProperties":false,"required":["id"],"properties":{"id":{"type":"string"}}}`,
	})
	providertest.ClosedInputs(t, m, "test_connection")
	fmt.Println(t.Failed())
	// Output: false
}
