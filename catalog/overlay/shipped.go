package overlay

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"

	"github.com/atomhq/atom/catalog"
)

// Shipped lists, from a repository checkout at root, which
// catalog ids have a native plugin (plugins/native/<id>/main.go) or a
// piece (plugins/pieces/<id>/main.go or <id>.wat).
func Shipped(root string) (map[string][]string, error) {
	out := map[string][]string{}
	add := func(dir, kind string, ok func(id string) bool) error {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir() && ok(e.Name()) {
				out[e.Name()] = append(out[e.Name()], kind)
			}
		}
		return nil
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	if err := add("plugins/native", catalog.ImplNative, func(id string) bool {
		return exists(filepath.Join(root, "plugins/native", id, "main.go"))
	}); err != nil {
		return nil, err
	}
	if err := add("plugins/pieces", catalog.ImplPiece, func(id string) bool {
		d := filepath.Join(root, "plugins/pieces", id)
		return exists(filepath.Join(d, "main.go")) || exists(filepath.Join(d, id+".wat"))
	}); err != nil {
		return nil, err
	}
	for id := range out {
		sort.Strings(out[id])
	}
	return out, nil
}

// MarshalImplementations encodes the implementations overlay the way it
// is committed (sorted keys, two-space indent, trailing newline).
func MarshalImplementations(impl map[string][]string) ([]byte, error) {
	b, err := json.MarshalIndent(impl, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
