package jspiece

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atomhq/atom/host/internal/plugindir"
)

func TestArtifactWriteReadListRemove(t *testing.T) {
	dir := t.TempDir()
	a := Artifact{ID: "hostile", Package: "@activepieces/piece-hostile", Version: "1.2.3", Hosts: []string{"api.example.com"},
		Source: []byte("module.exports = {};")}
	m, err := Write(dir, a, map[string]LockEntry{"buffer": {Version: "6.0.3", Integrity: "sha512-x"}})
	if err != nil {
		t.Fatal(err)
	}
	got, gm, err := Read(dir, "hostile")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Source) != string(a.Source) || got.Version != "1.2.3" || gm.SHA256 != m.SHA256 || gm.Engine != EngineChecksum() ||
		gm.Lock["buffer"].Version != "6.0.3" || len(got.Hosts) != 1 {
		t.Fatalf("read back %+v %+v", got, gm)
	}
	for _, f := range []string{"hostile.jspiece.js", "hostile.jspiece.json"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm()&0o111 != 0 {
			t.Fatalf("%s: %v %v (must exist and not be executable)", f, fi, err)
		}
	}
	metas, err := List(dir)
	if err != nil || len(metas) != 1 || metas[0].ID != "hostile" {
		t.Fatalf("list: %+v %v", metas, err)
	}

	// A bundle changed after it was added is refused.
	if err := os.WriteFile(filepath.Join(dir, "hostile.jspiece.js"), []byte("module.exports = {evil: 1};"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Read(dir, "hostile"); !errors.Is(err, ErrInvalidPiece) {
		t.Fatalf("tampered bundle: %v", err)
	}
	for _, bad := range []string{"../x", "", "A"} {
		if _, _, err := Read(dir, bad); err == nil {
			t.Fatalf("Read(%q) accepted", bad)
		}
	}
	if err := Remove(dir, "hostile"); err != nil {
		t.Fatal(err)
	}
	if metas, _ := List(dir); len(metas) != 0 {
		t.Fatalf("after remove: %+v", metas)
	}
	if err := Remove(dir, "hostile"); err == nil {
		t.Fatal("removing a missing piece succeeded")
	}
}

func TestParseSpec(t *testing.T) {
	for spec, want := range map[string][2]string{
		"@activepieces/piece-slack":        {"@activepieces/piece-slack", "latest"},
		"@activepieces/piece-slack@0.17.9": {"@activepieces/piece-slack", "0.17.9"},
	} {
		pkg, ver, _, err := ParseSpec(spec)
		if err != nil || pkg != want[0] || ver != want[1] {
			t.Errorf("ParseSpec(%q) = %q %q %v", spec, pkg, ver, err)
		}
	}
	for _, bad := range []string{"left-pad", "@activepieces/framework", "@activepieces/piece-x@1.0 && rm", "@evil/piece-x"} {
		if _, _, _, err := ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) accepted", bad)
		}
	}
}

// TestFetchLocalTarballAndLoadDir installs the published Slack piece from
// a tarball (packed here from the npm install), as `atom pieces add
// FILE.tgz` does, writes it and loads the directory.
func TestFetchLocalTarballAndLoadDir(t *testing.T) {
	root := filepath.Join(npmPieces(t), "node_modules", "@activepieces", "piece-slack")
	tgz := filepath.Join(t.TempDir(), "piece-slack.tgz")
	packDir(t, root, tgz)
	a, lock, err := Fetch(context.Background(), t.TempDir(), tgz)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "slack" || a.Package != "@activepieces/piece-slack" || a.Version != "0.17.9" || lock["buffer"].Version != "6.0.3" {
		t.Fatalf("fetched %s %s %s, lock %v", a.ID, a.Package, a.Version, lock)
	}
	a.Hosts = []string{"slack.com"}
	dir := t.TempDir()
	if _, err := Write(dir, a, lock); err != nil {
		t.Fatal(err)
	}
	// A broken artifact beside it is reported, not fatal.
	if _, err := Write(dir, Artifact{ID: "broken", Source: []byte("module.exports = 1;")}, nil); err != nil {
		t.Fatal(err)
	}
	r := newRuntime(t, Config{})
	pieces, err := r.LoadDir(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), "js piece broken") || !errors.Is(err, ErrInvalidPiece) {
		t.Fatalf("LoadDir error = %v", err)
	}
	if len(pieces) != 1 || pieces[0].Manifest().ID != "slack" || len(pieces[0].Manifest().Actions) < 50 {
		t.Fatalf("loaded %d pieces", len(pieces))
	}
	pieces[0].Close()
}

// packDir writes dir as an npm tarball (files under package/).
func packDir(t *testing.T, dir, out string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: "package/" + filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b))}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestLoadDirVerifiesLockFile: with verification on, a JS piece loads only
// when plugins.lock pins its metadata file, which holds the bundle's hash
// and the hosts it may reach; widening those hosts after pinning, or
// swapping the bundle, refuses the piece.
func TestLoadDirVerifiesLockFile(t *testing.T) {
	src, err := os.ReadFile("testdata/hostile.js")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lockFile := filepath.Join(dir, plugindir.LockName)
	if _, err := Write(dir, Artifact{ID: "hostile", Hosts: []string{"api.example.com"}, Source: src}, nil); err != nil {
		t.Fatal(err)
	}
	r := newRuntime(t, Config{Verify: func(name, sum string) error { return plugindir.Verify(lockFile, name, sum) }})
	load := func() ([]*Piece, error) {
		pieces, err := r.LoadDir(context.Background(), dir)
		for _, p := range pieces {
			t.Cleanup(p.Close)
		}
		return pieces, err
	}
	if pieces, err := load(); len(pieces) != 0 || !errors.Is(err, plugindir.ErrNotPinned) {
		t.Fatalf("unpinned piece: loaded %d, err %v", len(pieces), err)
	}
	meta, err := os.ReadFile(filepath.Join(dir, "hostile"+metaSuffix))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(meta)
	line := plugindir.LockLine("hostile"+metaSuffix, hex.EncodeToString(sum[:]))
	if err := os.WriteFile(lockFile, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if pieces, err := load(); err != nil || len(pieces) != 1 {
		t.Fatalf("pinned piece: loaded %d, err %v", len(pieces), err)
	}
	// The same bundle, declaring one more host: no longer the pinned file.
	widened := strings.Replace(string(meta), `"api.example.com"`, `"api.example.com","169.254.169.254"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "hostile"+metaSuffix), []byte(widened), 0o644); err != nil {
		t.Fatal(err)
	}
	if pieces, err := load(); len(pieces) != 0 || !errors.Is(err, plugindir.ErrNotPinned) {
		t.Fatalf("widened hosts: loaded %d, err %v", len(pieces), err)
	}
	// The pinned metadata beside a different bundle: its hash check fails.
	if err := os.WriteFile(filepath.Join(dir, "hostile"+metaSuffix), meta, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hostile"+bundleSuffix), append(src, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if pieces, err := load(); len(pieces) != 0 || !errors.Is(err, ErrInvalidPiece) {
		t.Fatalf("swapped bundle: loaded %d, err %v", len(pieces), err)
	}
}
