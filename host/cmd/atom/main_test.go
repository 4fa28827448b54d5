package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest/ports"
)

// atomBin is the atom binary built once for these tests.
var atomBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "atom-bin-")
	if err != nil {
		panic(err)
	}
	atomBin = filepath.Join(dir, "atom")
	// go build -o <tmp>/atom ./host/cmd/atom
	out, err := exec.Command("go", "build", "-o", atomBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build atom: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	return ports.Must(t)
}

// proc is a running atom process.
type proc struct {
	cmd    *exec.Cmd
	stdout *lockedBuf
	stderr *lockedBuf
	base   string
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startAtom runs `atom serve` in dir with env and waits for /healthz.
func startAtom(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	return startAtomOn(t, dir, freePort(t), env, args...)
}

// startAtomOn is startAtom on a given port.
func startAtomOn(t *testing.T, dir string, port int, env []string, args ...string) *proc {
	t.Helper()
	p := launchAtom(t, dir, port, env, args...)
	p.waitHealthy(t)
	return p
}

// launchAtom starts `atom serve` without waiting for it.
func launchAtom(t *testing.T, dir string, port int, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: &lockedBuf{}, stderr: &lockedBuf{}, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	p.cmd = exec.Command(atomBin, append([]string{"serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port)}, args...)...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("atom stderr (%s):\n%s", p.base, tail(p.stderr.String(), 3000))
		}
	})
	return p
}

// waitHealthy waits until /healthz answers 200.
func (p *proc) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if p.cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("atom did not become healthy:\n%s\n%s", p.stdout.String(), tail(p.stderr.String(), 3000))
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// TestDevSetup is what `make run` does on a fresh machine: the embedded
// SQLite database, generated dev keys (mode 0600) and a banner with the
// URL, the admin key and the tenant key.
func TestDevSetup(t *testing.T) {
	dir := t.TempDir()
	p := startAtom(t, dir, []string{"ATOM_DEV=true", "ATOM_ENCRYPTION_KEYS=", "ATOM_ADMIN_KEY=", "ATOM_DATABASE_URL="})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.stdout.String(), "Press Ctrl+C") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := p.stdout.String()
	for _, want := range []string{"/integrations", "Admin key:", "Sign in with: atom_", "data/dev.keys", "Created data/dev.keys"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "data", "dev.keys"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("dev.keys: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "atom.db")); err != nil {
		t.Fatal("no SQLite database created:", err)
	}
	key := strings.Fields(out[strings.Index(out, "Sign in with: ")+len("Sign in with: "):])[0]
	req, _ := http.NewRequest("GET", p.base+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"demo"`) {
		t.Fatalf("/api/v1/me with the printed key: %d %s", resp.StatusCode, b)
	}
	if strings.Contains(p.stderr.String(), key) {
		t.Fatal("the tenant key appears in the logs")
	}
}

// TestServeRefusesWithoutKey: outside the dev setup, no key, no start.
func TestServeRefusesWithoutKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, atomBin, "serve", "--addr", "127.0.0.1:0")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "ATOM_ENCRYPTION_KEYS=", "ATOM_DEV=false", "ATOM_DATABASE_URL=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ATOM_ENCRYPTION_KEYS") {
		t.Fatalf("serve without a key: %v\n%s", err, out)
	}
}

func TestVersionAndUsage(t *testing.T) {
	out, err := exec.Command(atomBin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "atom ") {
		t.Fatalf("version: %v %s", err, out)
	}
	out, err = exec.Command(atomBin, "frobnicate").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %v %s", err, out)
	}
}
