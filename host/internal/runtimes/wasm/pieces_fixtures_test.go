package wasm

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pieceFixtures lists the first-party pieces of plugins/pieces, built the
// way plugins/pieces/build.sh builds them.
func pieceFixtures() []fixture {
	entries, err := os.ReadDir(filepath.Join(repoRoot, "plugins", "pieces"))
	if err != nil {
		return nil
	}
	var fs []fixture
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join("plugins", "pieces", e.Name())
		if _, err := os.Stat(filepath.Join(repoRoot, dir, "main.go")); err == nil {
			fs = append(fs, fixture{name: e.Name(), pkg: "./" + dir})
		} else if _, err := os.Stat(filepath.Join(repoRoot, dir, e.Name()+".wat")); err == nil {
			fs = append(fs, fixture{name: e.Name(), pkg: filepath.Join(dir, e.Name()+".wat"), wat: true})
		}
	}
	return fs
}

// TestWATPiecesMatchSource assembles every piece written in WebAssembly
// text with wat2wasm and compares the result with the .wasm shipped beside
// it, which is what plugins/pieces/build.sh installs so that building Atom
// needs nothing but Go. wat2wasm comes from scripts/deps.sh (Debian wabt);
// without it the test skips, except under CI=true.
func TestWATPiecesMatchSource(t *testing.T) {
	var wat []fixture
	for _, f := range pieceFixtures() {
		if f.wat {
			wat = append(wat, f)
		}
	}
	if len(wat) == 0 {
		t.Fatal("no piece written in WebAssembly text under plugins/pieces")
	}
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("wat2wasm not found; scripts/deps.sh installs it (Debian package wabt)")
		}
		t.Skip("wat2wasm not found; scripts/deps.sh installs it (Debian package wabt)")
	}
	for _, f := range wat {
		shipped := strings.TrimSuffix(f.pkg, ".wat") + ".wasm"
		out := filepath.Join(t.TempDir(), f.name+".wasm")
		cmd := exec.Command(tool, "-o", out, f.pkg)
		cmd.Dir = repoRoot
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("wat2wasm %s: %v\n%s", f.pkg, err, b)
		}
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(repoRoot, shipped))
		if err != nil {
			t.Fatalf("%s: %v (assemble it: wat2wasm -o %s %s)", f.name, err, shipped, f.pkg)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its source (%d bytes shipped, %d assembled): run wat2wasm -o %s %s",
				shipped, len(got), len(want), shipped, f.pkg)
		}
	}
}
