package overlay_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/catalog/internal/importer"
	"github.com/atomhq/atom/catalog/overlay"
)

const widgets = `{"id":"acme-widgets","name":"Acme Widgets","categories":["crm"],
 "auth":{"kind":"api_key","credential_fields":["apiKey"],"api_key_in":"header","api_key_name":"X-Api-Key"},
 "api":{"base_url":"https://api.acme-widgets.example.com"},
 "implementations":[],"connectable":false,"not_connectable_reason":"computed by the importer"}`

// checkout copies the committed catalog overlay files and the Stripe data
// file into a temporary repository root.
func checkout(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range []string{"overrides.json", "implementations.json", "data/stripe.json"} {
		b, err := os.ReadFile(filepath.Join("..", f))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, "catalog", f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestAdd(t *testing.T) {
	root := checkout(t)
	before, _ := os.ReadFile(filepath.Join(root, overlay.OverridesFile))
	d, appended, err := overlay.Add(root, []byte(widgets))
	if err != nil {
		t.Fatal(err)
	}
	if !appended || d.ID != "acme-widgets" || !d.Connectable || d.Source != "atom" || d.Auth.APIKeyName != "X-Api-Key" {
		t.Fatalf("added %+v (appended %v)", d, appended)
	}
	after, _ := os.ReadFile(filepath.Join(root, overlay.OverridesFile))
	// Everything before the add list's closing bracket is kept byte for byte.
	keep := bytes.TrimRight(before, " \n}]")
	if !bytes.HasPrefix(after, keep) || !bytes.HasSuffix(after, []byte("\n  ]\n}\n")) {
		t.Fatalf("overrides.json reformatted:\n%s", after)
	}

	// The data file is what the importer writes for the new list.
	var ov overlay.Overrides
	if err := json.Unmarshal(after, &ov); err != nil {
		t.Fatal(err)
	}
	ov.Entries = nil
	ovb, _ := json.Marshal(ov)
	res, err := importer.Import([]byte(`[]`), ovb)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, d := range res.Descriptors {
		if d.ID == "acme-widgets" {
			want, _ = overlay.Marshal(d)
		}
	}
	got, err := os.ReadFile(filepath.Join(root, overlay.DataDir, "acme-widgets.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want == nil || !bytes.Equal(got, want) {
		t.Fatalf("data file\n%s\nimporter renders\n%s", got, want)
	}
	if _, err := catalog.DecodeDescriptor("acme-widgets.json", got); err != nil {
		t.Fatal(err)
	}

	// A second Add keeps the list and rewrites the data file from it.
	if err := os.Remove(filepath.Join(root, overlay.DataDir, "acme-widgets.json")); err != nil {
		t.Fatal(err)
	}
	if _, appended, err := overlay.Add(root, []byte(widgets)); err != nil || appended {
		t.Fatalf("second add: appended %v, %v", appended, err)
	}
	again, _ := os.ReadFile(filepath.Join(root, overlay.OverridesFile))
	if !bytes.Equal(again, after) || strings.Count(string(again), `"acme-widgets"`) != 1 {
		t.Fatal("second add changed overrides.json")
	}
	if got2, _ := os.ReadFile(filepath.Join(root, overlay.DataDir, "acme-widgets.json")); !bytes.Equal(got2, got) {
		t.Fatal("second add wrote another data file")
	}
	if d, ok, err := overlay.Lookup(root, "acme-widgets"); err != nil || !ok || d.Name != "Acme Widgets" {
		t.Fatalf("lookup %+v %v %v", d, ok, err)
	}
}

func TestAddRefuses(t *testing.T) {
	root := checkout(t)
	before, _ := os.ReadFile(filepath.Join(root, overlay.OverridesFile))
	stripe := strings.Replace(widgets, "acme-widgets", "stripe", 1)
	if _, _, err := overlay.Add(root, []byte(stripe)); !errors.Is(err, overlay.ErrImported) {
		t.Fatalf("adding an imported id: %v", err)
	}
	broken := strings.Replace(widgets, `"crm"`, `"no-such-category"`, 1)
	if _, _, err := overlay.Add(root, []byte(broken)); err == nil {
		t.Fatal("a broken entry was added")
	}
	if after, _ := os.ReadFile(filepath.Join(root, overlay.OverridesFile)); !bytes.Equal(after, before) {
		t.Fatal("a refused add changed overrides.json")
	}
}

func TestAddWithoutOverridesFile(t *testing.T) {
	root := t.TempDir()
	if _, appended, err := overlay.Add(root, []byte(widgets)); err != nil || !appended {
		t.Fatalf("add: %v %v", appended, err)
	}
	b, _ := os.ReadFile(filepath.Join(root, overlay.OverridesFile))
	var ov overlay.Overrides
	if err := json.Unmarshal(b, &ov); err != nil || len(ov.Add) != 1 {
		t.Fatalf("overrides %s: %v", b, err)
	}
}

func TestSyncImplementations(t *testing.T) {
	root := checkout(t)
	for _, d := range []string{"plugins/native/acme-widgets", "plugins/pieces"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "plugins/native/acme-widgets/main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err := overlay.SyncImplementations(root)
	if err != nil || !changed {
		t.Fatalf("sync: %v %v", changed, err)
	}
	b, _ := os.ReadFile(filepath.Join(root, overlay.ImplementationsFile))
	if string(b) != "{\n  \"acme-widgets\": [\n    \"native\"\n  ]\n}\n" {
		t.Fatalf("implementations.json:\n%s", b)
	}
	if changed, err := overlay.SyncImplementations(root); err != nil || changed {
		t.Fatalf("second sync: %v %v", changed, err)
	}
}
