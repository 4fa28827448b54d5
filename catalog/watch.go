package catalog

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long a Watcher waits after the last change in
// the custom directory before rebuilding.
const DefaultDebounce = 100 * time.Millisecond

// Watcher keeps a current catalog snapshot and rebuilds it when files in
// Options.CustomDir change. It is safe for concurrent use.
type Watcher struct {
	opts     Options
	cur      atomic.Pointer[Catalog]
	fsw      *fsnotify.Watcher
	onChange func(*Catalog)
	onError  func(error)
	debounce time.Duration
	done     chan struct{}
	wg       sync.WaitGroup
	close    sync.Once
}

// NewWatcher loads the catalog with opts and, when opts.CustomDir is set,
// watches that directory. A broken custom file at start is an error and
// no Watcher is returned.
//
// While running, a change to a descriptor file (created, written,
// removed or renamed) triggers a rebuild about 100 ms after the last
// change. A successful rebuild replaces Current and is passed to
// onChange; a broken file leaves Current unchanged and is passed to
// onError as a *FieldError naming the file and field. Both callbacks may
// be nil and are called one at a time from the Watcher's goroutine. Call
// Close to stop watching.
func NewWatcher(opts Options, onChange func(*Catalog), onError func(error)) (*Watcher, error) {
	c, err := Load(opts)
	if err != nil {
		return nil, err
	}
	w := &Watcher{
		opts:     opts,
		onChange: onChange,
		onError:  onError,
		debounce: DefaultDebounce,
		done:     make(chan struct{}),
	}
	w.cur.Store(c)
	if opts.CustomDir == "" {
		return w, nil
	}
	if w.fsw, err = fsnotify.NewWatcher(); err != nil {
		return nil, fmt.Errorf("catalog: watch %s: %w", opts.CustomDir, err)
	}
	if err := w.fsw.Add(opts.CustomDir); err != nil {
		w.fsw.Close()
		return nil, fmt.Errorf("catalog: watch %s: %w", opts.CustomDir, err)
	}
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

// Current returns the latest good snapshot.
func (w *Watcher) Current() *Catalog { return w.cur.Load() }

// Close stops watching and waits for the Watcher's goroutine to end. It
// is safe to call more than once.
func (w *Watcher) Close() error {
	var err error
	w.close.Do(func() {
		close(w.done)
		if w.fsw != nil {
			err = w.fsw.Close()
		}
		w.wg.Wait()
	})
	return err
}

func (w *Watcher) loop() {
	defer w.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-w.done:
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod || !isDescriptorFile(filepath.Base(ev.Name)) {
				continue
			}
			timer.Reset(w.debounce)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.report(fmt.Errorf("catalog: watch %s: %w", w.opts.CustomDir, err))
		case <-timer.C:
			w.reload()
		}
	}
}

func (w *Watcher) reload() {
	c, err := Load(w.opts)
	if err != nil {
		w.report(err)
		return
	}
	w.cur.Store(c)
	if w.onChange != nil {
		w.onChange(c)
	}
}

func (w *Watcher) report(err error) {
	if w.onError != nil {
		w.onError(err)
	}
}
