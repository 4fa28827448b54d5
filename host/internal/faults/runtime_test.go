package faults

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
)

func runtimeHost(t *testing.T) (*host, hosttest.Tenant) {
	h := startHost(t, hosttest.Options{Prepare: withPlugins(t)})
	return h, h.NewTenant("runtime")
}

// TestFaultNativePluginKilledUnderLoad kills the plugin process with
// SIGKILL while calls are in flight: only in-flight calls fail, with 502
// and a clear message; the host stays up and serves again.
func TestFaultNativePluginKilledUnderLoad(t *testing.T) {
	h, tn := runtimeHost(t)
	var first struct {
		Output struct{ PID int } `json:"output"`
	}
	h.Must(h.Exec(tn, "echo", "echo", map[string]any{}, nil), 200, &first)
	stop := make(chan struct{})
	st, wg := h.Load(tn, 6, "echo", "sleep", map[string]any{"ms": 50}, stop)
	hosttest.WaitFor(t, 10*time.Second, "load", func() bool { return st.OK() > 10 })
	if err := syscall.Kill(first.Output.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	hosttest.WaitFor(t, 15*time.Second, "echo serving again", func() bool {
		r, err := h.Try("POST", "/api/v1/integrations/echo/actions/echo", tn.Key, map[string]any{"input": map[string]any{}}, nil)
		return err == nil && r.Status == 200 && !strings.Contains(string(r.Body), `"pid":`+itoa(first.Output.PID)+`,`)
	})
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	for status, bodies := range st.Failures() {
		if status != http.StatusBadGateway {
			t.Fatalf("failure %d %q: only in-flight calls may fail, with 502", status, bodies[0])
		}
		for _, b := range bodies {
			if !strings.Contains(b, "plugin_unavailable") || !strings.Contains(b, "unavailable") {
				t.Fatalf("unclear 502: %s", b)
			}
		}
	}
	h.Must(h.Call("GET", "/healthz", "", nil, nil), 200, nil)
	t.Logf("%d ok, %d in-flight 502s", st.OK(), len(st.Failures()[http.StatusBadGateway]))
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
	other := h.NewTenant("bystander")
	stop := make(chan struct{})
	pieceLoad, wg1 := h.Load(other, 3, "sandbox", "echo", map[string]any{"text": "hi"}, stop)
	nativeLoad, wg2 := h.Load(other, 2, "echo", "echo", map[string]any{}, stop)
	cases := []struct {
		action string
		input  map[string]any
		status int
		want   string
	}{
		{"loop", map[string]any{}, http.StatusGatewayTimeout, "did not finish within 2s"},
		{"bomb", map[string]any{}, http.StatusBadGateway, "memory limit"},
		{"panic", map[string]any{}, http.StatusBadGateway, "boom"},
		{"http", map[string]any{"url": "https://undeclared.example/steal"}, http.StatusUnprocessableEntity, "undeclared.example"},
		{"http", map[string]any{"url": "http://169.254.169.254/latest/meta-data"}, http.StatusUnprocessableEntity, "169.254.169.254"},
	}
	for _, c := range cases {
		t.Run(c.action+" "+c.want, func(t *testing.T) {
			r := h.Exec(tn, "sandbox", c.action, c.input, nil)
			code, msg := r.ErrorCode()
			if r.Status < 400 || code == "" || !strings.Contains(strings.ToLower(string(r.Body)), strings.ToLower(c.want)) {
				t.Fatalf("%d %s (code %q msg %q)", r.Status, r.Body, code, msg)
			}
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			// The piece still serves this tenant right after.
			h.Must(h.Exec(tn, "sandbox", "echo", map[string]any{"text": "after"}, nil), 200, nil)
		})
	}
	close(stop)
	wg1.Wait()
	wg2.Wait()
	if len(pieceLoad.Failures()) != 0 || len(nativeLoad.Failures()) != 0 || pieceLoad.OK() == 0 {
		t.Fatalf("bystander calls failed: piece %v native %v", pieceLoad.Failures(), nativeLoad.Failures())
	}
	t.Logf("bystanders: %d piece and %d native calls, 0 failed", pieceLoad.OK(), nativeLoad.OK())
}

// TestFaultReplaceUnderLoad replaces the native plugin and the wasm piece
// with new versions while both are under load: no request fails and the
// new versions serve afterwards.
func TestFaultReplaceUnderLoad(t *testing.T) {
	h, tn := runtimeHost(t)
	v2native, v2piece := testbin.Echo(t, "echo", "2.0.0"), sandboxWasm(t, "2.0.0")
	h.Must(h.Exec(tn, "echo", "echo", map[string]any{}, nil), 200, nil)
	h.Must(h.Exec(tn, "sandbox", "echo", map[string]any{}, nil), 200, nil)
	stop := make(chan struct{})
	nl, wg1 := h.Load(tn, 4, "echo", "echo", map[string]any{}, stop)
	pl, wg2 := h.Load(tn, 4, "sandbox", "echo", map[string]any{"text": "x"}, stop)
	time.Sleep(300 * time.Millisecond)
	testbin.Install(t, v2native, h.Plugins, "atom-provider-echo", 0o755)
	testbin.Install(t, v2piece, h.Plugins, "sandbox.wasm", 0o644)
	version := func(provider string, input map[string]any) string {
		var out struct {
			Output struct{ Version string } `json:"output"`
		}
		r := h.Exec(tn, provider, "echo", input, nil)
		if r.Status == 200 {
			r.JSON(t, &out)
		}
		return out.Output.Version
	}
	replaced := time.Now()
	hosttest.WaitFor(t, 30*time.Second, "both at 2.0.0", func() bool {
		return version("echo", map[string]any{}) == "2.0.0" && version("sandbox", map[string]any{"text": "v"}) == "2.0.0"
	})
	t.Logf("both new versions serving %s after the files were replaced", time.Since(replaced).Round(time.Millisecond))
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg1.Wait()
	wg2.Wait()
	if len(nl.Failures()) != 0 || len(pl.Failures()) != 0 {
		t.Fatalf("failed during replacement: native %v piece %v", nl.Failures(), pl.Failures())
	}
	t.Logf("%d native and %d piece calls during replacement, 0 failed", nl.OK(), pl.OK())
}
