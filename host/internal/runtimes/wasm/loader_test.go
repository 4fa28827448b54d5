package wasm

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// install copies module name into dir as file, atomically (write then
// rename), as a deployment would.
func install(t *testing.T, dir, name, file string) {
	t.Helper()
	b, err := os.ReadFile(modulePath(name))
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, ".tmp-"+file)
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, file)); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 600 {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestHotReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "sandbox", "sandbox.wasm")
	rt := testRuntime(t, Config{})
	var adds, removes atomic.Int32
	l, err := NewLoader(rt, dir, func(id string, h *Handle) { adds.Add(1) }, func(id string) { removes.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h, ok := l.Handle("sandbox")
	if !ok || adds.Load() != 1 {
		t.Fatalf("sandbox not loaded (adds %d)", adds.Load())
	}
	version := func() string {
		out := callOK(t, h, "t", "echo", nil, nil)
		v, _ := out["version"].(string)
		return v
	}

	var okN, failN atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tenant := string(rune('a' + g))
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := call(t, h, tenant, "echo", map[string]string{"text": "x"}, nil)
				if err != nil || resp.Failed() {
					failN.Add(1)
					t.Logf("call failed: %v %+v", err, resp.Diagnostics)
					continue
				}
				okN.Add(1)
			}
		}()
	}
	for i, want := range []string{"2.0.0", "1.0.0", "2.0.0"} {
		name := "sandbox"
		if want == "2.0.0" {
			name = "sandbox-v2"
		}
		install(t, dir, name, "sandbox.wasm")
		waitFor(t, "version "+want, func() bool { return version() == want })
		if got := adds.Load(); got < int32(i+2) {
			t.Fatalf("onAdd called %d times", got)
		}
	}
	close(stop)
	wg.Wait()
	if failN.Load() != 0 || okN.Load() == 0 {
		t.Fatalf("%d calls ok, %d failed", okN.Load(), failN.Load())
	}
	t.Logf("%d calls during 3 reloads, 0 failed", okN.Load())

	if err := os.Remove(filepath.Join(dir, "sandbox.wasm")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "removal", func() bool { return removes.Load() == 1 })
	if _, ok := l.Handle("sandbox"); ok {
		t.Fatal("handle still registered after removal")
	}
}

func TestLoaderKeepsOldVersionWhenNewIsBroken(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "sandbox", "sandbox.wasm")
	rt := testRuntime(t, Config{})
	l, err := NewLoader(rt, dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h, _ := l.Handle("sandbox")
	old := h.Current()
	if err := os.WriteFile(filepath.Join(dir, "sandbox.wasm"), []byte("\x00asm garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * reloadDelay)
	if h.Current() != old {
		t.Fatal("broken module replaced the working one")
	}
	callOK(t, h, "t", "echo", nil, nil)
}

// TestStartLoaderLoadsInBackground: StartLoader returns before the
// directory's pieces compile, registers them when they have, and Close
// waits for a load in progress.
func TestStartLoaderLoadsInBackground(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "sandbox", "sandbox.wasm")
	rt := testRuntime(t, Config{})
	var adds atomic.Int32
	l, err := StartLoader(rt, dir, func(id string, h *Handle) { adds.Add(1) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "background load", func() bool { return adds.Load() == 1 })
	h, ok := l.Handle("sandbox")
	if !ok {
		t.Fatal("sandbox not registered")
	}
	callOK(t, h, "t", "echo", nil, nil)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Closing right away does not leave a load running.
	l2, err := StartLoader(rt, dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
}
