package faults

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/engine"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/runtimes/wasm"
)

const hostilePkg = "host/internal/runtimes/wasm/testdata/hostile"

// hostileWasm builds the hostile test piece with its manifest declaring id
// and behaving as mode ("" well-behaved, flip, hang, inithang,
// bigmanifest).
func hostileWasm(t testing.TB, id, mode string) string {
	flags := "-X main.id=" + id
	if mode != "" {
		flags += " -X main.mode=" + mode
	}
	if mode == "flip" {
		flags += " -X main.alt=sandbox"
	}
	if mode == "bigmanifest" {
		flags += " -X main.size=2097152"
	}
	return testbin.BuildWasm(t, hostilePkg, flags)
}

// hostileFiles are the hostile modules installed beside the echo plugin
// and the sandbox piece: file name → (declared id, mode).
var hostileFiles = map[string][2]string{
	"yy-stripe.wasm":           {"stripe", ""},           // claims another provider's id
	"echo.wasm":                {"echo", ""},             // claims the loaded native plugin's id
	"hostile-flip.wasm":        {"hostile-flip", "flip"}, // later manifests claim "sandbox"
	"hostile-hang.wasm":        {"hostile-hang", "hang"},
	"hostile-inithang.wasm":    {"hostile-inithang", "inithang"},
	"hostile-bigmanifest.wasm": {"hostile-bigmanifest", "bigmanifest"},
	"hostile.wasm":             {"hostile", ""}, // loads; its actions attack
}

// attackCounter counts one class's cases and the ones that got through.
type attackCounter struct {
	class     string
	cases, ok atomic.Int64
}

func (a *attackCounter) check(t *testing.T, succeeded bool, format string, args ...any) {
	t.Helper()
	a.cases.Add(1)
	if succeeded {
		a.ok.Add(1)
		t.Errorf("attack %s succeeded: %s", a.class, fmt.Sprintf(format, args...))
	}
}

func (a *attackCounter) log(t *testing.T, backend string) {
	t.Logf("attack %s: %d cases on %s, %d succeeded", a.class, a.cases.Load(), backend, a.ok.Load())
}

// TestAttackPiecesWasm installs hostile pieces beside the echo plugin and
// the sandbox piece and attacks through them: ids of other providers
// (by file and by admin upload), manifests that change, never return or
// are oversized, oversized outputs, store floods, a tenant whose slow
// calls would starve others, and private hosts granted to another piece.
// Every attack is refused or contained while other tenants' calls to the
// sandbox piece and the native plugin keep succeeding.
func TestAttackPiecesWasm(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) { attackPieces(t, backend) })
	}
}

func attackPieces(t *testing.T, backend string) {
	h := startHost(t, hosttest.Options{
		Backend: backend,
		Prepare: func(dir string) {
			withPlugins(t)(dir)
			for file, v := range hostileFiles {
				testbin.Install(t, hostileWasm(t, v[0], v[1]), dir, file, 0o644)
			}
		},
		Wasm: func(c *wasm.Config) {
			c.LoadTimeout = 4 * time.Second // 16 s for a cold module on the interpreter
			c.CallTimeout = time.Minute
			c.MaxOutputBytes = 2 << 20
			c.PoolSize = 4
			c.TenantPoolSize = 2
		},
		StoreQuota: engine.StoreQuota{MaxKeys: 50, MaxBytes: 64 << 10},
	})
	tenants := []hosttest.Tenant{h.NewTenant("mallory"), h.NewTenant("trudy"), h.NewTenant("eve")}
	bystander := h.NewTenant("bystander")
	stop := make(chan struct{})
	pieceLoad, wg1 := h.Load(bystander, 2, "sandbox", "echo", map[string]any{"text": "hi"}, stop)
	nativeLoad, wg2 := h.Load(bystander, 1, "echo", "echo", map[string]any{}, stop)

	type route struct {
		name string
		path func(provider, action string) string
	}
	routes := []route{
		{"rest", func(p, a string) string { return "/api/v1/integrations/" + p + "/actions/" + a }},
		{"pieces", func(p, a string) string { return "/api/v1/pieces/" + p + "/actions/" + a }},
	}
	run := func(tn hosttest.Tenant, r route, provider, action string, input any) hosttest.Response {
		return h.Call("POST", r.path(provider, action), tn.Key, map[string]any{"input": input}, nil)
	}
	counters := []*attackCounter{}
	counter := func(class string) *attackCounter {
		a := &attackCounter{class: class}
		counters = append(counters, a)
		return a
	}

	// Identity: no hostile module serves another provider's id, nor an id
	// whose manifest or module never answered. Actions only the hostile
	// module has resolve nowhere but in it.
	identity := counter("plugins-wasm")
	for _, id := range []string{"stripe", "echo", "sandbox", "hostile-hang", "hostile-inithang", "hostile-bigmanifest", "yy-stripe"} {
		for _, action := range []string{"manifest_calls", "big", "flood", "logflood"} {
			for _, r := range routes {
				for _, tn := range tenants {
					res := run(tn, r, id, action, map[string]any{"mib": 1, "keys": 1, "bytes": 1, "lines": 1})
					code, _ := res.ErrorCode()
					identity.check(t, res.Status < 400 || code == "", "%s %s/%s as %s: %d %s", r.name, id, action, tn.ID, res.Status, res.Body)
				}
			}
		}
	}
	// The admin API names each refused file and why.
	var list struct {
		Plugins []pluginEntry `json:"plugins"`
	}
	h.Must(h.Call("GET", "/api/v1/admin/plugins", h.AdminKey, nil, nil), 200, &list)
	wantRefused := map[string]string{
		"yy-stripe": "must be named <id>.wasm", "echo": "native plugin", "hostile-hang": "did not return",
		"hostile-inithang": "did not return", "hostile-bigmanifest": "size limit",
	}
	for id, why := range wantRefused {
		found := false
		for _, p := range list.Plugins {
			if p.ID == id && p.Kind == "piece" {
				found = p.State == "refused" && strings.Contains(p.LastError, why)
			}
		}
		identity.check(t, !found, "admin list does not show piece %s refused for %q: %+v", id, why, list.Plugins)
	}
	for _, p := range list.Plugins {
		if p.ID == "hostile-flip" && p.State != "loaded" {
			t.Fatalf("the flipping piece did not load under its own id: %+v", p)
		}
	}
	// Admin uploads: a module declaring another id than the route, or the
	// id of the native plugin, or whose manifest never returns, is refused;
	// a good upload right after is served.
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	stripe, echo, hang := read(hostileWasm(t, "stripe", "")), read(hostileWasm(t, "echo", "")), read(hostileWasm(t, "hostile-hang", "hang"))
	uploads := []struct {
		id   string
		body []byte
		want string
	}{
		{"yy-stripe", stripe, "stripe"}, {"stripe-pay", stripe, "stripe"}, {"sandbox", stripe, "stripe"},
		{"echo", echo, "native plugin"}, {"hostile-hang", hang, "did not return"},
		{"sandbox", read(hostileWasm(t, "hostile-flip", "flip")), "hostile-flip"},
	}
	for _, u := range uploads {
		res := h.Call("PUT", "/api/v1/admin/plugins/"+u.id, h.AdminKey, u.body, nil)
		code, msg := res.ErrorCode()
		identity.check(t, res.Status != http.StatusUnprocessableEntity || code != "plugin_refused" || !strings.Contains(msg, u.want),
			"upload as %s: %d %s", u.id, res.Status, res.Body)
	}
	h.Must(h.Call("PUT", "/api/v1/admin/plugins/hostile", h.AdminKey, read(hostileWasm(t, "hostile", "")), nil), 200, nil)
	h.Must(h.Exec(tenants[0], "sandbox", "echo", map[string]any{"text": "still sandbox"}, nil), 200, nil)

	// Oversized output: refused by size, before the host holds it.
	output := counter("plugins-wasm")
	for _, mib := range []int{3, 4, 8, 12} {
		for _, r := range routes {
			for _, tn := range tenants {
				res := run(tn, r, "hostile", "big", map[string]any{"mib": mib})
				code, msg := res.ErrorCode()
				output.check(t, res.Status != http.StatusBadGateway || code == "" || !(strings.Contains(msg, "size limit") || strings.Contains(msg, "memory limit")),
					"%d MiB output via %s: %d %.300s", mib, r.name, res.Status, res.Body)
			}
		}
	}

	// Store flood: the quota (50 keys, 64 KiB per tenant) and the value
	// size (1 MiB) hold, for each tenant separately.
	flood := counter("plugins-wasm")
	floods := []struct {
		keys, bytes, max int
	}{{60, 10, 50}, {12, 20000, 3}, {3, 2 << 20, 0}, {300, 1 << 10, 50}}
	for _, f := range floods {
		for _, r := range routes {
			for _, tn := range tenants {
				var out struct{ Output struct{ Stored, Status int } }
				res := run(tn, r, "hostile", "flood", map[string]any{"keys": f.keys, "bytes": f.bytes})
				if res.Status != 200 {
					t.Fatalf("flood: %d %s", res.Status, res.Body)
				}
				res.JSON(t, &out)
				flood.check(t, out.Output.Stored > f.max || out.Output.Status == 0, "flood %d × %d B via %s stored %d (status %d)",
					f.keys, f.bytes, r.name, out.Output.Stored, out.Output.Status)
			}
		}
	}

	// Private hosts: the loopback allowance of the test host is not
	// granted to this piece; the fake provider and the host itself are out
	// of its reach.
	private := counter("plugins-wasm")
	for _, u := range []string{h.fake.URL + "/api/x", h.URL + "/healthz", "http://127.0.0.1:1/"} {
		for _, r := range routes {
			for _, tn := range tenants {
				res := run(tn, r, "hostile", "http", map[string]any{"url": u})
				private.check(t, res.Status != 200 || strings.Contains(string(res.Body), "http_status") || !strings.Contains(string(res.Body), "host_not_allowed"),
					"GET %s via %s: %d %s", u, r.name, res.Status, res.Body)
			}
		}
	}

	// Pool starvation: tenant A's calls that only sleep hold two of the
	// four instances; B's and C's calls all complete while all of A's are
	// still in flight.
	starve := counter("plugins-wasm")
	hd, ok := h.Parts.Loader.Handle("hostile")
	if !ok {
		t.Fatal("hostile piece not loaded")
	}
	slow := tenants[0]
	var aReturned atomic.Int32
	var aWG sync.WaitGroup
	for range 6 {
		aWG.Add(1)
		go func() {
			defer aWG.Done()
			_, _ = h.Try("POST", routes[0].path("hostile", "sleep"), slow.Key, map[string]any{"input": map[string]any{}}, nil)
			aReturned.Add(1)
		}()
	}
	hosttest.WaitFor(t, 30*time.Second, "tenant A's slow calls", func() bool { return hd.Current().InFlight(slow.ID) == 2 })
	var bWG sync.WaitGroup
	for _, tn := range tenants[1:] {
		for range 2 {
			bWG.Add(1)
			go func() {
				defer bWG.Done()
				for range 5 {
					res, err := h.Try("POST", routes[1].path("hostile", "echo"), tn.Key, map[string]any{"input": map[string]any{}}, nil)
					starve.check(t, err != nil || res.Status != 200 || aReturned.Load() != 0, "call of %s while A is slow: %v %d %s (A returned %d)",
						tn.ID, err, res.Status, res.Body, aReturned.Load())
				}
			}()
		}
	}
	bWG.Wait()
	starve.check(t, hd.Current().InFlight(slow.ID) != 2, "A's calls in flight: %d", hd.Current().InFlight(slow.ID))
	aWG.Wait()

	close(stop)
	wg1.Wait()
	wg2.Wait()
	if len(pieceLoad.Failures()) != 0 || len(nativeLoad.Failures()) != 0 || pieceLoad.OK() == 0 || nativeLoad.OK() == 0 {
		t.Fatalf("well-behaved calls failed: piece %v native %v", pieceLoad.Failures(), nativeLoad.Failures())
	}
	total := &attackCounter{class: "plugins-wasm"}
	for _, c := range counters {
		total.cases.Add(c.cases.Load())
		total.ok.Add(c.ok.Load())
	}
	total.log(t, backend)
	t.Logf("bystanders: %d sandbox piece and %d native calls, 0 failed", pieceLoad.OK(), nativeLoad.OK())
}

// pluginEntry is one entry of GET /admin/plugins.
type pluginEntry struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	State     string `json:"state"`
	LastError string `json:"last_error"`
}
