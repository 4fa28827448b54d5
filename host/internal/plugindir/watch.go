package plugindir

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Event tells that a file of the directory changed (was written, created,
// renamed or removed) and then stayed unchanged for the debounce interval.
type Event struct {
	// Name is the file's base name, Path its path.
	Name, Path string
	// Kind and ID are what Classify says of Name.
	Kind Kind
	ID   string
}

// Watcher is the one watcher of a plugin directory: it debounces the
// changes of each file and hands them to every subscriber (the native
// manager and the wasm loader), so that editors and cp writing in place are
// read once, and a change to the lock file reaches both.
type Watcher struct {
	dir      string
	debounce time.Duration
	log      *slog.Logger
	fw       *fsnotify.Watcher

	mu     sync.Mutex
	subs   map[int]func(Event)
	next   int
	timers map[string]*time.Timer
	closed bool
	done   chan struct{}
	fired  sync.WaitGroup
}

// DefaultDebounce is how long a file must stay unchanged before its
// change is handed out, unless Watch is told otherwise.
const DefaultDebounce = 100 * time.Millisecond

// Watch starts watching dir. Each file's events fire once it has seen none
// for debounce (DefaultDebounce when not positive). Close stops it.
func Watch(dir string, debounce time.Duration, log *slog.Logger) (*Watcher, error) {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	if err := fw.Add(dir); err != nil {
		fw.Close()
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	w := &Watcher{dir: dir, debounce: debounce, log: log, fw: fw,
		subs: map[int]func(Event){}, timers: map[string]*time.Timer{}, done: make(chan struct{})}
	go w.run()
	return w, nil
}

// Dir is the directory watched.
func (w *Watcher) Dir() string { return w.dir }

// Subscribe calls fn with every later event, from a goroutine of the
// watcher: the events of one file come one at a time, those of different
// files may come at once. After cancel, events fired later do not reach
// fn.
func (w *Watcher) Subscribe(fn func(Event)) (cancel func()) {
	w.mu.Lock()
	id := w.next
	w.next++
	w.subs[id] = fn
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		delete(w.subs, id)
		w.mu.Unlock()
	}
}

func (w *Watcher) run() {
	defer close(w.done)
	for {
		select {
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			w.schedule(filepath.Base(ev.Name))
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			w.log.Error("plugin directory watch", "dir", w.dir, "error", err)
		}
	}
}

// schedule fires name's event once name has seen no event for the
// debounce interval.
func (w *Watcher) schedule(name string) {
	kind, id := Classify(name)
	if kind == Other {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if t := w.timers[name]; t != nil {
		t.Reset(w.debounce)
		return
	}
	ev := Event{Name: name, Path: filepath.Join(w.dir, name), Kind: kind, ID: id}
	w.timers[name] = time.AfterFunc(w.debounce, func() {
		w.mu.Lock()
		delete(w.timers, name)
		if w.closed {
			w.mu.Unlock()
			return
		}
		w.fired.Add(1)
		fns := make([]func(Event), 0, len(w.subs))
		for _, fn := range w.subs {
			fns = append(fns, fn)
		}
		w.mu.Unlock()
		defer w.fired.Done()
		for _, fn := range fns {
			fn(ev)
		}
	})
}

// Close stops watching and waits for the events being handed out.
func (w *Watcher) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	for _, t := range w.timers {
		t.Stop()
	}
	w.mu.Unlock()
	err := w.fw.Close()
	<-w.done
	w.fired.Wait()
	return err
}
