package plugindir

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestWatcherDebouncesAndSharesEvents: two subscribers each get one event
// per file written several times in a row, the lock file's change comes as
// Lock, and files that are no plugin are not handed out.
func TestWatcherDebouncesAndSharesEvents(t *testing.T) {
	dir := t.TempDir()
	w, err := Watch(dir, 300*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var mu sync.Mutex
	got := [2]map[string]int{{}, {}}
	kinds := map[string]Kind{}
	for i := range got {
		w.Subscribe(func(ev Event) {
			mu.Lock()
			got[i][ev.Name]++
			kinds[ev.Name] = ev.Kind
			mu.Unlock()
			if ev.Path != filepath.Join(dir, ev.Name) {
				t.Errorf("event %+v: path", ev)
			}
		})
	}
	cancelled := 0
	cancel := w.Subscribe(func(Event) { mu.Lock(); cancelled++; mu.Unlock() })
	cancel()
	f, err := os.Create(filepath.Join(dir, "echo.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := f.Write(make([]byte, 1024)); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	for _, name := range []string{LockName, "atom-provider-echo", ".hidden", "notes.tmp", "Bad Name"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int{"echo.wasm": 1, LockName: 1, "atom-provider-echo": 1}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		done := len(got[0]) == len(want) && len(got[1]) == len(want)
		mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Let any further (wrong) event arrive before checking.
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for i, g := range got {
		for name, n := range want {
			if g[name] != n {
				t.Errorf("subscriber %d: %s seen %d times, want %d (all: %v)", i, name, g[name], n, g)
			}
		}
		if len(g) != len(want) {
			t.Errorf("subscriber %d saw %v", i, g)
		}
	}
	if kinds[LockName] != Lock || kinds["echo.wasm"] != Piece || kinds["atom-provider-echo"] != Native {
		t.Errorf("kinds %v", kinds)
	}
	if cancelled != 0 {
		t.Errorf("a cancelled subscription got %d events", cancelled)
	}
}
