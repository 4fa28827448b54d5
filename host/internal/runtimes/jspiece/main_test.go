package jspiece

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	npmOnce sync.Once
	npmDir  string
	npmErr  error
)

// npmPieces returns bin/jspieces (with node_modules), installing the
// pinned packages through scripts/jspieces-npm.sh on first use. Without
// npm or the registry the test is skipped, except with CI=true.
func npmPieces(t testing.TB) string {
	t.Helper()
	npmOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
		cmd := exec.Command(filepath.Join(root, "scripts", "jspieces-npm.sh"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			npmErr = err
			npmDir = string(out)
			return
		}
		npmDir = filepath.Join(root, "bin", "jspieces")
	})
	if npmErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("installing the npm pieces: %v\n%s", npmErr, npmDir)
		}
		t.Skipf("npm pieces not installed (run scripts/deps.sh): %v", npmErr)
	}
	return npmDir
}

var (
	bundleMu    sync.Mutex
	bundleCache = map[string][]byte{}
)

// bundled returns the bundle of an installed npm piece.
func bundled(t testing.TB, pkg string) []byte {
	t.Helper()
	dir := npmPieces(t)
	bundleMu.Lock()
	defer bundleMu.Unlock()
	if b, ok := bundleCache[pkg]; ok {
		return b
	}
	b, err := Bundle(dir, pkg)
	if err != nil {
		t.Fatal(err)
	}
	bundleCache[pkg] = b
	return b
}

func newRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	r, err := NewRuntime(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}
