package wasm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atomhq/atom/host/internal/plugindir"
	hostrt "github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/provider"
)

// Handle is the stable implementation of one piece id across reloads: it
// forwards each call to the current version. It is what a registry keeps.
type Handle struct {
	id  string
	cur atomic.Pointer[Piece]
}

var _ hostrt.Implementation = (*Handle)(nil)

// ID returns the piece id.
func (h *Handle) ID() string { return h.id }

// Current returns the version serving new calls.
func (h *Handle) Current() *Piece { return h.cur.Load() }

// Kind returns runtime.KindPiece.
func (h *Handle) Kind() string { return hostrt.KindPiece }

// Manifest returns the current version's manifest.
func (h *Handle) Manifest() provider.Manifest { return h.cur.Load().Manifest() }

// Execute runs the call on the current version. A call that reached a
// version retired by a concurrent swap, before doing any work, is retried
// on its successor, so reloads fail no request.
func (h *Handle) Execute(ctx context.Context, req provider.Request, host hostrt.Host) (provider.Response, error) {
	for {
		p := h.cur.Load()
		resp, err := p.Execute(ctx, req, host)
		if errors.Is(err, errRetired) && h.cur.Load() != p {
			continue
		}
		return resp, err
	}
}

// Loader keeps the pieces of one directory loaded: every *.wasm file in it
// is loaded at start and again whenever it changes; a removed file
// unloads its piece. A new version is compiled and instantiated before
// traffic switches to it; the old version drains in the background.
type Loader struct {
	rt       *Runtime
	dir      string
	onAdd    func(id string, h *Handle)
	onRemove func(id string)
	// watcher tells of changes in the directory; ownWatcher when the
	// loader started it, unsubscribe ends its subscription.
	watcher     *plugindir.Watcher
	ownWatcher  bool
	unsubscribe func()
	// ctx is cancelled by Close: a load under way stops at once, whatever
	// its guest does.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	refused map[string]string // file name -> why its latest version was refused
	byPath  map[string]string // path -> piece id
	handles map[string]*Handle
	closed  bool
	drains  sync.WaitGroup
	// reloadMu serialises swaps and callbacks; pathMu serialises the loads
	// of one file. Different files load concurrently, so that a module
	// that does not answer delays no other.
	reloadMu sync.Mutex
	pathMu   map[string]*sync.Mutex
	loads    sync.WaitGroup // reloads under way
	// initial tracks a background load of the directory (StartLoader).
	initial sync.WaitGroup
}

// reloadDelay lets a file settle after its last write event before it is
// loaded.
const reloadDelay = 150 * time.Millisecond

// NewLoader loads every *.wasm file of dir and watches it. onAdd is called
// with a piece's handle when it is first loaded and again after each swap;
// onRemove when its file is removed. Callbacks run one at a time. Close
// stops watching and closes every piece.
func NewLoader(rt *Runtime, dir string, onAdd func(id string, h *Handle), onRemove func(id string)) (*Loader, error) {
	return newLoader(rt, dir, nil, onAdd, onRemove, false)
}

// StartLoader is NewLoader that loads the pieces already in dir in the
// background, so a host starts serving at once and each piece registers
// when it has loaded (a fraction of a second per Go-built module, on the
// interpreter, when the compile cache lacks it). Changes to dir are watched
// from the start.
func StartLoader(rt *Runtime, dir string, onAdd func(id string, h *Handle), onRemove func(id string)) (*Loader, error) {
	return newLoader(rt, dir, nil, onAdd, onRemove, true)
}

// WatchedLoader is NewLoader (StartLoader when background) on the plugin
// directory w watches, shared with the native manager: a changed module
// is loaded again, and a changed lock file loads the modules that are not
// loaded (verification may now let them in). Close leaves w open.
func WatchedLoader(rt *Runtime, w *plugindir.Watcher, background bool, onAdd func(id string, h *Handle), onRemove func(id string)) (*Loader, error) {
	return newLoader(rt, w.Dir(), w, onAdd, onRemove, background)
}

func newLoader(rt *Runtime, dir string, w *plugindir.Watcher, onAdd func(id string, h *Handle), onRemove func(id string), background bool) (*Loader, error) {
	if onAdd == nil {
		onAdd = func(string, *Handle) {}
	}
	if onRemove == nil {
		onRemove = func(string) {}
	}
	own := w == nil
	if own {
		var err error
		if w, err = plugindir.Watch(dir, reloadDelay, rt.cfg.Logger); err != nil {
			return nil, err
		}
	}
	l := &Loader{
		rt: rt, dir: dir, onAdd: onAdd, onRemove: onRemove, watcher: w, ownWatcher: own,
		byPath: map[string]string{}, handles: map[string]*Handle{},
		refused: map[string]string{}, pathMu: map[string]*sync.Mutex{},
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	entries, err := os.ReadDir(dir)
	if err != nil {
		l.cancel()
		if own {
			w.Close()
		}
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var paths []string
	for _, e := range entries {
		if !e.IsDir() && isWasm(e.Name()) {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	l.unsubscribe = w.Subscribe(l.changed)
	l.initial.Add(1)
	go func() {
		defer l.initial.Done()
		l.loadAll(paths)
	}()
	if !background {
		l.initial.Wait()
	}
	return l, nil
}

// WaitInitial waits until the modules that were in the directory when the
// loader started have been loaded (or refused), or until ctx is done. A
// loader from NewLoader has done so when it returns.
func (l *Loader) WaitInitial(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		l.initial.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// initialLoads bounds the files loaded at once at start.
const initialLoads = 4

// loadAll loads paths, a few at a time, until the loader closes.
func (l *Loader) loadAll(paths []string) {
	sem := make(chan struct{}, initialLoads)
	var wg sync.WaitGroup
	for _, p := range paths {
		l.mu.Lock()
		closed := l.closed
		l.mu.Unlock()
		if closed {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			l.reload(p)
		}()
	}
	wg.Wait()
}

// isWasm reports whether the file called name is a piece: <id>.wasm, with
// a valid id.
func isWasm(name string) bool {
	kind, _ := plugindir.Classify(name)
	return kind == plugindir.Piece
}

// Handle returns the handle of a loaded piece id.
func (l *Loader) Handle(id string) (*Handle, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.handles[id]
	return h, ok
}

// Refused returns, by file name, why the latest version of each piece file
// that did not load was refused (a file whose id is taken, a manifest that
// did not answer in time, ...). A file that loads again leaves the list.
func (l *Loader) Refused() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string, len(l.refused))
	for k, v := range l.refused {
		out[k] = v
	}
	return out
}

// IDs returns the ids of the loaded pieces.
func (l *Loader) IDs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]string, 0, len(l.handles))
	for id := range l.handles {
		ids = append(ids, id)
	}
	return ids
}

// changed loads a changed module again; a changed lock file loads every
// module not loaded.
func (l *Loader) changed(ev plugindir.Event) {
	switch ev.Kind {
	case plugindir.Piece:
		l.reload(ev.Path)
	case plugindir.Lock:
		entries, err := os.ReadDir(l.dir)
		if err != nil {
			l.rt.cfg.Logger.Warn("read piece directory", "dir", l.dir, "err", err)
			return
		}
		for _, e := range entries {
			if e.IsDir() || !isWasm(e.Name()) {
				continue
			}
			path := filepath.Join(l.dir, e.Name())
			l.mu.Lock()
			_, loaded := l.byPath[path]
			l.mu.Unlock()
			if !loaded {
				l.reload(path)
			}
		}
	}
}

// reload loads the file at path, or unloads its piece if it is gone.
func (l *Loader) reload(path string) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.loads.Add(1)
	defer l.loads.Done()
	pm := l.pathMu[path]
	if pm == nil {
		pm = &sync.Mutex{}
		l.pathMu[path] = pm
	}
	l.mu.Unlock()
	pm.Lock()
	defer pm.Unlock()
	log := l.rt.cfg.Logger
	name := filepath.Base(path)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		l.reloadMu.Lock()
		defer l.reloadMu.Unlock()
		l.mu.Lock()
		delete(l.refused, name)
		l.mu.Unlock()
		l.unload(path)
		return
	}
	p, err := l.rt.LoadContext(l.ctx, path)
	if err != nil {
		if l.ctx.Err() == nil {
			log.Warn("piece not loaded", "path", path, "err", err)
			l.mu.Lock()
			l.refused[name] = err.Error()
			l.mu.Unlock()
		}
		return
	}
	id := p.Spec().ID
	l.reloadMu.Lock()
	defer l.reloadMu.Unlock()
	l.mu.Lock()
	delete(l.refused, name)
	if l.closed {
		l.mu.Unlock()
		p.Close()
		return
	}
	prevID, hadPath := l.byPath[path]
	h := l.handles[id]
	if h == nil {
		h = &Handle{id: id}
		l.handles[id] = h
	}
	l.byPath[path] = id
	old := h.cur.Swap(p)
	l.mu.Unlock()
	if hadPath && prevID != id {
		l.unloadID(prevID)
	}
	if old != nil && old.Checksum() == p.Checksum() {
		log.Debug("piece reloaded unchanged", "id", id, "path", path)
	} else {
		log.Info("piece loaded", "id", id, "version", p.Spec().Version, "path", path, "sha256", p.Checksum())
	}
	l.onAdd(id, h)
	l.retire(old)
}

func (l *Loader) retire(p *Piece) {
	if p == nil {
		return
	}
	l.drains.Add(1)
	go func() {
		defer l.drains.Done()
		p.Close()
	}()
}

func (l *Loader) unload(path string) {
	l.mu.Lock()
	id, ok := l.byPath[path]
	delete(l.byPath, path)
	l.mu.Unlock()
	if ok {
		l.unloadID(id)
	}
}

// unloadID removes id unless another file still serves it.
func (l *Loader) unloadID(id string) {
	l.mu.Lock()
	for _, other := range l.byPath {
		if other == id {
			l.mu.Unlock()
			return
		}
	}
	h := l.handles[id]
	delete(l.handles, id)
	l.mu.Unlock()
	if h == nil {
		return
	}
	l.rt.cfg.Logger.Info("piece unloaded", "id", id)
	l.onRemove(id)
	l.retire(h.cur.Load())
}

// Close stops watching and closes every loaded piece. Loads and calls
// under way are stopped rather than waited for: a guest never holds up a
// host's shutdown.
func (l *Loader) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.unsubscribe()
	l.cancel()
	l.initial.Wait()
	l.loads.Wait()
	var err error
	if l.ownWatcher {
		err = l.watcher.Close()
	}
	l.reloadMu.Lock()
	defer l.reloadMu.Unlock()
	l.mu.Lock()
	handles := l.handles
	l.handles = map[string]*Handle{}
	l.mu.Unlock()
	for _, h := range handles {
		if p := h.cur.Load(); p != nil {
			p.abort()
		}
		l.retire(h.cur.Load())
	}
	l.drains.Wait()
	return err
}
