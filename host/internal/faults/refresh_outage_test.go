package faults

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/postgres"
	"github.com/atomhq/atom/host/internal/store/sqlite"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
)

// refreshesInFlight is how many connections refresh at once when the
// database fails.
const refreshesInFlight = 12

type oneProvider struct{ d *catalog.Descriptor }

func (o oneProvider) Get(id string) (*catalog.Descriptor, bool) { return o.d, id == o.d.ID }

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// refreshWorld is refreshesInFlight tenants, each with a connection to a
// fake provider that rotates refresh tokens (a used one is invalid).
type refreshWorld struct {
	st      store.Store
	fp      *fakeprovider.Server
	svc     *connect.Service
	clock   *testClock
	tenants []string
	spool   string
}

func newRefreshWorld(t *testing.T, st store.Store, n int) *refreshWorld {
	t.Helper()
	ctx := context.Background()
	const base = "http://atom.test"
	fp := fakeprovider.New(t, fakeprovider.Quirks{RotateRefresh: true, RedirectURI: base + "/api/integrations/fake/callback"})
	kr, err := vault.New(vault.Key{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	d := &catalog.Descriptor{ID: "fake", Name: "Fake", Connectable: true, Implementations: []string{"generic"},
		Auth: catalog.Auth{Kind: catalog.AuthOAuth2, AuthorizationURL: fp.URL + "/oauth/authorize", TokenURL: fp.URL + "/oauth/token",
			Scopes: []string{"read"}, TokenAuth: "body", TokenBody: "form"},
		API: catalog.API{BaseURL: fp.URL + "/api"}}
	w := &refreshWorld{st: st, fp: fp, clock: &testClock{t: time.Now().UTC()}, spool: t.TempDir()}
	w.svc, err = connect.New(connect.Config{Store: st, Keyring: kr, Catalog: oneProvider{d}, BaseURL: base,
		Env: func(k string) string {
			return map[string]string{"FAKE_CLIENT_ID": fp.ClientID, "FAKE_CLIENT_SECRET": fp.ClientSecret}[k]
		},
		Clock: w.clock.Now, SpoolDir: w.spool, CredentialCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.svc.Close)
	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := 0; i < n; i++ {
		tn := storetest.NewTenant(t, st)
		res, err := w.svc.StartConnect(ctx, tn, "", "fake", connect.ConnectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := noRedirect.Get(res.AuthURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Callback(ctx, "fake", loc.Query()); err != nil {
			t.Fatal(err)
		}
		w.tenants = append(w.tenants, tn)
	}
	return w
}

// refreshThrough expires every token and refreshes all connections at
// once; fault runs while every refresh waits for the provider's answer
// and returns when the database works again. It returns how many
// refreshes answered with credentials, the errors of the others and the
// most token pairs waiting for the database at one time.
func (w *refreshWorld) refreshThrough(t *testing.T, inFlight int, fault func(answered func())) (int, []error, int) {
	t.Helper()
	w.fp.UpdateQuirks(func(q *fakeprovider.Quirks) { q.SlowToken = 1500 * time.Millisecond })
	w.clock.Advance(2 * time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	var errs []error
	for _, tn := range w.tenants {
		wg.Add(1)
		go func(tn string) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cr, _, err := w.svc.Credentials(ctx, tn, "", "fake")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if cr.AccessToken != "" {
				ok++
			}
		}(tn)
	}
	hosttest.WaitFor(t, 10*time.Second, "every refresh at the provider", func() bool {
		return w.fp.TokenRequestsInFlight() >= inFlight
	})
	peak := 0
	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			peak = max(peak, w.svc.PendingRefreshes())
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	fault(func() {
		hosttest.WaitFor(t, 10*time.Second, "the provider's answers", func() bool { return w.fp.TokenRequestsInFlight() == 0 })
	})
	wg.Wait()
	close(stop)
	<-polled
	w.fp.UpdateQuirks(func(q *fakeprovider.Quirks) { q.SlowToken = 0 })
	return ok, errs, peak
}

// broken refreshes every connection again once the database is back and
// counts those that cannot be used: not active, or whose refresh fails.
func (w *refreshWorld) broken(t *testing.T) int {
	t.Helper()
	hosttest.WaitFor(t, 30*time.Second, "pending refresh results stored", func() bool { return w.svc.PendingRefreshes() == 0 })
	w.clock.Advance(2 * time.Hour)
	n := 0
	for _, tn := range w.tenants {
		cr, c, err := w.svc.Credentials(context.Background(), tn, "", "fake")
		if err != nil || c.Status != store.StatusActive || !w.tokenWorks(t, cr.AccessToken) {
			t.Logf("tenant %s: connection broken: %v", tn, err)
			n++
		}
	}
	return n
}

func (w *refreshWorld) tokenWorks(t *testing.T, token string) bool {
	req, _ := http.NewRequest(http.MethodGet, w.fp.URL+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (w *refreshWorld) report(t *testing.T, answered int, errs []error, peak int) {
	t.Helper()
	broken := w.broken(t)
	lost := w.fp.ReusedRefreshTokens()
	spooled, _ := filepath.Glob(filepath.Join(w.spool, "*.tokens"))
	t.Logf("refreshes=%d answered=%d failed=%d pending_peak=%d broken=%d lost_tokens=%d spool_left=%d",
		len(w.tenants), answered, len(errs), peak, broken, lost, len(spooled))
	if peak == 0 {
		t.Fatal("no token write failed: the fault missed the refreshes")
	}
	if broken != 0 || lost != 0 || len(spooled) != 0 {
		t.Fatalf("broken=%d lost_tokens=%d spool_left=%d after the outage; errors during it: %v", broken, lost, len(spooled), errs)
	}
}

// TestFaultRefreshDuringPostgresRestart restarts the private PostgreSQL
// cluster while refreshesInFlight refreshes wait for the provider, which
// rotates (and so invalidates) the refresh tokens they send. Every new
// token pair must be stored once the database is back: no connection ends
// expired and no used refresh token is ever sent again.
func TestFaultRefreshDuringPostgresRestart(t *testing.T) {
	pg := startPrivatePG(t)
	ctx := context.Background()
	pg.createAtomDB(t)
	if _, err := postgres.Migrate(ctx, pg.url("atom_owner", "atom"), "atom_app"); err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Open(ctx, pg.url("atom_app", "atom"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := newRefreshWorld(t, st, refreshesInFlight)
	answered, errs, peak := w.refreshThrough(t, refreshesInFlight, func(answered func()) {
		pg.ctl(t, "stop", "-m", "fast")
		answered() // every token pair arrived while the database was down
		time.Sleep(500 * time.Millisecond)
		pg.ctl(t, "start")
	})
	w.report(t, answered, errs, peak)
}

// TestFaultRefreshWhileSQLiteLocked holds SQLite's write lock from another
// connection, longer than the store's busy timeout, while the refreshes
// receive their new tokens: their first writes fail with "database is
// locked".
func TestFaultRefreshWhileSQLiteLocked(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "atom.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w := newRefreshWorld(t, st, refreshesInFlight)
	locker, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	answered, errs, peak := w.refreshThrough(t, refreshesInFlight, func(answered func()) {
		conn, err := locker.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
			t.Fatal(err)
		}
		answered()
		// Longer than the store's 10 s busy timeout: the first writes
		// fail, later ones are retried.
		time.Sleep(11 * time.Second)
		if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil && !errors.Is(err, sql.ErrConnDone) {
			t.Fatal(err)
		}
	})
	w.report(t, answered, errs, peak)
}

// TestManyRefreshesAtOnce refreshes more connections at once than the
// PostgreSQL store's pool has connections: the sessions holding refresh
// locks must not take the connections the refreshes write with.
func TestManyRefreshesAtOnce(t *testing.T) {
	pg := storetest.Postgres(t)
	w := newRefreshWorld(t, pg.Store, 40)
	answered, errs, _ := w.refreshThrough(t, refreshesInFlight, func(answered func()) { answered() })
	if answered != 40 || len(errs) != 0 || w.fp.Refreshes() != 40 {
		t.Fatalf("answered %d of 40, refreshes %d, errors %v", answered, w.fp.Refreshes(), errs)
	}
	if b := w.broken(t); b != 0 || w.fp.ReusedRefreshTokens() != 0 {
		t.Fatalf("broken %d, reused refresh tokens %d", b, w.fp.ReusedRefreshTokens())
	}
}
