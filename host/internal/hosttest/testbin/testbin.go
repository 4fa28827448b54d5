// Package testbin builds the repository's Go programs for tests and
// installs them into plugin directories. Binaries are built once per test
// process and shared by every test that asks for the same package and
// flags; a package that builds binaries calls Main from its TestMain so
// the cache is removed when its tests end.
//
// It imports nothing of the host, so any package's internal tests (the
// native runtime's among them) may use it.
package testbin

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// cache holds the binaries built by this test process.
var cache struct {
	sync.Mutex
	dir  string
	done map[string]string
}

// Main runs the tests of m, removes the binaries they built and exits
// with their result. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	cache.Lock()
	if cache.dir != "" {
		os.RemoveAll(cache.dir)
	}
	cache.Unlock()
	os.Exit(code)
}

// Root is the root of the repository's checkout: the nearest directory
// above the working directory whose go.mod declares the root module.
func Root(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/atomhq/atom\n")) {
			return dir
		}
		if filepath.Dir(dir) == dir {
			t.Fatalf("no checkout of the repository above %s", wd)
		}
	}
}

// Build compiles the package at pkg (a path below the repository root,
// e.g. "plugins/native/stripe") with optional -ldflags, once per test
// process, and returns the binary's path.
func Build(t testing.TB, pkg, ldflags string) string {
	t.Helper()
	return build(t, pkg, ldflags, false)
}

// BuildWasm compiles the package at pkg as a wasip1 reactor module (a
// wasm piece), once per test process, and returns the module's path.
func BuildWasm(t testing.TB, pkg, ldflags string) string {
	t.Helper()
	return build(t, pkg, ldflags, true)
}

func build(t testing.TB, pkg, ldflags string, wasm bool) string {
	t.Helper()
	cache.Lock()
	defer cache.Unlock()
	key := pkg + "|" + ldflags
	if wasm {
		key += "|wasm"
	}
	if p, ok := cache.done[key]; ok {
		return p
	}
	if cache.dir == "" {
		dir, err := os.MkdirTemp("", "atom-testbin-")
		if err != nil {
			t.Fatal(err)
		}
		cache.dir, cache.done = dir, map[string]string{}
	}
	out := filepath.Join(cache.dir, strings.NewReplacer("/", "_", ".", "_", " ", "_", "=", "_", "|", "_").Replace(key))
	args := []string{"build", "-o", out}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	if wasm {
		args = append(args, "-buildmode=c-shared")
	}
	args = append(args, "./"+pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = Root(t)
	if wasm {
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, b)
	}
	cache.done[key] = out
	return out
}

// Install copies the file at src into dir as name with mode, through a
// temporary file renamed into place, as a deployment would: a watcher of
// dir never sees half a file.
func Install(t testing.TB, src, dir, name string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// Echo builds the native runtime's echo fixture plugin
// (host/internal/runtimes/native/testdata/echo) as plugin id at version.
func Echo(t testing.TB, id, version string) string {
	t.Helper()
	return Build(t, "host/internal/runtimes/native/testdata/echo", "-X main.version="+version+" -X main.id="+id)
}

// SlowEcho is Echo whose every process waits delay (a Go duration)
// before its handshake: a plugin slow to start.
func SlowEcho(t testing.TB, id, version, delay string) string {
	t.Helper()
	return Build(t, "host/internal/runtimes/native/testdata/echo", "-X main.version="+version+" -X main.id="+id+" -X main.startDelay="+delay)
}

// BuildModule builds a program the way a third party would: in a module
// of its own (path mod) outside the repository, holding files (relative
// name → content), that requires the SDK through a replace directive to
// this checkout's sdk/. It runs go mod tidy, then builds the module's root
// package into out.
func BuildModule(t testing.TB, mod string, files map[string]string, out string) {
	t.Helper()
	sdk := filepath.Join(Root(t), "sdk")
	src := t.TempDir()
	all := map[string]string{
		"go.mod": "module " + mod + "\n\ngo 1.26\n\nrequire github.com/atomhq/atom/sdk v0.0.0\n\nreplace github.com/atomhq/atom/sdk => " + sdk + "\n",
	}
	if sum, err := os.ReadFile(filepath.Join(sdk, "go.sum")); err == nil {
		all["go.sum"] = string(sum)
	}
	maps.Copy(all, files)
	for name, body := range all {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"mod", "tidy"}, {"build", "-o", out, "."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
}
