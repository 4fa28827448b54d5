package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/sdk/provider"
)

// pollLog is the fake provider of the benchpoll plugin: it answers
// GET /poll?tag= with an empty list and records when each tag was polled.
type pollLog struct {
	mu sync.Mutex
	at map[string][]time.Time
}

func (p *pollLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	tag := r.URL.Query().Get("tag")
	p.mu.Lock()
	p.at[tag] = append(p.at[tag], now)
	p.mu.Unlock()
	_, _ = w.Write([]byte("[]"))
}

// cpuTime is the CPU time (user + system) of this process (the in-process
// replicas) and of its child processes (their plugin processes), read
// from /proc.
func cpuTime() (self, children time.Duration) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	me := os.Getpid()
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fs := strings.Fields(s[i+1:])
		if len(fs) < 13 {
			continue
		}
		if ppid, _ := strconv.Atoi(fs[1]); ppid != me {
			continue
		}
		ut, _ := strconv.ParseInt(fs[11], 10, 64)
		st, _ := strconv.ParseInt(fs[12], 10, 64)
		children += time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ 100
	}
	return self, children
}

// triggerPoll runs polling trigger instances across two replicas on one
// PostgreSQL database and checks from the fake's log that every instance
// is polled once per interval (never twice, none skipped), for a growing
// number of instances.
func triggerPoll(ctx context.Context, e *Env) ([]Row, error) {
	sizes, interval, intervals := []int{1000, 5000, 10000}, 20*time.Second, 3
	if e.Opts.Quick {
		sizes, interval, intervals = []int{50}, 10*time.Second, 2
	}
	if v := os.Getenv("ATOM_BENCH_POLL_SIZES"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("ATOM_BENCH_POLL_SIZES=%q: want counts separated by commas", v)
			}
			sizes = append(sizes, n)
		}
	}
	var rows []Row
	for _, n := range sizes {
		iv, k := interval, intervals
		if n > 10000 && !e.Opts.Quick {
			// A realistic interval for many instances: 100,000 every
			// 5 minutes is 333 polls/s; 1 interval of warm-up, 2 measured.
			iv, k = 5*time.Minute, 2
		}
		if v := os.Getenv("ATOM_BENCH_POLL_INTERVAL"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Second {
				return nil, fmt.Errorf("ATOM_BENCH_POLL_INTERVAL=%q: want a duration of at least 1s", v)
			}
			iv = d
		}
		r, err := pollRun(ctx, e, n, iv, k)
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func pollRun(ctx context.Context, e *Env, n int, interval time.Duration, intervals int) (Row, error) {
	bin, err := e.Build("host/internal/bench/testdata/benchpoll", false)
	if err != nil {
		return Row{}, err
	}
	log := &pollLog{at: map[string][]time.Time{}}
	fake, err := e.serve(log)
	if err != nil {
		return Row{}, err
	}
	db, err := e.NewDatabase(ctx)
	if err != nil {
		return Row{}, err
	}
	iv := strconv.Itoa(int(interval / time.Second))
	env := map[string]string{"ATOM_TRIGGER_MIN_INTERVAL": iv + "s", "ATOM_TRIGGER_DEFAULT_INTERVAL": iv + "s",
		"ATOM_TRIGGER_PROVIDER_RATE": "100000"}
	desc := `{"id":"benchpoll","name":"Bench poll","categories":["development"],"auth":{"kind":"api_key","credential_fields":["apiKey"]},
		"api":{"base_url":"` + fake + `"},"implementations":["native"],"connectable":true}`
	keys, err := vault.Generate("k1")
	if err != nil {
		return Row{}, err
	}
	var hosts []*Host
	for i := range 2 {
		h, err := e.StartHost(ctx, HostOptions{DB: db, Keys: keys, Env: env, NoTenant: i > 0,
			Catalog: map[string]string{"benchpoll.json": desc},
			Prepare: func(dir string) error { return Install(bin, dir, plugindir.NativePrefix+"benchpoll", 0o755) }})
		if err != nil {
			return Row{}, err
		}
		hosts = append(hosts, h)
	}
	a := hosts[0]
	// Instances go straight into the store (a REST call each would take
	// longer than the run), at most 1,000 per tenant as the API allows,
	// one multi-row INSERT per tenant, first polls spread over the first
	// interval.
	created := time.Now()
	start := created.Add(5*time.Second + time.Duration(n/2000)*time.Second)
	for t := 0; t*1000 < n; t++ {
		tenant, key, err := a.NewTenant(ctx, fmt.Sprintf("poll%d", t))
		if err != nil {
			return Row{}, err
		}
		var conn struct {
			ID string `json:"id"`
		}
		if err := a.call(ctx, "POST", "/api/v1/connections/benchpoll", key, map[string]any{"api_key": "sk_bench"}, &conn); err != nil {
			return Row{}, err
		}
		var idv, inputv []string
		var nextv []time.Time
		for i := t * 1000; i < min(n, (t+1)*1000); i++ {
			idv = append(idv, ids.New("trg"))
			inputv = append(inputv, `{"tag":"`+strconv.Itoa(i)+`"}`)
			nextv = append(nextv, start.Add(time.Duration(rand.Int64N(int64(interval)))))
		}
		err = a.H.Store.InTenant(ctx, tenant, func(tx store.Tx) error {
			nt, ok := tx.(store.NativeTx)
			if !ok {
				return errors.New("the store's transactions expose no database transaction")
			}
			ptx, ok := nt.Native().(pgx.Tx)
			if !ok {
				return fmt.Errorf("a %T transaction, not PostgreSQL's", nt.Native())
			}
			_, err := ptx.Exec(ctx, `INSERT INTO trigger_instances (id, tenant_id, connection_id, provider, trigger_name, kind, input, deliver,
				status, interval_seconds, next_poll_at, created_at, updated_at)
				SELECT u.id, $1, $2, 'benchpoll', 'tick', $3, u.input::jsonb, true, $4, $5, u.next, $6, $6
				FROM unnest($7::text[], $8::text[], $9::timestamptz[]) AS u(id, input, next)`,
				tenant, conn.ID, provider.TriggerPolling, store.TriggerActive, int(interval/time.Second), created, idv, inputv, nextv)
			return err
		})
		if err != nil {
			return Row{}, err
		}
	}
	setup := time.Since(created)
	// Warm-up: one interval after the first polls are due, then measure.
	if err := sleepCtx(ctx, max(0, time.Until(start))+interval); err != nil {
		return Row{}, err
	}
	self0, kids0 := cpuTime()
	pg0 := pgCPU(ctx, db.Name)
	m0 := time.Now()
	if err := sleepCtx(ctx, time.Duration(intervals)*interval); err != nil {
		return Row{}, err
	}
	m1 := time.Now()
	self1, kids1 := cpuTime()
	var pgUsed time.Duration
	for pid, c := range pgCPU(ctx, db.Name) {
		pgUsed += c - pg0[pid]
	}
	// Per instance: polls in [m0, m1), and gaps between its polls.
	log.mu.Lock()
	defer log.mu.Unlock()
	var counts []int
	twice, late, never := 0, 0, 0
	var maxGap time.Duration
	for i := range n {
		ts := log.at[strconv.Itoa(i)]
		c := 0
		for j, at := range ts {
			if at.Before(m0) || !at.Before(m1) {
				continue
			}
			c++
			if j > 0 {
				gap := at.Sub(ts[j-1])
				maxGap = max(maxGap, gap)
				switch {
				case gap < interval*9/10:
					twice++
				case gap > interval*3/2:
					late++
				}
			}
		}
		if c == 0 {
			never++
		}
		counts = append(counts, c)
	}
	slices.Sort(counts)
	window := m1.Sub(m0)
	per := float64(n) * window.Seconds() / interval.Seconds() / 1.05 // expected polls, jitter up to +10%
	total := 0
	for _, c := range counts {
		total += c
	}
	cpuPer := func(d time.Duration) string {
		return fmt.Sprintf("%.2f s", d.Seconds()/float64(intervals))
	}
	ok := twice == 0 && never == 0 && late == 0
	return Row{Name: fmt.Sprintf("%s polling instances, 2 replicas on one PG, every %s", thousands(int64(n)), interval),
		Ours:     fmt.Sprintf("%d–%d polls/instance in %d intervals", counts[0], counts[len(counts)-1], intervals),
		Baseline: fmt.Sprintf("%.0f polls expected", per),
		Goal:     "each once per interval", Met: ok,
		Note: fmt.Sprintf("%d polls (%.0f/s); %d polls < 0.9 interval after the previous (twice in one interval), %d gaps > 1.5 intervals, %d instances never polled; longest gap %.2f intervals; CPU per interval: hosts %s, plugin processes %s, PostgreSQL backends of the database %s (of %s wall; %.2f, %.2f and %.2f of a core); instances created in %s",
			total, float64(total)/window.Seconds(), twice, late, never, float64(maxGap)/float64(interval), cpuPer(self1-self0), cpuPer(kids1-kids0), cpuPer(pgUsed), interval,
			(self1-self0).Seconds()/window.Seconds(), (kids1-kids0).Seconds()/window.Seconds(), pgUsed.Seconds()/window.Seconds(), setup.Round(10*time.Millisecond))}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pgCPU is the CPU time (user + system) of each PostgreSQL backend
// serving database name, by process id, read from /proc (PostgreSQL on
// this machine; empty otherwise).
func pgCPU(ctx context.Context, name string) map[int]time.Duration {
	out := map[int]time.Duration{}
	conn, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return out
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1`, name)
	if err != nil {
		return out
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return out
	}
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		st := string(b)
		i := strings.LastIndexByte(st, ')')
		if i < 0 {
			continue
		}
		fs := strings.Fields(st[i+1:])
		if len(fs) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(fs[11], 10, 64)
		sy, _ := strconv.ParseInt(fs[12], 10, 64)
		out[int(pid)] = time.Duration(ut+sy) * 10 * time.Millisecond
	}
	return out
}
