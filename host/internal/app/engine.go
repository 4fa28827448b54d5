package app

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/engine"
	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/registry"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/runtimes/generic"
	"github.com/atomhq/atom/host/internal/runtimes/jspiece"
	"github.com/atomhq/atom/host/internal/runtimes/native"
	"github.com/atomhq/atom/host/internal/runtimes/wasm"
)

// EngineOptions adjust the execution engine's part of the host: the
// outbound client, the runtimes, the registry and the engine. The zero
// value serves `atom serve`: everything comes from the host's Config.
type EngineOptions struct {
	// Env reads {PROVIDER}_API_BASE_URL overrides; os.Getenv when nil.
	Env func(string) string
	// Timeout bounds one execution (default 60s).
	Timeout time.Duration
	// MaxPluginBytes bounds admin uploads (default
	// plugindir.DefaultMaxUploadBytes).
	MaxPluginBytes int64
	// Native, Wasm and JSPiece adjust the runtimes' configurations after
	// the defaults are filled in (tests shorten debounces, map provider
	// hosts to local fakes, …).
	Native  func(*native.Config)
	Wasm    func(*wasm.Config)
	JSPiece func(*jspiece.Config)
	// StoreQuota bounds each tenant's plugin store per provider; its zero
	// fields come from ATOM_STORE_MAX_KEYS and ATOM_STORE_MAX_BYTES
	// (defaults 1,000 keys and 16 MiB).
	StoreQuota engine.StoreQuota
	// BackgroundPieces loads the pieces already in ATOM_PLUGIN_DIR in the
	// background, so the host serves at once while Go-built modules
	// compile (atom serve sets it; tests load synchronously).
	BackgroundPieces bool
	// BackgroundPlugins loads the native plugins already in
	// ATOM_PLUGIN_DIR in the background, several at a time, so the host
	// listens at once; a request for a provider whose plugin is still
	// loading waits for it (atom serve sets it; tests load synchronously
	// unless they set it).
	BackgroundPlugins bool
	// OnReady receives the assembled parts (tests inspect them).
	OnReady func(*Parts)
}

// Parts are the execution engine's parts newEngine assembled.
type Parts struct {
	Engine   *engine.Engine
	Admin    *plugindir.Admin
	Registry *registry.Registry
	Native   *native.Manager
	Wasm     *wasm.Runtime
	Loader   *wasm.Loader
	JSPieces *jspiece.Loader
	Outbound *outbound.Client
}

// newEngine builds the execution engine's parts in order, after the
// core of h: the outbound client of the runtimes, the generic runtime
// over the current catalog, the registry, the engine, the admin plugin
// API, the native plugin manager and the wasm loader on ATOM_PLUGIN_DIR,
// both feeding the registry. Everything closes with the host.
func newEngine(h *Host, opts EngineOptions) (*Parts, error) {
	cfg := h.Config
	env := opts.Env
	if env == nil {
		env = os.Getenv
	}
	p := &Parts{}
	shared, scoped := splitPrivateHosts(cfg.AllowPrivateHosts)
	p.Outbound = h.Outbound

	limits := cfg.Limits.WithDefaults()
	cat := h.Catalog.Current
	// Each runtime adapter resolves the base URL of its calls with this.
	baseURLs := generic.BaseURLs(cat, env)
	gen := generic.New(generic.Config{Catalog: func() *catalog.Catalog { return cat() }, Client: p.Outbound, Env: env,
		MaxBody: limits.MaxUpstreamBody})
	p.Registry = registry.New(gen)
	// A native plugin and a piece share an id only when the catalog entry
	// lists both implementations (first-party providers shipped both ways).
	p.Registry.AllowBoth(func(id string) bool {
		d, ok := cat().Get(id)
		return ok && slices.Contains(d.Implementations, catalog.ImplNative) && slices.Contains(d.Implementations, catalog.ImplPiece)
	})
	setNative := func(id string, impl runtimes.Implementation) {
		if err := p.Registry.SetNative(id, impl); err != nil {
			h.Log.Warn("native plugin not registered", "id", id, "err", err)
			return
		}
		if _, ok := cat().Get(id); !ok {
			h.Log.Warn(engine.DescriptorWarning, "id", id, "want", id+".json")
		}
	}

	durations := map[string]*time.Duration{}
	timeout, recordRetry, reconcile := opts.Timeout, time.Duration(0), time.Duration(0)
	durations["ATOM_EXECUTION_TIMEOUT"], durations["ATOM_EXECUTION_RECORD_RETRY"], durations["ATOM_EXECUTION_RECONCILE_INTERVAL"] = &timeout, &recordRetry, &reconcile
	for name, d := range durations {
		v := strings.TrimSpace(env(name))
		if v == "" {
			continue
		}
		x, err := time.ParseDuration(v)
		if err != nil || x <= 0 {
			return nil, fmt.Errorf("%s=%q: want a positive duration such as 30s or 2m", name, v)
		}
		*d = x
	}
	eng, err := engine.New(engine.Config{Store: h.Store, Registry: p.Registry, Credentials: h.Connect, Catalog: cat, Keyring: h.Keyring,
		Logger: h.Log, Metrics: h.Registry, Timeout: timeout, Limits: limits,
		StoreQuota:  storeQuota(opts.StoreQuota, cfg.StoreMaxKeys, cfg.StoreMaxBytes),
		RecordRetry: recordRetry, ReconcileEvery: reconcile})
	if err != nil {
		return nil, err
	}
	p.Engine = eng

	dir := cfg.PluginDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plugin dir %s: %w", dir, err)
	}

	isoMode, err := native.ParseIsolationMode(cfg.PluginIsolation)
	if err != nil {
		return nil, fmt.Errorf("ATOM_PLUGIN_ISOLATION: %w", err)
	}
	// The data dir holds the SQLite file, dev keys and private copies:
	// the host's alone.
	if fi, err := os.Stat(cfg.DataDir); err == nil && fi.IsDir() && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(cfg.DataDir, fi.Mode().Perm()&0o700); err != nil {
			return nil, fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
		}
		h.Log.Warn("the data dir was readable by other users; it is now mode 0700", "dir", cfg.DataDir, "was", fi.Mode().Perm().String())
	}
	// Plugin processes never see the data dir (it holds the private
	// copies too), the plugin dir or the SQLite files.
	hide := []string{cfg.DataDir}
	if cfg.Backend() == "sqlite" {
		db := cfg.SQLitePath()
		hide = append(hide, db, db+"-wal", db+"-shm", db+"-journal")
	}
	ncfg := native.Config{Dir: dir, BaseURL: baseURLs, DataDir: filepath.Join(cfg.DataDir, "plugins"), Verify: cfg.PluginVerify, Logger: h.Log, Outbound: p.Outbound,
		RawCredentials: cfg.PluginRawCredentials, Procs: cfg.PluginProcs,
		Isolation: native.Isolation{Mode: isoMode, AllowUnisolated: cfg.Dev, UIDBase: cfg.PluginUIDBase, UIDCount: cfg.PluginUIDCount, Hide: hide}}
	if opts.Native != nil {
		opts.Native(&ncfg)
	}
	lockFile := filepath.Join(dir, plugindir.LockName)
	if ncfg.LockFile != "" {
		lockFile = ncfg.LockFile
	}
	ncfg.Background = opts.BackgroundPlugins
	// One watcher of the directory serves the native manager and the
	// wasm loader; it closes after both.
	watcher, err := plugindir.Watch(dir, ncfg.Debounce, h.Log)
	if err != nil {
		return nil, fmt.Errorf("plugin dir: %w", err)
	}
	h.AddCloser(func(context.Context) error { return watcher.Close() })
	ncfg.Watcher = watcher
	mgr, err := native.NewManager(ncfg)
	if err != nil {
		return nil, fmt.Errorf("native plugins: %w", err)
	}
	p.Native = mgr
	h.AddCloser(func(context.Context) error { return mgr.Close() })
	p.Registry.SetWait(mgr.Wait)
	cancel := mgr.Subscribe(func(ev native.Event) {
		switch ev.Type {
		case native.EventAdded, native.EventUpdated:
			if pl, ok := mgr.Plugin(ev.ID); ok {
				setNative(ev.ID, pl)
			}
		case native.EventRemoved, native.EventRefused:
			if _, ok := mgr.Plugin(ev.ID); !ok {
				p.Registry.RemoveNative(ev.ID)
			}
		}
	})
	h.AddCloser(func(context.Context) error { cancel(); return nil })
	for _, info := range mgr.List() {
		if pl, ok := mgr.Plugin(info.ID); ok {
			setNative(info.ID, pl)
		}
	}

	wcfg := wasm.Config{BaseURL: baseURLs, DataDir: cfg.DataDir, Outbound: p.Outbound, Logger: h.Log, MaxResponseBytes: limits.MaxUpstreamBody,
		MaxOutputBytes: int(limits.MaxUpstreamBody), SharedPrivateHosts: shared, PrivateHosts: scoped,
		Claim: func(id string) error { return p.Registry.Claimable(id, runtimes.KindPiece) }}
	if cfg.PluginVerify {
		// Nothing runs before its checksum matches its line in the lock
		// file, uploads included.
		wcfg.Verify = func(path string, sum [32]byte) error {
			return plugindir.Verify(lockFile, filepath.Base(path), hex.EncodeToString(sum[:]))
		}
	}
	if opts.Wasm != nil {
		opts.Wasm(&wcfg)
	}
	rt, err := wasm.NewRuntime(wcfg)
	if err != nil {
		return nil, fmt.Errorf("wasm runtime: %w", err)
	}
	p.Wasm = rt
	h.AddCloser(func(context.Context) error { return rt.Close() })
	loader, err := wasm.WatchedLoader(rt, watcher, opts.BackgroundPieces,
		func(id string, hd *wasm.Handle) {
			if err := p.Registry.SetPiece(id, hd); err != nil {
				h.Log.Warn("piece not registered", "id", id, "err", err)
			}
		},
		func(id string) { p.Registry.RemovePiece(id) })
	if err != nil {
		return nil, fmt.Errorf("wasm pieces: %w", err)
	}
	p.Loader = loader
	h.AddCloser(func(context.Context) error { return loader.Close() })
	p.JSPieces = loadJSPieces(h, watcher, lockFile, p, shared, scoped, limits.MaxUpstreamBody, opts.JSPiece)
	p.Admin = plugindir.NewAdmin(plugindir.AdminConfig{LockFile: lockFile, Verify: cfg.PluginVerify, UploadOff: cfg.PluginUploadOff,
		MaxBytes: opts.MaxPluginBytes, Natives: mgr, Pieces: loader, Stats: eng.Stats,
		JSPieces: jsInstaller{l: p.JSPieces, baseHost: func(id string) string {
			d, ok := cat().Get(id)
			if !ok || d.API.BaseURL == "" || strings.Contains(d.API.BaseURL, "{{") {
				return ""
			}
			u, err := url.Parse(d.API.BaseURL)
			if err != nil {
				return ""
			}
			return strings.ToLower(u.Hostname())
		}}})
	return p, nil
}

// loadJSPieces starts the loader of the JS pieces (`atom pieces add`) of
// dir: the pieces there load in the background, and the watcher loads,
// replaces and unloads them while the host runs. The JS engine compiles
// when the first piece appears. A piece that does not load is logged and
// listed as refused; the host serves without it.
func loadJSPieces(h *Host, watcher *plugindir.Watcher, lockFile string, p *Parts, shared []string, scoped map[string][]string, maxBody int64, adjust func(*jspiece.Config)) *jspiece.Loader {
	jcfg := jspiece.Config{Outbound: p.Outbound, Logger: h.Log, SharedPrivateHosts: shared, PrivateHosts: scoped,
		MaxResponseBytes: maxBody}
	if h.Config.DataDir != "" {
		jcfg.CacheDir = filepath.Join(h.Config.DataDir, "jspiece-cache")
	}
	if h.Config.PluginVerify {
		jcfg.Verify = func(name, sum string) error { return plugindir.Verify(lockFile, name, sum) }
	}
	if adjust != nil {
		adjust(&jcfg)
	}
	l := jspiece.NewLoader(jspiece.LoaderConfig{Dir: watcher.Dir(), Runtime: jcfg, Logger: h.Log,
		OnAdd: func(id string, hd *jspiece.Handle) error {
			if cur, ok := p.Registry.Get(id, runtimes.KindPiece); ok && cur != runtimes.Implementation(hd) {
				return fmt.Errorf("%w: %q is served by a wasm piece", registry.ErrIDTaken, id)
			}
			return p.Registry.SetPiece(id, hd)
		},
		OnRemove: func(id string) {
			if cur, ok := p.Registry.Get(id, runtimes.KindPiece); ok {
				if _, js := cur.(*jspiece.Handle); js {
					p.Registry.RemovePiece(id)
				}
			}
		}})
	cancel := watcher.Subscribe(l.Changed)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.SyncAll()
	}()
	h.AddCloser(func(context.Context) error {
		cancel()
		err := l.Close()
		<-done
		return err
	})
	return l
}

// splitPrivateHosts splits ATOM_ALLOW_PRIVATE_HOSTS into the hosts every
// outbound caller but pieces may reach on private addresses and the hosts
// granted to single pieces, written "<piece id>=<host>".
func splitPrivateHosts(list []string) (shared []string, scoped map[string][]string) {
	scoped = map[string][]string{}
	for _, e := range list {
		if id, host, ok := strings.Cut(e, "="); ok {
			id, host = strings.TrimSpace(id), strings.TrimSpace(host)
			if id != "" && host != "" {
				scoped[id] = append(scoped[id], host)
			}
			continue
		}
		shared = append(shared, e)
	}
	return shared, scoped
}

// storeQuota fills the zero fields of q from the host's configuration.
func storeQuota(q engine.StoreQuota, keys int, bytes int64) engine.StoreQuota {
	if q.MaxKeys <= 0 {
		q.MaxKeys = keys
	}
	if q.MaxBytes <= 0 {
		q.MaxBytes = bytes
	}
	return q
}

// jsInstaller serves the admin API's JS piece routes with the loader.
type jsInstaller struct {
	l        *jspiece.Loader
	baseHost func(id string) string
}

func (j jsInstaller) Install(ctx context.Context, spec string, tarball []byte, hosts []string, verify func(name, sum string) error) (plugindir.Plugin, error) {
	return j.l.Install(ctx, jspiece.InstallRequest{Spec: spec, Tarball: tarball, Hosts: hosts, BaseHost: j.baseHost, Verify: verify})
}

func (j jsInstaller) Uninstall(id string) error { return j.l.Uninstall(id) }

func (j jsInstaller) Plugins() []plugindir.Plugin { return j.l.Plugins() }
