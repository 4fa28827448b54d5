package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsAndFlagsOverEnv(t *testing.T) {
	c, _, err := Load("t", []string{"--addr", ":9999"}, env(map[string]string{"ATOM_ADDR": ":7000", "ATOM_DATA_DIR": "/tmp/x"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9999" {
		t.Errorf("flag did not win: %s", c.Addr)
	}
	if c.DatabaseURL != "sqlite:///tmp/x/atom.db" || c.Backend() != "sqlite" || c.SQLitePath() != "/tmp/x/atom.db" {
		t.Errorf("default database: %s", c.DatabaseURL)
	}
	if c.BaseURL != "http://localhost:9999" || !c.AutoMigrate || c.BodyLimit != 1<<20 {
		t.Errorf("defaults: %+v", c)
	}
	if c.RateMaxWait != 2*time.Second {
		t.Errorf("outbound rate wait default %s, want 2s", c.RateMaxWait)
	}
	if c, _, err := Load("t", nil, env(map[string]string{"ATOM_RATE_MAX_WAIT": "0"})); err != nil || c.RateMaxWait >= 0 {
		t.Errorf("ATOM_RATE_MAX_WAIT=0: wait %v err %v, want a negative wait (refuse at once)", c.RateMaxWait, err)
	}
	if c.PluginUploadLimit != 64<<20 || c.TenantRateLimit != 100 || c.TenantRateBurst != 200 || c.HookRateLimit != 100 || c.HookRateBurst != 200 {
		t.Errorf("limit defaults: upload %d, tenant rate %g burst %d, hook rate %g burst %d", c.PluginUploadLimit, c.TenantRateLimit, c.TenantRateBurst, c.HookRateLimit, c.HookRateBurst)
	}
	if c.MigrateDatabaseURL != c.DatabaseURL {
		t.Errorf("migrate URL default: %s", c.MigrateDatabaseURL)
	}
}

func TestValidation(t *testing.T) {
	cases := map[string]map[string]string{
		"ATOM_DATABASE_URL": {"ATOM_DATABASE_URL": "mysql://x"},
		"ATOM_DEV":          {"ATOM_DEV": "true", "ATOM_DATABASE_URL": "postgres://x/y"},
		"ATOM_BODY_LIMIT":   {"ATOM_BODY_LIMIT": "lots"},
		"ATOM_BASE_URL":     {"ATOM_BASE_URL": "ftp://x"},
		"ATOM_LOG_LEVEL":    {"ATOM_LOG_LEVEL": "loud"},
		"ATOM_AUTO_MIGRATE": {"ATOM_AUTO_MIGRATE": "maybe"},

		"ATOM_PLUGIN_UPLOAD_LIMIT": {"ATOM_PLUGIN_UPLOAD_LIMIT": "0"},
		"ATOM_TENANT_RATE_LIMIT":   {"ATOM_TENANT_RATE_LIMIT": "NaN"},
		"ATOM_TENANT_RATE_BURST":   {"ATOM_TENANT_RATE_BURST": "-1"},
		"ATOM_HOOK_RATE_LIMIT":     {"ATOM_HOOK_RATE_LIMIT": "-5"},
		"ATOM_HOOK_RATE_BURST":     {"ATOM_HOOK_RATE_BURST": "0"},
		"ATOM_RATE_MAX_WAIT":       {"ATOM_RATE_MAX_WAIT": "-1s"},

		"ATOM_MAX_UPSTREAM_BODY":        {"ATOM_MAX_UPSTREAM_BODY": "8MB"},
		"ATOM_TENANT_MAX_CONCURRENT":    {"ATOM_TENANT_MAX_CONCURRENT": "0"},
		"ATOM_TENANT_MAX_RUNNING_ASYNC": {"ATOM_TENANT_MAX_RUNNING_ASYNC": "-1"},
		"ATOM_TENANT_MAX_PENDING_ASYNC": {"ATOM_TENANT_MAX_PENDING_ASYNC": "many"},
		"ATOM_TENANT_MAX_OAUTH_STATES":  {"ATOM_TENANT_MAX_OAUTH_STATES": "1.5"},
		"ATOM_TENANT_MAX_USERS":         {"ATOM_TENANT_MAX_USERS": "10k"},
		"ATOM_ASYNC_WORKERS":            {"ATOM_ASYNC_WORKERS": "none"},
		"ATOM_DELIVERY_MAX_ATTEMPTS":    {"ATOM_DELIVERY_MAX_ATTEMPTS": "0"},
		"ATOM_DELIVERY_TIMEOUT":         {"ATOM_DELIVERY_TIMEOUT": "5m"},
		"ATOM_EVENT_RETENTION":          {"ATOM_EVENT_RETENTION": "10m"},
		"ATOM_DELIVERY_RETRY_BASE":      {"ATOM_DELIVERY_RETRY_BASE": "1ms"},

		"ATOM_PLUGIN_ISOLATION": {"ATOM_PLUGIN_ISOLATION": "sometimes"},
		"ATOM_PLUGIN_UPLOAD":    {"ATOM_PLUGIN_UPLOAD": "nope"},
		"ATOM_PLUGIN_UID_BASE":  {"ATOM_PLUGIN_UID_BASE": "12"},
		"ATOM_PLUGIN_UID_COUNT": {"ATOM_PLUGIN_UID_COUNT": "-1"},
		"ATOM_PLUGIN_PROCS":     {"ATOM_PLUGIN_PROCS": "0"},

		"ATOM_REFRESH_FRACTION":       {"ATOM_REFRESH_FRACTION": "1.2"},
		"ATOM_REFRESH_JITTER":         {"ATOM_REFRESH_JITTER": "-0.1"},
		"ATOM_REFRESH_MARGIN":         {"ATOM_REFRESH_MARGIN": "60"},
		"ATOM_REFRESH_FLOOR":          {"ATOM_REFRESH_FLOOR": "0s"},
		"ATOM_REFRESH_SWEEP_INTERVAL": {"ATOM_REFRESH_SWEEP_INTERVAL": "often"},
	}
	for name, vars := range cases {
		if _, _, err := Load("t", nil, env(vars)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name the variable", name, err)
		}
	}
}

func TestLimits(t *testing.T) {
	c, _, err := Load("t", nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits != (Limits{}).WithDefaults() {
		t.Errorf("default limits %+v", c.Limits)
	}
	c, _, err = Load("t", []string{"--tenant-max-users", "7"}, env(map[string]string{"ATOM_MAX_UPSTREAM_BODY": "1024", "ATOM_TENANT_MAX_OAUTH_STATES": "3"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.MaxUpstreamBody != 1024 || c.Limits.TenantMaxOAuthStates != 3 || c.Limits.TenantMaxUsers != 7 || c.Limits.TenantMaxConcurrent != DefaultTenantMaxConcurrent {
		t.Errorf("limits %+v", c.Limits)
	}
}

func TestReadEnvSecretsFromFiles(t *testing.T) {
	files := map[string]string{"/run/keys": "k1:abc\n", "/run/stripe": "sk_live_x"}
	read := func(p string) ([]byte, error) {
		if v, ok := files[p]; ok {
			return []byte(v), nil
		}
		return nil, errors.New("no such file")
	}
	e, err := ReadEnv([]string{"ATOM_ENCRYPTION_KEYS_FILE=/run/keys", "STRIPE_API_KEY_FILE=/run/stripe", "ATOM_ADMIN_KEY=adm",
		"STRIPE_CLIENT_ID=ci", "GITHUB_CLIENT_SECRET=cs", "ATOM_ADDR=:1"}, read)
	if err != nil {
		t.Fatal(err)
	}
	if e.Get("ATOM_ENCRYPTION_KEYS") != "k1:abc" || e.Get("STRIPE_API_KEY") != "sk_live_x" || e.Get("ATOM_ADMIN_KEY") != "adm" {
		t.Fatalf("values %q %q %q", e.Get("ATOM_ENCRYPTION_KEYS"), e.Get("STRIPE_API_KEY"), e.Get("ATOM_ADMIN_KEY"))
	}
	if got := strings.Join(e.Secrets, ","); got != "ATOM_ADMIN_KEY,GITHUB_CLIENT_SECRET" {
		t.Fatalf("secrets to scrub %q", got)
	}
	c, _, err := Load("t", nil, e.Get)
	if err != nil || c.EncryptionKeys != "k1:abc" || c.AdminKey != "adm" {
		t.Fatalf("config from files: %v %+v", err, c)
	}
	var unset []string
	if err := e.Scrub(func(k string) error { unset = append(unset, k); return nil }); err != nil || len(unset) != 2 {
		t.Fatalf("scrub %v %v", unset, err)
	}
	if e, err := ReadEnv([]string{"ATOM_ADMIN_KEY=", "ATOM_ADMIN_KEY_FILE=/run/keys"}, read); err != nil || e.Get("ATOM_ADMIN_KEY") != "k1:abc" {
		t.Fatalf("an empty NAME beside NAME_FILE: %v", err)
	}
	for _, bad := range [][]string{
		{"ATOM_ADMIN_KEY=a", "ATOM_ADMIN_KEY_FILE=/run/keys"},
		{"ATOM_ADMIN_KEY_FILE=/missing"},
	} {
		if _, err := ReadEnv(bad, read); err == nil || !strings.Contains(err.Error(), "ATOM_ADMIN_KEY") {
			t.Errorf("%v: error %v does not name the variable", bad, err)
		}
	}
}

func TestRefreshPolicy(t *testing.T) {
	c, _, err := Load("t", nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Refresh{Fraction: 0.8, Jitter: 0.05, Margin: 60 * time.Second, Floor: 10 * time.Second, SweepInterval: time.Minute}
	if c.Refresh != want {
		t.Errorf("default refresh policy %+v", c.Refresh)
	}
	c, _, err = Load("t", []string{"--refresh-floor", "30s"}, env(map[string]string{"ATOM_REFRESH_FRACTION": "0.5", "ATOM_REFRESH_JITTER": "0", "ATOM_REFRESH_MARGIN": "2m", "ATOM_REFRESH_SWEEP_INTERVAL": "15s"}))
	if err != nil {
		t.Fatal(err)
	}
	want = Refresh{Fraction: 0.5, Jitter: 0, Margin: 2 * time.Minute, Floor: 30 * time.Second, SweepInterval: 15 * time.Second}
	if c.Refresh != want {
		t.Errorf("refresh policy %+v", c.Refresh)
	}
	// The jitter may not carry the refresh time outside the lifetime.
	if _, _, err := Load("t", nil, env(map[string]string{"ATOM_REFRESH_FRACTION": "0.9", "ATOM_REFRESH_JITTER": "0.2"})); err == nil || !strings.Contains(err.Error(), "ATOM_REFRESH_JITTER") {
		t.Errorf("fraction 0.9 with jitter 0.2: %v", err)
	}
}
