package native

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/runtimes"
)

// Config configures a Manager. The zero value of every field but Dir has a
// usable default.
type Config struct {
	// Dir is the plugin directory (ATOM_PLUGIN_DIR). It is created if
	// missing.
	Dir string
	// BaseURL resolves the API base URL of a call whose request names
	// none (generic.BaseURLs); the plugin's requests may reach its host.
	BaseURL runtimes.BaseURLFunc
	// DataDir holds private copies of binaries and cached manifests
	// (default: Dir/.atom). It is created with mode 0700.
	DataDir string
	// Verify turns on SHA-256 verification against LockFile.
	Verify bool
	// LockFile is the lock file (default Dir/plugins.lock).
	LockFile string
	// IdleTimeout stops a plugin process after this long without calls
	// (default 5m; negative: never).
	IdleTimeout time.Duration
	// CallTimeout bounds each call (default 60s; negative: no bound
	// beyond the caller's context).
	CallTimeout time.Duration
	// MaxConcurrent bounds the calls in flight per plugin (default 64).
	MaxConcurrent int
	// StartTimeout bounds a plugin's start-up handshake (default 10s).
	StartTimeout time.Duration
	// HealthInterval is how often running plugins are pinged (default 15s).
	HealthInterval time.Duration
	// Background makes NewManager return before the plugins in Dir are
	// loaded; Manager.Wait waits for one of them (atom serve sets it, so
	// the host listens at once).
	Background bool
	// InitialLoads bounds the plugins loaded at once at start (default
	// twice GOMAXPROCS).
	InitialLoads int
	// Debounce is how long a file must stay unchanged before it is loaded
	// (default 100ms).
	Debounce time.Duration
	// Watcher, when set, is the plugin directory's watcher, shared with
	// the wasm loader; else the manager watches Dir itself, with Debounce.
	Watcher *plugindir.Watcher
	// Env is the whole environment of plugin processes (KEY=value); the
	// host's own environment is never passed on.
	Env []string
	// Procs is the GOMAXPROCS of plugin processes (default 1), unless
	// Env sets GOMAXPROCS itself (ATOM_PLUGIN_PROCS). A plugin's work is
	// mostly waiting for the host (its calls and their HTTP): with one
	// processor its goroutines hand a frame to one another on one thread,
	// where with more each hand-off may wake another, and the host keeps
	// the machine's other cores.
	Procs int
	// Outbound sends plugins' requests (see egress.go); a guarded client
	// with the default policy when nil.
	Outbound *outbound.Client
	// RawCredentials lists the plugins the operator lets receive a
	// connection's real secrets (ATOM_PLUGIN_RAW_CREDENTIALS). A plugin
	// whose manifest declares raw_credentials and is not listed cannot
	// run: declaring it is the plugin author's request, listing it the
	// operator's consent.
	RawCredentials []string
	// Isolation is the sandbox of plugin processes (see Isolation).
	Isolation Isolation
	// Logger receives the manager's and plugins' log lines (default
	// slog.Default()).
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, errors.New("native: Config.Dir is required")
	}
	abs, err := filepath.Abs(c.Dir)
	if err != nil {
		return c, err
	}
	c.Dir = abs
	if c.DataDir == "" {
		c.DataDir = filepath.Join(c.Dir, ".atom")
	}
	// Private copies are executed with the data dir as working directory:
	// a relative path (ATOM_DATA_DIR=./data) would resolve against it.
	if c.DataDir, err = filepath.Abs(c.DataDir); err != nil {
		return c, err
	}
	if c.LockFile == "" {
		c.LockFile = filepath.Join(c.Dir, "plugins.lock")
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 5 * time.Minute
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = 60 * time.Second
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 64
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 10 * time.Second
	}
	if c.HealthInterval <= 0 {
		c.HealthInterval = 15 * time.Second
	}
	if c.Debounce <= 0 {
		c.Debounce = plugindir.DefaultDebounce
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Isolation = c.Isolation.withDefaults()
	if c.Env == nil {
		c.Env = []string{}
	}
	if c.Procs <= 0 {
		c.Procs = 1
	}
	for _, d := range []string{c.Dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return c, err
		}
	}
	for _, d := range []string{c.DataDir, filepath.Join(c.DataDir, "bin"), filepath.Join(c.DataDir, "manifests")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return c, err
		}
	}
	return c, nil
}
