package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/atomhq/atom/host/internal/plugindir"
	hostrt "github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/piece"
	"github.com/atomhq/atom/sdk/provider"
)

// Errors of the runtime, wrapped with the piece and action in returned
// errors.
var (
	// ErrDeadline: the call ran past its deadline and was stopped.
	ErrDeadline = errors.New("piece call exceeded its deadline")
	// ErrMemoryLimit: the guest ran out of memory under its cap. It
	// matches runtimes.ErrPluginFailed.
	ErrMemoryLimit error = &pluginFailed{"piece exceeded its memory limit"}
	// ErrTrap: the guest trapped, panicked or exited. It matches
	// runtimes.ErrPluginFailed.
	ErrTrap error = &pluginFailed{"piece trapped"}
	// ErrInvalidModule: the module does not implement the ABI.
	ErrInvalidModule = errors.New("invalid piece module")
	// ErrClosed: the runtime or piece is closed.
	ErrClosed = errors.New("wasm runtime closed")
	// ErrOutputLimit: a call's result is larger than MaxOutputBytes. It
	// matches ErrTrap too: the guest misbehaved.
	ErrOutputLimit error = &guestFault{"piece output exceeds the size limit"}
	// ErrManifestLimit: a manifest is larger than MaxManifestBytes. It
	// matches ErrInvalidModule too.
	ErrManifestLimit error = &invalidModule{"piece manifest exceeds the size limit"}
	// ErrIdentity: a module declares another id than its file name, or an
	// id another provider holds.
	ErrIdentity error = &invalidModule{"piece identity refused"}
)

// pluginFailed is an error that also matches runtimes.ErrPluginFailed.
type pluginFailed struct{ msg string }

func (e *pluginFailed) Error() string        { return e.msg }
func (e *pluginFailed) Is(target error) bool { return target == hostrt.ErrPluginFailed }

// guestFault is an error that also matches ErrTrap and
// runtimes.ErrPluginFailed.
type guestFault struct{ msg string }

func (e *guestFault) Error() string { return e.msg }
func (e *guestFault) Is(target error) bool {
	return target == ErrTrap || target == hostrt.ErrPluginFailed
}

// invalidModule is an error that also matches ErrInvalidModule.
type invalidModule struct{ msg string }

func (e *invalidModule) Error() string        { return e.msg }
func (e *invalidModule) Is(target error) bool { return target == ErrInvalidModule }

// Runtime compiles and runs pieces. It is safe for concurrent use; Close
// releases everything it holds.
type Runtime struct {
	cfg   Config
	cache wazero.CompilationCache
	// ctx is cancelled by Close: loads and calls under way stop at once.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	closed   bool
	engines  map[engineKey]*engine
	compiled map[compiledKey]*compiledModule
	// manifests holds the manifest of each module checksum, read from the
	// guest once: a module cannot declare another identity later.
	manifests map[[32]byte][]byte
	// work tracks compilations and background upgrades; Close waits for
	// them before it closes the engines.
	work sync.WaitGroup

	// interpreterOnly keeps cold pieces on the interpreter (no background
	// compilation); tests use it to check the interpreter's sandbox.
	interpreterOnly bool
	// upgradeGate, when set, holds each background switch to compiled code
	// until it is closed; tests use it to observe the interpreter phase.
	upgradeGate chan struct{}
	// beforeManifest, when set, is called before a load asks a module for
	// its manifest; tests use it to act while a guest runs.
	beforeManifest func()
}

// Engine names reported by Stats.Engine.
const (
	// EngineInterpreter: calls run in wazero's interpreter while the
	// optimizing compiler works in the background.
	EngineInterpreter = "interpreter"
	// EngineCompiled: calls run as native code.
	EngineCompiled = "compiled"
)

// engineKey selects one wazero runtime: a memory cap and an engine kind.
type engineKey struct {
	pages  uint32
	interp bool
}

// engine is one wazero runtime with the atom and WASI host modules; there
// is one per distinct memory cap and engine kind, all sharing the
// compilation cache.
type engine struct {
	rt  wazero.Runtime
	key engineKey
}

type compiledKey struct {
	sum [32]byte
	engineKey
}

// compiledModule is one module compiled for one engine, shared by the
// pieces loaded from the same bytes. ready is closed when the compilation
// ended; then cm or err is set.
type compiledModule struct {
	key   compiledKey
	cm    wazero.CompiledModule
	eng   *engine
	refs  int
	ready chan struct{}
	err   error
}

// engineName returns the Stats.Engine name of c.
func (c *compiledModule) engineName() string {
	if c.key.interp {
		return EngineInterpreter
	}
	return EngineCompiled
}

// NewRuntime returns a Runtime configured by cfg.
func NewRuntime(cfg Config) (*Runtime, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Runtime{cfg: cfg, engines: map[engineKey]*engine{}, compiled: map[compiledKey]*compiledModule{}, manifests: map[[32]byte][]byte{}}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	if cfg.CacheDir != "" {
		for _, d := range []string{compiledMarkDir, manifestDir} {
			if err := os.MkdirAll(filepath.Join(cfg.CacheDir, d), 0o700); err != nil {
				return nil, fmt.Errorf("wasm cache dir: %w", err)
			}
		}
		r.cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasm cache: %w", err)
		}
	} else {
		r.cache = wazero.NewCompilationCache()
	}
	return r, nil
}

// Config returns the runtime's configuration with defaults applied.
func (r *Runtime) Config() Config { return r.cfg }

// engineFor returns the engine for k; r.mu is held.
func (r *Runtime) engineFor(ctx context.Context, k engineKey) (*engine, error) {
	if e := r.engines[k]; e != nil {
		return e, nil
	}
	rc := wazero.NewRuntimeConfigCompiler()
	if k.interp {
		rc = wazero.NewRuntimeConfigInterpreter()
	}
	rc = rc.WithCompilationCache(r.cache).
		WithMemoryLimitPages(k.pages).
		WithCloseOnContextDone(true)
	// The engine outlives the load that creates it: no caller's context.
	ctx = context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiate wasi: %w", err)
	}
	if err := instantiateHostModule(ctx, rt, r.cfg); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiate atom host module: %w", err)
	}
	e := &engine{rt: rt, key: k}
	r.engines[k] = e
	return e, nil
}

// compile returns the compiled module for (sum, k), compiling it once:
// concurrent callers for the same key wait for one compilation, and other
// keys compile meanwhile.
func (r *Runtime) compile(ctx context.Context, sum [32]byte, wasmBytes []byte, k engineKey) (*compiledModule, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	key := compiledKey{sum, k}
	if c := r.compiled[key]; c != nil {
		c.refs++
		r.mu.Unlock()
		<-c.ready
		if c.err != nil {
			return nil, c.err
		}
		return c, nil
	}
	eng, err := r.engineFor(ctx, k)
	if err != nil {
		r.mu.Unlock()
		return nil, err
	}
	c := &compiledModule{key: key, eng: eng, refs: 1, ready: make(chan struct{})}
	r.compiled[key] = c
	r.work.Add(1)
	r.mu.Unlock()
	defer r.work.Done()

	cm, err := eng.rt.CompileModule(ctx, wasmBytes)
	if err != nil {
		err = fmt.Errorf("%w: compile: %v", ErrInvalidModule, err)
	} else if err = checkExports(cm); err != nil {
		_ = cm.Close(ctx)
	}
	r.mu.Lock()
	if err != nil {
		delete(r.compiled, key)
		c.err = err
	} else {
		c.cm = cm
	}
	r.mu.Unlock()
	close(c.ready)
	if err != nil {
		return nil, err
	}
	if !k.interp {
		r.markCompiled(sum)
	}
	return c, nil
}

func (r *Runtime) release(c *compiledModule) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.refs--
	if c.refs == 0 {
		delete(r.compiled, c.key)
		_ = c.cm.Close(context.Background())
	}
}

// compiledMarkDir is the directory, inside the cache directory, of one
// empty file per module checksum the optimizing compiler has compiled into
// the file cache.
const compiledMarkDir = "atom-compiled"

// markCompiled records that sum is in the file cache.
func (r *Runtime) markCompiled(sum [32]byte) {
	if r.cfg.CacheDir == "" {
		return
	}
	name := filepath.Join(r.cfg.CacheDir, compiledMarkDir, hex.EncodeToString(sum[:]))
	if f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
		_ = f.Close()
	}
}

// haveCompiled reports whether native code for sum is at hand: compiled
// in this process and still loaded, or recorded in the file cache. A
// module without it loads on the interpreter first.
func (r *Runtime) haveCompiled(sum [32]byte) bool {
	r.mu.Lock()
	for k, c := range r.compiled {
		if k.sum == sum && !k.interp && c.cm != nil {
			r.mu.Unlock()
			return true
		}
	}
	r.mu.Unlock()
	if r.cfg.CacheDir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(r.cfg.CacheDir, compiledMarkDir, hex.EncodeToString(sum[:])))
	return err == nil
}

func checkExports(cm wazero.CompiledModule) error {
	fns := cm.ExportedFunctions()
	for _, name := range []string{"atom_abi_version", "atom_alloc", "atom_free", "atom_manifest", "atom_execute"} {
		if fns[name] == nil {
			return fmt.Errorf("%w: missing export %s", ErrInvalidModule, name)
		}
	}
	if len(cm.ExportedMemories()) == 0 {
		return fmt.Errorf("%w: missing exported memory", ErrInvalidModule)
	}
	for _, imp := range cm.ImportedFunctions() {
		mod, name, _ := imp.Import()
		if mod != "atom" && mod != wasi_snapshot_preview1.ModuleName {
			return fmt.Errorf("%w: import %s.%s is not provided", ErrInvalidModule, mod, name)
		}
	}
	return nil
}

// Load reads, verifies and compiles the module at path and returns the
// piece it serves, with one warm instance. The file name binds the piece's
// identity: a module at dir/<id>.wasm must declare id <id> in its manifest
// (ErrIdentity otherwise). The caller closes the piece.
func (r *Runtime) Load(path string) (*Piece, error) {
	return r.LoadContext(context.Background(), path)
}

// LoadContext is Load under ctx: cancelling it stops the load, whatever
// the guest does.
func (r *Runtime) LoadContext(ctx context.Context, path string) (*Piece, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read piece: %w", err)
	}
	p, err := r.load(ctx, path, b, IDFromFile(path))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return p, nil
}

// IDFromFile returns the piece id a module file may declare: its base name
// without ".wasm".
func IDFromFile(path string) string {
	return strings.TrimSuffix(filepath.Base(path), plugindir.PieceSuffix)
}

// LoadBytes is Load for a module already in memory; name labels it in
// errors and logs and, when it ends in ".wasm", binds its id as a file
// name does.
//
// A module whose native code is neither loaded nor in the file cache is
// compiled for wazero's interpreter, which takes a fraction of the time, so
// the piece serves at once; the optimizing compiler then compiles it in the
// background, and the piece switches to native instances when it is done
// (Stats.Engine tells which one serves).
func (r *Runtime) LoadBytes(name string, wasmBytes []byte) (*Piece, error) {
	want := ""
	if strings.HasSuffix(name, ".wasm") {
		want = IDFromFile(name)
	}
	return r.load(context.Background(), name, wasmBytes, want)
}

// load loads a module; want, when set, is the id it must declare. Module
// init and the manifest run under LoadTimeout and stop when ctx is done or
// the runtime closes.
func (r *Runtime) load(ctx context.Context, name string, wasmBytes []byte, want string) (*Piece, error) {
	sum := sha256.Sum256(wasmBytes)
	if r.cfg.Verify != nil {
		if err := r.cfg.Verify(name, sum); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
	}
	interp := r.interpreterOnly || !r.haveCompiled(sum)
	// A cold module's init and manifest run on the interpreter, several
	// times slower than compiled code: its deadline is longer by as much.
	loadTimeout := r.cfg.LoadTimeout
	if interp {
		loadTimeout *= interpreterSlowdown
	}
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	stop := context.AfterFunc(r.ctx, cancel)
	defer stop()
	loadError := func(what string, err error) error { return r.loadError(ctx, what, loadTimeout, err) }
	c, err := r.compile(ctx, sum, wasmBytes, engineKey{r.cfg.DefaultMemoryPages, interp})
	if err != nil {
		return nil, err
	}
	p := &Piece{rt: r, path: name, sum: sum, compiled: c, timeout: r.cfg.CallTimeout, live: map[*compiledModule]int{},
		tenants: map[string]*tenantSlots{}}
	p.ctx, p.cancel = context.WithCancel(r.ctx)
	p.sem = make(chan struct{}, r.cfg.PoolSize)
	inst, err := p.newInstance(ctx)
	if err != nil {
		p.cancel()
		r.release(c)
		return nil, loadError("module init (_initialize)", err)
	}
	fail := func(err error) (*Piece, error) {
		p.cancel()
		inst.close()
		r.release(c)
		return nil, err
	}
	raw, cached := r.cachedManifest(sum)
	if !cached {
		if r.beforeManifest != nil {
			r.beforeManifest()
		}
		if raw, err = inst.manifest(ctx, r.cfg.MaxManifestBytes); err != nil {
			return fail(loadError("atom_manifest", err))
		}
	}
	if err := p.setManifest(raw); err != nil {
		return fail(err)
	}
	if !cached {
		r.keepManifest(sum, raw)
	}
	if want != "" && p.spec.ID != want {
		return fail(fmt.Errorf("%w: the module declares piece id %q but its file is %s.wasm: a piece's file must be named <id>.wasm", ErrIdentity, p.spec.ID, want))
	}
	if r.cfg.Claim != nil {
		if err := r.cfg.Claim(p.spec.ID); err != nil {
			return fail(fmt.Errorf("%w: %v", ErrIdentity, err))
		}
	}
	pages, timeout := r.cfg.limits(p.spec.Limits)
	p.timeout = timeout
	if pages != c.key.pages {
		// The piece asks for another memory cap: compile it for the engine
		// with that cap. The engines share compiled code while the first
		// module is open, so this is cheap; release it after.
		inst.close()
		capped, err := r.compile(ctx, sum, wasmBytes, engineKey{pages, interp})
		r.release(c)
		delete(p.live, c)
		if err != nil {
			p.cancel()
			return nil, err
		}
		c = capped
		p.compiled = c
		if inst, err = p.newInstance(ctx); err != nil {
			p.cancel()
			r.release(c)
			return nil, loadError("module init (_initialize)", err)
		}
	}
	p.recyclePages = r.cfg.RecyclePages
	if p.recyclePages == 0 {
		p.recyclePages = min(pages/2, 512)
	}
	p.idle = append(p.idle, inst)
	if interp && !r.interpreterOnly {
		r.compileInBackground(p, wasmBytes, pages)
	}
	return p, nil
}

// interpreterSlowdown is how much longer a load on the interpreter may
// take than LoadTimeout: the interpreter runs a Go-built module's init
// 3–10 times slower than its compiled code.
const interpreterSlowdown = 4

// loadError names what a load was running when the guest failed, and the
// deadline when that was the cause.
func (r *Runtime) loadError(ctx context.Context, what string, timeout time.Duration, err error) error {
	switch {
	case r.ctx.Err() != nil:
		return fmt.Errorf("%w: %s stopped: the runtime is closing", ErrClosed, what)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: %s did not return within %s", ErrDeadline, what, timeout)
	case ctx.Err() != nil:
		return fmt.Errorf("%s stopped: %w", what, ctx.Err())
	}
	return err
}

// manifestDir is the directory, inside the cache directory, of the
// manifest of each module checksum.
const manifestDir = "atom-manifests"

// cachedManifest returns the manifest read earlier from the module with
// checksum sum, in this process or (with a cache directory) before.
func (r *Runtime) cachedManifest(sum [32]byte) ([]byte, bool) {
	r.mu.Lock()
	raw, ok := r.manifests[sum]
	r.mu.Unlock()
	if ok || r.cfg.CacheDir == "" {
		return raw, ok
	}
	f, err := os.Open(filepath.Join(r.cfg.CacheDir, manifestDir, hex.EncodeToString(sum[:])+".json"))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	raw, err = io.ReadAll(io.LimitReader(f, int64(r.cfg.MaxManifestBytes)+1))
	if err != nil || len(raw) > r.cfg.MaxManifestBytes {
		return nil, false
	}
	r.mu.Lock()
	r.manifests[sum] = raw
	r.mu.Unlock()
	return raw, true
}

// keepManifest records the manifest of the module with checksum sum.
func (r *Runtime) keepManifest(sum [32]byte, raw []byte) {
	r.mu.Lock()
	if _, ok := r.manifests[sum]; !ok {
		r.manifests[sum] = raw
	}
	r.mu.Unlock()
	if r.cfg.CacheDir == "" {
		return
	}
	dir := filepath.Join(r.cfg.CacheDir, manifestDir)
	f, err := os.CreateTemp(dir, ".manifest-*")
	if err != nil {
		return
	}
	_, werr := f.Write(raw)
	if cerr := f.Close(); werr != nil || cerr != nil {
		os.Remove(f.Name())
		return
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, hex.EncodeToString(sum[:])+".json")); err != nil {
		os.Remove(f.Name())
	}
}

// compileInBackground compiles p's module with the optimizing compiler
// and switches p to it.
func (r *Runtime) compileInBackground(p *Piece, wasmBytes []byte, pages uint32) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.work.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.work.Done()
		c, err := r.compile(context.Background(), p.sum, wasmBytes, engineKey{pages, false})
		if err != nil {
			if !errors.Is(err, ErrClosed) {
				r.cfg.Logger.Warn("piece stays on the interpreter", "path", p.path, "err", err)
			}
			return
		}
		if r.upgradeGate != nil {
			<-r.upgradeGate
		}
		if p.upgrade(c) {
			r.cfg.Logger.Info("piece switched to compiled code", "id", p.spec.ID, "path", p.path)
		}
	}()
}

func (p *Piece) setManifest(raw []byte) error {
	if err := json.Unmarshal(raw, &p.spec); err != nil {
		return fmt.Errorf("%w: manifest: %v", ErrInvalidModule, err)
	}
	if err := json.Unmarshal(raw, &p.manifest); err != nil {
		return fmt.Errorf("%w: manifest: %v", ErrInvalidModule, err)
	}
	if p.spec.ID == "" {
		return fmt.Errorf("%w: manifest without id", ErrInvalidModule)
	}
	if p.spec.ABI != 0 && p.spec.ABI != piece.ABIVersion {
		return fmt.Errorf("%w: manifest abi %d, host speaks %d", ErrInvalidModule, p.spec.ABI, piece.ABIVersion)
	}
	for _, h := range p.spec.Hosts {
		if err := validHostPattern(h); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidModule, err)
		}
	}
	p.manifest.Categories = p.spec.Categories
	return nil
}

// Close closes every engine. Pieces still loaded stop working; close them
// first for a graceful stop.
func (r *Runtime) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	// Compilations cannot be interrupted: wait for those under way.
	r.work.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx := context.Background()
	var errs []error
	for _, e := range r.engines {
		errs = append(errs, e.rt.Close(ctx))
	}
	errs = append(errs, r.cache.Close(ctx))
	return errors.Join(errs...)
}

// Checksum returns the hex SHA-256 of the piece's module bytes.
func (p *Piece) Checksum() string { return hex.EncodeToString(p.sum[:]) }

// Path returns the path (or name) the piece was loaded from.
func (p *Piece) Path() string { return p.path }

// Spec returns the piece's manifest as the guest reported it, including
// its hosts, auth and limits.
func (p *Piece) Spec() piece.ManifestJSON { return p.spec }

// Manifest returns the piece's provider manifest.
func (p *Piece) Manifest() provider.Manifest { return p.manifest }
