// Package app is the host's composition root: New builds the whole graph
// from the configuration, in order (config → vault → store → catalog →
// the one outbound client → webhooks and connections → runtimes →
// registry → engine → web UI → jobs → API), each part handed what it
// needs when it is constructed. `atom serve` and the end-to-end tests
// both start hosts through it; tests adjust it with Options, never by
// changing parts after the fact.
package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/demo"
	"github.com/atomhq/atom/host/internal/engine"
	"github.com/atomhq/atom/host/internal/jobs"
	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/postgres"
	"github.com/atomhq/atom/host/internal/store/sqlite"
	"github.com/atomhq/atom/host/internal/triggers"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/host/internal/webhook"
)

// Version is set at build time (-ldflags "-X …/app.Version=…").
var Version = "dev"

// Host is a running Atom host.
type Host struct {
	Config   config.Config
	Store    store.Store
	Keyring  *vault.Keyring
	Catalog  *catalog.Watcher
	Connect  *connect.Service
	Webhooks *webhook.Sender
	Jobs     *jobs.Client
	Server   *api.Server
	// Outbound is the host's one outbound client: provider APIs, OAuth
	// endpoints, webhooks.
	Outbound *outbound.Client
	Log      *slog.Logger
	Registry *prometheus.Registry

	closers []func(context.Context) error
}

// Options adjust a host beyond its Config (tests use them).
type Options struct {
	// Env resolves {PROVIDER}_* variables; os.Getenv when nil.
	Env func(string) string
	// Logger; a JSON logger on stderr at Config.LogLevel when nil.
	Logger *slog.Logger
	// Outbound adjusts the configuration of the host's one outbound
	// client after it is filled in from Config (benchmarks lift the
	// rate limit).
	Outbound func(*outbound.Config)
	// Engine, when set, adds the execution engine: runtimes, registry,
	// engine, admin plugin API and the asynchronous execution worker.
	Engine *EngineOptions
	// Web, when set, builds the web UI over the host's core once it is
	// built (web.ForHost).
	Web func(h *Host) (api.WebUI, error)
}

// NewLogger returns the host's JSON logger.
func NewLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// OpenStore opens the configured database without migrating.
func OpenStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	if cfg.Backend() == "postgres" {
		return postgres.Open(ctx, cfg.DatabaseURL)
	}
	return sqlite.Open(ctx, cfg.SQLitePath())
}

// Migrate applies Atom's and River's migrations. On Postgres they run as
// the owner (MigrateDatabaseURL) and grant the host's role.
func Migrate(ctx context.Context, cfg config.Config, st store.Store) ([]store.Migration, error) {
	if cfg.Backend() == "postgres" {
		// River's migrations and every grant run under the same lock as
		// Atom's, so replicas starting together do not race.
		role := roleOf(cfg.DatabaseURL)
		return postgres.Migrate(ctx, cfg.MigrateDatabaseURL, role, func(ctx context.Context) error {
			return jobs.MigratePostgres(ctx, cfg.MigrateDatabaseURL, role)
		})
	}
	s, ok := st.(*sqlite.Store)
	if !ok {
		return nil, errors.New("migrate: sqlite store expected")
	}
	ms, err := s.Migrate(ctx)
	if err != nil {
		return ms, err
	}
	// Nothing serialises processes migrating one SQLite file: a River
	// step another run applied meanwhile fails, and a new attempt finds
	// it applied. A real failure fails every attempt.
	for attempt := 1; ; attempt++ {
		err = jobs.Migrate(ctx, st)
		if err == nil || attempt == sqliteMigrateAttempts || ctx.Err() != nil {
			return ms, err
		}
	}
}

// sqliteMigrateAttempts bounds the attempts at River's SQLite migrations.
const sqliteMigrateAttempts = 5

// MigrationStatus lists Atom's migrations and their state.
func MigrationStatus(ctx context.Context, cfg config.Config, st store.Store) ([]store.Migration, error) {
	if cfg.Backend() == "postgres" {
		return postgres.MigrationStatus(ctx, cfg.MigrateDatabaseURL)
	}
	return st.(*sqlite.Store).MigrationStatus(ctx)
}

func roleOf(dbURL string) string {
	u, err := parseURL(dbURL)
	if err != nil || u.User == nil {
		return ""
	}
	return u.User.Username()
}

// LoadKeyring parses ATOM_ENCRYPTION_KEYS.
func LoadKeyring(cfg config.Config) (*vault.Keyring, error) {
	if cfg.EncryptionKeys == "" {
		return nil, errors.New("no encryption key: set ATOM_ENCRYPTION_KEYS=id:base64key (generate one with `atom vault genkey`), or run `make run` for the development setup")
	}
	return vault.Parse(cfg.EncryptionKeys)
}

// DevSetup fills in the development keys: it reads <data dir>/dev.keys,
// creating it (mode 0600) with a new encryption key and admin key when
// missing. It returns the updated config and whether the file was created.
func DevSetup(cfg config.Config) (config.Config, bool, error) {
	path := cfg.DevKeysPath()
	vals, err := readEnvFile(path)
	created := false
	if errors.Is(err, os.ErrNotExist) {
		key, gerr := vault.Generate("dev1")
		if gerr != nil {
			return cfg, false, gerr
		}
		vals = map[string]string{"ATOM_ENCRYPTION_KEYS": key, "ATOM_ADMIN_KEY": "adm_" + randomToken()}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return cfg, false, err
		}
		content := "# Development keys for the embedded setup. Never use them in production.\n" +
			"ATOM_ENCRYPTION_KEYS=" + vals["ATOM_ENCRYPTION_KEYS"] + "\n" +
			"ATOM_ADMIN_KEY=" + vals["ATOM_ADMIN_KEY"] + "\n"
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return cfg, false, fmt.Errorf("write %s: %w", path, err)
		}
		created = true
	} else if err != nil {
		return cfg, false, err
	}
	if cfg.EncryptionKeys == "" {
		cfg.EncryptionKeys = vals["ATOM_ENCRYPTION_KEYS"]
	}
	if cfg.AdminKey == "" {
		cfg.AdminKey = vals["ATOM_ADMIN_KEY"]
	}
	return cfg, created, nil
}

// AppendDevValue records a value in dev.keys (e.g. the demo tenant key).
func AppendDevValue(cfg config.Config, name, value string) error {
	f, err := os.OpenFile(cfg.DevKeysPath(), os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "%s=%s\n", name, value)
	return err
}

// ReadDevValue reads one value of dev.keys.
func ReadDevValue(cfg config.Config, name string) string {
	vals, _ := readEnvFile(cfg.DevKeysPath())
	return vals[name]
}

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			vals[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return vals, sc.Err()
}

// New builds a host from cfg: it opens and (unless disabled) migrates the
// database, loads the key ring and the catalog, and assembles the
// services and the API. Start runs its background work; Close stops it.
func New(ctx context.Context, cfg config.Config, opts Options) (*Host, error) {
	if cfg.Dev {
		// The demo provider lives on this host: let outbound calls reach it.
		if u, err := parseURL(cfg.BaseURL); err == nil && u.Host != "" {
			cfg.AllowPrivateHosts = append(append([]string(nil), cfg.AllowPrivateHosts...), u.Host)
		}
	}
	h := &Host{Config: cfg, Log: opts.Logger}
	if h.Log == nil {
		h.Log = NewLogger(cfg.LogLevel)
	}
	// URLs in log lines lose their query strings and userinfo (tokens).
	h.Log = slog.New(outbound.NewRedactingHandler(h.Log.Handler()))
	env := opts.Env
	if env == nil {
		env = os.Getenv
	}
	ok := false
	defer func() {
		if !ok {
			h.Close(context.Background())
		}
	}()
	kr, err := LoadKeyring(cfg)
	if err != nil {
		return nil, err
	}
	h.Keyring = kr
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	h.Store = st
	h.closers = append(h.closers, func(context.Context) error { return st.Close() })
	if cfg.AutoMigrate {
		if _, err := Migrate(ctx, cfg, st); err != nil {
			return nil, err
		}
	}
	if pg, isPG := st.(*postgres.Store); isPG {
		role, err := pg.Role(ctx)
		if err != nil {
			return nil, fmt.Errorf("check database role: %w", err)
		}
		if !role.Safe() {
			h.Log.Warn("the host's database role bypasses row-level security; connect as a role that is neither superuser nor table owner (set ATOM_MIGRATE_DATABASE_URL to the owner)",
				"role", role.Name, "superuser", role.Superuser, "bypassrls", role.BypassRLS, "owner", role.OwnsTables)
		}
	}

	catOpts := catalog.Options{CustomDir: cfg.CatalogDir, Demo: cfg.Dev, DemoBaseURL: cfg.BaseURL}
	w, err := catalog.NewWatcher(catOpts, func(c *catalog.Catalog) {
		h.Log.Info("catalog reloaded", "integrations", c.Len())
	}, func(err error) {
		h.Log.Error("custom catalog file refused; the catalog is unchanged", "err", err.Error())
	})
	if err != nil {
		return nil, err
	}
	h.Catalog = w
	h.closers = append(h.closers, func(context.Context) error { return w.Close() })

	var demoServer *demo.Demo
	if cfg.Dev {
		// The built-in demo provider: an OAuth server and API served by
		// this host, with a client registered through the spec's env vars.
		demoCfg := demo.Config{ClientID: "atom-demo", ClientSecret: randomToken(), BaseURL: cfg.BaseURL}
		demoServer = demo.New(demoCfg)
		base := env
		env = func(k string) string {
			switch k {
			case "DEMO_CLIENT_ID":
				return demoCfg.ClientID
			case "DEMO_CLIENT_SECRET":
				return demoCfg.ClientSecret
			}
			return base(k)
		}
	}

	// Token endpoints, revocation, credential checks and webhook
	// receivers are reached through the same guard as provider APIs: no
	// private or loopback address unless ATOM_ALLOW_PRIVATE_HOSTS lists it.
	// One client for every outbound call of the host: provider APIs
	// (runtimes), token endpoints, revocation, credential checks and
	// webhook receivers. Requests scoped to a (tenant, provider) count
	// against its rate limit; the host's own calls are not scoped.
	h.Registry = prometheus.NewRegistry()
	h.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	shared, scoped := splitPrivateHosts(cfg.AllowPrivateHosts)
	ocfg := outbound.Config{AllowPrivateHosts: shared, ScopedPrivateHosts: scoped, Rate: cfg.RateLimit, Burst: cfg.RateBurst,
		MaxWait: cfg.RateMaxWait, Metrics: h.Registry}
	if opts.Outbound != nil {
		opts.Outbound(&ocfg)
	}
	h.Outbound = outbound.New(ocfg)
	h.closers = append(h.closers, func(context.Context) error { h.Outbound.Close(); return nil })
	webhookClient := &http.Client{Transport: h.Outbound.Transport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	h.Webhooks = webhook.NewSender(webhook.Config{Store: st, Keyring: kr, Logger: h.Log, HTTPClient: webhookClient,
		MaxAttempts: cfg.Delivery.MaxAttempts, Timeout: cfg.Delivery.Timeout, Retention: cfg.Delivery.Retention, RetryBase: cfg.Delivery.RetryBase})
	h.Connect, err = connect.New(connect.Config{
		HTTPClient: h.Outbound.HTTPClient(),
		Store:      st, Keyring: kr, Catalog: currentCatalog{w}, BaseURL: cfg.BaseURL, Env: env,
		AllowedReturnTo: cfg.ReturnToOrigins, Logger: h.Log, Webhooks: h.Webhooks,
		SpoolDir:    spoolDir(cfg.DataDir),
		RefreshSkew: cfg.Refresh.Margin, RefreshFraction: cfg.Refresh.Fraction, RefreshJitter: refreshJitter(cfg.Refresh.Jitter),
		RefreshFloor: cfg.Refresh.Floor,
	})
	if err != nil {
		return nil, err
	}
	h.closers = append(h.closers, func(context.Context) error { h.Connect.Close(); return nil })
	h.Connect.SetLimits(connect.Limits{MaxOAuthStates: cfg.Limits.WithDefaults().TenantMaxOAuthStates})

	workers := river.NewWorkers()
	webhook.AddWorkers(workers, h.Webhooks)
	connect.AddWorkers(workers, h.Connect)
	deps := api.Deps{
		Config: cfg, Store: st, Keyring: kr, Catalog: w.Current, Connect: h.Connect, Webhooks: h.Webhooks,
		Logger: h.Log, Version: Version,
	}
	if demoServer != nil {
		deps.Demo = demoServer
	}
	deps.Registry = h.Registry
	periodic := append(connect.PeriodicJobs(cfg.Refresh.SweepInterval), webhook.PeriodicJobs(0)...)
	var eng *engine.Engine
	var trg *triggers.Engine
	if opts.Engine != nil {
		p, err := newEngine(h, *opts.Engine)
		if err != nil {
			return nil, err
		}
		eng = p.Engine
		deps.Exec, deps.Plugins, deps.PluginsLoading = p.Engine, p.Admin, p.Native.Loading
		p.Engine.AddWorkers(workers)
		periodic = append(periodic, p.Engine.PeriodicJobs()...)
		if trg, err = newTriggers(h, p, opts.Env, opts.Engine.Env); err != nil {
			return nil, err
		}
		deps.Triggers = trg
		triggers.AddWorkers(workers, trg)
		periodic = append(periodic, trg.PeriodicJobs()...)
		if opts.Engine.OnReady != nil {
			opts.Engine.OnReady(p)
		}
	}
	if opts.Web != nil {
		ui, err := opts.Web(h)
		if err != nil {
			return nil, err
		}
		deps.Web = ui
	}

	completedKeep, discardedKeep, err := jobRetention(env)
	if err != nil {
		return nil, err
	}
	h.Jobs, err = jobs.New(ctx, jobs.Config{Store: st, Logger: h.Log, Workers: workers, ExecutionWorkers: cfg.Limits.WithDefaults().AsyncWorkers,
		PeriodicJobs: periodic, CompletedRetention: completedKeep, DiscardedRetention: discardedKeep})
	if err != nil {
		return nil, err
	}
	h.Webhooks.SetQueue(h.Jobs)
	h.Connect.SetJobs(h.Jobs)
	if eng != nil {
		eng.SetJobs(h.Jobs)
	}
	if trg != nil {
		trg.SetQueue(h.Jobs)
	}
	h.Server = api.New(deps)
	ok = true
	return h, nil
}

// AddCloser registers a shutdown step (run in reverse order).
func (h *Host) AddCloser(fn func(context.Context) error) { h.closers = append(h.closers, fn) }

// Start runs background work (jobs).
func (h *Host) Start(ctx context.Context) error {
	if err := h.Jobs.Start(ctx); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	h.closers = append(h.closers, func(ctx context.Context) error { return h.Jobs.Stop(ctx) })
	return nil
}

// Close stops everything in reverse order of start.
func (h *Host) Close(ctx context.Context) error {
	var errs []error
	for i := len(h.closers) - 1; i >= 0; i-- {
		if err := h.closers[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	h.closers = nil
	return errors.Join(errs...)
}

// spoolDir is where refreshed tokens wait for the database when it fails.
func spoolDir(dataDir string) string {
	if dataDir == "" {
		return ""
	}
	return filepath.Join(dataDir, "refresh-spool")
}

type currentCatalog struct{ w *catalog.Watcher }

func (c currentCatalog) Get(id string) (*catalog.Descriptor, bool) { return c.w.Current().Get(id) }

// refreshJitter maps ATOM_REFRESH_JITTER=0 (none) to connect's negative
// "none"; connect reads zero as its default.
func refreshJitter(j float64) float64 {
	if j == 0 {
		return -1
	}
	return j
}
