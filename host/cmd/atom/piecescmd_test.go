package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atomhq/atom/host/internal/hosttest"
)

// TestPiecesThroughAPI adds, lists and removes a published piece with
// `atom pieces -api` against a running host: the host installs it from the
// uploaded tarball and serves it at once.
func TestPiecesThroughAPI(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", "..", ".."))
	if out, err := exec.Command(filepath.Join(root, "scripts", "jspieces-npm.sh")).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("installing the npm pieces: %v\n%s", err, out)
		}
		t.Skipf("npm pieces not installed (run scripts/deps.sh): %v", err)
	}
	// The dependencies come from npm's cache, not the network.
	t.Setenv("npm_config_prefer_offline", "true")
	tgz := filepath.Join(t.TempDir(), "piece-discord.tgz")
	if err := os.WriteFile(tgz, packTarball(t, filepath.Join(root, "bin", "jspieces", "node_modules", "@activepieces", "piece-discord")), 0o600); err != nil {
		t.Fatal(err)
	}
	h := hosttest.Start(t, hosttest.Options{Catalog: map[string]string{"discord.json": `{"id":"discord","name":"Discord","categories":["communication"],
		"auth":{"kind":"none"},"api":{"base_url":"https://discord.com"},"implementations":["piece"],"connectable":true}`}})
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := piecesCmd(context.Background(), args, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	t.Setenv("ATOM_ADMIN_KEY", "adm_wrong")
	if _, err := run("list", "-api", h.URL); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("list with a wrong key: %v", err)
	}
	t.Setenv("ATOM_ADMIN_KEY", h.AdminKey)
	out, err := run("add", "-api", h.URL, "-host", "cdn.discordapp.com", tgz)
	if err != nil || !strings.Contains(out, "added discord (@activepieces/piece-discord@0.2.0, 1 actions") || !strings.Contains(out, "hosts: discord.com,cdn.discordapp.com") {
		t.Fatalf("add: %v %s", err, out)
	}
	if _, ok := h.Parts.Registry.Get("discord", "piece"); !ok {
		t.Fatal("the added piece does not serve")
	}
	if out, err = run("list", "-api", h.URL); err != nil || !strings.HasPrefix(out, "discord\t@activepieces/piece-discord@0.2.0\tloaded\thosts:discord.com,cdn.discordapp.com") {
		t.Fatalf("list: %v %q", err, out)
	}
	if out, err = run("remove", "-api", h.URL, "discord"); err != nil || !strings.Contains(out, "removed discord") {
		t.Fatalf("remove: %v %s", err, out)
	}
	if _, err = run("remove", "-api", h.URL, "discord"); err == nil || !strings.Contains(err.Error(), "404 piece_not_found") {
		t.Fatalf("remove again: %v", err)
	}
	if _, ok := h.Parts.Registry.Get("discord", "piece"); ok {
		t.Fatal("the removed piece still serves")
	}
}

// packTarball makes an npm package tarball (entries under package/) of an
// installed package directory.
func packTarball(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: "package/" + filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
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
	return buf.Bytes()
}
