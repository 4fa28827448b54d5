package jspiece

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atomhq/atom/host/internal/plugindir"
	hostrt "github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/provider"
)

// Handle is the stable implementation of one JS piece id across reloads:
// it forwards each call to the current version, and is what a registry
// keeps.
type Handle struct {
	id  string
	cur atomic.Pointer[Piece]
}

var _ hostrt.Implementation = (*Handle)(nil)

// Current returns the version serving new calls.
func (h *Handle) Current() *Piece { return h.cur.Load() }

// Kind implements runtimes.Implementation.
func (h *Handle) Kind() string { return hostrt.KindPiece }

// Manifest implements runtimes.Implementation: the current version's.
func (h *Handle) Manifest() provider.Manifest { return h.cur.Load().Manifest() }

// Execute runs the call on the current version. A call that reached a
// version closed by a concurrent swap before it started is run on its
// successor: a reload fails no call, and calls under way on the old
// version finish there.
func (h *Handle) Execute(ctx context.Context, req provider.Request, host hostrt.Host) (provider.Response, error) {
	for {
		p := h.cur.Load()
		resp, err := p.Execute(ctx, req, host)
		if errors.Is(err, ErrClosed) && h.cur.Load() != p {
			continue
		}
		return resp, err
	}
}

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	// Dir is the plugin directory.
	Dir string
	// Runtime is the runtime's configuration; the runtime starts (the
	// engine compiles) on the first piece found, not before.
	Runtime Config
	// OnAdd registers a piece's handle when it first loads; an error
	// refuses the piece (its id is taken). OnRemove unregisters it.
	OnAdd    func(id string, h *Handle) error
	OnRemove func(id string)
	// Logger receives the loader's lines. Default slog.Default().
	Logger *slog.Logger
}

// Loader keeps the JS pieces of a plugin directory loaded: each
// <id>.jspiece.json (with its bundle) is loaded at start and again when
// either file changes; a removed metadata file unloads its piece. A new
// version loads beside the old one, which keeps serving until the swap
// and finishes the calls under way on it.
type Loader struct {
	cfg LoaderConfig
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc

	rtOnce sync.Once
	rt     *Runtime
	rtErr  error

	mu      sync.Mutex
	closed  bool
	handles map[string]*Handle
	sums    map[string]string // id → FileSHA256 of the metadata loaded
	metas   map[string]Meta
	refused map[string]string // id → why its files were refused
	idMu    map[string]*sync.Mutex
	loads   sync.WaitGroup
	// installing holds a token while Install runs.
	installing chan struct{}
}

// NewLoader returns a loader of cfg.Dir; nothing is loaded before Sync,
// SyncAll or Changed.
func NewLoader(cfg LoaderConfig) *Loader {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Runtime.Logger == nil {
		cfg.Runtime.Logger = cfg.Logger
	}
	if cfg.OnAdd == nil {
		cfg.OnAdd = func(string, *Handle) error { return nil }
	}
	if cfg.OnRemove == nil {
		cfg.OnRemove = func(string) {}
	}
	l := &Loader{cfg: cfg, log: cfg.Logger, handles: map[string]*Handle{}, sums: map[string]string{},
		metas: map[string]Meta{}, refused: map[string]string{}, idMu: map[string]*sync.Mutex{}, installing: make(chan struct{}, 1)}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	return l
}

// Runtime returns the runtime, starting it on first use.
func (l *Loader) Runtime() (*Runtime, error) {
	l.rtOnce.Do(func() {
		l.rt, l.rtErr = NewRuntime(l.ctx, l.cfg.Runtime)
		if l.rtErr != nil {
			l.rtErr = fmt.Errorf("the JS engine did not start: %w", l.rtErr)
		}
	})
	return l.rt, l.rtErr
}

// SyncAll loads every JS piece of the directory not loaded yet, or
// changed since.
func (l *Loader) SyncAll() {
	metas, err := List(l.cfg.Dir)
	if err != nil {
		l.log.Warn("JS pieces not listed", "dir", l.cfg.Dir, "err", err)
		return
	}
	for _, m := range metas {
		_ = l.Sync(m.ID)
	}
}

// Changed handles a change in the directory: a JS piece's file syncs its
// piece, the lock file every piece (verification may now let one in).
func (l *Loader) Changed(ev plugindir.Event) {
	switch ev.Kind {
	case plugindir.JSPiece:
		_ = l.Sync(ev.ID)
	case plugindir.Lock:
		l.SyncAll()
	}
}

// Sync brings piece id in line with its files: loads it, replaces it when
// its metadata changed, or unloads it when its metadata file is gone. A
// version that does not load (bad hash, not pinned, a bundle that
// throws) is refused and the one serving, if any, keeps serving.
func (l *Loader) Sync(id string) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.loads.Add(1)
	defer l.loads.Done()
	m := l.idMu[id]
	if m == nil {
		m = &sync.Mutex{}
		l.idMu[id] = m
	}
	l.mu.Unlock()
	m.Lock()
	defer m.Unlock()

	if _, err := os.Stat(filepath.Join(l.cfg.Dir, id+metaSuffix)); errors.Is(err, os.ErrNotExist) {
		l.unload(id)
		return nil
	}
	err := l.load(id)
	l.mu.Lock()
	if err != nil && l.ctx.Err() == nil {
		l.refused[id] = err.Error()
	} else {
		delete(l.refused, id)
	}
	l.mu.Unlock()
	if err != nil && l.ctx.Err() == nil {
		l.log.Warn("JS piece not loaded", "id", id, "err", err)
	}
	return err
}

func (l *Loader) load(id string) error {
	a, meta, err := Read(l.cfg.Dir, id)
	if err != nil {
		return err
	}
	l.mu.Lock()
	same := l.sums[id] == meta.FileSHA256 && l.handles[id] != nil
	l.mu.Unlock()
	if same {
		return nil
	}
	rt, err := l.Runtime()
	if err != nil {
		return err
	}
	if rt.cfg.Verify != nil {
		// The bytes checked are the bytes loaded: Read hashed the
		// metadata it parsed, and the bundle against its SHA256.
		if err := rt.cfg.Verify(id+metaSuffix, meta.FileSHA256); err != nil {
			return err
		}
	}
	start := time.Now()
	p, err := rt.Load(l.ctx, a)
	if err != nil {
		return err
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		p.Close()
		return ErrClosed
	}
	h := l.handles[id]
	fresh := h == nil
	if fresh {
		h = &Handle{id: id}
	}
	l.mu.Unlock()
	old := h.cur.Swap(p)
	if fresh {
		if err := l.cfg.OnAdd(id, h); err != nil {
			p.Close()
			return err
		}
	}
	l.mu.Lock()
	l.handles[id] = h
	l.sums[id] = meta.FileSHA256
	l.metas[id] = meta
	l.mu.Unlock()
	if old != nil {
		old.Close()
	}
	l.log.Info("JS piece loaded", "id", id, "package", meta.Package, "version", meta.Version,
		"actions", len(p.Manifest().Actions), "replaced", old != nil, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func (l *Loader) unload(id string) {
	l.mu.Lock()
	h := l.handles[id]
	delete(l.handles, id)
	delete(l.sums, id)
	delete(l.metas, id)
	delete(l.refused, id)
	l.mu.Unlock()
	if h == nil {
		return
	}
	l.cfg.OnRemove(id)
	if p := h.cur.Load(); p != nil {
		p.Close()
	}
	l.log.Info("JS piece unloaded", "id", id)
}

// Handle returns the handle of a loaded piece.
func (l *Loader) Handle(id string) (*Handle, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.handles[id]
	return h, ok
}

// KindJSPiece is the kind the admin API lists JS pieces under.
const KindJSPiece = "jspiece"

// Plugins lists the loaded JS pieces and those refused, by id.
func (l *Loader) Plugins() []plugindir.Plugin {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []plugindir.Plugin
	for id, h := range l.handles {
		m := l.metas[id]
		pl := plugindir.Plugin{ID: id, Kind: KindJSPiece, Name: m.Package, Version: m.Version, Checksum: m.FileSHA256,
			State: "loaded", AllowedHosts: m.Hosts, LastError: l.refused[id]}
		for _, a := range h.Manifest().Actions {
			pl.Actions = append(pl.Actions, a.Name)
		}
		out = append(out, pl)
	}
	for id, why := range l.refused {
		if _, ok := l.handles[id]; !ok {
			out = append(out, plugindir.Plugin{ID: id, Kind: KindJSPiece, State: "refused", LastError: why})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Close unloads every piece and stops the runtime. Loads under way stop.
func (l *Loader) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	l.loads.Wait()
	l.mu.Lock()
	handles := l.handles
	l.handles = map[string]*Handle{}
	l.mu.Unlock()
	for _, h := range handles {
		if p := h.cur.Load(); p != nil {
			p.Close()
		}
	}
	// rtOnce has run or never will: Runtime after close fails its load.
	l.rtOnce.Do(func() { l.rtErr = ErrClosed })
	if l.rt != nil {
		return l.rt.Close(context.Background())
	}
	return nil
}
