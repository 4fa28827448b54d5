package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
)

// TestCLIOnPostgres drives the operational commands against a fresh
// PostgreSQL database: migrations as the owner, the host's role granted,
// a tenant and a key created, keys rotated with a progress line.
func TestCLIOnPostgres(t *testing.T) {
	pg := storetest.NewPostgres(t)
	k1, _ := vault.Generate("k1")
	k2, _ := vault.Generate("k2")
	dir := t.TempDir()
	run := func(keys string, args ...string) string {
		t.Helper()
		cmd := exec.Command(atomBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "ATOM_DATABASE_URL="+pg.AppURL, "ATOM_MIGRATE_DATABASE_URL="+pg.OwnerURL,
			"ATOM_ENCRYPTION_KEYS="+keys, "ATOM_DEV=false", "ATOM_LOG_LEVEL=warn")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("atom %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run(k1, "migrate", "status"); !strings.Contains(out, "pending") {
		t.Fatalf("status before migrating:\n%s", out)
	}
	if out := run(k1, "migrate", "up"); !strings.Contains(out, "up to date") {
		t.Fatalf("migrate up:\n%s", out)
	}
	if out := run(k1, "migrate", "status"); strings.Contains(out, "pending") || !strings.Contains(out, "applied") {
		t.Fatalf("status after migrating:\n%s", out)
	}
	var tenant struct{ ID, Name string }
	json.Unmarshal([]byte(run(k1, "tenant", "create", "--name", "Acme", "--id", "acme")), &tenant)
	if tenant.ID != "acme" {
		t.Fatalf("tenant: %+v", tenant)
	}
	var key struct{ ID, Key string }
	json.Unmarshal([]byte(run(k1, "apikey", "create", "--tenant", "acme")), &key)
	if !strings.HasPrefix(key.Key, "atom_") {
		t.Fatalf("key: %+v", key)
	}
	// Rotation with nothing to re-encrypt still reports, and is safe to repeat.
	for i := 0; i < 2; i++ {
		if out := run(k2+","+k1, "vault", "rotate"); !strings.Contains(out, "rotated:") || !strings.Contains(out, `"k2"`) {
			t.Fatalf("rotate:\n%s", out)
		}
	}
	cmd := exec.Command(atomBin, "apikey", "create", "--tenant", "nobody")
	cmd.Env = append(os.Environ(), "ATOM_DATABASE_URL="+pg.AppURL, "ATOM_MIGRATE_DATABASE_URL="+pg.OwnerURL, "ATOM_ENCRYPTION_KEYS="+k1)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), `no tenant "nobody"`) {
		t.Fatalf("key for a missing tenant: %v %s", err, out)
	}
}

func TestCatalogValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "acme.yaml")
	bad := filepath.Join(dir, "broken.json")
	os.WriteFile(good, []byte("id: acme\nname: Acme\ncategories: [crm]\nauth:\n  kind: basic\n  credential_fields: [username, password]\napi:\n  base_url: https://api.acme.test\nimplementations: [generic]\nconnectable: true\n"), 0o644)
	os.WriteFile(bad, []byte("{\n  \"id\": \"broken\",\n  \"name\": \"Broken\",\n  \"categories\": [\"crm\"],\n  \"auth\": {\"kind\": \"oauth3\"},\n  \"api\": {\"base_url\": \"https://x.test\"},\n  \"connectable\": true\n}\n"), 0o644)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"catalog", "validate", good}, &out, &errOut); err != nil {
		t.Fatalf("valid file: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), `acme.yaml: ok (id "acme", auth basic)`) {
		t.Fatalf("output: %s", out.String())
	}
	out.Reset()
	err := run(context.Background(), []string{"catalog", "validate", good, bad}, &out, &errOut)
	if err == nil {
		t.Fatalf("invalid file accepted:\n%s", out.String())
	}
	if want := bad + ":5: auth.kind:"; !strings.Contains(out.String(), want) {
		t.Fatalf("output lacks %q:\n%s", want, out.String())
	}
	if err := run(context.Background(), []string{"catalog", "validate"}, &out, &errOut); err == nil {
		t.Fatal("no file: want a usage error")
	}
}
