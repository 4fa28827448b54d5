package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestQuickstartWithoutWabt follows the README's quickstart on a fresh
// clone of the repository with a PATH that has no wat2wasm (Debian's wabt
// is not installed on a fresh machine): `make run` must build the binary,
// every native plugin and every piece, start the host, print the banner
// last, and serve the page.
func TestQuickstartWithoutWabt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole project from a clone")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"git", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found", tool)
		}
	}
	clone := filepath.Join(t.TempDir(), "atom")
	if out, err := exec.Command("git", "clone", "--quiet", "--no-hardlinks", root, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	path := pathWithout(t, "wat2wasm")
	check := exec.Command("sh", "-c", "command -v wat2wasm")
	check.Env = append(os.Environ(), "PATH="+path)
	if out, err := check.CombinedOutput(); err == nil {
		t.Fatalf("wat2wasm still on the PATH: %s", out)
	}

	port := freePort(t)
	cmd := exec.Command("make", "run")
	cmd.Dir = clone
	cmd.Env = append(os.Environ(), "PATH="+path, "ATOM_ADDR=127.0.0.1:"+fmt.Sprint(port),
		"ATOM_DATA_DIR="+filepath.Join(t.TempDir(), "data"), "ATOM_BASE_URL=", "MAKEFLAGS=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout, stderr lockedBuf
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})

	// The banner is the last thing `make run` prints once it serves.
	deadline := time.Now().Add(15 * time.Minute)
	for !strings.Contains(stdout.String(), "Press Ctrl+C to stop.") {
		select {
		case err := <-exited:
			t.Fatalf("make run exited: %v\nstdout:\n%s\nstderr:\n%s", err, tail(stdout.String(), 3000), tail(stderr.String(), 3000))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner\nstdout:\n%s\nstderr:\n%s", tail(stdout.String(), 3000), tail(stderr.String(), 3000))
		}
	}
	out := stdout.String()
	if !regexp.MustCompile(`building (\d+) native plugins… (\d+)/(\d+)\n`).MatchString(out) {
		t.Errorf("make run printed no build progress:\n%s", out)
	}
	for _, want := range []string{"native plugins into bin/plugins", "pieces into bin/plugins",
		"Open:         http://127.0.0.1:" + fmt.Sprint(port) + "/integrations", "Sign in with: atom_", "Admin key:    adm_"} {
		if !strings.Contains(out, want) {
			t.Errorf("make run output lacks %q:\n%s", want, out)
		}
	}
	// The WebAssembly-text piece was installed without wat2wasm and had
	// loaded before the banner.
	if !strings.Contains(stderr.String(), `"id":"text-utils"`) {
		t.Errorf("text-utils was not loaded before the banner:\n%s", tail(stderr.String(), 3000))
	}
	if _, err := os.Stat(filepath.Join(clone, "bin", "plugins", "text-utils.wasm")); err != nil {
		t.Error(err)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/integrations", port))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(string(body)), "<html") {
		t.Fatalf("GET /integrations: %d\n%s", resp.StatusCode, tail(string(body), 500))
	}
	t.Logf("quickstart: built and served from a clone without wat2wasm; stdout %d bytes", len(out))
}

// pathWithout returns a PATH of one directory holding links to every
// program of the current PATH except those named drop.
func pathWithout(t *testing.T, drop string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name := e.Name()
			if name == drop {
				continue
			}
			link := filepath.Join(dir, name)
			if _, err := os.Lstat(link); err == nil {
				continue // an earlier PATH entry wins
			}
			_ = os.Symlink(filepath.Join(d, name), link)
		}
	}
	return dir
}
