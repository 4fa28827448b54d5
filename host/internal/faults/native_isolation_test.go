package faults

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/runtimes/native"
)

// hostileBin builds the hostile native test plugin.
func hostileBin(t testing.TB) string {
	return testbin.Build(t, "host/internal/runtimes/native/testdata/hostile", "")
}

// nativeAttack is one attack the hostile plugin runs as a tenant.
type nativeAttack struct {
	name   string
	action string
	input  map[string]any
	// crashOK: the sandbox may stop the attack by ending the plugin's
	// process (a runtime that cannot get a thread or memory dies).
	crashOK bool
}

// TestAttackNativePluginIsolation runs a hostile native plugin, written
// with the public SDK, beside the well-behaved echo plugin on a host with
// plugin verification on. As two tenants it tries to read the host's
// environment and memory, the database file and keys in the data dir, to
// ptrace and signal the host and the echo plugin, to replace a plugin,
// the lock file or a private copy, and to exhaust processes, files and
// memory. Every attack must be refused while echo serves a concurrent
// load with no failure, and the plugin and data dirs must be unchanged.
func TestAttackNativePluginIsolation(t *testing.T) {
	if goruntime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skipf("plugin process isolation needs Linux and root (GOOS %s, euid %d)", goruntime.GOOS, os.Geteuid())
	}
	hostile := hostileBin(t)
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			h := startHost(t, hosttest.Options{Backend: backend, Verify: true, Prepare: func(dir string) {
				withPlugins(t)(dir)
				testbin.Install(t, hostile, dir, "atom-provider-hostile", 0o755)
				writeLock(t, dir)
			}})
			cfg := h.App.Config
			// Lay the directories out as a deployment would: the plugin
			// dir world-readable (0755) under a traversable parent, so
			// that only the sandbox's mounts keep it from the plugin.
			for _, d := range []string{filepath.Dir(cfg.PluginDir), cfg.PluginDir} {
				if err := os.Chmod(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			// A dev.keys beside the database, as the development setup
			// keeps it.
			devKeys := cfg.DevKeysPath()
			if err := os.WriteFile(devKeys, []byte("ATOM_ADMIN_KEY="+adminKey+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			tenants := []hosttest.Tenant{h.NewTenant("attacker-a"), h.NewTenant("attacker-b")}
			bystander := h.NewTenant("bystander")
			h.Must(h.Exec(bystander, "echo", "echo", map[string]any{}, nil), 200, nil)
			h.Must(h.Exec(tenants[0], "hostile", "signal", map[string]any{"pid": 0}, nil), 200, nil)

			pids := map[string]int{"host": os.Getpid()}
			var hostileUID, echoUID uint32
			for _, in := range h.Parts.Native.List() {
				switch in.ID {
				case "echo":
					pids["echo"], echoUID = in.PID, in.UID
				case "hostile":
					hostileUID = in.UID
				}
			}
			if pids["echo"] == 0 || hostileUID == 0 || echoUID == 0 || hostileUID == echoUID {
				t.Fatalf("plugins not isolated: %+v", h.Parts.Native.List())
			}
			before := snapshot(t, cfg.PluginDir, filepath.Join(cfg.DataDir, "plugins"), devKeys)

			stop := make(chan struct{})
			load, wg := h.Load(bystander, 4, "echo", "echo", map[string]any{"x": 1}, stop)
			hosttest.WaitFor(t, 10*time.Second, "echo load", func() bool { return load.OK() > 5 })

			cases := attackCases(t, cfg.DataDir, cfg.PluginDir, cfg.SQLitePath(), backend, devKeys, pids)
			// The echo plugin's go-plugin socket, in a directory of its uid.
			socks, _ := filepath.Glob(filepath.Join(os.TempDir(), "atom-plugin-*", "plugin*"))
			for _, s := range socks {
				if fi, err := os.Stat(filepath.Dir(s)); err == nil && fi.Sys().(*syscall.Stat_t).Uid == echoUID {
					cases = append(cases, nativeAttack{name: "dial echo's socket " + s, action: "dial", input: map[string]any{"path": s}},
						nativeAttack{name: "replace echo's socket " + s, action: "file", input: map[string]any{"op": "remove", "path": s}})
				}
			}
			if len(cases) == 0 || cases[len(cases)-1].action != "file" {
				t.Fatal("echo's socket not found")
			}
			n := 0
			for _, tn := range tenants {
				for _, c := range cases {
					n++
					r := h.Call("POST", "/api/v1/integrations/hostile/actions/"+c.action, tn.Key, map[string]any{"input": c.input}, nil)
					if r.Status == http.StatusBadGateway && c.crashOK {
						t.Logf("%s: the plugin process ended: %s", c.name, r.Body)
						continue
					}
					var out struct {
						Output struct {
							Managed bool   `json:"managed"`
							Detail  string `json:"detail"`
							UID     int    `json:"uid"`
						} `json:"output"`
					}
					h.Must(r, 200, &out)
					if out.Output.Managed || out.Output.UID != int(hostileUID) {
						t.Errorf("attack %s succeeded as uid %d: %s", c.name, out.Output.UID, out.Output.Detail)
					} else if testing.Verbose() {
						t.Logf("%s: refused: %s", c.name, out.Output.Detail)
					}
				}
			}
			close(stop)
			wg.Wait()
			if f := load.Failures(); len(f) != 0 || load.OK() == 0 {
				t.Fatalf("echo beside the hostile plugin: %d ok, failures %v", load.OK(), f)
			}
			if after := snapshot(t, cfg.PluginDir, filepath.Join(cfg.DataDir, "plugins"), devKeys); after != before {
				t.Fatalf("the plugin or data dir changed:\nbefore %s\nafter  %s", before, after)
			}
			// The hostile plugin still serves: the sandbox refused, it did
			// not just break the plugin.
			h.Must(h.Exec(tenants[0], "hostile", "signal", map[string]any{"pid": 0}, nil), 200, nil)
			if t.Failed() {
				return
			}
			t.Logf("attack plugins-native: %d cases on %s, 0 succeeded", n, backend)
		})
	}
}

// attackCases lists the attacks on one host.
func attackCases(t *testing.T, dataDir, pluginDir, sqlite, backend, devKeys string, pids map[string]int) []nativeAttack {
	t.Helper()
	glob := func(pattern string) string {
		m, _ := filepath.Glob(pattern)
		if len(m) == 0 {
			t.Fatalf("nothing matches %s", pattern)
		}
		return m[0]
	}
	binDir := filepath.Join(dataDir, "plugins", "bin")
	manifests := filepath.Join(dataDir, "plugins", "manifests")
	echoCopy := glob(filepath.Join(binDir, "atom-provider-echo-*"))
	ownCopy := glob(filepath.Join(binDir, "atom-provider-hostile-*"))
	lock := filepath.Join(pluginDir, "plugins.lock")
	var cs []nativeAttack
	file := func(op, path string) {
		cs = append(cs, nativeAttack{name: "file " + op + " " + path, action: "file", input: map[string]any{"op": op, "path": path}})
	}
	// Reading the host's data.
	reads := []string{devKeys, echoCopy, lock, filepath.Join(pluginDir, "atom-provider-echo")}
	if backend == "sqlite" {
		reads = append(reads, sqlite, sqlite+"-wal")
	}
	for _, p := range reads {
		file("read", p)
	}
	for _, d := range []string{dataDir, pluginDir, binDir, manifests} {
		file("list", d)
	}
	// Replacing a plugin, the lock file, a private copy or a cache.
	targets := []string{filepath.Join(pluginDir, "atom-provider-echo"), lock, echoCopy, ownCopy, devKeys,
		filepath.Join(pluginDir, "sandbox.wasm")}
	if backend == "sqlite" {
		targets = append(targets, sqlite)
	}
	for _, p := range targets {
		for _, op := range []string{"append", "truncate", "rename", "remove", "chmod"} {
			file(op, p)
		}
	}
	for _, p := range []string{filepath.Join(pluginDir, "atom-provider-stripe"), filepath.Join(pluginDir, ".install-stripe-1"),
		filepath.Join(binDir, "atom-provider-stripe-0123456789abcdef"), filepath.Join(manifests, strings.Repeat("0", 64)+".json"),
		filepath.Join(dataDir, "planted"), filepath.Join(pluginDir, "plugins.lock.tmp")} {
		file("create", p)
	}
	// The host's and the echo plugin's processes.
	for _, who := range []string{"host", "echo"} {
		pid := pids[who]
		for _, entry := range []string{"environ", "mem", "maps", "auxv", "fd", "cwd", "root" + dataDir, "root" + pluginDir} {
			cs = append(cs, nativeAttack{name: fmt.Sprintf("proc %s %s", who, entry), action: "proc", input: map[string]any{"pid": pid, "entry": entry}})
		}
		for _, op := range []string{"seize", "attach"} {
			cs = append(cs, nativeAttack{name: "ptrace " + op + " " + who, action: "ptrace", input: map[string]any{"pid": pid, "op": op}})
		}
		// Signals that do no harm if delivered, so a failure is reported
		// rather than killing the suite.
		for _, sig := range []syscall.Signal{0, syscall.SIGCONT, syscall.SIGWINCH, syscall.SIGURG, syscall.SIGCHLD} {
			cs = append(cs, nativeAttack{name: fmt.Sprintf("signal %d %s", sig, who), action: "signal", input: map[string]any{"pid": pid, "sig": int(sig)}})
		}
	}
	// Unmounting what hides the host's files, as root of a user
	// namespace of its own.
	unhide := []string{dataDir, pluginDir, binDir}
	if backend == "sqlite" {
		unhide = append(unhide, sqlite)
	}
	for _, p := range unhide {
		cs = append(cs, nativeAttack{name: "unhide " + p, action: "unhide", input: map[string]any{"path": p}})
	}
	// Resources.
	cs = append(cs,
		nativeAttack{name: "fork bomb", action: "fork_bomb", input: map[string]any{"n": native.DefaultMaxProcs + 200}, crashOK: true},
		nativeAttack{name: "open files", action: "open_files", input: map[string]any{"n": native.DefaultMaxOpenFiles + 500}, crashOK: true},
		nativeAttack{name: "allocate", action: "allocate", input: map[string]any{"n": 2 * native.DefaultMaxMemory}, crashOK: true},
	)
	return cs
}

// writeLock writes plugins.lock for every file in dir.
func writeLock(t testing.TB, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(sum[:]), e.Name())
	}
	if err := os.WriteFile(filepath.Join(dir, "plugins.lock"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapshot describes the files under dirs (name, mode, size, content
// hash).
func snapshot(t testing.TB, dirs ...string) string {
	t.Helper()
	var lines []string
	for _, d := range dirs {
		_ = filepath.Walk(d, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return nil
			}
			line := fmt.Sprintf("%s %v %d", p, fi.Mode(), fi.Size())
			if fi.Mode().IsRegular() {
				data, _ := os.ReadFile(p)
				sum := sha256.Sum256(data)
				line += " " + hex.EncodeToString(sum[:8])
			}
			lines = append(lines, line)
			return nil
		})
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestAttackPluginUpload uploads, with the admin key, binaries and pieces
// the lock file does not pin (a hostile plugin, a tampered or other build
// of echo, an unpinned piece) under first-party and new ids, on a host
// with verification on, and everything, pinned or not, on a host with
// uploads switched off. Each is refused with 403 before anything runs:
// the plugin and data dirs are unchanged, nothing new is listed, and echo
// keeps serving its pinned version.
func TestAttackPluginUpload(t *testing.T) {
	echoBin, err := os.ReadFile(testbin.Echo(t, "echo", "1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bodies := map[string][]byte{
		"hostile":       read(hostileBin(t)),
		"echo-2.0.0":    read(testbin.Echo(t, "echo", "2.0.0")),
		"echo-tampered": append(append([]byte{}, echoBin...), "tampered"...),
		"piece":         read(sandboxWasm(t, "9.9.9")),
	}
	ids := []string{"echo", "stripe", "hostile", "sandbox", "newcomer"}
	for _, backend := range backends() {
		for _, uploadOff := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/upload-off=%v", backend, uploadOff), func(t *testing.T) {
				h := startHost(t, hosttest.Options{Backend: backend, Verify: true, Prepare: func(dir string) {
					withPlugins(t)(dir)
					writeLock(t, dir)
				}})
				if uploadOff {
					h.Parts.Admin.SetUploadOff(true)
				}
				tn := h.NewTenant("bystander")
				h.Must(h.Exec(tn, "echo", "echo", map[string]any{}, nil), 200, nil)
				cfg := h.App.Config
				before := snapshot(t, cfg.PluginDir, filepath.Join(cfg.DataDir, "plugins"))
				listed := len(h.Parts.Native.List())
				stop := make(chan struct{})
				load, wg := h.Load(tn, 2, "echo", "echo", map[string]any{}, stop)

				wantCode := "plugin_not_pinned"
				if uploadOff {
					wantCode = "plugin_upload_disabled"
					// Even the pinned binary: uploads are off.
					bodies["echo-pinned"] = echoBin
				}
				n := 0
				for _, id := range ids {
					for name, body := range bodies {
						n++
						r := h.Call("PUT", "/api/v1/admin/plugins/"+id, h.AdminKey, body, map[string]string{"Content-Type": "application/octet-stream"})
						code, msg := r.ErrorCode()
						if r.Status != http.StatusForbidden || code != wantCode || !strings.Contains(msg, "plugins.lock") {
							t.Errorf("upload %s as %s: %d %s", name, id, r.Status, r.Body)
						}
					}
				}
				delete(bodies, "echo-pinned")
				close(stop)
				wg.Wait()
				if f := load.Failures(); len(f) != 0 || load.OK() == 0 {
					t.Fatalf("echo during the uploads: %d ok, failures %v", load.OK(), f)
				}
				if after := snapshot(t, cfg.PluginDir, filepath.Join(cfg.DataDir, "plugins")); after != before {
					t.Fatalf("a refused upload changed the plugin or data dir:\nbefore %s\nafter  %s", before, after)
				}
				if got := len(h.Parts.Native.List()); got != listed {
					t.Fatalf("%d native plugins listed after the uploads, %d before", got, listed)
				}
				var out struct {
					Output struct{ Version string } `json:"output"`
				}
				h.Must(h.Exec(tn, "echo", "echo", map[string]any{}, nil), 200, &out)
				if out.Output.Version != "1.0.0" {
					t.Fatalf("echo serves %q after the uploads", out.Output.Version)
				}
				if !uploadOff {
					// The pinned binary installs: verification refuses what
					// the operator did not pin, not uploads.
					h.Must(h.Call("PUT", "/api/v1/admin/plugins/echo", h.AdminKey, echoBin, nil), 200, nil)
				}
				if t.Failed() {
					return
				}
				t.Logf("attack plugin-upload: %d cases on %s, 0 succeeded", n, backend)
			})
		}
	}
}
