package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/atomhq/atom/sdk/piece"
	"github.com/atomhq/atom/sdk/provider"
)

// Errors of the runtime, wrapped with the piece and action in returned
// errors.
var (
	// ErrDeadline: the call ran past its deadline and was stopped.
	ErrDeadline = errors.New("piece call exceeded its deadline")
	// ErrMemoryLimit: the guest ran out of memory under its cap.
	ErrMemoryLimit = errors.New("piece exceeded its memory limit")
	// ErrTrap: the guest trapped, panicked or exited.
	ErrTrap = errors.New("piece trapped")
	// ErrInvalidModule: the module does not implement the ABI.
	ErrInvalidModule = errors.New("invalid piece module")
	// ErrClosed: the runtime or piece is closed.
	ErrClosed = errors.New("wasm runtime closed")
)

// Runtime compiles and runs pieces. It is safe for concurrent use; Close
// releases everything it holds.
type Runtime struct {
	cfg   Config
	cache wazero.CompilationCache

	mu       sync.Mutex
	closed   bool
	engines  map[engineKey]*engine
	compiled map[compiledKey]*compiledModule
	// work tracks compilations and background upgrades; Close waits for
	// them before it closes the engines.
	work sync.WaitGroup

	// interpreterOnly keeps cold pieces on the interpreter (no background
	// compilation); tests use it to check the interpreter's sandbox.
	interpreterOnly bool
	// upgradeGate, when set, holds each background switch to compiled code
	// until it is closed; tests use it to observe the interpreter phase.
	upgradeGate chan struct{}
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
	r := &Runtime{cfg: cfg, engines: map[engineKey]*engine{}, compiled: map[compiledKey]*compiledModule{}}
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(filepath.Join(cfg.CacheDir, compiledMarkDir), 0o700); err != nil {
			return nil, fmt.Errorf("wasm cache dir: %w", err)
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
// piece it serves, with one warm instance. The caller closes the piece.
func (r *Runtime) Load(path string) (*Piece, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read piece: %w", err)
	}
	p, err := r.LoadBytes(path, b)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return p, nil
}

// LoadBytes is Load for a module already in memory; name labels it in
// errors and logs.
//
// A module whose native code is neither loaded nor in the file cache is
// compiled for wazero's interpreter, which takes a fraction of the time, so
// the piece serves at once; the optimizing compiler then compiles it in the
// background, and the piece switches to native instances when it is done
// (Stats.Engine tells which one serves).
func (r *Runtime) LoadBytes(name string, wasmBytes []byte) (*Piece, error) {
	ctx := context.Background()
	sum := sha256.Sum256(wasmBytes)
	if r.cfg.Verify != nil {
		if err := r.cfg.Verify(name, sum); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
	}
	interp := r.interpreterOnly || !r.haveCompiled(sum)
	c, err := r.compile(ctx, sum, wasmBytes, engineKey{r.cfg.DefaultMemoryPages, interp})
	if err != nil {
		return nil, err
	}
	p := &Piece{rt: r, path: name, sum: sum, compiled: c, timeout: r.cfg.CallTimeout, live: map[*compiledModule]int{}}
	p.sem = make(chan struct{}, r.cfg.PoolSize)
	inst, err := p.newInstance(ctx)
	if err != nil {
		r.release(c)
		return nil, err
	}
	raw, err := inst.manifest(ctx)
	if err != nil {
		inst.close()
		r.release(c)
		return nil, err
	}
	if err := p.setManifest(raw); err != nil {
		inst.close()
		r.release(c)
		return nil, err
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
			return nil, err
		}
		c = capped
		p.compiled = c
		if inst, err = p.newInstance(ctx); err != nil {
			r.release(c)
			return nil, err
		}
	}
	p.recyclePages = r.cfg.RecyclePages
	if p.recyclePages == 0 {
		p.recyclePages = pages / 2
	}
	p.idle = append(p.idle, inst)
	if interp && !r.interpreterOnly {
		r.compileInBackground(p, wasmBytes, pages)
	}
	return p, nil
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
