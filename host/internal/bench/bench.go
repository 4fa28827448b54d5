// Package bench is the harness behind `make bench`: it starts real hosts
// (in process through app.New with the execution engine's hook, or the
// atom binary), real plugin processes, real wasm modules, local fakes of
// provider APIs and fresh PostgreSQL databases on loopback, measures each
// scenario against a direct baseline taken in the same run, and renders
// one Markdown table with the goal of every row.
//
// Latency is measured with an in-process load loop that records every
// request's latency; throughput with wrk (a separate process) driving
// POST requests through a Lua script.
package bench

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Row is one line of the report.
type Row struct {
	// Scenario is the id -only selects ("rest-native").
	Scenario string
	// Name says what is measured.
	Name string
	// Ours is our figure; Baseline the direct figure beside it ("" when
	// the row has none).
	Ours, Baseline string
	// Goal is the target; Met reports whether Ours reached it.
	Goal string
	Met  bool
	// Note qualifies the figure (optional).
	Note string
}

// Options configure a run.
type Options struct {
	// Root is the repository root (builds run there).
	Root string
	// Log receives one progress line per step (default io.Discard).
	Log io.Writer
	// Quick shrinks every scenario (fewer requests, fewer rows, shorter
	// wrk runs) for the package's own tests.
	Quick bool
	// WrkDuration is how long each wrk run lasts (default 10s).
	WrkDuration time.Duration
	// Backend is the database of the in-process REST hosts: "postgres"
	// (default) or "sqlite".
	Backend string
}

// Scenario is one measured setup.
type Scenario struct {
	ID   string
	What string
	Run  func(ctx context.Context, e *Env) ([]Row, error)
}

// Scenarios lists every scenario in report order.
func Scenarios() []Scenario {
	return []Scenario{
		{"rest-native", "REST → native plugin (Stripe) → fake upstream vs the fake called directly", restNative},
		{"rest-native-sqlite", "the same on the embedded SQLite store", onSQLite(restNative)},
		{"native-egress", "native plugin → upstream: dialing itself, via a unix-socket proxy, via the brokered Host.HTTP call", nativeEgress},
		{"wasm", "REST → wasm piece (pooled) vs REST → native plugin, same echo work", wasmVsNative},
		{"generic", "REST → generic custom_api_call → fake vs the fake called directly", genericCall},
		{"generic-sqlite", "the same on the embedded SQLite store", onSQLite(genericCall)},
		{"hotload", "new plugin / piece file in ATOM_PLUGIN_DIR → first successful call", hotLoad},
		{"storm", "1,000 concurrent calls on an expired token over 2 replicas on one Postgres", refreshStorm},
		{"lookup", "token lookup with 1,000,000 connections in Postgres (RLS on)", tokenLookup},
		{"restart", "atom serve restarted under a client calling a native plugin back to back: downtime", restart},
		{"trigger-webhook", "signed provider webhook → trigger (native plugin) → signed delivery to the tenant's endpoint, on PostgreSQL", triggerWebhook},
		{"trigger-poll", "polling trigger instances across 2 replicas on one PostgreSQL: each polled once per interval, scheduler CPU", triggerPoll},
		{"memory", "resident memory of the idle host and of plugin processes; idle stop", memory},
	}
}

// onSQLite runs a scenario with the embedded SQLite store, whatever the
// run's backend.
func onSQLite(run func(context.Context, *Env) ([]Row, error)) func(context.Context, *Env) ([]Row, error) {
	return func(ctx context.Context, e *Env) ([]Row, error) {
		saved := e.Opts.Backend
		e.Opts.Backend = "sqlite"
		defer func() { e.Opts.Backend = saved }()
		return run(ctx, e)
	}
}

// Env is the shared state of a run: options, cached builds and cleanups.
type Env struct {
	Opts Options
	mu   sync.Mutex
	tmp  string
	done map[string]string
	// cleanups run in reverse order by Close.
	cleanups []func()
}

// NewEnv prepares a run.
func NewEnv(opts Options) (*Env, error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.WrkDuration <= 0 {
		opts.WrkDuration = 10 * time.Second
	}
	if opts.Backend == "" {
		opts.Backend = "postgres"
	}
	if opts.Root == "" {
		return nil, errors.New("bench: Options.Root is required")
	}
	tmp, err := os.MkdirTemp("", "atom-bench-")
	if err != nil {
		return nil, err
	}
	return &Env{Opts: opts, tmp: tmp, done: map[string]string{}}, nil
}

// Close runs the cleanups and removes temporary files.
func (e *Env) Close() {
	e.cleanupFrom(0)
	os.RemoveAll(e.tmp)
}

// cleanupFrom runs, newest first, the cleanups registered after the first
// n: what one scenario started (hosts, databases, servers) ends with it,
// so that the next one does not find the database's connection slots
// taken by hosts nobody calls any more.
func (e *Env) cleanupFrom(n int) {
	e.mu.Lock()
	var cs []func()
	if n < len(e.cleanups) {
		cs = slices.Clone(e.cleanups[n:])
		e.cleanups = e.cleanups[:n]
	}
	e.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

func (e *Env) cleanupCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.cleanups)
}

// defer registers fn to run at Close.
func (e *Env) onClose(fn func()) {
	e.mu.Lock()
	e.cleanups = append(e.cleanups, fn)
	e.mu.Unlock()
}

// logf prints a progress line.
func (e *Env) logf(format string, args ...any) {
	fmt.Fprintf(e.Opts.Log, "bench: "+format+"\n", args...)
}

// TempDir returns a new directory removed at Close.
func (e *Env) TempDir() (string, error) {
	return os.MkdirTemp(e.tmp, "d")
}

// Build compiles a package of the repository once per run and returns the
// binary's path; wasm builds a WASI reactor.
func (e *Env) Build(pkg string, wasm bool) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := fmt.Sprintf("%s|%t", pkg, wasm)
	if p, ok := e.done[key]; ok {
		return p, nil
	}
	out := filepath.Join(e.tmp, "build-"+strings.NewReplacer("/", "_", ".", "_").Replace(pkg))
	args := []string{"build", "-trimpath", "-o", out}
	if wasm {
		out += ".wasm"
		args = []string{"build", "-trimpath", "-buildmode=c-shared", "-o", out}
	} else {
		args = append(args, "-ldflags", "-s -w")
	}
	args = append(args, "./"+pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = e.Opts.Root
	cmd.Env = os.Environ()
	if wasm {
		cmd.Env = append(cmd.Env, "GOOS=wasip1", "GOARCH=wasm")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	e.done[key] = out
	return out, nil
}

// Install copies a file into dir as name through a rename, so watchers see
// it complete.
func Install(src, dir, name string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

// Run runs the scenarios whose ids are in only (all when empty) and
// returns their rows. A failing scenario yields a row that says so and
// the run goes on.
func Run(ctx context.Context, opts Options, only []string) ([]Row, error) {
	e, err := NewEnv(opts)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	known := map[string]bool{}
	for _, s := range Scenarios() {
		known[s.ID] = true
	}
	for _, id := range only {
		if !known[id] {
			return nil, fmt.Errorf("bench: unknown scenario %q", id)
		}
	}
	var rows []Row
	for _, s := range Scenarios() {
		if len(only) > 0 && !slices.Contains(only, s.ID) {
			continue
		}
		start := time.Now()
		e.logf("%s: %s", s.ID, s.What)
		mark := e.cleanupCount()
		got, err := s.Run(ctx, e)
		e.cleanupFrom(mark)
		if err != nil {
			e.logf("%s: FAILED after %s: %v", s.ID, time.Since(start).Round(time.Millisecond), err)
			got = append(got, Row{Scenario: s.ID, Name: s.What, Ours: "failed", Goal: "runs", Note: oneLine(err.Error())})
		} else {
			e.logf("%s: done in %s", s.ID, time.Since(start).Round(time.Millisecond))
		}
		for _, r := range got {
			r.Scenario = s.ID
			e.logf("  %-60s ours %-14s baseline %-14s goal %-12s %s", r.Name, r.Ours, r.Baseline, r.Goal, metWord(r))
			rows = append(rows, r)
		}
	}
	return rows, nil
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func metWord(r Row) string {
	switch {
	case r.Goal == "":
		return "—"
	case r.Met:
		return "met"
	}
	return "missed"
}

// Analysis is the standing explanation of the goals the report misses,
// appended after the table.
//
//go:embed analysis.md
var Analysis string

// Markdown renders the report.
func Markdown(rows []Row, header string) string {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("| Scenario | Ours | Direct baseline (same run) | Goal | Result | Reproduce |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range rows {
		name := r.Name
		if r.Note != "" {
			name += " <br><sub>" + strings.ReplaceAll(r.Note, "|", "\\|") + "</sub>"
		}
		base := r.Baseline
		if base == "" {
			base = "—"
		}
		goal := r.Goal
		if goal == "" {
			goal = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | `go run ./host/internal/bench/cmd/benchreport -only %s` |\n",
			name, r.Ours, base, goal, metWord(r), r.Scenario)
	}
	return b.String()
}

// Percentile returns the p-th percentile (0–100) of sorted samples
// (nearest rank).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	i = max(0, min(len(sorted)-1, i))
	return sorted[i]
}

// Fmt formats a duration for the table: µs below a millisecond, ms with
// two decimals below a second.
func Fmt(d time.Duration) string {
	switch {
	case d < 0:
		return "−" + Fmt(-d)
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}
