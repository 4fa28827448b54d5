package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/hosttest/ports"
	"github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/runtimes/native"
	"github.com/atomhq/atom/host/internal/vault"
)

// RSS returns a process's resident set size from /proc/<pid>/status.
func RSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// Children lists the live child processes of pid whose command line
// contains every one of substrs.
func Children(pid int, substrs ...string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: state ppid …
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[0] == "Z" || f[1] != strconv.Itoa(pid) {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		match := true
		for _, s := range substrs {
			match = match && strings.Contains(string(cmd), s)
		}
		if match {
			out = append(out, child)
		}
	}
	return out
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func memory(ctx context.Context, e *Env) ([]Row, error) {
	atom, err := e.Build("host/cmd/atom", false)
	if err != nil {
		return nil, err
	}
	stripe, err := e.Build("plugins/native/stripe", false)
	if err != nil {
		return nil, err
	}
	nbin, pwasm, err := e.benchFixtures()
	if err != nil {
		return nil, err
	}
	var rows []Row

	// The atom binary, idle, with the embedded catalog, a native plugin
	// and a piece in its plugin directory.
	data, err := e.TempDir()
	if err != nil {
		return nil, err
	}
	plugins, err := e.TempDir()
	if err != nil {
		return nil, err
	}
	for _, f := range [][3]string{{stripe, "atom-provider-stripe", "755"}, {pwasm, "benchpiece.wasm", "644"}} {
		mode, _ := strconv.ParseUint(f[2], 8, 32)
		if err := Install(f[0], plugins, f[1], os.FileMode(mode)); err != nil {
			return nil, err
		}
	}
	port, err := ports.Free()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	keys, err := vault.Generate("k1")
	if err != nil {
		return nil, err
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + data, "ATOM_ADDR=" + addr, "ATOM_DATA_DIR=" + data,
		"ATOM_ENCRYPTION_KEYS=" + keys, "ATOM_ADMIN_KEY=adm_" + ids.Random(16), "ATOM_PLUGIN_DIR=" + plugins,
		"ATOM_LOG_LEVEL=warn", "ATOM_BASE_URL=http://" + addr}
	logf, err := os.Create(filepath.Join(data, "atom.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	serve := func() (*exec.Cmd, func(), error) {
		cmd := exec.CommandContext(ctx, atom, "serve")
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			return nil, nil, err
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		}
		e.onClose(stop)
		if err := waitFor(60*time.Second, "atom serve to answer /readyz", func() bool {
			st, _, err := Do(ctx, Request{Method: "GET", URL: "http://" + addr + "/readyz"})
			return err == nil && st == http.StatusOK
		}); err != nil {
			b, _ := os.ReadFile(filepath.Join(data, "atom.log"))
			return nil, nil, fmt.Errorf("%w: %s", err, oneLine(string(b)))
		}
		return cmd, stop, nil
	}
	// The first start compiles the piece (interpreter first, the
	// optimizing compiler in the background); idle memory is measured on
	// the next start, with the compile cache warm, as a host runs after
	// its first boot.
	cmd, stop, err := serve()
	if err != nil {
		return nil, err
	}
	e.logf("memory: first start compiles the piece into the cache")
	if err := waitFor(5*time.Minute, "the piece's compiled code in the cache", func() bool {
		m, _ := filepath.Glob(filepath.Join(data, "wasm-cache", "atom-compiled", "*"))
		return len(m) > 0
	}); err != nil {
		return nil, err
	}
	stop()
	if cmd, _, err = serve(); err != nil {
		return nil, err
	}
	idle := 5 * time.Second
	if e.Opts.Quick {
		idle = time.Second
	}
	e.logf("memory: atom serve is up (pid %d); idling %s", cmd.Process.Pid, idle)
	time.Sleep(idle)
	rss, err := RSS(cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	rows = append(rows, Row{Name: "resident memory: atom serve idle", Ours: mb(rss), Goal: "≤ 150 MB", Met: rss <= 150<<20,
		Note: "embedded catalog, SQLite, Stripe native plugin and a Go piece in ATOM_PLUGIN_DIR; VmRSS on the second start (compile cache warm); the first start also holds the interpreter copy and the compiler's garbage while the piece compiles"})

	// Plugin processes of an in-process host with a short idle timeout.
	fake := newFakeUpstream(e)
	const idleTimeout = 2 * time.Second
	h, err := e.StartHost(ctx, HostOptions{
		Env:     map[string]string{"STRIPE_API_BASE_URL": fake.URL},
		Catalog: map[string]string{"stripe.json": stripeDescriptor, "benchecho.json": benchEchoDescriptor},
		Native:  func(c *native.Config) { c.IdleTimeout = idleTimeout },
		Prepare: func(dir string) error {
			if err := Install(stripe, dir, "atom-provider-stripe", 0o755); err != nil {
				return err
			}
			return Install(nbin, dir, "atom-provider-benchecho", 0o755)
		},
	})
	if err != nil {
		return rows, err
	}
	if _, err := h.H.Connect.ConnectCredentials(ctx, h.Tenant, "", "stripe", connect.CredentialsInput{APIKey: "sk_test_bench"}); err != nil {
		return rows, err
	}
	for _, p := range []struct{ id, action, name string }{{"stripe", "get_balance", "Stripe"}, {"benchecho", "echo", "bench echo"}} {
		if _, err := Loop(ctx, h.Exec(p.id, p.action, map[string]any{}), 1, 0, 200); err != nil {
			return rows, err
		}
		pids := Children(os.Getpid(), h.DataDir, p.id)
		if len(pids) != 1 {
			return rows, fmt.Errorf("%d processes of the %s plugin, want 1", len(pids), p.id)
		}
		rss, err := RSS(pids[0])
		if err != nil {
			return rows, err
		}
		rows = append(rows, Row{Name: "resident memory: native plugin process (" + p.name + ") after 200 calls", Ours: mb(rss),
			Goal: "≤ 30 MB", Met: rss <= 30<<20, Note: "VmRSS"})
		start := time.Now()
		err = waitFor(idleTimeout+30*time.Second, "the idle "+p.id+" plugin to stop", func() bool { return len(Children(os.Getpid(), h.DataDir, p.id)) == 0 })
		took := time.Since(start)
		stopped := err == nil
		ours := "still running after " + Fmt(took)
		if stopped {
			ours = "exited " + Fmt(took) + " after its last call"
		}
		rows = append(rows, Row{Name: "idle plugin stopped (" + p.name + ", idle timeout " + Fmt(idleTimeout) + ")", Ours: ours,
			Goal: "process exits", Met: stopped})
	}
	return rows, nil
}
