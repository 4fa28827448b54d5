//go:build linux

package native

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/runtimes"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("plugin isolation needs root (euid %d)", os.Geteuid())
	}
}

// procStatus reads /proc/<pid>/status as a map.
func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		out[k] = strings.Join(strings.Fields(v), " ")
	}
	return out
}

// TestSandboxedProcess looks at running plugin processes from the host:
// each runs as its own uid and gid with no supplementary groups, with
// no_new_privs, in its own PID, mount, IPC and UTS namespaces, under the
// rlimits, with its socket directory private to its uid; the host is not
// dumpable.
func TestSandboxedProcess(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	testbin.Install(t, testbin.Echo(t, "other", "1.0.0"), dir, "atom-provider-other", 0o755)
	m, _ := newManager(t, dir, func(c *Config) { c.Isolation.MaxProcs = 300 })
	uids := map[uint32]bool{}
	for _, id := range []string{"echo", "other"} {
		impl, ok := m.Get(id)
		if !ok {
			t.Fatalf("%s not loaded: %+v", id, m.List())
		}
		out := echo(t, impl)
		in := info(m, id)
		if in.PID == 0 || in.PID != out.PID || in.UID < DefaultUIDBase {
			t.Fatalf("%s: info %+v, echo says pid %d", id, in, out.PID)
		}
		uids[in.UID] = true
		st := procStatus(t, in.PID)
		u := strconv.Itoa(int(in.UID))
		if st["Uid"] != strings.Repeat(u+" ", 3)+u || st["Gid"] != strings.Repeat(u+" ", 3)+u || st["Groups"] != "" {
			t.Errorf("%s: Uid %q Gid %q Groups %q, want all %s and no groups", id, st["Uid"], st["Gid"], st["Groups"], u)
		}
		if st["NoNewPrivs"] != "1" || len(strings.Fields(st["NSpid"])) != 2 || !strings.HasSuffix(st["NSpid"], " 1") {
			t.Errorf("%s: NoNewPrivs %q NSpid %q", id, st["NoNewPrivs"], st["NSpid"])
		}
		for _, ns := range []string{"pid", "mnt", "ipc", "uts"} {
			mine, _ := os.Readlink("/proc/self/ns/" + ns)
			theirs, err := os.Readlink("/proc/" + strconv.Itoa(in.PID) + "/ns/" + ns)
			if err != nil || mine == theirs {
				t.Errorf("%s: %s namespace %q is the host's %q (%v)", id, ns, theirs, mine, err)
			}
		}
		limits, err := os.ReadFile("/proc/" + strconv.Itoa(in.PID) + "/limits")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"Max core file size        0                    0",
			"Max data size             " + strconv.Itoa(DefaultMaxMemory),
			"Max processes             300                  300",
			"Max open files            " + strconv.Itoa(DefaultMaxOpenFiles),
			"Max file size             " + strconv.Itoa(DefaultMaxFileSize),
		} {
			if !strings.Contains(string(limits), want) {
				t.Errorf("%s: limits lack %q:\n%s", id, want, limits)
			}
		}
		// The data and plugin directories are empty, unreadable mounts
		// in the plugin's view.
		for _, p := range []string{m.cfg.DataDir, m.cfg.Dir} {
			var fs unix.Statfs_t
			if err := unix.Statfs("/proc/"+strconv.Itoa(in.PID)+"/root"+p, &fs); err != nil || fs.Type != unix.TMPFS_MAGIC {
				t.Errorf("%s: %s is not hidden in the plugin's mount namespace (type %x, %v)", id, p, fs.Type, err)
			}
		}
		v := impl.(*Plugin).cur.Load()
		v.mu.Lock()
		sock := v.proc.sockDir
		v.mu.Unlock()
		fi, err := os.Stat(sock)
		if err != nil || fi.Mode().Perm() != 0o700 || fi.Sys().(*syscall.Stat_t).Uid != in.UID {
			t.Errorf("%s: socket dir %s: %v %v", id, sock, fi.Mode(), err)
		}
	}
	if len(uids) != 2 {
		t.Fatalf("two plugins share a uid: %v", uids)
	}
	if d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0); err != nil || d != 0 {
		t.Fatalf("host dumpable = %d (%v)", d, err)
	}
}

// TestSandboxExecutesOnlyTheHashedBytes replaces the private copy behind
// the manager's back (as root; no plugin can): the sandbox's init step
// hashes the descriptor it would execute and refuses to start it.
func TestSandboxExecutesOnlyTheHashedBytes(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m, logs := newManager(t, dir, func(c *Config) { c.IdleTimeout = 100 * time.Millisecond })
	impl, _ := m.Get("echo")
	echo(t, impl)
	waitFor(t, "idle stop", func() bool { return info(m, "echo").State == StateIdle })
	bin := impl.(*Plugin).cur.Load().bin
	other, err := os.ReadFile(testbin.Echo(t, "echo", "6.6.6"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin+".new", other, 0o555); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(bin+".new", bin); err != nil {
		t.Fatal(err)
	}
	_, err = call(t, impl, "echo", nil, nil)
	if !errors.Is(err, runtimes.ErrUnavailable) || !strings.Contains(err.Error(), "plugin sandbox: verify the plugin binary") {
		t.Fatalf("a replaced private copy started: %v\n%s", err, logs)
	}
}

// TestIsolationPolicy: where isolation is unavailable, required refuses to
// start, auto refuses plugins (saying how to opt out) unless unisolated
// runs are allowed (the development setup), and off runs them.
func TestIsolationPolicy(t *testing.T) {
	defer func(f func() (bool, string)) { isolationCheck = f }(isolationCheck)
	isolationCheck = func() (bool, string) { return false, "not root" }
	dir := t.TempDir()
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)

	if _, err := NewManager(Config{Dir: dir, DataDir: t.TempDir(), Isolation: Isolation{Mode: IsolationRequired}}); err == nil || !strings.Contains(err.Error(), "not root") {
		t.Fatalf("required without isolation: %v", err)
	}
	m, _ := newManager(t, dir, nil)
	if in := info(m, "echo"); in.State != StateRefused || !strings.Contains(in.LastError, "ATOM_PLUGIN_ISOLATION=off") {
		t.Fatalf("auto without isolation: %+v", in)
	}
	if err := m.Install("echo2", strings.NewReader("x")); !errors.Is(err, ErrRefused) {
		t.Fatalf("install without isolation: %v", err)
	}
	for _, mod := range []func(*Config){
		func(c *Config) { c.Isolation.AllowUnisolated = true },
		func(c *Config) { c.Isolation.Mode = IsolationOff },
	} {
		m, logs := newManager(t, dir, mod)
		impl, ok := m.Get("echo")
		if !ok {
			t.Fatalf("not served: %+v", m.List())
		}
		echo(t, impl)
		if in := info(m, "echo"); in.UID != 0 || !strings.Contains(strings.ToLower(logs.String()), "isolation") {
			t.Fatalf("unisolated run without a warning: %+v\n%s", in, logs)
		}
	}
}
