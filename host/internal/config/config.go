// Package config builds the host's configuration once at start-up from
// ATOM_* environment variables and the flags that mirror them (a flag
// wins over its variable), validates it in one place and hands out an
// immutable value.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the host's configuration.
type Config struct {
	// Addr is the listen address (ATOM_ADDR, default ":8080").
	Addr string
	// DatabaseURL is postgres://… or sqlite://path (ATOM_DATABASE_URL,
	// default sqlite://<data dir>/atom.db). On Postgres the host should
	// connect as a role that is neither superuser nor table owner.
	DatabaseURL string
	// MigrateDatabaseURL connects as the owner of the schema for
	// migrations (ATOM_MIGRATE_DATABASE_URL, default DatabaseURL).
	MigrateDatabaseURL string
	// DataDir holds the SQLite file, dev keys, the wasm compile cache and
	// private plugin copies (ATOM_DATA_DIR, default ./data).
	DataDir string
	// EncryptionKeys is the vault key ring "id1:base64,id2:base64"
	// (ATOM_ENCRYPTION_KEYS); the first encrypts.
	EncryptionKeys string
	// AdminKey guards the admin API (ATOM_ADMIN_KEY).
	AdminKey string
	// PluginDir is watched for native plugins and .wasm pieces
	// (ATOM_PLUGIN_DIR, default ./bin/plugins).
	PluginDir string
	// PluginVerify requires plugin binaries to match plugins.lock
	// (ATOM_PLUGIN_VERIFY).
	PluginVerify bool
	// PluginUploadOff refuses admin uploads of plugins with 403
	// (ATOM_PLUGIN_UPLOAD=off; default on). Production hosts that deploy
	// plugins with their lock file switch uploads off.
	PluginUploadOff bool
	// PluginRawCredentials lists the native plugins the operator lets
	// receive a connection's real secrets when their manifest declares
	// raw_credentials (ATOM_PLUGIN_RAW_CREDENTIALS, comma-separated ids).
	// A plugin that declares it without being listed is not run.
	PluginRawCredentials []string
	// PluginIsolation is auto, required or off (ATOM_PLUGIN_ISOLATION,
	// default auto): see native.Isolation. Empty means auto.
	PluginIsolation string
	// PluginUIDBase and PluginUIDCount are the uids isolated plugin
	// processes run as (ATOM_PLUGIN_UID_BASE, ATOM_PLUGIN_UID_COUNT; 0:
	// the native runtime's defaults).
	PluginUIDBase, PluginUIDCount uint32
	// PluginProcs is the GOMAXPROCS of native plugin processes
	// (ATOM_PLUGIN_PROCS, default 1): see native.Config.Procs.
	PluginProcs int
	// CatalogDir holds custom descriptors (ATOM_CATALOG_DIR).
	CatalogDir string
	// BaseURL is the public URL, used for OAuth callbacks (ATOM_BASE_URL,
	// default http://localhost<port>).
	BaseURL string
	// Dev enables the embedded development setup: generated keys in
	// <data dir>/dev.keys and the demo provider (ATOM_DEV). Only allowed on
	// SQLite.
	Dev bool
	// AutoMigrate applies migrations at serve start (ATOM_AUTO_MIGRATE,
	// default true).
	AutoMigrate bool
	// LogLevel is debug, info, warn or error (ATOM_LOG_LEVEL).
	LogLevel string
	// BodyLimit caps request bodies in bytes (ATOM_BODY_LIMIT, default 1 MiB).
	BodyLimit int
	// PluginUploadLimit caps the body of an admin plugin upload in bytes
	// (ATOM_PLUGIN_UPLOAD_LIMIT, default 64 MiB); zero means the default.
	PluginUploadLimit int
	// TenantRateLimit is the inbound request rate allowed per tenant, in
	// requests per second (ATOM_TENANT_RATE_LIMIT, default 100; 0 turns the
	// limit off); TenantRateBurst is its burst (ATOM_TENANT_RATE_BURST,
	// default 200).
	TenantRateLimit float64
	TenantRateBurst int
	// HookRateLimit is the rate of provider webhook requests allowed per
	// hook URL on one replica, in requests per second
	// (ATOM_HOOK_RATE_LIMIT, default 100; 0 turns the limit off): each
	// /api/v1/hooks/{id} and each provider's /api/v1/hooks/app/{provider}
	// has its own bucket. HookRateBurst is its burst
	// (ATOM_HOOK_RATE_BURST, default 200).
	HookRateLimit float64
	HookRateBurst int
	// AllowPrivateHosts lists hosts (host or host:port) on private or
	// loopback addresses that outbound calls may reach
	// (ATOM_ALLOW_PRIVATE_HOSTS, comma-separated). Everything else private
	// is refused. An entry "<piece id>=<host>" grants the host to one wasm
	// piece; pieces reach no other listed host.
	AllowPrivateHosts []string
	// StoreMaxKeys and StoreMaxBytes bound what plugins keep in one
	// tenant's store for one provider (ATOM_STORE_MAX_KEYS, default 1000;
	// ATOM_STORE_MAX_BYTES, default 16 MiB).
	StoreMaxKeys  int
	StoreMaxBytes int64
	// RateLimit is the outbound request rate allowed per tenant and
	// provider, in requests per second (ATOM_RATE_LIMIT, default 20;
	// negative turns the limit off); RateBurst is its burst
	// (ATOM_RATE_BURST, default 40).
	RateLimit float64
	RateBurst int
	// RateMaxWait is how long an outbound request past the burst waits for
	// its turn before it is refused with 429 and Retry-After
	// (ATOM_RATE_MAX_WAIT, default 2s, bounded by the request's deadline;
	// "0" refuses at once, which is a negative value here: zero selects
	// the default).
	RateMaxWait time.Duration
	// ShutdownTimeout bounds graceful shutdown (ATOM_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// ReturnToHosts are extra origins a post-connect redirect may target
	// (ATOM_RETURN_TO_ORIGINS, comma-separated); relative paths are
	// always allowed.
	ReturnToOrigins []string
	// Refresh is when OAuth tokens are refreshed.
	Refresh Refresh
	// Limits bound what one tenant, or one provider reply, can make the
	// host hold. A zero field means the default documented on Limits.
	Limits Limits
	// Delivery configures event delivery to tenants' webhooks.
	Delivery Delivery
}

// Refresh is the token refresh policy.
// Delivery configures event delivery to tenants' webhooks.
type Delivery struct {
	// MaxAttempts before a delivery is dead-lettered
	// (ATOM_DELIVERY_MAX_ATTEMPTS, default 12).
	MaxAttempts int
	// Timeout bounds one attempt, the endpoint's answer included
	// (ATOM_DELIVERY_TIMEOUT, default 10s, at most 60s).
	Timeout time.Duration
	// Retention is how long an event is kept after its delivery settled
	// (ATOM_EVENT_RETENTION, default 720h = 30 days; 0 keeps events for
	// ever). An event still being delivered is kept.
	Retention time.Duration
	// RetryBase is the wait after a first failed attempt, doubled per
	// attempt up to an hour (ATOM_DELIVERY_RETRY_BASE, default 5s).
	RetryBase time.Duration
}

type Refresh struct {
	// Fraction of a token's lifetime after which the background refreshes
	// it (ATOM_REFRESH_FRACTION, default 0.8), moved by a random Jitter of
	// the lifetime either way (ATOM_REFRESH_JITTER, default 0.05; 0: none).
	Fraction, Jitter float64
	// Margin is the on-demand margin: a call refreshes a token expiring
	// within it that the background has not (ATOM_REFRESH_MARGIN, 60s).
	Margin time.Duration
	// Floor is the least time between two unforced refreshes of one
	// connection whose token has not expired (ATOM_REFRESH_FLOOR, 10s).
	Floor time.Duration
	// SweepInterval is how often the background looks for due tokens
	// (ATOM_REFRESH_SWEEP_INTERVAL, 1m).
	SweepInterval time.Duration
}

// Limits are the per-tenant and per-reply bounds. The zero value of a
// field selects its default (see WithDefaults).
type Limits struct {
	// MaxUpstreamBody caps a provider's reply body, and a plugin's or
	// piece's result, in bytes (ATOM_MAX_UPSTREAM_BODY, default 8 MiB).
	MaxUpstreamBody int64
	// TenantMaxConcurrent caps one tenant's executions running at once
	// on this replica (ATOM_TENANT_MAX_CONCURRENT, default 32).
	TenantMaxConcurrent int
	// TenantMaxRunningAsync caps one tenant's asynchronous executions
	// running at once on this replica, so others get workers
	// (ATOM_TENANT_MAX_RUNNING_ASYNC, default 4).
	TenantMaxRunningAsync int
	// TenantMaxPendingAsync caps one tenant's queued asynchronous
	// executions (ATOM_TENANT_MAX_PENDING_ASYNC, default 1000).
	TenantMaxPendingAsync int
	// TenantMaxOAuthStates caps one tenant's live OAuth states
	// (ATOM_TENANT_MAX_OAUTH_STATES, default 100).
	TenantMaxOAuthStates int
	// TenantMaxUsers caps one tenant's users (ATOM_TENANT_MAX_USERS,
	// default 10000).
	TenantMaxUsers int
	// AsyncWorkers is how many asynchronous executions one replica runs
	// at once, across tenants (ATOM_ASYNC_WORKERS, default 10).
	AsyncWorkers int
}

// Default limits.
const (
	DefaultMaxUpstreamBody       = 8 << 20
	DefaultTenantMaxConcurrent   = 32
	DefaultTenantMaxRunningAsync = 4
	DefaultTenantMaxPendingAsync = 1000
	DefaultTenantMaxOAuthStates  = 100
	DefaultTenantMaxUsers        = 10000
	DefaultAsyncWorkers          = 10
)

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if l.MaxUpstreamBody <= 0 {
		l.MaxUpstreamBody = DefaultMaxUpstreamBody
	}
	def(&l.TenantMaxConcurrent, DefaultTenantMaxConcurrent)
	def(&l.TenantMaxRunningAsync, DefaultTenantMaxRunningAsync)
	def(&l.TenantMaxPendingAsync, DefaultTenantMaxPendingAsync)
	def(&l.TenantMaxOAuthStates, DefaultTenantMaxOAuthStates)
	def(&l.TenantMaxUsers, DefaultTenantMaxUsers)
	def(&l.AsyncWorkers, DefaultAsyncWorkers)
	return l
}

// Backend returns "postgres" or "sqlite".
func (c Config) Backend() string {
	if strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return "postgres"
	}
	return "sqlite"
}

// SQLitePath is the file path of a sqlite:// URL.
func (c Config) SQLitePath() string {
	return strings.TrimPrefix(c.DatabaseURL, "sqlite://")
}

// DevKeysPath is where the dev setup keeps its generated keys.
func (c Config) DevKeysPath() string { return filepath.Join(c.DataDir, "dev.keys") }

type field struct {
	env, flag, def, usage string
	target                *string
}

// Load reads the environment (through getenv) and parses args.
func Load(name string, args []string, getenv func(string) string) (Config, *flag.FlagSet, error) {
	return LoadWith(name, args, getenv, nil)
}

// LoadWith is Load with extra, command-specific flags registered by extra.
func LoadWith(name string, args []string, getenv func(string) string, extra func(*flag.FlagSet)) (Config, *flag.FlagSet, error) {
	var c Config
	var upload, uidBase, uidCount, rawCreds, pluginProcs string
	var autoMigrate, dev, verify, bodyLimit, uploadLimit, private, shutdown, returnTo, rate, burst, rateWait, tenantRate, tenantBurst, hookRate, hookBurst, storeKeys, storeBytes string
	var refFraction, refJitter, refMargin, refFloor, refSweep string
	var upstream, concurrent, runningAsync, pendingAsync, states, users, asyncWorkers string
	var deliveryAttempts, deliveryTimeout, eventRetention, deliveryRetryBase string
	fields := []field{
		{"ATOM_ADDR", "addr", ":8080", "listen address", &c.Addr},
		{"ATOM_DATABASE_URL", "database-url", "", "postgres://… or sqlite://path (default sqlite://<data dir>/atom.db)", &c.DatabaseURL},
		{"ATOM_MIGRATE_DATABASE_URL", "migrate-database-url", "", "owner connection for migrations (default: database URL)", &c.MigrateDatabaseURL},
		{"ATOM_DATA_DIR", "data-dir", "./data", "data directory", &c.DataDir},
		{"ATOM_ENCRYPTION_KEYS", "encryption-keys", "", "vault key ring id1:base64key,id2:base64key (first encrypts)", &c.EncryptionKeys},
		{"ATOM_ADMIN_KEY", "admin-key", "", "key for the admin API", &c.AdminKey},
		{"ATOM_PLUGIN_DIR", "plugin-dir", "./bin/plugins", "directory of native plugins and .wasm pieces", &c.PluginDir},
		{"ATOM_PLUGIN_VERIFY", "plugin-verify", "false", "require plugins to match <plugin dir>/plugins.lock", &verify},
		{"ATOM_PLUGIN_UPLOAD", "plugin-upload", "true", "allow admin uploads of plugins (PUT /api/v1/admin/plugins/{id})", &upload},
		{"ATOM_PLUGIN_RAW_CREDENTIALS", "plugin-raw-credentials", "", "comma-separated ids of native plugins allowed the real secrets when their manifest declares raw_credentials", &rawCreds},
		{"ATOM_PLUGIN_ISOLATION", "plugin-isolation", "auto", "auto, required or off: run native plugin processes in a sandbox (own uid, namespaces, rlimits)", &c.PluginIsolation},
		{"ATOM_PLUGIN_UID_BASE", "plugin-uid-base", "0", "first uid of isolated plugin processes (0: 1879048192)", &uidBase},
		{"ATOM_PLUGIN_UID_COUNT", "plugin-uid-count", "0", "how many uids isolated plugins may use (0: 65536; 1: all share the base uid)", &uidCount},
		{"ATOM_PLUGIN_PROCS", "plugin-procs", "1", "GOMAXPROCS of native plugin processes (threads running Go code at once in each)", &pluginProcs},
		{"ATOM_CATALOG_DIR", "catalog-dir", "", "directory of custom provider descriptors (YAML or JSON)", &c.CatalogDir},
		{"ATOM_BASE_URL", "base-url", "", "public base URL used for OAuth callbacks (default http://localhost<addr>)", &c.BaseURL},
		{"ATOM_DEV", "dev", "false", "embedded development setup: generated keys and the demo provider (SQLite only)", &dev},
		{"ATOM_AUTO_MIGRATE", "auto-migrate", "true", "apply migrations when serve starts", &autoMigrate},
		{"ATOM_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", &c.LogLevel},
		{"ATOM_BODY_LIMIT", "body-limit", "1048576", "maximum request body in bytes", &bodyLimit},
		{"ATOM_PLUGIN_UPLOAD_LIMIT", "plugin-upload-limit", "67108864", "maximum plugin upload body in bytes (admin API only)", &uploadLimit},
		{"ATOM_TENANT_RATE_LIMIT", "tenant-rate-limit", "100", "inbound requests per second per tenant (0: no limit)", &tenantRate},
		{"ATOM_TENANT_RATE_BURST", "tenant-rate-burst", "200", "burst of the inbound per-tenant rate limit", &tenantBurst},
		{"ATOM_HOOK_RATE_LIMIT", "hook-rate-limit", "100", "provider webhook requests per second per hook URL (0: no limit)", &hookRate},
		{"ATOM_HOOK_RATE_BURST", "hook-rate-burst", "200", "burst of the per-hook rate limit", &hookBurst},
		{"ATOM_ALLOW_PRIVATE_HOSTS", "allow-private-hosts", "", "comma-separated private/loopback hosts outbound calls may reach; <piece id>=<host> grants one to a single wasm piece", &private},
		{"ATOM_STORE_MAX_KEYS", "store-max-keys", "1000", "keys plugins may keep per tenant and provider", &storeKeys},
		{"ATOM_STORE_MAX_BYTES", "store-max-bytes", "16777216", "bytes plugins may keep per tenant and provider", &storeBytes},
		{"ATOM_RATE_LIMIT", "rate-limit", "20", "outbound requests per second per tenant and provider (negative: no limit)", &rate},
		{"ATOM_RATE_BURST", "rate-burst", "40", "burst of the outbound rate limit", &burst},
		{"ATOM_RATE_MAX_WAIT", "rate-max-wait", "2s", "how long an outbound request past the rate limit's burst may wait for its turn (0: refuse at once)", &rateWait},
		{"ATOM_SHUTDOWN_TIMEOUT", "shutdown-timeout", "20s", "how long shutdown waits for in-flight requests", &shutdown},
		{"ATOM_RETURN_TO_ORIGINS", "return-to-origins", "", "comma-separated origins allowed as post-connect redirect targets", &returnTo},
		{"ATOM_REFRESH_FRACTION", "refresh-fraction", "0.8", "part of a token's lifetime after which it is refreshed in the background (between 0 and 1)", &refFraction},
		{"ATOM_REFRESH_JITTER", "refresh-jitter", "0.05", "random shift of the refresh time, as a part of the lifetime either way (0: none)", &refJitter},
		{"ATOM_REFRESH_MARGIN", "refresh-margin", "60s", "a call refreshes a token expiring within this margin if the background has not", &refMargin},
		{"ATOM_REFRESH_FLOOR", "refresh-floor", "10s", "least time between two refreshes of a connection whose token has not expired", &refFloor},
		{"ATOM_REFRESH_SWEEP_INTERVAL", "refresh-sweep-interval", "1m", "how often the background schedules due refreshes", &refSweep},
		{"ATOM_MAX_UPSTREAM_BODY", "max-upstream-body", fmt.Sprint(DefaultMaxUpstreamBody), "largest provider reply body (and plugin result) in bytes", &upstream},
		{"ATOM_TENANT_MAX_CONCURRENT", "tenant-max-concurrent", fmt.Sprint(DefaultTenantMaxConcurrent), "executions one tenant may run at once", &concurrent},
		{"ATOM_TENANT_MAX_RUNNING_ASYNC", "tenant-max-running-async", fmt.Sprint(DefaultTenantMaxRunningAsync), "asynchronous executions one tenant may run at once", &runningAsync},
		{"ATOM_TENANT_MAX_PENDING_ASYNC", "tenant-max-pending-async", fmt.Sprint(DefaultTenantMaxPendingAsync), "asynchronous executions one tenant may have queued", &pendingAsync},
		{"ATOM_TENANT_MAX_OAUTH_STATES", "tenant-max-oauth-states", fmt.Sprint(DefaultTenantMaxOAuthStates), "unfinished OAuth connections one tenant may have", &states},
		{"ATOM_TENANT_MAX_USERS", "tenant-max-users", fmt.Sprint(DefaultTenantMaxUsers), "users one tenant may create", &users},
		{"ATOM_ASYNC_WORKERS", "async-workers", fmt.Sprint(DefaultAsyncWorkers), "asynchronous executions one replica runs at once", &asyncWorkers},
		{"ATOM_DELIVERY_MAX_ATTEMPTS", "delivery-max-attempts", "12", "attempts to deliver an event to a tenant's webhook before it is dead-lettered", &deliveryAttempts},
		{"ATOM_DELIVERY_TIMEOUT", "delivery-timeout", "10s", "how long one webhook delivery attempt may take, the answer included", &deliveryTimeout},
		{"ATOM_EVENT_RETENTION", "event-retention", "720h", "how long an event is kept after its delivery settled (0: for ever)", &eventRetention},
		{"ATOM_DELIVERY_RETRY_BASE", "delivery-retry-base", "5s", "wait after a failed webhook delivery attempt, doubled per attempt up to an hour", &deliveryRetryBase},
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	for _, f := range fields {
		def := f.def
		if v := getenv(f.env); v != "" {
			def = v
		}
		fs.StringVar(f.target, f.flag, def, f.usage+" ($"+f.env+")")
	}
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return c, fs, err
	}
	var errs []error
	parseBool := func(name, v string) bool {
		switch strings.ToLower(v) {
		case "1", "true", "yes", "on":
			return true
		case "0", "false", "no", "off", "":
			return false
		}
		errs = append(errs, fmt.Errorf("%s: %q is not a boolean (use true or false)", name, v))
		return false
	}
	c.AutoMigrate = parseBool("ATOM_AUTO_MIGRATE", autoMigrate)
	c.Dev = parseBool("ATOM_DEV", dev)
	c.PluginVerify = parseBool("ATOM_PLUGIN_VERIFY", verify)
	c.PluginUploadOff = !parseBool("ATOM_PLUGIN_UPLOAD", upload)
	switch strings.ToLower(c.PluginIsolation) {
	case "auto", "required", "off":
		c.PluginIsolation = strings.ToLower(c.PluginIsolation)
	default:
		errs = append(errs, fmt.Errorf("ATOM_PLUGIN_ISOLATION: %q is not one of auto, required, off", c.PluginIsolation))
	}
	for _, u := range []struct {
		name, v string
		dst     *uint32
	}{{"ATOM_PLUGIN_UID_BASE", uidBase, &c.PluginUIDBase}, {"ATOM_PLUGIN_UID_COUNT", uidCount, &c.PluginUIDCount}} {
		n, err := strconv.ParseUint(u.v, 10, 32)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a uid (a number below 4294967296)", u.name, u.v))
		}
		*u.dst = uint32(n)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(pluginProcs)); err != nil || n < 1 || n > 1024 {
		errs = append(errs, fmt.Errorf("ATOM_PLUGIN_PROCS: %q is not a number of processors from 1 to 1024", pluginProcs))
	} else {
		c.PluginProcs = n
	}
	if c.PluginUIDBase != 0 && c.PluginUIDBase < 1000 {
		errs = append(errs, fmt.Errorf("ATOM_PLUGIN_UID_BASE: %d is a system uid; pick an unused range (e.g. 65534 for nobody, or the default 1879048192)", c.PluginUIDBase))
	}
	if _, err := fmt.Sscanf(bodyLimit, "%d", &c.BodyLimit); err != nil || c.BodyLimit <= 0 {
		errs = append(errs, fmt.Errorf("ATOM_BODY_LIMIT: %q is not a positive number of bytes", bodyLimit))
	}
	if _, err := fmt.Sscanf(uploadLimit, "%d", &c.PluginUploadLimit); err != nil || c.PluginUploadLimit <= 0 {
		errs = append(errs, fmt.Errorf("ATOM_PLUGIN_UPLOAD_LIMIT: %q is not a positive number of bytes", uploadLimit))
	}
	if _, err := fmt.Sscanf(tenantRate, "%g", &c.TenantRateLimit); err != nil || !(c.TenantRateLimit >= 0) {
		errs = append(errs, fmt.Errorf("ATOM_TENANT_RATE_LIMIT: %q is not a number of requests per second (0 for no limit)", tenantRate))
	}
	if _, err := fmt.Sscanf(tenantBurst, "%d", &c.TenantRateBurst); err != nil || c.TenantRateBurst <= 0 {
		errs = append(errs, fmt.Errorf("ATOM_TENANT_RATE_BURST: %q is not a positive number", tenantBurst))
	}
	if _, err := fmt.Sscanf(hookRate, "%g", &c.HookRateLimit); err != nil || !(c.HookRateLimit >= 0) {
		errs = append(errs, fmt.Errorf("ATOM_HOOK_RATE_LIMIT: %q is not a number of requests per second (0 for no limit)", hookRate))
	}
	if _, err := fmt.Sscanf(hookBurst, "%d", &c.HookRateBurst); err != nil || c.HookRateBurst <= 0 {
		errs = append(errs, fmt.Errorf("ATOM_HOOK_RATE_BURST: %q is not a positive number", hookBurst))
	}
	if _, err := fmt.Sscanf(rate, "%g", &c.RateLimit); err != nil || c.RateLimit == 0 {
		errs = append(errs, fmt.Errorf("ATOM_RATE_LIMIT: %q is not a non-zero number (requests per second; negative for no limit)", rate))
	}
	if _, err := fmt.Sscanf(storeKeys, "%d", &c.StoreMaxKeys); err != nil || c.StoreMaxKeys <= 0 {
		errs = append(errs, fmt.Errorf("ATOM_STORE_MAX_KEYS: %q is not a positive number of keys", storeKeys))
	}
	if _, err := fmt.Sscanf(storeBytes, "%d", &c.StoreMaxBytes); err != nil || c.StoreMaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("ATOM_STORE_MAX_BYTES: %q is not a positive number of bytes", storeBytes))
	}
	if _, err := fmt.Sscanf(burst, "%d", &c.RateBurst); err != nil || c.RateBurst <= 0 {
		errs = append(errs, fmt.Errorf("ATOM_RATE_BURST: %q is not a positive number", burst))
	}
	positive := func(name, v string, to *int) {
		if _, err := fmt.Sscanf(v, "%d", to); err != nil || *to <= 0 || fmt.Sprint(*to) != strings.TrimSpace(v) {
			errs = append(errs, fmt.Errorf("%s: %q is not a positive whole number", name, v))
		}
	}
	var upstreamN int
	positive("ATOM_MAX_UPSTREAM_BODY", upstream, &upstreamN)
	c.Limits.MaxUpstreamBody = int64(upstreamN)
	positive("ATOM_TENANT_MAX_CONCURRENT", concurrent, &c.Limits.TenantMaxConcurrent)
	positive("ATOM_TENANT_MAX_RUNNING_ASYNC", runningAsync, &c.Limits.TenantMaxRunningAsync)
	positive("ATOM_TENANT_MAX_PENDING_ASYNC", pendingAsync, &c.Limits.TenantMaxPendingAsync)
	positive("ATOM_TENANT_MAX_OAUTH_STATES", states, &c.Limits.TenantMaxOAuthStates)
	positive("ATOM_TENANT_MAX_USERS", users, &c.Limits.TenantMaxUsers)
	positive("ATOM_ASYNC_WORKERS", asyncWorkers, &c.Limits.AsyncWorkers)
	positive("ATOM_DELIVERY_MAX_ATTEMPTS", deliveryAttempts, &c.Delivery.MaxAttempts)
	if v, err := time.ParseDuration(deliveryTimeout); err != nil || v <= 0 || v > time.Minute {
		errs = append(errs, fmt.Errorf("ATOM_DELIVERY_TIMEOUT: %q is not a duration between 0 and 1m (e.g. 10s)", deliveryTimeout))
	} else {
		c.Delivery.Timeout = v
	}
	if v, err := time.ParseDuration(eventRetention); err != nil || v < 0 || (v > 0 && v < time.Hour) {
		errs = append(errs, fmt.Errorf("ATOM_EVENT_RETENTION: %q is not 0 or a duration of at least 1h (e.g. 720h)", eventRetention))
	} else {
		c.Delivery.Retention = v
	}
	if v, err := time.ParseDuration(deliveryRetryBase); err != nil || v < 10*time.Millisecond || v > time.Hour {
		errs = append(errs, fmt.Errorf("ATOM_DELIVERY_RETRY_BASE: %q is not a duration between 10ms and 1h (e.g. 5s)", deliveryRetryBase))
	} else {
		c.Delivery.RetryBase = v
	}
	if _, err := fmt.Sscanf(refFraction, "%g", &c.Refresh.Fraction); err != nil || !(c.Refresh.Fraction > 0 && c.Refresh.Fraction < 1) {
		errs = append(errs, fmt.Errorf("ATOM_REFRESH_FRACTION: %q is not a number between 0 and 1 (e.g. 0.8)", refFraction))
	}
	if _, err := fmt.Sscanf(refJitter, "%g", &c.Refresh.Jitter); err != nil || !(c.Refresh.Jitter >= 0 && c.Refresh.Jitter < 0.5) {
		errs = append(errs, fmt.Errorf("ATOM_REFRESH_JITTER: %q is not a number from 0 up to 0.5 (e.g. 0.05)", refJitter))
	} else if c.Refresh.Fraction-c.Refresh.Jitter <= 0 || c.Refresh.Fraction+c.Refresh.Jitter >= 1 {
		errs = append(errs, fmt.Errorf("ATOM_REFRESH_JITTER: %s either side of ATOM_REFRESH_FRACTION %s leaves 0..1; lower one of them", refJitter, refFraction))
	}
	for _, d := range []struct {
		name, v string
		dst     *time.Duration
	}{{"ATOM_REFRESH_MARGIN", refMargin, &c.Refresh.Margin}, {"ATOM_REFRESH_FLOOR", refFloor, &c.Refresh.Floor}, {"ATOM_REFRESH_SWEEP_INTERVAL", refSweep, &c.Refresh.SweepInterval}} {
		v, err := time.ParseDuration(d.v)
		if err != nil || v <= 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a positive duration (e.g. 30s)", d.name, d.v))
		}
		*d.dst = v
	}
	d, err := time.ParseDuration(shutdown)
	if err != nil {
		errs = append(errs, fmt.Errorf("ATOM_SHUTDOWN_TIMEOUT: %q is not a duration (e.g. 20s)", shutdown))
	}
	c.ShutdownTimeout = d
	if w, err := time.ParseDuration(rateWait); err != nil || w < 0 || w > time.Minute {
		errs = append(errs, fmt.Errorf("ATOM_RATE_MAX_WAIT: %q is not a duration between 0 and 1m (e.g. 2s)", rateWait))
	} else if w == 0 {
		c.RateMaxWait = -1
	} else {
		c.RateMaxWait = w
	}
	c.AllowPrivateHosts = splitList(private)
	c.PluginRawCredentials = splitList(rawCreds)
	c.ReturnToOrigins = splitList(returnTo)
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite://" + filepath.Join(c.DataDir, "atom.db")
	}
	if c.MigrateDatabaseURL == "" {
		c.MigrateDatabaseURL = c.DatabaseURL
	}
	if !strings.HasPrefix(c.DatabaseURL, "sqlite://") && c.Backend() != "postgres" {
		errs = append(errs, errors.New("ATOM_DATABASE_URL: must start with postgres:// or sqlite://"))
	}
	if c.Backend() == "sqlite" && c.SQLitePath() == "" {
		errs = append(errs, errors.New("ATOM_DATABASE_URL: sqlite:// needs a file path, e.g. sqlite://./data/atom.db"))
	}
	if c.Dev && c.Backend() != "sqlite" {
		errs = append(errs, errors.New("ATOM_DEV: the development setup runs only on the embedded SQLite database"))
	}
	if c.BaseURL == "" {
		host := c.Addr
		if strings.HasPrefix(host, ":") {
			host = "localhost" + host
		}
		c.BaseURL = "http://" + host
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("ATOM_BASE_URL: %q must be an absolute http(s) URL", c.BaseURL))
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("ATOM_LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel))
	}
	return c, fs, errors.Join(errs...)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
