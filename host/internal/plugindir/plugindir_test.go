package plugindir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	for name, want := range map[string]struct {
		kind Kind
		id   string
	}{
		"atom-provider-stripe":    {Native, "stripe"},
		"stripe":                  {Native, "stripe"},
		"google-mail.wasm":        {Piece, "google-mail"},
		"plugins.lock":            {Lock, ""},
		".install-echo-123":       {Other, ""},
		".x.wasm.1.tmp":           {Other, ""},
		"echo.tmp":                {Other, ""},
		"echo~":                   {Other, ""},
		"Stripe":                  {Other, ""},
		"a.b.wasm":                {Other, ""},
		"atom-provider-../evil":   {Other, ""},
		"-dash.wasm":              {Other, ""},
		strings.Repeat("a", 65):   {Other, ""},
		strings.Repeat("a", 64):   {Native, strings.Repeat("a", 64)},
		"atom-provider-x.wasm":    {Piece, "atom-provider-x"},
		"atom-provider-under_ok":  {Native, "under_ok"},
		"atom-provider-with.dots": {Other, ""},
		"slack.jspiece.json":      {JSPiece, "slack"},
		"slack.jspiece.js":        {JSPiece, "slack"},
		".jspiece-123":            {Other, ""},
		"a.b.jspiece.json":        {Other, ""},
		"../x.jspiece.js":         {Other, ""},
		"Slack.jspiece.json":      {Other, ""},
	} {
		kind, id := Classify(name)
		if kind != want.kind || id != want.id {
			t.Errorf("Classify(%q) = %v %q, want %v %q", name, kind, id, want.kind, want.id)
		}
	}
	if err := CheckID("../evil"); !errors.Is(err, ErrBadID) {
		t.Errorf("CheckID(../evil) = %v", err)
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LockName)
	sum := strings.Repeat("ab", 32)
	if l, err := ReadLock(path); err != nil || len(l) != 0 {
		t.Fatalf("missing lock file: %v %v", l, err)
	}
	body := "# pinned\n\n" + strings.ToUpper(sum) + "  atom-provider-echo\n" + sum + " *echo.wasm\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := ReadLock(path)
	if err != nil || l["atom-provider-echo"] != sum || l["echo.wasm"] != sum || len(l) != 2 {
		t.Fatalf("ReadLock = %v, %v", l, err)
	}
	if err := Verify(path, "echo.wasm", sum); err != nil {
		t.Fatal(err)
	}
	other := strings.Repeat("cd", 32)
	if err := Verify(path, "echo.wasm", other); !errors.Is(err, ErrNotPinned) || !strings.Contains(err.Error(), "lock file says "+sum) {
		t.Fatalf("wrong sum: %v", err)
	}
	if err := Verify(path, "other.wasm", sum); !errors.Is(err, ErrNotPinned) {
		t.Fatalf("unlisted: %v", err)
	}
	// A malformed line refuses everything, naming the line.
	if err := os.WriteFile(path, []byte(body+"deadbeef  x.wasm\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Verify(path, "echo.wasm", sum); err == nil || errors.Is(err, ErrNotPinned) || !strings.Contains(err.Error(), "plugins.lock:5") {
		t.Fatalf("malformed: %v", err)
	}
}

func TestCopies(t *testing.T) {
	dir, bin := t.TempDir(), t.TempDir()
	src := filepath.Join(dir, "atom-provider-echo")
	if err := WriteAtomic(dir, "atom-provider-echo", strings.NewReader("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := Copies{Dir: bin}
	sum, got, err := c.Existing(src, "atom-provider-echo")
	if err != nil || got != "" || len(sum) != 64 {
		t.Fatalf("Existing before a copy: %q %q %v", sum, got, err)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	sum2, path, err := c.Copy(f, "atom-provider-echo")
	f.Close()
	if err != nil || sum2 != sum || path != c.Path("atom-provider-echo", sum) {
		t.Fatalf("Copy = %q %q %v", sum2, path, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o555 {
		t.Fatalf("copy mode: %v %v", fi, err)
	}
	if _, again, err := c.Existing(src, "atom-provider-echo"); err != nil || again != path {
		t.Fatalf("Existing after the copy: %q %v", again, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("WriteAtomic left %d files", len(entries))
	}
}
