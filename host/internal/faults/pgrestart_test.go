package faults

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/ports"
	"github.com/jackc/pgx/v5"
)

const pgBin = "/usr/lib/postgresql/15/bin"

// privatePG is a PostgreSQL cluster of the test's own, so restarting it
// disturbs nobody else.
type privatePG struct {
	dir  string
	port int
}

// asPostgres runs a PostgreSQL binary as the postgres OS user (initdb
// refuses root).
func asPostgres(args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...)
	}
	return exec.Command(args[0], args[1:]...)
}

func startPrivatePG(t *testing.T) *privatePG {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL 15 binaries missing at %s", pgBin)
		}
		t.Skipf("PostgreSQL 15 binaries missing at %s", pgBin)
	}
	dir, err := os.MkdirTemp("", "atom-pg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chown", "postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
	}
	port := ports.Must(t)
	p := &privatePG{dir: dir, port: port}
	data := filepath.Join(dir, "data")
	if out, err := asPostgres(pgBin+"/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v %s", err, out)
	}
	t.Cleanup(func() {
		asPostgres(pgBin+"/pg_ctl", "-D", data, "-m", "immediate", "stop").Run()
		os.RemoveAll(dir)
	})
	p.ctl(t, "start")
	return p
}

func (p *privatePG) ctl(t *testing.T, action string, extra ...string) {
	t.Helper()
	args := []string{pgBin + "/pg_ctl", "-D", filepath.Join(p.dir, "data"), "-w", "-l", filepath.Join(p.dir, "log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", p.port, p.dir)}
	args = append(args, extra...)
	args = append(args, action)
	if out, err := asPostgres(args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		t.Fatalf("pg_ctl %s: %v %s\n%s", action, err, out, log)
	}
}

func (p *privatePG) url(user, db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", user, p.port, db)
}

// createAtomDB creates, on the private cluster, the owner and application
// roles (neither superuser nor exempt from row-level security) and the
// database atom owned by the owner role.
func (p *privatePG) createAtomDB(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, p.url("postgres", "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, q := range []string{
		`CREATE ROLE atom_owner LOGIN NOSUPERUSER NOBYPASSRLS`, `CREATE ROLE atom_app LOGIN NOSUPERUSER NOBYPASSRLS`,
		`CREATE DATABASE atom OWNER atom_owner`,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFaultPostgresRestartUnderLoad restarts the database under write load:
// /readyz is back within 5 s of the server being up, every acknowledged
// write is in the database afterwards, and requests during the outage got
// 5xx JSON errors, not hangs.
func TestFaultPostgresRestartUnderLoad(t *testing.T) {
	pg := startPrivatePG(t)
	ctx := context.Background()
	pg.createAtomDB(t)
	h := startHost(t, hosttest.Options{DatabaseURL: pg.url("atom_app", "atom"), MigrateDatabaseURL: pg.url("atom_owner", "atom"), Backend: "postgres"})
	tn := h.NewTenant("restart")

	short := &http.Client{Timeout: 15 * time.Second}
	var mu sync.Mutex
	acked := map[string]bool{}
	failures := map[int]int{}
	var hangs []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("u%d-%d", g, i)
				req, _ := http.NewRequest("POST", h.URL+"/api/v1/users", strings.NewReader(`{"id":"`+id+`"}`))
				req.Header.Set("Authorization", "Bearer "+tn.Key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := short.Do(req)
				mu.Lock()
				if err != nil {
					hangs = append(hangs, err.Error())
					mu.Unlock()
					continue
				}
				var body [512]byte
				n, _ := resp.Body.Read(body[:])
				resp.Body.Close()
				switch {
				case resp.StatusCode == 201:
					acked[id] = true
				case resp.StatusCode >= 500 && strings.Contains(string(body[:n]), `"error"`):
					failures[resp.StatusCode]++
				default:
					failures[-resp.StatusCode]++
				}
				mu.Unlock()
				if resp.StatusCode != 201 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}(g)
	}
	hosttest.WaitFor(t, 10*time.Second, "writes before the restart", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) > 20 })
	pg.ctl(t, "stop", "-m", "fast")
	time.Sleep(time.Second)
	pg.ctl(t, "start")
	up := time.Now()
	hosttest.WaitFor(t, 5*time.Second, "/readyz within 5 s of the database being up", func() bool {
		r, err := h.Try("GET", "/readyz", "", nil, nil)
		return err == nil && r.Status == 200
	})
	ready := time.Since(up)
	hosttest.WaitFor(t, 10*time.Second, "writes after the restart", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) > 0 && h.Call("POST", "/api/v1/users", tn.Key, map[string]any{}, nil).Status == 201
	})
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	if len(hangs) > 0 {
		t.Fatalf("%d requests hung or failed at the transport: %v", len(hangs), hangs[0])
	}
	for status := range failures {
		if status < 0 {
			t.Fatalf("failures by status %v: outage errors must be 5xx JSON", failures)
		}
	}
	conn, err := pgx.Connect(ctx, pg.url("atom_owner", "atom"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id FROM users WHERE tenant_id = $1`, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, id := range stored {
		have[id] = true
	}
	for id := range acked {
		if !have[id] {
			t.Fatalf("acknowledged write %s lost", id)
		}
	}
	t.Logf("%d acknowledged writes all stored; %v errors during the outage; ready %s after the database was up",
		len(acked), failures, ready.Round(time.Millisecond))
}
