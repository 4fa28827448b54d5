package wasm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
)

// wasmDir holds the modules TestMain builds once per test binary.
var wasmDir string

// repoRoot is the root of the atom module.
var repoRoot = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
}()

// fixture is one module built for the tests.
type fixture struct {
	name    string // output file name without .wasm
	pkg     string // package path relative to repoRoot
	ldflags string
	wat     bool // pkg is a .wat file: copy the .wasm shipped beside it
}

var fixtures = []fixture{
	{name: "sandbox", pkg: "./host/internal/runtimes/wasm/testdata/sandbox"},
	{name: "sandbox-v2", pkg: "./host/internal/runtimes/wasm/testdata/sandbox", ldflags: "-X main.version=2.0.0"},
	{name: "hostile", pkg: hostilePkg},
	{name: "triggers", pkg: "./host/internal/runtimes/wasm/testdata/triggers"},
	{name: "yy-stripe", pkg: hostilePkg, ldflags: "-X main.id=stripe"},
	{name: "hostile-flip", pkg: hostilePkg, ldflags: "-X main.id=hostile-flip -X main.mode=flip -X main.alt=sandbox"},
	{name: "hostile-hang", pkg: hostilePkg, ldflags: "-X main.id=hostile-hang -X main.mode=hang"},
	{name: "hostile-inithang", pkg: hostilePkg, ldflags: "-X main.id=hostile-inithang -X main.mode=inithang"},
	{name: "hostile-bigmanifest", pkg: hostilePkg, ldflags: "-X main.id=hostile-bigmanifest -X main.mode=bigmanifest -X main.size=2097152"},
}

// hostilePkg is the test piece that attacks the host through the ABI.
const hostilePkg = "./host/internal/runtimes/wasm/testdata/hostile"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "atom-wasm-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wasmDir = dir
	if err := buildFixtures(dir, append(fixtures, pieceFixtures()...)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildFixtures builds every fixture into dir, two at a time.
func buildFixtures(dir string, fs []fixture) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(fs))
	sem := make(chan struct{}, 2)
	for _, f := range fs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out := filepath.Join(dir, f.name+".wasm")
			if f.wat {
				// TestWATPiecesMatchSource proves the shipped module is
				// the assembled .wat.
				b, err := os.ReadFile(filepath.Join(repoRoot, strings.TrimSuffix(f.pkg, ".wat")+".wasm"))
				if err == nil {
					err = os.WriteFile(out, b, 0o644)
				}
				if err != nil {
					errs <- fmt.Errorf("build %s: %v", f.name, err)
				}
				return
			}
			cmd := exec.Command("go", "build", "-buildmode=c-shared", "-ldflags", f.ldflags, "-o", out, f.pkg)
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			cmd.Dir = repoRoot
			if b, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("build %s: %v\n%s", f.name, err, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	var msgs []string
	for err := range errs {
		msgs = append(msgs, err.Error())
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%s", strings.Join(msgs, "\n"))
	}
	return nil
}

func modulePath(name string) string { return filepath.Join(wasmDir, name+".wasm") }

// memHost is a runtime.Host with an in-memory store, scoped like the real
// one to one tenant and provider by the caller.
type memHost struct {
	mu      sync.Mutex
	store   map[string][]byte
	logs    []string
	refresh provider.Credentials
}

func newMemHost() *memHost { return &memHost{store: map[string][]byte{}} }

func (h *memHost) Refresh(context.Context) (provider.Credentials, error) { return h.refresh, nil }

func (h *memHost) StoreGet(_ context.Context, key string) ([]byte, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.store[key]
	return v, ok, nil
}

func (h *memHost) StorePut(_ context.Context, key string, value []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.store[key] = value
	return nil
}

func (h *memHost) Log(_ context.Context, level, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, level+": "+msg)
}

// wasmDirCache returns the compilation cache shared by the tests of one
// run. It lives inside wasmDir, so TestMain removes it with the modules:
// compiled pieces take hundreds of megabytes over a run.
func wasmDirCache() string { return filepath.Join(wasmDir, "cache") }
