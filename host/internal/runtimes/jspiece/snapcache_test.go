package jspiece

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSnapshotCache: a second runtime on the same cache directory loads a
// bundle from its snapshot file without evaluating it; a damaged file is
// refused, removed and rebuilt; a different bundle gets its own file.
func TestSnapshotCache(t *testing.T) {
	src, err := os.ReadFile("testdata/hostile.js")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var logs bytes.Buffer
	cfg := Config{CacheDir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	load := func(src []byte) (*Piece, bool) {
		t.Helper()
		p, err := newRuntime(t, cfg).Load(context.Background(), Artifact{ID: "hostile", Source: src})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p, p.cached
	}
	store := func(p *Piece) {
		t.Helper()
		h := newMemHost()
		resp, err := call(p, "t", "store", map[string]any{}, h)
		if err != nil || resp.Failed() || string(h.store["count"]) != "1" {
			t.Fatalf("call: %v %+v %q", err, resp, h.store["count"])
		}
	}
	p1, cached := load(src)
	if cached {
		t.Fatal("the first load came from an empty cache")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "jspiece", "*.snap"))
	if len(files) != 1 {
		t.Fatalf("cache files %v", files)
	}
	p2, cached := load(src)
	if !cached {
		t.Fatal("the second load parsed the bundle again")
	}
	if len(p2.Manifest().Actions) != len(p1.Manifest().Actions) || len(p2.Manifest().Actions) == 0 {
		t.Fatalf("cached manifest %+v", p2.Manifest())
	}
	store(p2)

	// One byte changed in the memory: refused, parsed, written again.
	b, _ := os.ReadFile(files[0])
	b[len(b)-100] ^= 1
	if err := os.WriteFile(files[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	p3, cached := load(src)
	if cached || !strings.Contains(logs.String(), "do not match their SHA-256") {
		t.Fatalf("a damaged file was used (cached=%v, logs %s)", cached, logs.String())
	}
	store(p3)
	if _, cached := load(src); !cached {
		t.Fatal("the damaged file was not rebuilt")
	}
	// Another bundle: another file.
	load(append(append([]byte(nil), src...), []byte("\n// v2\n")...))
	if files, _ := filepath.Glob(filepath.Join(dir, "jspiece", "*.snap")); len(files) != 2 {
		t.Fatalf("cache files after a second bundle: %v", files)
	}
}
