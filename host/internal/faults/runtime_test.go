package faults

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// loadStats counts the outcomes of a load run.
type loadStats struct {
	ok       atomic.Int64
	mu       sync.Mutex
	failures map[int][]string
}

func (s *loadStats) fail(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures == nil {
		s.failures = map[int][]string{}
	}
	s.failures[status] = append(s.failures[status], body)
}

// load runs n clients executing provider/action as tn until stop closes.
func (h *host) load(tn tenant, n int, provider, action string, input map[string]any, stop <-chan struct{}) (*loadStats, *sync.WaitGroup) {
	st := &loadStats{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := h.try("POST", "/api/v1/integrations/"+provider+"/actions/"+action, tn.key, map[string]any{"input": input}, nil)
				switch {
				case err != nil:
					st.fail(-1, err.Error())
				case r.status != 200:
					st.fail(r.status, string(r.body))
				default:
					st.ok.Add(1)
				}
			}
		}()
	}
	return st, &wg
}

func runtimeHost(t *testing.T) (*host, tenant) {
	h := startHost(t, hostOpts{prepare: func(dir string) {
		install(t, echoBinary(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
		install(t, sandboxWasm(t, "1.0.0"), dir, "sandbox.wasm", 0o644)
	}})
	return h, h.newTenant("runtime")
}

// TestFaultNativePluginKilledUnderLoad kills the plugin process with
// SIGKILL while calls are in flight: only in-flight calls fail, with 502
// and a clear message; the host stays up and serves again.
func TestFaultNativePluginKilledUnderLoad(t *testing.T) {
	h, tn := runtimeHost(t)
	var first struct {
		Output struct{ PID int } `json:"output"`
	}
	h.must(h.exec(tn, "echo", "echo", map[string]any{}, nil), 200, &first)
	stop := make(chan struct{})
	st, wg := h.load(tn, 6, "echo", "sleep", map[string]any{"ms": 50}, stop)
	waitFor(t, 10*time.Second, "load", func() bool { return st.ok.Load() > 10 })
	if err := syscall.Kill(first.Output.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "echo serving again", func() bool {
		r, err := h.try("POST", "/api/v1/integrations/echo/actions/echo", tn.key, map[string]any{"input": map[string]any{}}, nil)
		return err == nil && r.status == 200 && !strings.Contains(string(r.body), `"pid":`+itoa(first.Output.PID)+`,`)
	})
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	for status, bodies := range st.failures {
		if status != http.StatusBadGateway {
			t.Fatalf("failure %d %q: only in-flight calls may fail, with 502", status, bodies[0])
		}
		for _, b := range bodies {
			if !strings.Contains(b, "plugin_unavailable") || !strings.Contains(b, "unavailable") {
				t.Fatalf("unclear 502: %s", b)
			}
		}
	}
	h.must(h.call("GET", "/healthz", "", nil, nil), 200, nil)
	t.Logf("%d ok, %d in-flight 502s", st.ok.Load(), len(st.failures[http.StatusBadGateway]))
}

func itoa(n int) string {
	b := []byte{}
	if n == 0 {
		return "0"
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// TestFaultWasmMisbehaviour runs an infinite loop, a memory bomb, a panic
// and a call to an undeclared host inside the sandbox piece while other
// tenants' calls to the same piece and to a native plugin keep running:
// each misbehaving call ends with a clear error; no other call fails.
func TestFaultWasmMisbehaviour(t *testing.T) {
	h, tn := runtimeHost(t)
	other := h.newTenant("bystander")
	stop := make(chan struct{})
	pieceLoad, wg1 := h.load(other, 3, "sandbox", "echo", map[string]any{"text": "hi"}, stop)
	nativeLoad, wg2 := h.load(other, 2, "echo", "echo", map[string]any{}, stop)
	cases := []struct {
		action string
		input  map[string]any
		status int
		want   string
	}{
		{"loop", map[string]any{}, http.StatusGatewayTimeout, "did not finish"},
		{"bomb", map[string]any{}, http.StatusBadGateway, "memory limit"},
		{"panic", map[string]any{}, http.StatusBadGateway, "boom"},
		{"http", map[string]any{"url": "https://undeclared.example/steal"}, http.StatusUnprocessableEntity, "undeclared.example"},
		{"http", map[string]any{"url": "http://169.254.169.254/latest/meta-data"}, http.StatusUnprocessableEntity, "169.254.169.254"},
	}
	for _, c := range cases {
		t.Run(c.action+" "+c.want, func(t *testing.T) {
			r := h.exec(tn, "sandbox", c.action, c.input, nil)
			code, msg := r.errorCode()
			if r.status < 400 || code == "" || !strings.Contains(strings.ToLower(string(r.body)), strings.ToLower(c.want)) {
				t.Fatalf("%d %s (code %q msg %q)", r.status, r.body, code, msg)
			}
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			// The piece still serves this tenant right after.
			h.must(h.exec(tn, "sandbox", "echo", map[string]any{"text": "after"}, nil), 200, nil)
		})
	}
	close(stop)
	wg1.Wait()
	wg2.Wait()
	if len(pieceLoad.failures) != 0 || len(nativeLoad.failures) != 0 || pieceLoad.ok.Load() == 0 {
		t.Fatalf("bystander calls failed: piece %v native %v", pieceLoad.failures, nativeLoad.failures)
	}
	t.Logf("bystanders: %d piece and %d native calls, 0 failed", pieceLoad.ok.Load(), nativeLoad.ok.Load())
}

// TestFaultReplaceUnderLoad replaces the native plugin and the wasm piece
// with new versions while both are under load: no request fails and the
// new versions serve afterwards.
func TestFaultReplaceUnderLoad(t *testing.T) {
	h, tn := runtimeHost(t)
	v2native, v2piece := echoBinary(t, "echo", "2.0.0"), sandboxWasm(t, "2.0.0")
	h.must(h.exec(tn, "echo", "echo", map[string]any{}, nil), 200, nil)
	h.must(h.exec(tn, "sandbox", "echo", map[string]any{}, nil), 200, nil)
	stop := make(chan struct{})
	nl, wg1 := h.load(tn, 4, "echo", "echo", map[string]any{}, stop)
	pl, wg2 := h.load(tn, 4, "sandbox", "echo", map[string]any{"text": "x"}, stop)
	time.Sleep(300 * time.Millisecond)
	install(t, v2native, h.plugins, "atom-provider-echo", 0o755)
	install(t, v2piece, h.plugins, "sandbox.wasm", 0o644)
	version := func(provider string, input map[string]any) string {
		var out struct {
			Output struct{ Version string } `json:"output"`
		}
		r := h.exec(tn, provider, "echo", input, nil)
		if r.status == 200 {
			r.json(t, &out)
		}
		return out.Output.Version
	}
	replaced := time.Now()
	waitFor(t, 30*time.Second, "both at 2.0.0", func() bool {
		return version("echo", map[string]any{}) == "2.0.0" && version("sandbox", map[string]any{"text": "v"}) == "2.0.0"
	})
	t.Logf("both new versions serving %s after the files were replaced", time.Since(replaced).Round(time.Millisecond))
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg1.Wait()
	wg2.Wait()
	if len(nl.failures) != 0 || len(pl.failures) != 0 {
		t.Fatalf("failed during replacement: native %v piece %v", nl.failures, pl.failures)
	}
	t.Logf("%d native and %d piece calls during replacement, 0 failed", nl.ok.Load(), pl.ok.Load())
}
