package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"sync"
	"time"

	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/provider"
)

// Errors of the Manager.
var (
	// ErrRefused is returned (wrapped) for a binary that fails verification.
	ErrRefused = errors.New("plugin binary refused")
	// ErrBadID is returned by Install for an id that is not a valid
	// plugin id.
	ErrBadID = plugindir.ErrBadID
	// ErrNotPinned is returned (wrapped, with ErrRefused) for a binary
	// whose checksum is not the lock file's line for it.
	ErrNotPinned = plugindir.ErrNotPinned
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("plugin manager closed")
)

// EventType says what happened to a plugin.
type EventType string

// Event types.
const (
	EventAdded   EventType = "added"
	EventUpdated EventType = "updated"
	EventRemoved EventType = "removed"
	EventRefused EventType = "refused"
)

// Event tells subscribers that a plugin was registered, replaced,
// unregistered or refused.
type Event struct {
	Type     EventType
	ID       string
	Version  string
	Checksum string
	// Manifest is the new manifest (added, updated).
	Manifest provider.Manifest
	// Reason says why a binary was refused.
	Reason string
}

// Manager discovers, verifies, runs and hot-loads the native plugins of
// one directory. It is a value with no global state: several may run in
// one process. All methods are safe for concurrent use.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu      sync.RWMutex
	plugins map[string]*Plugin // by id
	closed  bool

	subMu  sync.Mutex
	subs   map[int]func(Event)
	nextID int

	// Loads hold reloadMu shared and their id's lock; Close holds
	// reloadMu exclusively, so it waits for loads in flight.
	reloadMu sync.RWMutex
	idMu     sync.Mutex
	idLocks  map[string]*sync.Mutex

	// loading holds, by id, the plugins found at start whose first load
	// has not finished; the channel closes when it does (under mu).
	loading      map[string]chan struct{}
	pendingFiles map[string]int

	// watcher tells of changes in the directory; ownWatcher when the
	// manager started it (no Config.Watcher), unsubscribe ends its
	// subscription.
	watcher     *plugindir.Watcher
	ownWatcher  bool
	unsubscribe func()

	stop chan struct{}
	wg   sync.WaitGroup

	// sandboxed: plugin processes run isolated. unisolated, when not
	// empty, is why they cannot be and plugins are refused.
	sandboxed  bool
	unisolated string
	hidden     []string // paths hidden from plugin processes
	uidMu      sync.Mutex
	uids       map[string]uint32
}

// NewManager loads every plugin in cfg.Dir, several at a time, and
// watches the directory. With cfg.Background it returns at once, the
// loads going on behind it (Wait and Loading tell about them); else it
// returns when they are done. A binary that cannot be loaded is listed
// with its state and does not fail NewManager.
func NewManager(cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "native"),
		plugins: map[string]*Plugin{},
		subs:    map[int]func(Event){},
		stop:    make(chan struct{}),
		uids:    map[string]uint32{},
		idLocks: map[string]*sync.Mutex{},
		loading: map[string]chan struct{}{},

		pendingFiles: map[string]int{},
	}
	if err := m.setupIsolation(); err != nil {
		return nil, err
	}
	m.watcher = cfg.Watcher
	if m.watcher == nil {
		w, err := plugindir.Watch(cfg.Dir, cfg.Debounce, m.log)
		if err != nil {
			return nil, fmt.Errorf("native: %w", err)
		}
		m.watcher, m.ownWatcher = w, true
	}
	m.unsubscribe = m.watcher.Subscribe(m.changed)
	names := m.startLoading()
	done := make(chan struct{})
	m.wg.Add(2)
	go m.janitor()
	go func() {
		defer m.wg.Done()
		defer close(done)
		m.initialLoad(names)
	}()
	if !cfg.Background {
		<-done
	}
	return m, nil
}

// startLoading lists the plugin files in the directory and marks their
// ids loading.
func (m *Manager) startLoading() []string {
	entries, err := os.ReadDir(m.cfg.Dir)
	if err != nil {
		m.log.Error("read plugin directory", "dir", m.cfg.Dir, "error", err)
		return nil
	}
	var names []string
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range entries {
		if id, ok := m.pluginFile(e.Name()); ok && !e.IsDir() {
			names = append(names, e.Name())
			if _, ok := m.loading[id]; !ok {
				m.loading[id] = make(chan struct{})
			}
			m.pendingFiles[id]++
		}
	}
	return names
}

// initialLoad loads names, cfg.InitialLoads at a time, and marks each id
// loaded when its file is done, whatever the outcome.
func (m *Manager) initialLoad(names []string) {
	n := m.cfg.InitialLoads
	if n <= 0 {
		n = 2 * goruntime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, name := range names {
		id, _ := m.pluginFile(name)
		select {
		case sem <- struct{}{}:
		case <-m.stop:
			m.loaded(id)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = m.load(name)
			m.loaded(id)
		}()
	}
	wg.Wait()
}

// loaded ends the startup wait for id once none of its files is still
// loading (atom-provider-<id> and <id> both name id).
func (m *Manager) loaded(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ch, ok := m.loading[id]; ok {
		// The last file of id to finish closes the channel; count them
		// through the map of pending names.
		m.pendingFiles[id]--
		if m.pendingFiles[id] <= 0 {
			close(ch)
			delete(m.loading, id)
			delete(m.pendingFiles, id)
		}
	}
}

// Wait returns once the plugin id is no longer loading at start (loaded,
// failed or refused), at once for an id that was not, or with ctx's error.
// A request for a provider calls it before resolving the provider, so a
// plugin still loading is waited for, not taken for absent.
func (m *Manager) Wait(ctx context.Context, id string) error {
	m.mu.RLock()
	ch, ok := m.loading[id]
	m.mu.RUnlock()
	if !ok {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Loading lists, sorted, the ids of the plugins whose load at start has
// not finished.
func (m *Manager) Loading() []string {
	m.mu.RLock()
	out := make([]string, 0, len(m.loading))
	for id := range m.loading {
		out = append(out, id)
	}
	m.mu.RUnlock()
	sort.Strings(out)
	return out
}

// lockID takes the lock serializing the loads of id.
func (m *Manager) lockID(id string) func() {
	m.idMu.Lock()
	l, ok := m.idLocks[id]
	if !ok {
		l = &sync.Mutex{}
		m.idLocks[id] = l
	}
	m.idMu.Unlock()
	l.Lock()
	return l.Unlock
}

// isolationCheck reports whether plugin processes can be isolated here
// (tests replace it to see the policy on hosts where they cannot).
var isolationCheck = isolationAvailable

// setupIsolation decides whether plugin processes run isolated, as
// cfg.Isolation asks and the host allows.
func (m *Manager) setupIsolation() error {
	iso := m.cfg.Isolation
	if iso.Mode == IsolationOff {
		m.log.Warn("plugin isolation is off (ATOM_PLUGIN_ISOLATION=off): native plugins run as the host's user and can read its files, memory and keys; run only plugins you trust")
		return nil
	}
	ok, why := isolationCheck()
	switch {
	case ok:
		m.sandboxed = true
	case iso.Mode == IsolationRequired:
		return fmt.Errorf("native: ATOM_PLUGIN_ISOLATION=required, but %s", why)
	case iso.AllowUnisolated:
		m.log.Warn("PLUGIN ISOLATION UNAVAILABLE: native plugins run as the host's user and can read its files, memory and keys (allowed in the development setup only)", "reason", why)
		return nil
	default:
		m.unisolated = why
		m.log.Error("plugin isolation unavailable: native plugins are refused (set ATOM_PLUGIN_ISOLATION=off to run them unisolated)", "reason", why)
		return nil
	}
	if err := HardenHost(); err != nil {
		return fmt.Errorf("native: mark the host non-dumpable: %w", err)
	}
	for _, p := range append([]string{m.cfg.DataDir, m.cfg.Dir, m.cfg.LockFile}, iso.Hide...) {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		if abs, err := filepath.Abs(p); err == nil {
			m.hidden = append(m.hidden, abs)
		}
	}
	return nil
}

// Get returns the plugin serving id, if one is loaded.
func (m *Manager) Get(id string) (runtimes.Implementation, bool) {
	p, ok := m.plugin(id)
	if !ok {
		return nil, false
	}
	return p, true
}

// Plugin returns the plugin serving id, if one is loaded.
func (m *Manager) Plugin(id string) (*Plugin, bool) { return m.plugin(id) }

func (m *Manager) plugin(id string) (*Plugin, bool) {
	m.mu.RLock()
	p, ok := m.plugins[id]
	m.mu.RUnlock()
	if !ok || p.cur.Load() == nil {
		return nil, false
	}
	return p, true
}

// List describes every plugin binary in the directory, sorted by id,
// including refused and failed ones.
func (m *Manager) List() []PluginInfo {
	m.mu.RLock()
	out := make([]PluginInfo, 0, len(m.plugins))
	for _, p := range m.plugins {
		out = append(out, p.info())
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Subscribe calls fn for every later event, from the goroutine that
// loads the binary; the events of one id come in order, those of
// different ids may come at once from several loads. fn must not block
// for long. The returned function
// cancels the subscription.
func (m *Manager) Subscribe(fn func(Event)) (cancel func()) {
	m.subMu.Lock()
	id := m.nextID
	m.nextID++
	m.subs[id] = fn
	m.subMu.Unlock()
	return func() {
		m.subMu.Lock()
		delete(m.subs, id)
		m.subMu.Unlock()
	}
}

func (m *Manager) emit(e Event) {
	m.subMu.Lock()
	fns := make([]func(Event), 0, len(m.subs))
	for _, fn := range m.subs {
		fns = append(fns, fn)
	}
	m.subMu.Unlock()
	for _, fn := range fns {
		fn(e)
	}
}

// Install installs the binary read from r as the plugin id (file
// atom-provider-<id>). The bytes go first to a private copy, hashed while
// copying; nothing is executed and nothing reaches the directory before:
//
//   - with verification on, the checksum must already be the lock file's
//     line for the file (the operator pins what may run; an upload never
//     writes the lock file), else ErrRefused;
//   - the private copy is started (in its sandbox) to read its manifest,
//     whose id must be id.
//
// Only then is the file written to the directory (a temporary file,
// synced, renamed into place) and loaded. Install returns once the binary
// is loaded, with the error that kept it from loading, if any; a refused
// binary leaves the directory as it was.
func (m *Manager) Install(id string, r io.Reader) error {
	if err := plugindir.CheckID(id); err != nil {
		return err
	}
	if m.isClosed() {
		return ErrClosed
	}
	name := plugindir.NativeFile(id)
	if m.unisolated != "" {
		return fmt.Errorf("%w: plugin processes cannot be isolated on this host (%s); run the host as root on Linux, or set ATOM_PLUGIN_ISOLATION=off to run every plugin as the host's own user", ErrRefused, m.unisolated)
	}
	sum, bin, err := m.copies().Copy(r, name)
	if err != nil {
		return fmt.Errorf("install %s: %w", id, err)
	}
	keep := false
	defer func() {
		if !keep {
			m.dropCopy(id, bin)
		}
	}()
	if m.cfg.Verify {
		if err := m.verify(name, sum); err != nil {
			return err
		}
	}
	if _, ok := m.cachedManifest(sum); !ok {
		probe := newVersion(&Plugin{id: id, m: m}, sum, bin)
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.StartTimeout)
		_, err := probe.process(ctx)
		cancel()
		probe.stop()
		if err != nil {
			return fmt.Errorf("install %s: %w", id, err)
		}
		if probe.manifest.ID != id {
			return fmt.Errorf("%w: the binary serves provider %q, not %q", ErrRefused, probe.manifest.ID, id)
		}
		m.cacheManifest(sum, probe.manifest)
	}
	f, err := os.Open(bin)
	if err != nil {
		return fmt.Errorf("install %s: %w", id, err)
	}
	defer f.Close()
	if err := plugindir.WriteAtomic(m.cfg.Dir, name, f, 0o755); err != nil {
		return fmt.Errorf("install %s: %w", id, err)
	}
	keep = true
	return m.load(name)
}

// dropCopy removes a private copy unless a loaded version of id runs it.
func (m *Manager) dropCopy(id, bin string) {
	m.reloadMu.RLock()
	defer m.reloadMu.RUnlock()
	defer m.lockID(id)()
	if p, ok := m.plugin(id); ok {
		if v := p.cur.Load(); v != nil && v.bin == bin {
			return
		}
	}
	_ = os.Remove(bin)
}

// Close stops watching, stops every plugin process and waits for the
// manager's goroutines. Calls in flight fail.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	close(m.stop)
	m.unsubscribe()
	var err error
	if m.ownWatcher {
		err = m.watcher.Close()
	}
	m.wg.Wait()
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	m.mu.Lock()
	ps := m.plugins
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		if v := p.cur.Load(); v != nil {
			wg.Add(1)
			go func() { defer wg.Done(); v.stop() }()
		}
	}
	wg.Wait()
	return err
}

// pluginFile reports whether name in the directory may be a native
// plugin, and its id.
func (m *Manager) pluginFile(name string) (string, bool) {
	if filepath.Join(m.cfg.Dir, name) == m.cfg.LockFile {
		return "", false
	}
	kind, id := plugindir.Classify(name)
	return id, kind == plugindir.Native
}

// changed brings the plugins in line with a change in the directory: a
// changed binary is loaded again, a changed lock file reloads every one.
func (m *Manager) changed(ev plugindir.Event) {
	select {
	case <-m.stop:
		return
	default:
	}
	if ev.Path == m.cfg.LockFile {
		m.reloadAll()
		return
	}
	if _, ok := m.pluginFile(ev.Name); ok {
		_ = m.load(ev.Name)
	}
}

// reloadAll loads every file in the directory and unloads plugins whose
// file is gone.
func (m *Manager) reloadAll() {
	entries, err := os.ReadDir(m.cfg.Dir)
	if err != nil {
		m.log.Error("read plugin directory", "dir", m.cfg.Dir, "error", err)
		return
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if _, ok := m.pluginFile(e.Name()); ok && !e.IsDir() {
			seen[e.Name()] = true
			_ = m.load(e.Name())
		}
	}
	m.mu.RLock()
	var gone []string
	for _, p := range m.plugins {
		p.mu.Lock()
		if !seen[p.file] && !p.removed {
			gone = append(gone, p.file)
		}
		p.mu.Unlock()
	}
	m.mu.RUnlock()
	for _, name := range gone {
		_ = m.load(name)
	}
}

func (m *Manager) isClosed() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.closed
}

// load brings the plugin of file name in line with the file: registers,
// replaces, unregisters or refuses it.
func (m *Manager) load(name string) error {
	id, ok := m.pluginFile(name)
	if !ok {
		return nil
	}
	m.reloadMu.RLock()
	defer m.reloadMu.RUnlock()
	defer m.lockID(id)()
	if m.isClosed() {
		return ErrClosed
	}
	path := filepath.Join(m.cfg.Dir, name)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		m.remove(id, name)
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		m.log.Debug("skipping non-executable file in plugin directory", "file", name)
		return nil
	}

	p := m.entry(id, name)
	if m.unisolated != "" {
		return m.fail(p, StateRefused, fmt.Errorf("%w: plugin processes cannot be isolated on this host (%s); run the host as root on Linux, or set ATOM_PLUGIN_ISOLATION=off to run every plugin as the host's own user", ErrRefused, m.unisolated))
	}
	sum, bin, err := m.copies().Existing(path, name)
	if err == nil && bin == "" {
		var src *os.File
		if src, err = os.Open(path); err == nil {
			sum, bin, err = m.copies().Copy(src, name)
			src.Close()
		}
	}
	if err != nil {
		return m.fail(p, StateFailed, fmt.Errorf("copy %s: %w", name, err))
	}
	cur := p.cur.Load()
	if cur != nil && cur.sum == sum {
		return nil
	}
	if m.cfg.Verify {
		if err := m.verify(name, sum); err != nil {
			if cur == nil || cur.bin != bin {
				_ = os.Remove(bin)
			}
			return m.fail(p, StateRefused, err)
		}
	}

	v := newVersion(p, sum, bin)
	if cached, ok := m.cachedManifest(sum); ok {
		v.manifest = cached
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.StartTimeout)
		_, err := v.process(ctx)
		cancel()
		if err != nil {
			v.stop()
			_ = os.Remove(bin)
			return m.fail(p, StateFailed, fmt.Errorf("load %s: %w", name, err))
		}
		m.cacheManifest(sum, v.manifest)
	}
	if v.manifest.ID != id {
		v.stop()
		_ = os.Remove(bin)
		return m.fail(p, StateRefused, fmt.Errorf("%w: %s serves provider %q, want %q (the file name decides the id)", ErrRefused, name, v.manifest.ID, id))
	}
	v.lastUsed.Store(time.Now().UnixNano())
	old := p.cur.Swap(v)
	p.mu.Lock()
	p.state, p.lastErr, p.removed = "", "", false
	p.mu.Unlock()
	ev := Event{Type: EventAdded, ID: id, Version: v.manifest.Version, Checksum: sum, Manifest: v.manifest}
	if old != nil {
		ev.Type = EventUpdated
		m.log.Info("plugin replaced", "plugin", id, "from", old.manifest.Version, "to", v.manifest.Version, "sha256", sum)
		go old.retire(old.bin != bin)
	} else {
		m.log.Info("plugin loaded", "plugin", id, "version", v.manifest.Version, "sha256", sum)
	}
	m.emit(ev)
	return nil
}

func (m *Manager) entry(id, name string) *Plugin {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.plugins[id]
	if !ok {
		p = &Plugin{id: id, m: m, sem: make(chan struct{}, m.cfg.MaxConcurrent)}
		m.plugins[id] = p
	}
	p.mu.Lock()
	p.file = name
	p.mu.Unlock()
	return p
}

// fail records why the file of p cannot serve. A version already serving
// keeps serving.
func (m *Manager) fail(p *Plugin, state string, err error) error {
	p.mu.Lock()
	p.lastErr = err.Error()
	if p.cur.Load() == nil {
		p.state = state
	}
	p.mu.Unlock()
	if state == StateRefused {
		m.log.Error("plugin binary refused", "plugin", p.id, "reason", err.Error())
		m.emit(Event{Type: EventRefused, ID: p.id, Reason: err.Error()})
	} else {
		m.log.Error("plugin binary failed to load", "plugin", p.id, "error", err.Error())
	}
	return err
}

func (m *Manager) remove(id, name string) {
	m.mu.Lock()
	p, ok := m.plugins[id]
	if !ok || p.file != name {
		m.mu.Unlock()
		return
	}
	delete(m.plugins, id)
	m.mu.Unlock()
	p.mu.Lock()
	p.removed = true
	p.mu.Unlock()
	old := p.cur.Swap(nil)
	if old == nil {
		return
	}
	m.log.Info("plugin removed", "plugin", id, "version", old.manifest.Version)
	m.emit(Event{Type: EventRemoved, ID: id, Version: old.manifest.Version, Checksum: old.sum})
	go old.retire(true)
}

func (m *Manager) verify(name, sum string) error {
	if err := plugindir.Verify(m.cfg.LockFile, name, sum); err != nil {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return nil
}

// copies are the private copies of the binaries, in DataDir/bin.
func (m *Manager) copies() plugindir.Copies {
	return plugindir.Copies{Dir: filepath.Join(m.cfg.DataDir, "bin")}
}

func (m *Manager) manifestPath(sum string) string {
	return filepath.Join(m.cfg.DataDir, "manifests", sum+".json")
}

func (m *Manager) cachedManifest(sum string) (provider.Manifest, bool) {
	data, err := os.ReadFile(m.manifestPath(sum))
	if err != nil {
		return provider.Manifest{}, false
	}
	var mf provider.Manifest
	if json.Unmarshal(data, &mf) != nil || mf.ID == "" {
		return provider.Manifest{}, false
	}
	return mf, true
}

func (m *Manager) cacheManifest(sum string, mf provider.Manifest) {
	data, err := json.Marshal(mf)
	if err != nil {
		return
	}
	// Loads of two ids may cache one binary's manifest at once: each
	// writes a temporary file of its own.
	f, err := os.CreateTemp(filepath.Dir(m.manifestPath(sum)), sum+".*.tmp")
	if err != nil {
		return
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr != nil || cerr != nil {
		os.Remove(f.Name())
		return
	}
	if os.Rename(f.Name(), m.manifestPath(sum)) != nil {
		os.Remove(f.Name())
	}
}

// janitor pings running plugins and stops idle ones.
func (m *Manager) janitor() {
	defer m.wg.Done()
	tick := m.cfg.HealthInterval
	if m.cfg.IdleTimeout > 0 && m.cfg.IdleTimeout/4 < tick {
		tick = max(m.cfg.IdleTimeout/4, 20*time.Millisecond)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	lastPing := time.Now()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		ping := time.Since(lastPing) >= m.cfg.HealthInterval
		if ping {
			lastPing = time.Now()
		}
		m.mu.RLock()
		var vs []*version
		for _, p := range m.plugins {
			if v := p.cur.Load(); v != nil {
				vs = append(vs, v)
			}
		}
		m.mu.RUnlock()
		for _, v := range vs {
			v.maintain(m.cfg.IdleTimeout, ping)
		}
	}
}
