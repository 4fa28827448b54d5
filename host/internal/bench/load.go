package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one HTTP request a load generator repeats.
type Request struct {
	Method string
	URL    string
	Header map[string]string
	Body   []byte
	// Want is the expected status (default 200).
	Want int
}

// client is shared by the load loops: keep-alive, enough idle connections
// for every worker.
var client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
	MaxIdleConns: 2048, MaxIdleConnsPerHost: 2048, IdleConnTimeout: time.Minute,
}}

// Do sends r once and returns its status and body.
func Do(ctx context.Context, r Request) (int, []byte, error) {
	var rd io.Reader
	if r.Body != nil {
		rd = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, rd)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Latencies holds the sorted latency of every request of a load loop.
type Latencies []time.Duration

// P returns the p-th percentile.
func (l Latencies) P(p float64) time.Duration { return Percentile(l, p) }

// Loop sends n requests (after warm warm-up requests) from workers
// concurrent workers and records every latency. Any unexpected status
// fails the loop.
func Loop(ctx context.Context, r Request, workers, warm, n int) (Latencies, error) {
	want := r.Want
	if want == 0 {
		want = http.StatusOK
	}
	check := func(st int, body []byte, err error) error {
		if err != nil {
			return err
		}
		if st != want {
			return fmt.Errorf("%s %s: status %d, want %d: %.300s", r.Method, r.URL, st, want, body)
		}
		return nil
	}
	for range warm {
		if err := check(Do(ctx, r)); err != nil {
			return nil, err
		}
	}
	out := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				start := time.Now()
				st, body, err := Do(ctx, r)
				out[i] = time.Since(start)
				if err := check(st, body, err); err != nil {
					once.Do(func() { firstErr = err })
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	slices.Sort(out)
	return out, nil
}

// Timed runs fn n times (after warm warm-up calls) from one goroutine and
// records every latency.
func Timed(warm, n int, fn func() error) (Latencies, error) {
	for range warm {
		if err := fn(); err != nil {
			return nil, err
		}
	}
	out := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		err := fn()
		out[i] = time.Since(start)
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	return out, nil
}

// WrkResult is what a wrk run reports.
type WrkResult struct {
	RPS      float64
	Requests int
	Errors   int // socket errors and non-2xx/3xx responses
}

var (
	wrkRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkTotal    = regexp.MustCompile(`(\d+) requests in`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	luaReplacer = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
)

// Wrk drives r with wrk (threads, connections, duration) and parses its
// summary. The request is described in a generated Lua script.
func (e *Env) Wrk(ctx context.Context, r Request, threads, conns int, d time.Duration) (WrkResult, error) {
	var res WrkResult
	path, err := exec.LookPath("wrk")
	if err != nil {
		return res, fmt.Errorf("wrk is not installed (Debian package wrk; scripts/deps.sh installs it): %w", err)
	}
	dir, err := e.TempDir()
	if err != nil {
		return res, err
	}
	var lua strings.Builder
	fmt.Fprintf(&lua, "wrk.method = \"%s\"\n", r.Method)
	if r.Body != nil {
		fmt.Fprintf(&lua, "wrk.body = \"%s\"\n", luaReplacer.Replace(string(r.Body)))
	}
	for k, v := range r.Header {
		fmt.Fprintf(&lua, "wrk.headers[\"%s\"] = \"%s\"\n", luaReplacer.Replace(k), luaReplacer.Replace(v))
	}
	script := filepath.Join(dir, "request.lua")
	if err := os.WriteFile(script, []byte(lua.String()), 0o600); err != nil {
		return res, err
	}
	cmd := exec.CommandContext(ctx, path, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", fmt.Sprintf("%ds", max(1, int(d.Seconds()))), "--timeout", "10s", "-s", script, r.URL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return res, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	m := wrkRPS.FindSubmatch(out)
	if m == nil {
		return res, fmt.Errorf("wrk: no Requests/sec in its output:\n%s", out)
	}
	res.RPS, _ = strconv.ParseFloat(string(m[1]), 64)
	if m := wrkTotal.FindSubmatch(out); m != nil {
		res.Requests, _ = strconv.Atoi(string(m[1]))
	}
	if m := wrkNon2xx.FindSubmatch(out); m != nil {
		n, _ := strconv.Atoi(string(m[1]))
		res.Errors += n
	}
	if m := wrkSocket.FindSubmatch(out); m != nil {
		for _, g := range m[1:] {
			n, _ := strconv.Atoi(string(g))
			res.Errors += n
		}
	}
	if res.Errors > 0 {
		return res, fmt.Errorf("wrk: %d of %d requests failed:\n%s", res.Errors, res.Requests, out)
	}
	return res, nil
}

// rps formats a throughput.
func rps(v float64) string { return fmt.Sprintf("%s req/s", thousands(int64(v+0.5))) }

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
