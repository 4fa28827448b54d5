package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestServesInAnotherProcess builds the command, starts it and uses the
// fake it serves from this process.
func TestServesInAnotherProcess(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "fakeprovider")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-client-id", "cid", "-client-secret", "csecret", "-token-auth", "basic", "-metadata", "instance_url=https://x.test")
	cmd.Stderr = os.Stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Signal(syscall.SIGTERM)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("first line = %q", line)
	}
	req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("cid", "csecret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok["instance_url"] != "https://x.test" {
		t.Fatalf("%d %v", resp.StatusCode, tok)
	}
	resp, err = http.Get(base + "/_fake/stats")
	if err != nil {
		t.Fatal(err)
	}
	var stats map[string]any
	json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	if stats["token_requests"] != float64(1) {
		t.Fatalf("stats = %v", stats)
	}
}

// TestServesAppsInAnotherProcess starts the command with -apps and reads
// its settings and a provider API from this process.
func TestServesAppsInAnotherProcess(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "fakeprovider")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-apps")
	cmd.Stderr = os.Stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Signal(syscall.SIGTERM)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(line)
	resp, err := http.Get(base + "/_fake/config")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Token    string            `json:"token"`
		BaseURLs map[string]string `json:"base_urls"`
	}
	json.NewDecoder(resp.Body).Decode(&cfg)
	resp.Body.Close()
	if cfg.Token == "" || cfg.BaseURLs["jira"] != base+"/jira" {
		t.Fatalf("config %+v", cfg)
	}
	req, _ := http.NewRequest("GET", cfg.BaseURLs["jira"]+"/oauth/token/accessible-resources", nil)
	req.Header.Set("Authorization", "Bearer "+cfg.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("accessible-resources: %d", resp.StatusCode)
	}
}
