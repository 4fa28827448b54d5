package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
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
	engines  map[uint32]*engine // by memory cap in pages
	compiled map[compiledKey]*compiledModule
}

// engine is one wazero runtime with the atom and WASI host modules; there
// is one per distinct memory cap, all sharing the compilation cache.
type engine struct {
	rt    wazero.Runtime
	pages uint32
}

type compiledKey struct {
	sum   [32]byte
	pages uint32
}

type compiledModule struct {
	key  compiledKey
	cm   wazero.CompiledModule
	eng  *engine
	refs int
}

// NewRuntime returns a Runtime configured by cfg.
func NewRuntime(cfg Config) (*Runtime, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Runtime{cfg: cfg, engines: map[uint32]*engine{}, compiled: map[compiledKey]*compiledModule{}}
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
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

// engineFor returns the engine for a memory cap; r.mu is held.
func (r *Runtime) engineFor(ctx context.Context, pages uint32) (*engine, error) {
	if e := r.engines[pages]; e != nil {
		return e, nil
	}
	rc := wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(r.cache).
		WithMemoryLimitPages(pages).
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
	e := &engine{rt: rt, pages: pages}
	r.engines[pages] = e
	return e, nil
}

// compile returns the compiled module for (sum, pages), compiling it once.
func (r *Runtime) compile(ctx context.Context, sum [32]byte, wasmBytes []byte, pages uint32) (*compiledModule, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	key := compiledKey{sum, pages}
	if c := r.compiled[key]; c != nil {
		c.refs++
		return c, nil
	}
	eng, err := r.engineFor(ctx, pages)
	if err != nil {
		return nil, err
	}
	cm, err := eng.rt.CompileModule(ctx, wasmBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: compile: %v", ErrInvalidModule, err)
	}
	if err := checkExports(cm); err != nil {
		_ = cm.Close(ctx)
		return nil, err
	}
	c := &compiledModule{key: key, cm: cm, eng: eng, refs: 1}
	r.compiled[key] = c
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
func (r *Runtime) LoadBytes(name string, wasmBytes []byte) (*Piece, error) {
	ctx := context.Background()
	sum := sha256.Sum256(wasmBytes)
	if r.cfg.Verify != nil {
		if err := r.cfg.Verify(name, sum); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
	}
	c, err := r.compile(ctx, sum, wasmBytes, r.cfg.DefaultMemoryPages)
	if err != nil {
		return nil, err
	}
	p := &Piece{rt: r, path: name, sum: sum, compiled: c, timeout: r.cfg.CallTimeout}
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
		// with that cap (the compilation cache makes this cheap).
		inst.close()
		r.release(c)
		if c, err = r.compile(ctx, sum, wasmBytes, pages); err != nil {
			return nil, err
		}
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
	return p, nil
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
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
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
