package faults

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/ports"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
)

// The durability suite runs `atom serve` as a separate process (so it can
// be killed with SIGKILL) on a database the test controls, calls a
// counting upstream through the generic custom_api_call action, and
// checks after each fault that every acknowledged execution reached a
// terminal state, none was lost, and no at-most-once execution called the
// upstream twice.

// counter is an upstream that counts calls per path and can be slowed.
type counter struct {
	srv   *http.Server
	url   string
	mu    sync.Mutex
	hits  map[string]int
	delay atomic.Int64 // nanoseconds
	live  atomic.Int64 // calls in flight
}

func newCounter(t *testing.T) *counter {
	c := &counter{hits: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.url = "http://" + ln.Addr().String()
	c.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.hits[r.URL.Path]++
		c.mu.Unlock()
		c.live.Add(1)
		time.Sleep(time.Duration(c.delay.Load()))
		c.live.Add(-1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	})}
	go c.srv.Serve(ln)
	t.Cleanup(func() { c.srv.Close() })
	return c
}

func (c *counter) calls(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits[path]
}

// durEnv is one host's configuration: its data dir, database and port
// stay the same across restarts.
type durEnv struct {
	t       *testing.T
	backend string
	bin     string
	dir     string
	port    int
	env     []string
	pg      *privatePG
	sqlite  string // the SQLite file
	up      *counter
	fake    *fakeprovider.Server
	adminDB func() *pgx.Conn
}

const durAdminKey = "adm_durability_suite_key_0123456789"

func newDurEnv(t *testing.T, backend string) *durEnv {
	t.Helper()
	d := &durEnv{t: t, backend: backend, bin: testbin.Build(t, "host/cmd/atom", ""), dir: t.TempDir(), up: newCounter(t)}
	// Access tokens live 2 s and every refresh rotates the refresh token
	// (the old one is then invalid), so refreshes run all through the load.
	d.fake = fakeprovider.New(t, fakeprovider.Quirks{ExpiresIn: 2, RotateRefresh: true})
	d.port = ports.Must(t)
	catalog := filepath.Join(d.dir, "catalog")
	os.MkdirAll(catalog, 0o755)
	os.WriteFile(filepath.Join(catalog, "counter.json"), []byte(`{"id":"counter","name":"Counter","categories":["development"],
 "auth":{"kind":"none"},"api":{"base_url":"`+d.up.url+`"},"implementations":["generic"],"connectable":true}`), 0o644)
	os.WriteFile(filepath.Join(catalog, "fakeoauth.json"), []byte(`{"id":"fakeoauth","name":"fakeoauth","categories":["development"],
 "auth":{"kind":"oauth2","authorization_url":"`+d.fake.URL+`/oauth/authorize","token_url":"`+d.fake.URL+`/oauth/token","scopes":["read"]},
 "api":{"base_url":"`+d.fake.URL+`/api"},"implementations":["generic"],"connectable":true}`), 0o644)
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	d.env = []string{
		"ATOM_DATA_DIR=" + filepath.Join(d.dir, "data"), "ATOM_ENCRYPTION_KEYS=k1:" + key, "ATOM_ADMIN_KEY=" + durAdminKey,
		"ATOM_CATALOG_DIR=" + catalog, "ATOM_PLUGIN_DIR=" + filepath.Join(d.dir, "plugins"), "ATOM_ALLOW_PRIVATE_HOSTS=127.0.0.1",
		"ATOM_LOG_LEVEL=warn", "ATOM_BASE_URL=" + fmt.Sprintf("http://127.0.0.1:%d", d.port),
		"ATOM_TENANT_RATE_LIMIT=0", "ATOM_RATE_LIMIT=-1", "ATOM_PLUGIN_ISOLATION=off",
		"ATOM_EXECUTION_TIMEOUT=3s", "ATOM_EXECUTION_RECORD_RETRY=3s", "ATOM_EXECUTION_RECONCILE_INTERVAL=1s",
		"FAKEOAUTH_CLIENT_ID=" + d.fake.ClientID, "FAKEOAUTH_CLIENT_SECRET=" + d.fake.ClientSecret,
	}
	switch backend {
	case "sqlite":
		d.sqlite = filepath.Join(d.dir, "data", "atom.db")
		d.env = append(d.env, "ATOM_DATABASE_URL=sqlite://"+d.sqlite)
	case "postgres":
		d.pg = startPrivatePG(t)
		d.pg.createAtomDB(t)
		d.env = append(d.env, "ATOM_DATABASE_URL="+d.pg.url("atom_app", "atom"), "ATOM_MIGRATE_DATABASE_URL="+d.pg.url("atom_owner", "atom"))
	}
	return d
}

// atomProc is one running `atom serve`.
type atomProc struct {
	cmd  *exec.Cmd
	base string
	log  *lockedLog
	done chan struct{}
}

type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedLog) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// start runs the host and waits until it answers /healthz.
func (d *durEnv) start() *atomProc {
	d.t.Helper()
	p := &atomProc{base: fmt.Sprintf("http://127.0.0.1:%d", d.port), log: &lockedLog{}, done: make(chan struct{})}
	p.cmd = exec.Command(d.bin, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", d.port))
	p.cmd.Dir = d.dir
	p.cmd.Env = append(os.Environ(), d.env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	d.t.Cleanup(func() {
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
		}
		if d.t.Failed() {
			d.t.Logf("atom log:\n%s", tailOf(p.log.String(), 4000))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get(p.base + "/healthz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			d.t.Fatalf("atom exited:\n%s", tailOf(p.log.String(), 4000))
		case <-time.After(50 * time.Millisecond):
		}
	}
	d.t.Fatalf("atom did not answer /healthz:\n%s", tailOf(p.log.String(), 4000))
	return nil
}

// kill9 ends the host with SIGKILL.
func (p *atomProc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

var durClient = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type durResp struct {
	status int
	header http.Header
	body   []byte
}

func (p *atomProc) do(method, path, key string, body any, hdr map[string]string) (durResp, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.base+path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := durClient.Do(req)
	if err != nil {
		return durResp{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return durResp{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func (p *atomProc) must(t *testing.T, method, path, key string, body any, want int, v any) {
	t.Helper()
	r, err := p.do(method, path, key, body, nil)
	if err != nil || r.status != want {
		t.Fatalf("%s %s: %v %d %s", method, path, err, r.status, r.body)
	}
	if v != nil {
		json.Unmarshal(r.body, v)
	}
}

// newTenant creates a tenant and an API key through the admin API.
func (p *atomProc) newTenant(t *testing.T, name string) (id, key string) {
	t.Helper()
	var tn struct{ ID string }
	p.must(t, "POST", "/api/v1/tenants", durAdminKey, map[string]any{"name": name}, 201, &tn)
	var k struct{ Key string }
	p.must(t, "POST", "/api/v1/tenants/"+tn.ID+"/api-keys", durAdminKey, map[string]any{"name": "k"}, 201, &k)
	return tn.ID, k.Key
}

// connectOAuth connects fakeoauth for the tenant through the whole flow.
func (p *atomProc) connectOAuth(t *testing.T, key string) {
	t.Helper()
	var st struct {
		AuthURL string `json:"authUrl"`
		State   string `json:"state"`
	}
	p.must(t, "GET", "/api/integrations/fakeoauth?action=connect", key, nil, 200, &st)
	resp, err := durClient.Get(st.AuthURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := url.Values{"code": {loc.Query().Get("code")}, "state": {st.State}}
	r, err := p.do("GET", "/api/integrations/fakeoauth/callback?"+q.Encode(), "", nil, map[string]string{"Accept": "application/json"})
	if err != nil || r.status != 200 {
		t.Fatalf("callback: %v %d %s", err, r.status, r.body)
	}
}

// ledger keeps what the host acknowledged.
type ledger struct {
	mu sync.Mutex
	// acked maps an execution id to the upstream path it calls.
	acked map[string]string
	// notStored counts answers that said Atom-Record-Stored: false.
	notStored int
	// refused counts answers that acknowledged nothing (5xx, 429).
	refused map[int]int
	// transport counts requests without an answer (the host was killed).
	transport int
	// internal keeps the bodies of 500 answers, to name their cause.
	internal []string
	seq      atomic.Int64
}

func newLedger() *ledger { return &ledger{acked: map[string]string{}, refused: map[int]int{}} }

// execute starts one execution calling the counter at a fresh path and
// notes what the answer acknowledged.
func (l *ledger) execute(p *atomProc, key string, async bool, idemKey string) {
	n := l.seq.Add(1)
	path := fmt.Sprintf("/c/%d", n)
	q := ""
	if async {
		q = "?async=true"
	}
	hdr := map[string]string{}
	if idemKey != "" {
		hdr["Idempotency-Key"] = idemKey
	}
	r, err := p.do("POST", "/api/v1/integrations/counter/actions/custom_api_call"+q, key,
		map[string]any{"input": map[string]any{"method": "POST", "path": path}}, hdr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.transport++
		return
	}
	var b struct {
		ExecutionID  string `json:"execution_id"`
		RecordStored *bool  `json:"record_stored"`
	}
	json.Unmarshal(r.body, &b)
	switch {
	case r.header.Get("Atom-Record-Stored") == "false":
		if b.RecordStored == nil || *b.RecordStored {
			panic("Atom-Record-Stored: false without record_stored:false in the body")
		}
		l.notStored++
	case b.ExecutionID != "" && (r.status == 200 || r.status == 202):
		l.acked[b.ExecutionID] = path
	default:
		l.refused[r.status]++
		if r.status == 500 && len(l.internal) < 5 {
			l.internal = append(l.internal, string(r.body))
		}
	}
}

// durTally waits until every acknowledged execution is terminal (or the
// deadline passes) and counts the outcome.
type durTally struct {
	acknowledged, terminal, lost, stuck, duplicated int
	byStatus                                        map[string]int
}

func (l *ledger) settle(t *testing.T, p *atomProc, key string, up *counter, within time.Duration) durTally {
	t.Helper()
	l.mu.Lock()
	acked := make(map[string]string, len(l.acked))
	for id, path := range l.acked {
		acked[id] = path
	}
	l.mu.Unlock()
	res := durTally{acknowledged: len(acked), byStatus: map[string]int{}}
	deadline := time.Now().Add(within)
	final := map[string]string{}
	for {
		for id := range acked {
			if _, ok := final[id]; ok {
				continue
			}
			r, err := p.do("GET", "/api/v1/executions/"+id, key, nil, nil)
			if err != nil {
				continue
			}
			if r.status == 404 {
				final[id] = "lost"
				continue
			}
			var x struct{ Status string }
			json.Unmarshal(r.body, &x)
			switch x.Status {
			case "succeeded", "failed", "unknown":
				final[id] = x.Status
			}
		}
		if len(final) == len(acked) || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	for id, path := range acked {
		st, ok := final[id]
		switch {
		case !ok:
			res.stuck++
		case st == "lost":
			res.lost++
		default:
			res.terminal++
			res.byStatus[st]++
		}
		if up.calls(path) > 1 {
			res.duplicated++
		}
	}
	return res
}

// connectionBroken reports whether the tenant's fakeoauth connection is
// no longer active.
func connectionBroken(t *testing.T, p *atomProc, key string) (bool, string) {
	t.Helper()
	r, err := p.do("GET", "/api/v1/connections/fakeoauth", key, nil, nil)
	if err != nil {
		return true, err.Error()
	}
	var c struct {
		Status       string `json:"status"`
		StatusReason string `json:"status_reason"`
	}
	json.Unmarshal(r.body, &c)
	return r.status != 200 || c.Status != "active", string(r.body)
}

func (res durTally) check(t *testing.T, name string, l *ledger, broken int) {
	t.Helper()
	l.mu.Lock()
	t.Logf("%s: acknowledged=%d terminal=%d lost=%d stuck=%d duplicated=%d broken=%d by_status=%v not_stored_answers=%d refused=%v no_answer=%d",
		name, res.acknowledged, res.terminal, res.lost, res.stuck, res.duplicated, broken, res.byStatus, l.notStored, l.refused, l.transport)
	l.mu.Unlock()
	if res.acknowledged == 0 {
		t.Fatal("nothing was acknowledged: the load did not run")
	}
	if res.lost != 0 || res.stuck != 0 || res.duplicated != 0 || broken != 0 {
		t.Fatalf("%s: %d lost, %d stuck, %d duplicated, %d broken connections", name, res.lost, res.stuck, res.duplicated, broken)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.refused[500]; n != 0 {
		t.Errorf("%s: %d answers were 500 while the database failed; a database fault answers 503 database_unavailable: %q", name, n, l.internal)
	}
}

// holdSQLiteWriteLock takes SQLite's write lock from another connection
// for d: the host can read but every write waits for busy_timeout and
// fails, as when another process (a backup, an operator's sqlite3 shell)
// holds the database.
func holdSQLiteWriteLock(t *testing.T, path string, d time.Duration) {
	t.Helper()
	holdSQLiteWriteLockUntil(t, path, d, d, nil)
}

// holdSQLiteWriteLockUntil holds the write lock for at least min and then
// until done reports true or max has passed: on a loaded machine the
// writes that queue behind the lock at its start may be few, and the
// test needs the lock held past busy_timeout for at least one of them.
func holdSQLiteWriteLockUntil(t *testing.T, path string, min, max time.Duration, done func() bool) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(20000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	time.Sleep(min)
	for done != nil && !done() && time.Since(start) < max {
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
}

// loadMix runs sync (with and without Idempotency-Key), async and
// refreshing executions until stop is closed.
func loadMix(p *atomProc, key string, l *ledger, stop chan struct{}, wg *sync.WaitGroup, refreshes *atomic.Int64) {
	kinds := []func(i int){
		func(int) { l.execute(p, key, false, "") },
		func(i int) { l.execute(p, key, false, fmt.Sprintf("idem-%d-%d", time.Now().UnixNano(), i)) },
		func(int) { l.execute(p, key, true, "") },
		func(int) { l.execute(p, key, true, "") },
		func(int) {
			// A call on the OAuth connection: its token expires every 2 s.
			r, err := p.do("POST", "/api/v1/integrations/fakeoauth/actions/custom_api_call", key,
				map[string]any{"input": map[string]any{"method": "GET", "path": "/me"}}, nil)
			if err == nil && r.status == 200 {
				refreshes.Add(1)
			}
		},
	}
	for g, k := range kinds {
		wg.Add(1)
		go func(g int, k func(int)) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k(i)
				time.Sleep(10 * time.Millisecond)
			}
		}(g, k)
	}
}

// TestFaultDurabilityDatabaseRestart restarts PostgreSQL (a private
// cluster) under mixed sync, async and refreshing load; on SQLite, which
// has no server to restart, another process holds the write lock for 2 s.
func TestFaultDurabilityDatabaseRestart(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			d := newDurEnv(t, backend)
			d.up.delay.Store(int64(20 * time.Millisecond))
			p := d.start()
			_, key := p.newTenant(t, "restart")
			p.connectOAuth(t, key)
			l := newLedger()
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var calls atomic.Int64
			loadMix(p, key, l, stop, &wg, &calls)
			hosttest.WaitFor(t, 20*time.Second, "load before the fault", func() bool { l.mu.Lock(); defer l.mu.Unlock(); return len(l.acked) > 40 })
			if backend == "postgres" {
				d.pg.ctl(t, "stop", "-m", "fast")
				time.Sleep(1500 * time.Millisecond)
				d.pg.ctl(t, "start")
			} else {
				holdSQLiteWriteLock(t, d.sqlite, 2*time.Second)
			}
			before := len(l.acked)
			hosttest.WaitFor(t, 30*time.Second, "load after the fault", func() bool { l.mu.Lock(); defer l.mu.Unlock(); return len(l.acked) > before+40 })
			close(stop)
			wg.Wait()
			res := l.settle(t, p, key, d.up, 60*time.Second)
			broken := 0
			if b, body := connectionBroken(t, p, key); b {
				broken = 1
				t.Logf("connection: %s", body)
			}
			t.Logf("refreshing calls answered 200: %d", calls.Load())
			res.check(t, "database restart ("+backend+")", l, broken)
		})
	}
}

// TestFaultDurabilityKill9 kills the host with SIGKILL while asynchronous
// executions are queued and in flight, starts it again on the same
// database, and checks every acknowledged execution is settled, the ones
// cut mid-call as unknown, none called twice.
func TestFaultDurabilityKill9(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			d := newDurEnv(t, backend)
			d.up.delay.Store(int64(400 * time.Millisecond))
			p := d.start()
			_, key := p.newTenant(t, "kill")
			l := newLedger()
			var wg sync.WaitGroup
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 25; i++ {
						l.execute(p, key, true, "")
					}
				}()
			}
			wg.Wait()
			hosttest.WaitFor(t, 20*time.Second, "calls in flight", func() bool { return d.up.live.Load() >= 3 })
			p.kill9(t)
			p = d.start()
			res := l.settle(t, p, key, d.up, 90*time.Second)
			res.check(t, "kill -9 ("+backend+")", l, 0)
			if res.byStatus["unknown"] == 0 && res.byStatus["failed"] == 0 {
				t.Log("no execution was cut mid-call by the kill")
			}
		})
	}
}

// TestFaultDurabilityReadOnly makes the database refuse writes while
// reads go on (PostgreSQL: default_transaction_read_only on the database
// and its sessions reset; SQLite: another process holds the write lock
// past busy_timeout) under sync and async load: asynchronous executions
// are refused (503) rather than acknowledged, synchronous answers say
// Atom-Record-Stored: false when their record could not be written, and
// every acknowledged execution is terminal afterwards.
func TestFaultDurabilityReadOnly(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			d := newDurEnv(t, backend)
			d.up.delay.Store(int64(10 * time.Millisecond))
			p := d.start()
			_, key := p.newTenant(t, "readonly")
			l := newLedger()
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for _, async := range []bool{false, false, true, true} {
				wg.Add(1)
				go func(async bool) {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						l.execute(p, key, async, "")
						time.Sleep(10 * time.Millisecond)
					}
				}(async)
			}
			hosttest.WaitFor(t, 20*time.Second, "load before the fault", func() bool { l.mu.Lock(); defer l.mu.Unlock(); return len(l.acked) > 40 })
			if backend == "postgres" {
				setReadOnly(t, d.pg, true)
				time.Sleep(4 * time.Second)
				setReadOnly(t, d.pg, false)
			} else {
				refusals := func() int {
					l.mu.Lock()
					defer l.mu.Unlock()
					n := l.notStored
					for _, c := range l.refused {
						n += c
					}
					return n
				}
				refusedBefore := refusals()
				holdSQLiteWriteLockUntil(t, d.sqlite, 12*time.Second, 40*time.Second, func() bool { return refusals() > refusedBefore })
			}
			l.mu.Lock()
			before := len(l.acked)
			l.mu.Unlock()
			hosttest.WaitFor(t, 30*time.Second, "load after the fault", func() bool { l.mu.Lock(); defer l.mu.Unlock(); return len(l.acked) > before+40 })
			close(stop)
			wg.Wait()
			res := l.settle(t, p, key, d.up, 60*time.Second)
			res.check(t, "read-only ("+backend+")", l, 0)
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.notStored == 0 && len(l.refused) == 0 {
				t.Fatal("the fault refused nothing: writes were not blocked")
			}
		})
	}
}

// setReadOnly turns default_transaction_read_only on or off for the atom
// database and ends its sessions, so the host's new ones take it.
func setReadOnly(t *testing.T, pg *privatePG, on bool) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pg.url("postgres", "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	v := "off"
	if on {
		v = "on"
	}
	for _, q := range []string{`ALTER DATABASE atom SET default_transaction_read_only = ` + v,
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'atom' AND pid <> pg_backend_pid()`} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}
