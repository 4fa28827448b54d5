package storetest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// unprivileged is the uid the store runs as in UnprivilegedDir's tests.
const unprivileged = 65534

// UnprivilegedDir returns a fresh directory and, when the test runs as
// root, makes this process act as an unprivileged user (effective uid
// 65534, owner of the directory) until the test ends, so that file
// permissions bind it as they bind a host run as a service user. The
// effective uid is process-wide: the test must not run in parallel with
// others.
func UnprivilegedDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "atom-ro-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() != 0 {
		return dir
	}
	if err := os.Chown(dir, unprivileged, unprivileged); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setresuid(-1, unprivileged, -1); err != nil {
		t.Fatalf("act as uid %d: %v", unprivileged, err)
	}
	t.Cleanup(func() {
		if err := syscall.Setresuid(-1, 0, -1); err != nil {
			panic("cannot restore the effective uid: " + err.Error())
		}
	})
	return dir
}

// MakeReadOnly makes dir and its files read-only (modes 0500 and 0400)
// until the test ends. Permission bits do not bind root: run the store as
// UnprivilegedDir arranges. Files already open for writing stay writable
// through their descriptors, as on a real host; what opens them anew
// opens them read-only.
func MakeReadOnly(t testing.TB, dir string) {
	t.Helper()
	if os.Geteuid() == 0 {
		t.Fatal("MakeReadOnly: permission bits do not bind root; use UnprivilegedDir")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Chmod(filepath.Join(dir, e.Name()), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Chmod(dir, 0o700)
		for _, e := range entries {
			os.Chmod(filepath.Join(dir, e.Name()), 0o600)
		}
	})
	// The directory must really refuse writes, or the test proves nothing.
	if f, err := os.CreateTemp(dir, "probe-*"); err == nil {
		f.Close()
		os.Remove(f.Name())
		t.Fatalf("%s is still writable after chmod", dir)
	}
}
