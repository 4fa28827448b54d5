package wasm

import (
	"os"
	"path/filepath"
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
