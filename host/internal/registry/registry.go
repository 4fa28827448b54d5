// Package registry maps provider ids to the implementation serving them:
// a native plugin when one is loaded, else a wasm piece, else the generic
// HTTP action for any connectable catalog entry.
//
// One id, one implementation of each kind, and a native plugin and a piece
// never claim the same id silently: the first registered keeps it and the
// other is refused with ErrIDTaken, unless the host's rule (AllowBoth: the
// catalog entry lists both "native" and "piece") says the id has both, as
// first-party providers shipped both ways do.
//
// A Registry is a value (no globals): the host builds one with New and the
// native manager's and wasm loader's events update it. Updates replace an
// immutable snapshot with an atomic pointer swap, so lookups never block
// and never see a half-applied change.
package registry

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/provider"
)

// Generic serves the generic action for connectable catalog entries.
type Generic interface {
	// For returns the generic implementation of provider id, or false when
	// the catalog has no connectable entry with that id.
	For(id string) (runtimes.Implementation, bool)
}

// Registry resolves provider ids to implementations. It is safe for
// concurrent use.
type Registry struct {
	mu      sync.Mutex // serializes writers
	snap    atomic.Pointer[snapshot]
	generic Generic
	both    atomic.Pointer[func(id string) bool]
	wait    atomic.Pointer[func(ctx context.Context, id string) error]
}

// ErrIDTaken is returned when an implementation claims an id that an
// implementation of the other kind holds.
var ErrIDTaken = errors.New("provider id is taken")

// AllowBoth sets the rule telling which ids a native plugin and a piece
// may both serve; without one, no id may.
func (r *Registry) AllowBoth(fn func(id string) bool) { r.both.Store(&fn) }

// Claimable reports whether an implementation of kind (runtimes.KindNative
// or KindPiece) may serve id: nil, or an error wrapping ErrIDTaken that
// names the holder.
func (r *Registry) Claimable(id, kind string) error {
	return r.snap.Load().claimable(id, kind, r.allowBoth(id))
}

func (r *Registry) allowBoth(id string) bool {
	fn := r.both.Load()
	return fn != nil && *fn != nil && (*fn)(id)
}

func (s *snapshot) claimable(id, kind string, both bool) error {
	if both {
		return nil
	}
	switch kind {
	case runtimes.KindNative:
		if _, ok := s.pieces[id]; ok {
			return fmt.Errorf("%w: %q is served by a wasm piece loaded first, and the catalog does not list both a native and a piece implementation for it", ErrIDTaken, id)
		}
	case runtimes.KindPiece:
		if _, ok := s.native[id]; ok {
			return fmt.Errorf("%w: %q is served by a native plugin loaded first, and the catalog does not list both a native and a piece implementation for it", ErrIDTaken, id)
		}
	}
	return nil
}

type snapshot struct {
	native map[string]runtimes.Implementation
	pieces map[string]runtimes.Implementation
}

// New returns an empty Registry; generic may be nil (no generic action).
func New(generic Generic) *Registry {
	r := &Registry{generic: generic}
	r.snap.Store(&snapshot{native: map[string]runtimes.Implementation{}, pieces: map[string]runtimes.Implementation{}})
	return r
}

func (r *Registry) update(fn func(s *snapshot)) {
	_ = r.claim("", "", fn)
}

// claim applies fn to a copy of the snapshot, after checking (when kind is
// set) that kind may serve id.
func (r *Registry) claim(id, kind string, fn func(s *snapshot)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load()
	if kind != "" {
		if err := old.claimable(id, kind, r.allowBoth(id)); err != nil {
			return err
		}
	}
	s := &snapshot{native: make(map[string]runtimes.Implementation, len(old.native)+1), pieces: make(map[string]runtimes.Implementation, len(old.pieces)+1)}
	for k, v := range old.native {
		s.native[k] = v
	}
	for k, v := range old.pieces {
		s.pieces[k] = v
	}
	fn(s)
	r.snap.Store(s)
	return nil
}

// SetNative registers (or replaces) the native implementation of id. It
// refuses, with ErrIDTaken, an id a piece holds (see AllowBoth).
func (r *Registry) SetNative(id string, impl runtimes.Implementation) error {
	return r.claim(id, runtimes.KindNative, func(s *snapshot) { s.native[id] = impl })
}

// RemoveNative unregisters the native implementation of id.
func (r *Registry) RemoveNative(id string) {
	r.update(func(s *snapshot) { delete(s.native, id) })
}

// SetPiece registers (or replaces) the wasm piece serving id. It refuses,
// with ErrIDTaken, an id a native plugin holds (see AllowBoth).
func (r *Registry) SetPiece(id string, impl runtimes.Implementation) error {
	return r.claim(id, runtimes.KindPiece, func(s *snapshot) { s.pieces[id] = impl })
}

// RemovePiece unregisters the wasm piece serving id.
func (r *Registry) RemovePiece(id string) {
	r.update(func(s *snapshot) { delete(s.pieces, id) })
}

// SetWait sets what Wait calls: the native manager's Wait, which blocks
// while the plugin of an id found at start is still loading.
func (r *Registry) SetWait(fn func(ctx context.Context, id string) error) { r.wait.Store(&fn) }

// Wait returns once no implementation of id is still loading at start,
// or with ctx's error. Callers wait before Resolve or Get, so a provider
// whose plugin is loading is neither unknown nor served by the generic
// runtime in the meantime.
func (r *Registry) Wait(ctx context.Context, id string) error {
	fn := r.wait.Load()
	if fn == nil || *fn == nil {
		return nil
	}
	return (*fn)(ctx, id)
}

// Resolve returns the implementation serving id: native, then piece,
// then generic.
func (r *Registry) Resolve(id string) (runtimes.Implementation, bool) { return r.Serving(id, false) }

// Serving returns the first implementation serving id in the order of
// the route: native, piece, generic on the integrations route; piece,
// native, generic on the pieces route (preferPiece).
func (r *Registry) Serving(id string, preferPiece bool) (runtimes.Implementation, bool) {
	for _, kind := range order(preferPiece) {
		if impl, ok := r.Get(id, kind); ok {
			return impl, true
		}
	}
	return nil, false
}

// Rerun returns the implementation that runs a recorded execution of id
// again (an asynchronous job): the one of the recorded kind while it is
// still served, else the one Resolve picks now.
func (r *Registry) Rerun(id, kind string) (runtimes.Implementation, bool) {
	if impl, ok := r.Get(id, kind); ok {
		return impl, true
	}
	return r.Resolve(id)
}

// Get returns the implementation of id of one kind (runtimes.KindNative,
// KindPiece or KindGeneric).
func (r *Registry) Get(id, kind string) (runtimes.Implementation, bool) {
	s := r.snap.Load()
	switch kind {
	case runtimes.KindNative:
		impl, ok := s.native[id]
		return impl, ok
	case runtimes.KindPiece:
		impl, ok := s.pieces[id]
		return impl, ok
	case runtimes.KindGeneric:
		if r.generic != nil {
			return r.generic.For(id)
		}
	}
	return nil, false
}

// Actions returns the actions offered for id by the implementation that
// serves it, and that implementation's kind.
func (r *Registry) Actions(id string) ([]provider.Action, string, bool) {
	impl, ok := r.Resolve(id)
	if !ok {
		return nil, "", false
	}
	return impl.Manifest().Actions, impl.Kind(), true
}

// Offered is one action that runs for a provider and the implementation
// that runs it.
type Offered struct {
	provider.Action
	Impl runtimes.Implementation
}

// order lists the kinds tried for an action: the native plugin, then the
// piece (the piece first when preferPiece), then the generic runtime.
func order(preferPiece bool) []string {
	if preferPiece {
		return []string{runtimes.KindPiece, runtimes.KindNative, runtimes.KindGeneric}
	}
	return []string{runtimes.KindNative, runtimes.KindPiece, runtimes.KindGeneric}
}

// Offer returns every action that runs for id, each once, with the
// implementation that runs it: the actions of the native plugin and of
// the piece (in the order of preferPiece) and, for a connectable catalog
// entry, the generic custom_api_call unless one of them declares it. An
// action listed here is exactly one RunAction finds. It is false when no
// implementation serves id.
func (r *Registry) Offer(id string, preferPiece bool) ([]Offered, bool) {
	var out []Offered
	seen := map[string]bool{}
	found := false
	for _, kind := range order(preferPiece) {
		impl, ok := r.Get(id, kind)
		if !ok {
			continue
		}
		found = true
		for _, a := range impl.Manifest().Actions {
			if !seen[a.Name] {
				seen[a.Name] = true
				out = append(out, Offered{Action: a, Impl: impl})
			}
		}
	}
	return out, found
}

// RunAction returns the implementation that runs action of id and the
// action's declaration: the first of the native plugin, the piece (the
// piece first when preferPiece) and the generic runtime whose manifest
// declares it. known is false when no implementation serves id at all.
func (r *Registry) RunAction(id, action string, preferPiece bool) (impl runtimes.Implementation, a provider.Action, known, ok bool) {
	for _, kind := range order(preferPiece) {
		i, has := r.Get(id, kind)
		if !has {
			continue
		}
		known = true
		if a, has := FindAction(i.Manifest(), action); has {
			return i, a, true, true
		}
	}
	return nil, provider.Action{}, known, false
}

// Natives returns the ids of the registered native implementations, sorted.
func (r *Registry) Natives() []string { return keys(r.snap.Load().native) }

// Pieces returns the ids of the registered pieces, sorted.
func (r *Registry) Pieces() []string { return keys(r.snap.Load().pieces) }

func keys(m map[string]runtimes.Implementation) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// FindAction returns the action named name in m.
func FindAction(m provider.Manifest, name string) (provider.Action, bool) {
	for _, a := range m.Actions {
		if a.Name == name {
			return a, true
		}
	}
	return provider.Action{}, false
}
