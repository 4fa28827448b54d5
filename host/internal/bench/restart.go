package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest/ports"
	"github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/vault"
)

// restart measures what a client sees while `atom serve` restarts: the
// binary with every shipped native plugin in ATOM_PLUGIN_DIR, on SQLite
// and on PostgreSQL, is stopped (SIGTERM, waiting for it to exit) and
// started again while one client sends Stripe get_balance calls back to
// back. The downtime is the time from the last success before the stop
// to the first success after it; every request between failed (refused,
// 5xx) or waited.
func restart(ctx context.Context, e *Env) ([]Row, error) {
	atom, err := e.Build("host/cmd/atom", false)
	if err != nil {
		return nil, err
	}
	natives, err := e.buildNatives(ctx)
	if err != nil {
		return nil, err
	}
	fake := newFakeUpstream(e)
	rounds := 5
	if e.Opts.Quick {
		rounds = 2
	}
	var rows []Row
	for _, backend := range []string{"sqlite", "postgres"} {
		gaps, fails, err := e.restartRounds(ctx, atom, natives, fake.URL, backend, rounds)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", backend, err)
		}
		worst := gaps[len(gaps)-1]
		rows = append(rows, Row{Name: fmt.Sprintf("restart downtime, atom serve with %d native plugins, %s: median of %d restarts (last success → first success)", len(natives), backend, rounds),
			Ours: Fmt(Percentile(gaps, 50)), Goal: "≤ 1 s", Met: Percentile(gaps, 50) <= time.Second,
			Note: fmt.Sprintf("worst %s; %d failed requests over the %d restarts; SIGTERM, wait for exit, start again; one client, back to back", Fmt(worst), fails, rounds)})
	}
	return rows, nil
}

// buildNatives builds every shipped native plugin (plugins/native/*) in
// one go build and returns the binaries by plugin id.
func (e *Env) buildNatives(ctx context.Context) (map[string]string, error) {
	out, err := e.TempDir()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out+"/", "./plugins/native/...")
	cmd.Dir = e.Opts.Root
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the native plugins: %v\n%s", err, b)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return nil, err
	}
	bins := map[string]string{}
	for _, en := range entries {
		bins[en.Name()] = filepath.Join(out, en.Name())
	}
	if len(bins) == 0 {
		return nil, fmt.Errorf("no native plugin built in %s", out)
	}
	return bins, nil
}

func (e *Env) restartRounds(ctx context.Context, atom string, natives map[string]string, upstream, backend string, rounds int) (Latencies, int, error) {
	data, err := e.TempDir()
	if err != nil {
		return nil, 0, err
	}
	plugins, err := e.TempDir()
	if err != nil {
		return nil, 0, err
	}
	for id, bin := range natives {
		if err := Install(bin, plugins, "atom-provider-"+id, 0o755); err != nil {
			return nil, 0, err
		}
	}
	port, err := ports.Free()
	if err != nil {
		return nil, 0, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	keys, err := vault.Generate("k1")
	if err != nil {
		return nil, 0, err
	}
	admin := "adm_" + ids.Random(16)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + data, "ATOM_ADDR=" + addr, "ATOM_DATA_DIR=" + data,
		"ATOM_ENCRYPTION_KEYS=" + keys, "ATOM_ADMIN_KEY=" + admin, "ATOM_PLUGIN_DIR=" + plugins,
		"ATOM_LOG_LEVEL=warn", "ATOM_BASE_URL=http://" + addr, "ATOM_ALLOW_PRIVATE_HOSTS=127.0.0.1",
		"STRIPE_API_BASE_URL=" + upstream}
	if backend == "postgres" {
		db, err := e.NewDatabase(ctx)
		if err != nil {
			return nil, 0, err
		}
		env = append(env, "ATOM_DATABASE_URL="+db.AppURL, "ATOM_MIGRATE_DATABASE_URL="+db.OwnerURL)
	}
	logf, err := os.Create(filepath.Join(data, "atom.log"))
	if err != nil {
		return nil, 0, err
	}
	defer logf.Close()
	base := "http://" + addr
	start := func() (func(), error) {
		cmd := exec.CommandContext(ctx, atom, "serve")
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		var once sync.Once
		stop := func() {
			once.Do(func() {
				cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(30 * time.Second):
					cmd.Process.Kill()
					<-exited
				}
			})
		}
		e.onClose(stop)
		return stop, nil
	}
	stop, err := start()
	if err != nil {
		return nil, 0, err
	}
	if err := waitFor(5*time.Minute, "atom serve to answer /readyz", func() bool {
		st, _, err := Do(ctx, Request{Method: "GET", URL: base + "/readyz"})
		return err == nil && st == http.StatusOK
	}); err != nil {
		b, _ := os.ReadFile(filepath.Join(data, "atom.log"))
		return nil, 0, fmt.Errorf("%w: %s", err, oneLine(string(b)))
	}
	h := &Host{URL: base, Admin: admin}
	_, key, err := h.NewTenant(ctx, "restart")
	if err != nil {
		return nil, 0, err
	}
	st, body, err := Do(ctx, Request{Method: "POST", URL: base + "/api/v1/connections/stripe", Body: []byte(`{"api_key":"sk_test_bench"}`),
		Header: map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}})
	if err != nil || st != http.StatusCreated {
		return nil, 0, fmt.Errorf("connect stripe: %d %s %v", st, body, err)
	}
	call := Request{Method: "POST", URL: base + "/api/v1/integrations/stripe/actions/get_balance", Body: []byte(`{"input":{}}`),
		Header: map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}}
	ok := func() bool {
		st, body, err := Do(ctx, call)
		return err == nil && st == http.StatusOK && strings.Contains(string(body), `"available"`)
	}
	if !ok() {
		st, body, err := Do(ctx, call)
		return nil, 0, fmt.Errorf("get_balance before any restart: %d %.300s %v", st, body, err)
	}

	var gaps Latencies
	fails := 0
	for r := range rounds {
		// One client sends back to back while the host stops and starts
		// again beside it. The downtime is the longest time between two
		// successes, the last of them served by the new process.
		var startedAt, termAt time.Time
		restarted := make(chan struct{})
		go func() {
			time.Sleep(200 * time.Millisecond)
			termAt = time.Now()
			stop()
			var err error
			stop, err = start()
			if err != nil {
				e.logf("restart: start: %v", err)
			}
			startedAt = time.Now()
			close(restarted)
		}()
		prev := time.Now()
		var longest time.Duration
		deadline := time.Now().Add(5 * time.Minute)
		served := false
		for !served && time.Now().Before(deadline) {
			success := ok()
			done := time.Now()
			if !success {
				fails++
				continue
			}
			longest = max(longest, done.Sub(prev))
			prev = done
			select {
			case <-restarted:
				served = done.After(startedAt)
			default:
			}
		}
		<-restarted
		if !served {
			return gaps, fails, fmt.Errorf("round %d: no success within 5 minutes of the restart", r)
		}
		e.logf("restart %s round %d: %s from the last success to the first success (stop took %s, first success %s after the new process started)",
			backend, r, Fmt(longest), Fmt(startedAt.Sub(termAt)), Fmt(prev.Sub(startedAt)))
		gaps = append(gaps, longest)
	}
	stop()
	slices.Sort(gaps)
	return gaps, fails, nil
}
