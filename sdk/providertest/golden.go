package providertest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

// Update is the -update test flag: when set, Golden rewrites golden files
// instead of comparing with them (go test ./... -update). The kit
// registers it, so a test package importing providertest must not
// register a flag of that name itself.
var Update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Golden compares got with the file at path (relative to the test's
// package directory), or writes got there when -update is set. A
// difference fails the test and shows both versions.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", filepath.Base(path), want, got)
	}
}

// GoldenJSON is Golden for v encoded as JSON indented by two spaces with
// a final newline, e.g. a provider's Manifest.
func GoldenJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	Golden(t, path, append(b, '\n'))
}

// Pretty renders resp for a golden file: an indented JSON object with its
// diagnostics and its decoded output, ending in a newline.
func Pretty(t testing.TB, resp provider.Response) []byte {
	t.Helper()
	var v any
	if len(resp.Output) > 0 {
		if err := json.Unmarshal(resp.Output, &v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.MarshalIndent(map[string]any{"output": v, "diagnostics": resp.Diagnostics}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}
