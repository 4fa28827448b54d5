package wasm

import (
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestColdPieceSwitchesToCompiledCode loads a module the compilation cache
// has never seen: it serves on the interpreter at once, switches to native
// code when the background compilation ends, without failing any of 8
// concurrent callers, and releases its interpreter instances. A runtime
// sharing the cache then loads it compiled directly.
func TestColdPieceSwitchesToCompiledCode(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	rt := testRuntime(t, Config{CacheDir: cache, PoolSize: 8})
	gate := make(chan struct{})
	rt.upgradeGate = gate
	var openGate sync.Once
	release := func() { openGate.Do(func() { close(gate) }) }
	t.Cleanup(release) // before rt.Close, which waits for the switch

	p := load(t, rt, "sandbox")
	if s := p.Stats(); s.Engine != EngineInterpreter {
		t.Fatalf("cold piece runs on %q", s.Engine)
	}

	callOK(t, p, "a", "echo", nil, nil)
	// Let the compiler finish undisturbed (8 busy callers on a small
	// machine would starve it); the switch itself stays held by the gate.
	for end := time.Now().Add(2 * time.Minute); !rt.haveCompiled(p.sum); {
		if time.Now().After(end) {
			t.Fatal("the background compilation did not finish")
		}
		time.Sleep(10 * time.Millisecond)
	}

	const callers = 8
	var okN, failN atomic.Int64
	perCaller := make([]atomic.Int64, callers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tenant := string(rune('a' + i))
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := call(t, p, tenant, "echo", map[string]string{"text": "x"}, nil)
				if err != nil || resp.Failed() {
					failN.Add(1)
					t.Errorf("caller %d: %v %+v", i, err, resp.Diagnostics)
					continue
				}
				okN.Add(1)
				perCaller[i].Add(1)
			}
		}()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if t.Failed() {
				close(stop)
				wg.Wait()
				t.Fatalf("gave up waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("every caller to be served on the interpreter", func() bool {
		for i := range perCaller {
			if perCaller[i].Load() == 0 {
				return false
			}
		}
		return true
	})
	if s := p.Stats(); s.Engine != EngineInterpreter {
		t.Fatalf("switched while the gate was closed: %+v", s)
	}
	onInterpreter := okN.Load()

	release()
	waitEngine(t, p, EngineCompiled)
	switched := okN.Load()
	waitFor("calls on compiled code", func() bool { return okN.Load() >= switched+3*callers })
	close(stop)
	wg.Wait()

	if failN.Load() != 0 {
		t.Fatalf("%d calls failed across the switch", failN.Load())
	}
	t.Logf("%d calls on the interpreter, %d in all", onInterpreter, okN.Load())
	p.mu.Lock()
	for _, inst := range p.idle {
		if inst.c.key.interp {
			t.Error("an interpreter instance is still pooled")
		}
	}
	for c, n := range p.live {
		if c.key.interp {
			t.Errorf("%d interpreter instances still live", n)
		}
	}
	p.mu.Unlock()
	rt.mu.Lock()
	for k := range rt.compiled {
		if k.interp {
			t.Error("the interpreter module was not released")
		}
	}
	rt.mu.Unlock()

	again := testRuntime(t, Config{CacheDir: cache})
	p2 := load(t, again, "sandbox")
	if s := p2.Stats(); s.Engine != EngineCompiled {
		t.Fatalf("cached module loads on %q", s.Engine)
	}
	callOK(t, p2, "a", "echo", nil, nil)
}
