// Package jspiece runs Activepieces pieces, the JavaScript packages
// published as @activepieces/piece-*, inside wazero: a QuickJS engine
// compiled to wasm32-wasi (engine/) evaluates the piece's bundle, and the
// runtime maps the framework's createPiece object to Atom's manifest and
// runs its actions behind runtimes.Implementation.
//
// Sandbox: each instance has its own linear memory under a cap, no
// filesystem, environment or arguments; every call runs under a deadline
// (the instance is closed when it passes) and an instance is thrown away
// after any fault. Instances are never shared across tenants: an idle
// instance serves only the tenant it served before. The guest reaches the
// outside through one host function, which serves fetch (through the
// host's outbound client, to the hosts the piece declares), sleep (bounded
// by the deadline) and the tenant's key-value store.
package jspiece

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	hostrt "github.com/atomhq/atom/host/internal/runtimes"
)

// engineWasm is QuickJS with engine/glue.c, built by
// scripts/build-jsengine.sh; engine/quickjs.wasm.sha256 records its hash.
//
//go:embed engine/quickjs.wasm
var engineWasm []byte

//go:embed prelude.js
var prelude []byte

// Errors of the runtime, wrapped in returned errors.
var (
	// ErrDeadline: the call ran past its deadline and was stopped.
	ErrDeadline = errors.New("js piece call exceeded its deadline")
	// ErrMemoryLimit: the guest ran out of memory under its cap.
	ErrMemoryLimit = errors.New("js piece exceeded its memory limit")
	// ErrTrap: the engine trapped.
	ErrTrap = errors.New("js piece trapped")
	// ErrInvalidPiece: the bundle does not load or exports no piece.
	ErrInvalidPiece = errors.New("invalid js piece")
	// ErrClosed: the runtime or piece is closed.
	ErrClosed = errors.New("js runtime closed")
)

// Outbound sends the HTTP requests pieces make; the host supplies its
// outbound client (SSRF guard, rate limit, Retry-After). It must not
// follow redirects: the runtime follows them, checking every hop.
type Outbound interface {
	Do(ctx context.Context, req *http.Request) (*http.Response, error)
}

// Config configures a Runtime. The zero value of each field selects the
// default documented on it.
type Config struct {
	// MemoryPages caps an instance's linear memory in 64 KiB pages.
	// Default 2048 (128 MiB).
	MemoryPages uint32
	// CallTimeout is the deadline of one call. Default 30s.
	CallTimeout time.Duration
	// LoadTimeout bounds the evaluation of a bundle in a new instance.
	// Default 30s.
	LoadTimeout time.Duration
	// IdlePerPiece bounds the idle instances a piece keeps (each bound to
	// one tenant). Default 4.
	IdlePerPiece int
	// MaxConcurrent bounds the calls of one piece running at once (each
	// on its own instance); further calls wait. Default 8.
	MaxConcurrent int
	// MaxOutputBytes bounds an action's result; a larger one fails the
	// call. Default 8 MiB.
	MaxOutputBytes int
	// MaxHTTPPerCall bounds the fetches of one call. Default 50.
	MaxHTTPPerCall int
	// MaxRequestBytes and MaxResponseBytes bound a fetch's bodies.
	// Defaults 8 MiB and 16 MiB.
	MaxRequestBytes  int64
	MaxResponseBytes int64
	// Verify, when set, is asked before a directory's artifact is loaded
	// whether its metadata file (name, hex SHA-256) is pinned; an error
	// refuses the piece. The host sets it from plugins.lock when
	// ATOM_PLUGIN_VERIFY is on.
	Verify func(name, sum string) error
	// Outbound sends the requests. Required for pieces that fetch; without
	// it every fetch is refused.
	Outbound Outbound
	// Rewrite maps a host a piece calls (after the allow-list check) to
	// another scheme://host[:port]; tests point providers at local fakes.
	Rewrite map[string]string
	// SharedPrivateHosts are the hosts the outbound client lets everyone
	// reach on private addresses (ATOM_ALLOW_PRIVATE_HOSTS); a piece may
	// fetch from one only when PrivateHosts grants it to the piece or it
	// is the execution's base URL host.
	SharedPrivateHosts []string
	PrivateHosts       map[string][]string
	// CacheDir holds wazero's compilation cache; empty: in memory.
	CacheDir string
	// Logger receives the runtime's own lines. Default slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MemoryPages == 0 {
		c.MemoryPages = 2048
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Second
	}
	if c.LoadTimeout <= 0 {
		c.LoadTimeout = 30 * time.Second
	}
	if c.IdlePerPiece <= 0 {
		c.IdlePerPiece = 4
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 8
	}
	if c.MaxOutputBytes <= 0 {
		c.MaxOutputBytes = 8 << 20
	}
	if c.MaxHTTPPerCall <= 0 {
		c.MaxHTTPPerCall = 50
	}
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = 8 << 20
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = 16 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Runtime holds the compiled engine; pieces share it. Safe for concurrent
// use.
type Runtime struct {
	cfg    Config
	cache  wazero.CompilationCache
	rt     wazero.Runtime
	engine wazero.CompiledModule
}

// EngineChecksum returns the hex SHA-256 of the embedded engine.
func EngineChecksum() string {
	s := sha256.Sum256(engineWasm)
	return hex.EncodeToString(s[:])
}

// NewRuntime compiles the engine. It takes about a second without a
// compilation cache, a fraction of that with one.
func NewRuntime(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg = cfg.withDefaults()
	r := &Runtime{cfg: cfg}
	var err error
	if cfg.CacheDir != "" {
		if r.cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("js engine cache: %w", err)
		}
	} else {
		r.cache = wazero.NewCompilationCache()
	}
	rc := wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(r.cache).
		WithMemoryLimitPages(cfg.MemoryPages).
		WithCloseOnContextDone(true)
	r.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r.rt); err != nil {
		r.Close(ctx)
		return nil, fmt.Errorf("instantiate wasi: %w", err)
	}
	if err := r.instantiateHost(ctx); err != nil {
		r.Close(ctx)
		return nil, fmt.Errorf("instantiate host module: %w", err)
	}
	if r.engine, err = r.rt.CompileModule(ctx, engineWasm); err != nil {
		r.Close(ctx)
		return nil, fmt.Errorf("compile js engine: %w", err)
	}
	return r, nil
}

// Close releases the engine; pieces stop working.
func (r *Runtime) Close(ctx context.Context) error {
	var errs []error
	if r.rt != nil {
		errs = append(errs, r.rt.Close(ctx))
	}
	if r.cache != nil {
		errs = append(errs, r.cache.Close(ctx))
	}
	return errors.Join(errs...)
}

// instance is one engine instance with a piece's bundle evaluated.
type instance struct {
	mod      api.Module
	tenant   string
	init     api.Function
	alloc    api.Function
	free     api.Function
	eval     api.Function
	call     api.Function
	resPtr   api.Function
	resLen   api.Function
	gcSettle api.Function
}

// instantiate returns a fresh engine instance (libc initialized, no JS
// runtime yet).
func (r *Runtime) instantiate(ctx context.Context) (*instance, error) {
	mc := wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize").
		WithSysWalltime().WithSysNanotime().WithRandSource(randReader{})
	mod, err := r.rt.InstantiateModule(ctx, r.engine, mc)
	if err != nil {
		return nil, r.guestError(ctx, "instantiate", err)
	}
	return &instance{mod: mod,
		init: mod.ExportedFunction("atom_js_init"), alloc: mod.ExportedFunction("atom_js_alloc"),
		free: mod.ExportedFunction("atom_js_free"), eval: mod.ExportedFunction("atom_js_eval"),
		call: mod.ExportedFunction("atom_js_call"), resPtr: mod.ExportedFunction("atom_js_result_ptr"),
		resLen: mod.ExportedFunction("atom_js_result_len"), gcSettle: mod.ExportedFunction("atom_js_gc_settle")}, nil
}

// newInstance instantiates the engine, evaluates the prelude and src.
func (r *Runtime) newInstance(ctx context.Context, src []byte) (*instance, error) {
	ctx = context.WithValue(ctx, callKey{}, &callState{})
	in, err := r.instantiate(ctx)
	if err != nil {
		return nil, err
	}
	// Past its limit, a script gets a catchable out-of-memory error rather
	// than a trap.
	if res, err := in.init.Call(ctx, r.engineLimit()); err != nil || res[0] != 0 {
		in.close()
		if err == nil {
			err = errors.New("engine init failed")
		}
		return nil, r.guestError(ctx, "init", err)
	}
	if _, err := in.evalSrc(ctx, prelude); err != nil {
		in.close()
		return nil, r.guestError(ctx, "prelude", err)
	}
	if _, err := in.evalSrc(ctx, src); err != nil {
		in.close()
		return nil, r.guestError(ctx, "bundle", err)
	}
	return in, nil
}

// Garbage collection and instance recycling. QuickJS frees most garbage
// by reference counting; cycles wait for a collection, which walks the
// whole heap (tens of milliseconds for a 10 MiB bundle, in the middle of
// some call). So the loaded instance is collected once before its
// snapshot and given gcHeadroom of growth before the engine would collect
// again; an instance whose memory has grown by recycleGrowth since the
// snapshot is discarded after its call instead of pooled, and the next
// call starts from a copy of the snapshot (a few milliseconds) instead of
// paying a collection.
const (
	gcHeadroom    = 48 << 20
	recycleGrowth = 24 << 20
)

// recycleAt is recycleGrowth, at most half the headroom, so that an
// instance is recycled before the engine would collect.
func (r *Runtime) recycleAt() uint64 {
	g := uint64(recycleGrowth)
	if h := r.headroom() / 2; h < g {
		g = h
	}
	return g
}

// headroom is gcHeadroom within the engine's limit: at most a quarter.
func (r *Runtime) headroom() uint64 {
	h := uint64(gcHeadroom)
	if q := r.engineLimit() / 4; q < h {
		h = q
	}
	return h
}

// engineLimit is the memory QuickJS may allocate: all but 16 MiB of the
// cap, kept for the C stack and the allocator's own use.
func (r *Runtime) engineLimit() uint64 { return uint64(r.cfg.MemoryPages)*65536 - 16<<20 }

// settle collects garbage and sets the engine's next collection
// headroom bytes away.
func (in *instance) settle(ctx context.Context, headroom uint64) error {
	_, err := in.gcSettle.Call(ctx, headroom)
	return err
}

// snapshot copies the instance's linear memory. Between calls the engine
// holds all its state there: its one global, the stack pointer, is back
// at its initial value, and the table is the module's.
func (in *instance) snapshot() []byte {
	mem := in.mod.Memory()
	b, _ := mem.Read(0, mem.Size())
	return append([]byte(nil), b...)
}

// clone returns a new instance whose memory is snap: a piece's bundle
// loaded, without evaluating it again.
func (r *Runtime) clone(ctx context.Context, snap []byte) (*instance, error) {
	in, err := r.instantiate(ctx)
	if err != nil {
		return nil, err
	}
	mem := in.mod.Memory()
	if have, want := mem.Size(), uint32(len(snap)); want > have {
		if _, ok := mem.Grow((want - have) / 65536); !ok {
			in.close()
			return nil, fmt.Errorf("%w: restoring a snapshot of %d bytes", ErrMemoryLimit, want)
		}
	}
	if !mem.Write(0, snap) {
		in.close()
		return nil, fmt.Errorf("%w: restoring a snapshot", ErrTrap)
	}
	return in, nil
}

func (in *instance) close() { _ = in.mod.Close(context.Background()) }

// jsError is an exception the script threw (not a trap).
type jsError struct{ msg string }

func (e *jsError) Error() string { return e.msg }

// write copies b into guest memory; the caller frees the pointer.
func (in *instance) write(ctx context.Context, b []byte) (uint32, error) {
	res, err := in.alloc.Call(ctx, uint64(len(b)))
	if err != nil {
		return 0, err
	}
	p := uint32(res[0])
	if p == 0 || !in.mod.Memory().Write(p, b) {
		return 0, ErrMemoryLimit
	}
	return p, nil
}

func (in *instance) result(ctx context.Context) ([]byte, error) {
	p, err := in.resPtr.Call(ctx)
	if err != nil {
		return nil, err
	}
	n, err := in.resLen.Call(ctx)
	if err != nil {
		return nil, err
	}
	b, ok := in.mod.Memory().Read(uint32(p[0]), uint32(n[0]))
	if !ok {
		return nil, fmt.Errorf("%w: result out of bounds", ErrTrap)
	}
	return append([]byte(nil), b...), nil
}

// run calls fn(ptr, len) with b in guest memory; a status 1 is a script
// exception, returned as *jsError.
func (in *instance) run(ctx context.Context, fn api.Function, b []byte) ([]byte, error) {
	p, err := in.write(ctx, b)
	if err != nil {
		return nil, err
	}
	res, err := fn.Call(ctx, uint64(p), uint64(len(b)))
	if err != nil {
		return nil, err
	}
	if _, err := in.free.Call(ctx, uint64(p)); err != nil {
		return nil, err
	}
	out, err := in.result(ctx)
	if err != nil {
		return nil, err
	}
	if res[0] != 0 {
		return nil, &jsError{string(out)}
	}
	return out, nil
}

func (in *instance) evalSrc(ctx context.Context, src []byte) ([]byte, error) {
	return in.run(ctx, in.eval, src)
}

// guestError names what failed: the deadline, the memory cap, a trap or a
// script exception.
func (r *Runtime) guestError(ctx context.Context, what string, err error) error {
	var je *jsError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrDeadline, &hostrt.DeadlineError{What: "js piece " + what, Limit: r.cfg.CallTimeout})
	case errors.As(err, &je):
		if isOOM(je.msg) {
			return fmt.Errorf("%w: %s: %s", ErrMemoryLimit, what, truncate(je.msg, 2000))
		}
		if what == "call" {
			return fmt.Errorf("%w: %s: %s", ErrTrap, what, truncate(je.msg, 2000))
		}
		return fmt.Errorf("%w: %s: %s", ErrInvalidPiece, what, truncate(je.msg, 2000))
	case ctx.Err() != nil:
		return fmt.Errorf("%s stopped: %w", what, ctx.Err())
	case errors.Is(err, ErrMemoryLimit), isOOM(err.Error()):
		return fmt.Errorf("%w: %s", ErrMemoryLimit, what)
	}
	return fmt.Errorf("%w: %s: %v", ErrTrap, what, err)
}

func isOOM(msg string) bool { return strings.Contains(msg, "out of memory") }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
