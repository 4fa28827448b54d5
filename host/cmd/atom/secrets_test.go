package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestServeSecretsFilesAndSandbox runs `atom serve` as production would:
// the key ring and the admin key in root-only files (*_FILE), a provider
// secret in the environment, uploads off and isolation required. The
// admin key read from its file authenticates; the echo plugin runs in its
// sandbox (the atom binary is its init step) under its own uid and never
// sees the host's secrets; an upload answers 403.
func TestServeSecretsFilesAndSandbox(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("plugin isolation needs root (euid %d)", os.Geteuid())
	}
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(plugins, "atom-provider-echo"), "../../internal/runtimes/native/testdata/echo")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build echo: %v\n%s", err, out)
	}
	// A native plugin runs only with a catalog descriptor for its id.
	catalogDir := filepath.Join(dir, "catalog")
	if err := os.MkdirAll(catalogDir, 0o755); err != nil {
		t.Fatal(err)
	}
	desc := `{"id":"echo","name":"Echo (test fixture)","categories":["development"],"auth":{"kind":"none"},"api":{"base_url":"https://fixture.invalid"},"implementations":["native"],"connectable":true}`
	if err := os.WriteFile(filepath.Join(catalogDir, "echo.json"), []byte(desc), 0o644); err != nil {
		t.Fatal(err)
	}
	key, err := exec.Command(atomBin, "vault", "genkey", "--id", "k1").Output()
	if err != nil {
		t.Fatal(err)
	}
	const admin = "adm_from_a_file_0123456789"
	keysFile, adminFile := filepath.Join(dir, "keys"), filepath.Join(dir, "admin")
	for f, v := range map[string]string{keysFile: string(key), adminFile: admin + "\n"} {
		if err := os.WriteFile(f, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := startAtom(t, dir, []string{"ATOM_DEV=false", "ATOM_DATABASE_URL=", "ATOM_ENCRYPTION_KEYS=", "ATOM_ADMIN_KEY=",
		"ATOM_ENCRYPTION_KEYS_FILE=" + keysFile, "ATOM_ADMIN_KEY_FILE=" + adminFile, "GITHUB_CLIENT_SECRET=gh-secret-value",
		"ATOM_PLUGIN_DIR=" + plugins, "ATOM_PLUGIN_UPLOAD=off", "ATOM_PLUGIN_ISOLATION=required", "ATOM_CATALOG_DIR=" + catalogDir})

	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, p.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	st, body := call("POST", "/api/v1/tenants", admin, `{"name":"Acme"}`)
	if st != 201 {
		t.Fatalf("admin key from its file: %d %s", st, body)
	}
	var tn struct{ ID string }
	_ = json.Unmarshal([]byte(body), &tn)
	st, body = call("POST", "/api/v1/tenants/"+tn.ID+"/api-keys", admin, `{"name":"t"}`)
	var k struct{ Key string }
	if _ = json.Unmarshal([]byte(body), &k); st != 201 {
		t.Fatalf("api key: %d %s", st, body)
	}
	st, body = call("POST", "/api/v1/integrations/echo/actions/echo", k.Key, `{"input":{}}`)
	var out struct {
		Output struct{ PID int } `json:"output"`
	}
	if _ = json.Unmarshal([]byte(body), &out); st != 200 || out.Output.PID == 0 {
		t.Fatalf("echo: %d %s", st, body)
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(out.Output.PID) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") && strings.Fields(line)[1] == "0" {
			t.Fatalf("the plugin runs as root: %s", line)
		}
	}
	for _, name := range []string{"GITHUB_CLIENT_SECRET", "ATOM_ADMIN_KEY", "ATOM_ENCRYPTION_KEYS", "ATOM_ADMIN_KEY_FILE"} {
		st, body = call("POST", "/api/v1/integrations/echo/actions/env", k.Key, `{"input":{"name":"`+name+`"}}`)
		if st != 200 || !strings.Contains(body, `"set":false`) {
			t.Fatalf("the plugin sees %s: %d %s", name, st, body)
		}
	}
	if st, body = call("PUT", "/api/v1/admin/plugins/echo", admin, "x"); st != 403 || !strings.Contains(body, "plugin_upload_disabled") {
		t.Fatalf("upload with uploads off: %d %s", st, body)
	}
	for _, secret := range []string{admin, "gh-secret-value", strings.TrimSpace(string(key))} {
		if strings.Contains(p.stderr.String(), secret) {
			t.Fatal("a secret appears in the host's log")
		}
	}
}
