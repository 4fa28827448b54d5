package connect_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/fakeprovider"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// faultStore is a migrated store and a way to make the database refuse
// writes to connections, as a full disk, a read-only file or a failing
// database does, while reads go on.
type faultStore struct {
	st store.Store
	// refuse makes every UPDATE of integration_tokens fail until the
	// returned function restores writes.
	refuse func(t *testing.T) (restore func())
}

// eachFaultStore runs fn on SQLite and on PostgreSQL.
func eachFaultStore(t *testing.T, fn func(t *testing.T, fs faultStore)) {
	t.Run("sqlite", func(t *testing.T) {
		st := storetest.SQLite(t)
		fn(t, faultStore{st: st, refuse: func(t *testing.T) func() {
			exec := func(q string) {
				if _, err := st.DB().Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			exec(`CREATE TRIGGER atom_fault BEFORE UPDATE ON integration_tokens BEGIN SELECT RAISE(ABORT, 'injected fault: writes refused'); END`)
			return func() { exec(`DROP TRIGGER atom_fault`) }
		}})
	})
	t.Run("postgres", func(t *testing.T) {
		pg := storetest.Postgres(t)
		fn(t, faultStore{st: pg.Store, refuse: func(t *testing.T) func() {
			ctx := context.Background()
			owner, err := pgx.Connect(ctx, pg.OwnerURL) // the app role cannot create triggers
			if err != nil {
				t.Fatal(err)
			}
			exec := func(q string) {
				if _, err := owner.Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			exec(`CREATE OR REPLACE FUNCTION atom_fault() RETURNS trigger LANGUAGE plpgsql AS
				$$ BEGIN RAISE EXCEPTION 'injected fault: writes refused'; END $$`)
			exec(`CREATE TRIGGER atom_fault BEFORE UPDATE ON integration_tokens FOR EACH ROW EXECUTE FUNCTION atom_fault()`)
			return func() { exec(`DROP TRIGGER atom_fault ON integration_tokens`); owner.Close(ctx) }
		}})
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func spoolFiles(t *testing.T, dir string) [][]byte {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.tokens"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, f := range m {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// connStatus reads the tenant's fake connection.
func connStatus(t *testing.T, e *env) *store.Connection {
	t.Helper()
	var c *store.Connection
	err := e.st.InTenant(context.Background(), e.tenant, func(tx store.Tx) error {
		var err error
		c, err = tx.GetConnection(context.Background(), "fake", "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// refuseDuringRefresh connects, lets the token expire and refreshes it
// while the database refuses writes to connections. It returns the access
// token the refresh handed out.
func refuseDuringRefresh(t *testing.T, e *env, fs faultStore, svc *connect.Service) (token string, before *store.Connection, restore func()) {
	t.Helper()
	e.connect("fake", connect.ConnectOptions{})
	e.clock.Advance(2 * time.Hour)
	before = connStatus(t, e)
	restore = fs.refuse(t)
	cr, _, err := svc.Credentials(context.Background(), e.tenant, "", "fake")
	if err != nil {
		restore()
		t.Fatalf("refresh while writes fail: %v", err)
	}
	if st := e.apiMe(cr.AccessToken); st != http.StatusOK {
		restore()
		t.Fatalf("the refreshed access token handed out does not work: %d", st)
	}
	return cr.AccessToken, before, restore
}

// TestRefreshWriteRetriedUntilStored: the provider rotates the refresh
// token; the database refuses the write of the new pair. The refresh hands
// out the new access token, keeps the pair in an encrypted spool file and
// stores it once writes work again; the next refresh uses the rotated
// token.
func TestRefreshWriteRetriedUntilStored(t *testing.T) {
	eachFaultStore(t, func(t *testing.T, fs faultStore) {
		e := newEnv(t, fs.st, fakeprovider.Quirks{RotateRefresh: true}, nil)
		dir := t.TempDir()
		e.svc = e.newServiceWith(fs.st, func(c *connect.Config) {
			c.SpoolDir, c.RefreshWriteWait, c.CredentialCacheTTL = dir, 200*time.Millisecond, -1
		})
		token, before, restore := refuseDuringRefresh(t, e, fs, e.svc)
		if n := e.svc.PendingRefreshes(); n != 1 {
			restore()
			t.Fatalf("pending refreshes %d, want 1", n)
		}
		files := spoolFiles(t, dir)
		if len(files) != 1 {
			restore()
			t.Fatalf("%d spool files, want 1", len(files))
		}
		for _, secret := range []string{token, e.fp.CurrentRefreshToken()} {
			if bytes.Contains(files[0], []byte(secret)) {
				restore()
				t.Fatal("the spool file holds a token in plaintext")
			}
		}
		if c := connStatus(t, e); c.Version != before.Version {
			restore()
			t.Fatal("the refused write was stored")
		}
		restore()
		waitFor(t, "the pending refresh to be stored", func() bool { return e.svc.PendingRefreshes() == 0 })
		if n := len(spoolFiles(t, dir)); n != 0 {
			t.Fatalf("%d spool files left after the write", n)
		}
		if c := connStatus(t, e); c.Status != store.StatusActive || c.Version == before.Version {
			t.Fatalf("stored connection: status %s, version %d", c.Status, c.Version)
		}
		e.clock.Advance(2 * time.Hour)
		cr, _, err := e.svc.Credentials(context.Background(), e.tenant, "", "fake")
		if err != nil || cr.AccessToken == token {
			t.Fatalf("refresh with the stored rotated token: %v", err)
		}
		if e.fp.Refreshes() != 2 || e.fp.ReusedRefreshTokens() != 0 {
			t.Fatalf("refreshes %d, reused refresh tokens %d; want 2 and 0", e.fp.Refreshes(), e.fp.ReusedRefreshTokens())
		}
	})
}

// TestRefreshSpoolReplayedAtStart: the process stops while the new pair
// is only in the spool; the next Service on the same directory stores it.
func TestRefreshSpoolReplayedAtStart(t *testing.T) {
	eachFaultStore(t, func(t *testing.T, fs faultStore) {
		e := newEnv(t, fs.st, fakeprovider.Quirks{RotateRefresh: true}, nil)
		dir := t.TempDir()
		first := e.newServiceWith(fs.st, func(c *connect.Config) { c.SpoolDir, c.RefreshWriteWait = dir, 100*time.Millisecond })
		e.svc = first
		_, before, restore := refuseDuringRefresh(t, e, fs, first)
		first.Close()
		restore()
		time.Sleep(300 * time.Millisecond) // a stopped replayer writes nothing
		if c := connStatus(t, e); c.Version != before.Version || len(spoolFiles(t, dir)) != 1 {
			t.Fatal("the closed Service stored its pending refresh")
		}

		// A spool file renamed to another entry's name does not open.
		files, _ := filepath.Glob(filepath.Join(dir, "*.tokens"))
		b, _ := os.ReadFile(files[0])
		bogus := filepath.Join(dir, strings.Repeat("0", 32)+".tokens")
		if err := os.WriteFile(bogus, b, 0o600); err != nil {
			t.Fatal(err)
		}

		second := e.newServiceWith(fs.st, func(c *connect.Config) { c.SpoolDir = dir })
		waitFor(t, "the spool to be replayed", func() bool { return second.PendingRefreshes() == 0 })
		if c := connStatus(t, e); c.Status != store.StatusActive || c.Version == before.Version {
			t.Fatalf("after replay: status %s, version %d", c.Status, c.Version)
		}
		if left := spoolFiles(t, dir); len(left) != 1 {
			t.Fatalf("%d spool files left, want only the renamed one", len(left))
		}
		e.clock.Advance(2 * time.Hour)
		if _, _, err := second.Credentials(context.Background(), e.tenant, "", "fake"); err != nil {
			t.Fatalf("refresh with the replayed token: %v", err)
		}
		if e.fp.Refreshes() != 2 || e.fp.ReusedRefreshTokens() != 0 {
			t.Fatalf("refreshes %d, reused refresh tokens %d; want 2 and 0", e.fp.Refreshes(), e.fp.ReusedRefreshTokens())
		}
	})
}

// hookTransport runs hook once, before the first request it carries.
type hookTransport struct {
	base http.RoundTripper
	once sync.Once
	hook func()
}

func (h *hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h.once.Do(h.hook)
	return h.base.RoundTrip(r)
}

// unlocked hides the store's refresh lock, as a replica whose lock went
// with a database restart.
type unlocked struct{ store.Store }

// TestInvalidGrantUsesNewerStoredToken: while one refresh is on its way to
// the provider with refresh token R1, another process refreshes with R1,
// gets R2 and stores it. The first gets invalid_grant for R1; it finds R2
// stored and uses it instead of marking the connection expired.
func TestInvalidGrantUsesNewerStoredToken(t *testing.T) {
	eachFaultStore(t, func(t *testing.T, fs faultStore) {
		ctx := context.Background()
		e := newEnv(t, fs.st, fakeprovider.Quirks{RotateRefresh: true}, nil)
		other := e.newServiceOn(unlocked{fs.st})
		var otherErr error
		var otherToken string
		late := e.newServiceWith(fs.st, func(c *connect.Config) {
			cl := *e.client
			cl.Transport = &hookTransport{base: e.client.Transport, hook: func() {
				cr, _, err := other.Credentials(ctx, e.tenant, "", "fake")
				otherToken, otherErr = cr.AccessToken, err
			}}
			c.HTTPClient = &cl
		})
		e.connect("fake", connect.ConnectOptions{})
		e.clock.Advance(2 * time.Hour)
		cr, _, err := late.Credentials(ctx, e.tenant, "", "fake")
		if otherErr != nil {
			t.Fatalf("the other refresh: %v", otherErr)
		}
		if err != nil {
			t.Fatalf("refresh that met invalid_grant after another stored a newer token: %v", err)
		}
		if e.fp.Refreshes() != 2 || e.fp.ReusedRefreshTokens() != 1 {
			t.Fatalf("refreshes %d, reused %d; want 2 and 1", e.fp.Refreshes(), e.fp.ReusedRefreshTokens())
		}
		if cr.AccessToken != otherToken || e.apiMe(cr.AccessToken) != http.StatusOK {
			t.Fatal("the refresh did not hand out the newer stored token")
		}
		if c := connStatus(t, e); c.Status != store.StatusActive || c.FailureCount != 0 {
			t.Fatalf("connection %s (failures %d) after the re-check", c.Status, c.FailureCount)
		}
		e.clock.Advance(2 * time.Hour)
		if _, _, err := late.Credentials(ctx, e.tenant, "", "fake"); err != nil || e.fp.ReusedRefreshTokens() != 1 {
			t.Fatalf("next refresh: %v (reused %d)", err, e.fp.ReusedRefreshTokens())
		}
	})
}
