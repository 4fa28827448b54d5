// Package overlay owns the catalog's committed files in a repository
// checkout: the format of overrides.json (Overrides), how a descriptor is
// completed and rendered as catalog/data/<id>.json (Finish, Marshal), and
// implementations.json (Shipped, SyncImplementations). Add puts a new
// integration in overrides.json's "add" list and writes its
// data/<id>.json exactly as `go run ./catalog/cmd/import` would, and
// SyncImplementations rewrites implementations.json from the plugins that
// ship, as `go run ./catalog/cmd/syncimpl` does. `atom generate
// integration` uses both, so a generated provider leaves the catalog as
// if those commands had been run.
//
// The runtime catalog package only loads and checks descriptors; the
// bulk import of the provider data (catalog/internal/importer) builds on
// this package and is not linked into the atom binary.
package overlay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/atomhq/atom/catalog"
)

// Paths of the catalog files below a repository root.
const (
	OverridesFile       = "catalog/overrides.json"
	DataDir             = "catalog/data"
	ImplementationsFile = "catalog/implementations.json"
)

// ErrImported is returned by Add for an id the imported provider data
// already holds: such an entry is patched through overrides.json's
// "entries", never added.
var ErrImported = errors.New("already in the imported catalog data")

// Lookup returns the descriptor root's catalog holds for id
// (catalog/data/<id>.json), or false when there is none.
func Lookup(root, id string) (*catalog.Descriptor, bool, error) {
	p := filepath.Join(root, DataDir, id+".json")
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	d, err := catalog.DecodeDescriptor(p, b)
	if err != nil {
		return nil, false, err
	}
	return d, true, nil
}

// Add adds entry, one descriptor in the form of overrides.json's "add"
// list, to root's catalog: it appends entry to that list (keeping the
// rest of the file byte for byte) and writes catalog/data/<id>.json as
// the importer renders it. When the list already holds the id, the list
// is left alone and the data file is rewritten from the listed entry;
// appended reports which happened. An id of the imported data is
// ErrImported. Nothing is written when entry does not import.
func Add(root string, entry []byte) (d *catalog.Descriptor, appended bool, err error) {
	d, err = Added("new entry", entry)
	if err != nil {
		return nil, false, err
	}
	ovPath := filepath.Join(root, OverridesFile)
	src, err := os.ReadFile(ovPath)
	if errors.Is(err, os.ErrNotExist) {
		src, err = []byte("{\n  \"entries\": {},\n  \"add\": []\n}\n"), nil
	}
	if err != nil {
		return nil, false, err
	}
	var ov Overrides
	if err := json.Unmarshal(src, &ov); err != nil {
		return nil, false, fmt.Errorf("%s: %w", OverridesFile, err)
	}
	listed := -1
	for i, raw := range ov.Add {
		var head struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &head) == nil && head.ID == d.ID {
			listed = i
		}
	}
	if listed < 0 {
		if _, ok, err := Lookup(root, d.ID); err != nil {
			return nil, false, err
		} else if ok {
			return nil, false, fmt.Errorf("%s: %w", d.ID, ErrImported)
		}
	}
	out := src
	if listed >= 0 {
		if d, err = Added(fmt.Sprintf("%s add[%d]", OverridesFile, listed), ov.Add[listed]); err != nil {
			return nil, false, err
		}
	} else {
		if out, err = appendAdd(src, entry, len(ov.Add)); err != nil {
			return nil, false, err
		}
	}
	data, err := Marshal(d)
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Join(root, DataDir), 0o755); err != nil {
		return nil, false, err
	}
	if listed < 0 {
		if err := writeFile(ovPath, out); err != nil {
			return nil, false, err
		}
	}
	if err := writeFile(filepath.Join(root, DataDir, d.ID+".json"), data); err != nil {
		return nil, false, err
	}
	return d, listed < 0, nil
}

// appendAdd returns src with entry appended to its "add" list. When the
// list closes the file, as committed, the entry is spliced in before its
// closing bracket so the rest of the file keeps its formatting; otherwise
// the file is re-encoded. Either way the result is checked to decode to
// the old list plus entry.
func appendAdd(src, entry []byte, n int) ([]byte, error) {
	var ind bytes.Buffer
	if err := json.Indent(&ind, entry, "    ", "  "); err != nil {
		return nil, err
	}
	if out, ok := splice(src, ind.Bytes()); ok && addedLast(out, entry, n) {
		return out, nil
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	var list []json.RawMessage
	if raw, ok := doc["add"]; ok {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
	}
	list = append(list, entry)
	b, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	doc["add"] = b
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	out = append(out, '\n')
	if !addedLast(out, entry, n) {
		return nil, fmt.Errorf("%s: could not append to the add list", OverridesFile)
	}
	return out, nil
}

func splice(src, entry []byte) ([]byte, bool) {
	const space = " \t\r\n"
	body := bytes.TrimRight(src, space)
	if !bytes.HasSuffix(body, []byte("}")) {
		return nil, false
	}
	body = bytes.TrimRight(body[:len(body)-1], space)
	if !bytes.HasSuffix(body, []byte("]")) {
		return nil, false
	}
	prev := bytes.TrimRight(body[:len(body)-1], space)
	var out bytes.Buffer
	out.Write(prev)
	switch {
	case bytes.HasSuffix(prev, []byte("[")):
		out.WriteString("\n    ")
	case bytes.HasSuffix(prev, []byte("}")):
		out.WriteString(",\n    ")
	default:
		return nil, false
	}
	out.Write(entry)
	out.WriteString("\n  ]\n}\n")
	return out.Bytes(), true
}

// addedLast reports whether out decodes as overrides with n+1 "add"
// entries, the last equal to entry.
func addedLast(out, entry []byte, n int) bool {
	var ov Overrides
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if dec.Decode(&ov) != nil || len(ov.Add) != n+1 {
		return false
	}
	var a, b bytes.Buffer
	return json.Compact(&a, ov.Add[n]) == nil && json.Compact(&b, entry) == nil && bytes.Equal(a.Bytes(), b.Bytes())
}

// SyncImplementations rewrites root's catalog/implementations.json from
// the native plugins and pieces under root/plugins and reports whether
// the file changed.
func SyncImplementations(root string) (bool, error) {
	impl, err := Shipped(root)
	if err != nil {
		return false, err
	}
	b, err := MarshalImplementations(impl)
	if err != nil {
		return false, err
	}
	p := filepath.Join(root, ImplementationsFile)
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, b) {
		return false, nil
	}
	return true, writeFile(p, b)
}

// writeFile replaces p through a rename, so a reader never sees half a
// file.
func writeFile(p string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}
