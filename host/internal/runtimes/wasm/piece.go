package wasm

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/atomhq/atom/host/internal/outbound"
	hostrt "github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/piece"
	"github.com/atomhq/atom/sdk/provider"
)

// Piece is one loaded version of a piece module. It implements
// runtime.Implementation and is safe for concurrent use; at most
// Config.PoolSize calls run at once, each on its own instance.
type Piece struct {
	rt       *Runtime
	path     string
	sum      [32]byte
	spec     piece.ManifestJSON
	manifest provider.Manifest
	timeout  time.Duration

	recyclePages uint32
	// ctx is cancelled when the runtime closes or the piece is aborted:
	// the calls under way stop at once.
	ctx    context.Context
	cancel context.CancelFunc

	sem chan struct{} // one token per running call
	mu  sync.Mutex
	// tenants holds the in-flight slots of each tenant with calls running
	// or waiting (Config.TenantPoolSize).
	tenants map[string]*tenantSlots
	// compiled is the module new instances come from; it changes once,
	// from the interpreter to native code.
	compiled *compiledModule
	// live counts the instances of each compiled module, so that the one
	// replaced is released after its last instance closed.
	live     map[*compiledModule]int
	idle     []*instance
	closed   bool
	inflight sync.WaitGroup
	stats    Stats
}

// Stats counts a piece's instances.
type Stats struct {
	Created   int // instances instantiated
	Discarded int // instances thrown away after a fault
	Recycled  int // instances closed because their memory grew
	Evicted   int // idle instances closed to make room or to switch tenant
	Idle      int // instances waiting in the pool
	// Engine runs new calls: EngineInterpreter while the optimizing
	// compiler works on a newly seen module, EngineCompiled after.
	Engine string
}

var _ hostrt.Implementation = (*Piece)(nil)

// errRetired is returned by Execute on a closed piece before it did any
// work, so a caller holding a stale reference may retry on the successor.
var errRetired = fmt.Errorf("%w: piece version retired", hostrt.ErrUnavailable)

// Kind returns runtime.KindPiece.
func (p *Piece) Kind() string { return hostrt.KindPiece }

// Stats returns the piece's instance counters.
func (p *Piece) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Idle = len(p.idle)
	s.Engine = p.compiled.engineName()
	return s
}

// Close retires the piece: new calls fail with an error wrapping
// runtime.ErrUnavailable, calls in flight finish, then every instance and
// the compiled module are released. Close waits for the calls in flight.
func (p *Piece) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.inflight.Wait()
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, inst := range idle {
		p.closeInstance(inst)
	}
	p.mu.Lock()
	c := p.compiled
	p.mu.Unlock()
	p.rt.release(c)
	p.cancel()
	return nil
}

// abort stops the calls under way, as if their deadline had passed; Close
// then does not wait for a guest.
func (p *Piece) abort() { p.cancel() }

// upgrade makes c, the module compiled to native code, serve new calls:
// idle interpreter instances are closed now, busy ones when their call
// ends, and the interpreter module after the last of them. It reports
// false, releasing c, if p is closed.
func (p *Piece) upgrade(c *compiledModule) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.rt.release(c)
		return false
	}
	old := p.compiled
	p.compiled = c
	idle := p.idle
	p.idle = nil
	unused := p.live[old] == 0
	if unused {
		delete(p.live, old)
	}
	p.mu.Unlock()
	if unused {
		p.rt.release(old)
	}
	for _, inst := range idle {
		p.closeInstance(inst)
	}
	return true
}

// closeInstance closes inst and releases its compiled module if it was
// the last instance of a replaced one.
func (p *Piece) closeInstance(inst *instance) {
	inst.close()
	p.dropLive(inst.c)
}

// dropLive counts one instance of c fewer.
func (p *Piece) dropLive(c *compiledModule) {
	p.mu.Lock()
	p.live[c]--
	last := p.live[c] == 0 && c != p.compiled
	if last {
		delete(p.live, c)
	}
	p.mu.Unlock()
	if last {
		p.rt.release(c)
	}
}

// Execute runs one action on a pooled instance, under the piece's deadline
// (or ctx's, if sooner). The credentials in req reach the guest only
// through the credentials host function during this call. The guest's
// requests count against the (tenant, piece) outbound rate limit.
func (p *Piece) Execute(ctx context.Context, req provider.Request, host hostrt.Host) (provider.Response, error) {
	ctx = outbound.Scope(ctx, req.TenantID, p.spec.ID)
	if err := hostrt.ResolveBaseURL(ctx, p.rt.cfg.BaseURL, p.spec.ID, &req); err != nil {
		return provider.Response{}, err
	}
	in, err := json.Marshal(piece.ExecuteInput{
		ExecutionID: req.ExecutionID, TenantID: req.TenantID, Action: req.Action,
		Input: req.Input, BaseURL: req.BaseURL,
	})
	if err != nil {
		return provider.Response{}, fmt.Errorf("encode request: %w", err)
	}
	inst, err := p.acquire(ctx, req.TenantID)
	if err != nil {
		return provider.Response{}, err
	}
	ok := false
	defer func() { p.releaseInstance(inst, ok) }()

	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	stop := context.AfterFunc(p.ctx, cancel)
	defer stop()
	st := &callState{piece: p, req: &req, host: host}
	if req.BaseURL != "" {
		st.baseHost = hostOf(req.BaseURL)
	}
	out, err := inst.execute(context.WithValue(ctx, callKey{}, st), in, p.rt.cfg.MaxOutputBytes)
	st.finish(inst)
	if errors.Is(err, ErrOutputLimit) {
		return provider.Response{}, fmt.Errorf("piece %s action %s: %w", p.spec.ID, req.Action, err)
	}
	if err != nil {
		return provider.Response{}, p.callError(ctx, req.Action, inst, err)
	}
	var resp provider.Response
	if err := json.Unmarshal(out, &resp); err != nil {
		return provider.Response{}, fmt.Errorf("piece %s action %s: %w: invalid response: %v", p.spec.ID, req.Action, ErrTrap, err)
	}
	// A deadline that passed while the guest was finishing (a host call
	// it answered with an error, say) may have closed the module from
	// wazero's watcher after the call returned: the answer stands, the
	// instance is not reused.
	ok = ctx.Err() == nil
	return resp, nil
}

// callError turns a failed guest call into an error naming its cause. The
// guest's stderr (a panic message) is included, trimmed.
func (p *Piece) callError(ctx context.Context, action string, inst *instance, err error) error {
	prefix := fmt.Sprintf("piece %s action %s", p.spec.ID, action)
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("%w: %w", ErrDeadline, &hostrt.DeadlineError{What: prefix, Limit: p.timeout})
		case sys.ExitCodeContextCanceled:
			return fmt.Errorf("%s: %w", prefix, context.Canceled)
		}
	}
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%w: %w", ErrDeadline, &hostrt.DeadlineError{What: prefix, Limit: p.timeout})
		}
		return fmt.Errorf("%s: %w after %s: %w", prefix, ErrDeadline, p.timeout, ctx.Err())
	}
	msg := inst.stderrSummary()
	if strings.Contains(msg, "out of memory") || strings.Contains(err.Error(), "out of memory") {
		return fmt.Errorf("%s: %w (%d pages): %s", prefix, ErrMemoryLimit, inst.c.key.pages, msg)
	}
	if msg != "" {
		return fmt.Errorf("%s: %w: %s", prefix, ErrTrap, msg)
	}
	return fmt.Errorf("%s: %w: %v", prefix, ErrTrap, err)
}

// tenantSlots bounds the calls of one tenant on one piece.
type tenantSlots struct {
	ch   chan struct{}
	refs int // calls holding or waiting for a slot
}

// tenantSlot returns tenant's slots, counting one more user.
func (p *Piece) tenantSlot(tenant string) *tenantSlots {
	p.mu.Lock()
	defer p.mu.Unlock()
	ts := p.tenants[tenant]
	if ts == nil {
		ts = &tenantSlots{ch: make(chan struct{}, p.rt.cfg.TenantPoolSize)}
		p.tenants[tenant] = ts
	}
	ts.refs++
	return ts
}

// dropTenantSlot counts one user of tenant's slots fewer and forgets them
// after the last.
func (p *Piece) dropTenantSlot(tenant string, ts *tenantSlots) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ts.refs--
	if ts.refs == 0 && p.tenants[tenant] == ts {
		delete(p.tenants, tenant)
	}
}

// acquire returns an instance for one call for tenant. A call first takes
// one of its tenant's TenantPoolSize slots, then one of the piece's
// PoolSize: a tenant whose calls are slow waits behind its own calls and
// leaves the other instances to other tenants.
func (p *Piece) acquire(ctx context.Context, tenant string) (*instance, error) {
	ts := p.tenantSlot(tenant)
	select {
	case ts.ch <- struct{}{}:
	case <-ctx.Done():
		p.dropTenantSlot(tenant, ts)
		return nil, fmt.Errorf("piece %s: waiting for an instance: %w", p.spec.ID, ctx.Err())
	}
	inst, err := p.acquireShared(ctx, tenant)
	if err != nil {
		<-ts.ch
		p.dropTenantSlot(tenant, ts)
		return nil, err
	}
	inst.slots = ts
	return inst, nil
}

// acquireShared takes one of the piece's PoolSize slots and an instance.
func (p *Piece) acquireShared(ctx context.Context, tenant string) (*instance, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("piece %s: waiting for an instance: %w", p.spec.ID, ctx.Err())
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.sem
		return nil, errRetired
	}
	p.inflight.Add(1)
	var inst, evict *instance
	var dead []*instance
	for i := len(p.idle) - 1; i >= 0; i-- {
		c := p.idle[i]
		if c.mod.IsClosed() {
			// Closed since it went idle: it could only fail.
			dead = append(dead, c)
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			p.stats.Discarded++
			continue
		}
		if c.tenant == tenant || c.tenant == "" || p.rt.cfg.ShareAcrossTenants {
			inst = c
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			break
		}
	}
	if inst == nil && len(p.idle)+len(p.sem) > p.rt.cfg.PoolSize && len(p.idle) > 0 {
		evict = p.idle[0]
		p.idle = p.idle[1:]
		p.stats.Evicted++
	}
	p.mu.Unlock()
	for _, c := range dead {
		p.closeInstance(c)
	}
	if evict != nil {
		p.closeInstance(evict)
	}
	if inst != nil {
		inst.tenant = tenant
		return inst, nil
	}
	inst, err := p.newInstance(ctx)
	if err != nil {
		p.inflight.Done()
		<-p.sem
		return nil, err
	}
	inst.tenant = tenant
	return inst, nil
}

// InFlight returns the number of tenant's calls that hold one of its
// TenantPoolSize slots: running, or waiting for a free instance.
func (p *Piece) InFlight(tenant string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ts := p.tenants[tenant]; ts != nil {
		return len(ts.ch)
	}
	return 0
}

// releaseInstance returns inst to the pool after a successful call, or
// closes it after a failure or when its memory grew too much.
func (p *Piece) releaseInstance(inst *instance, ok bool) {
	grown := ok && inst.mod.Memory().Size()/65536 > p.recyclePages
	p.mu.Lock()
	keep := ok && !grown && !p.closed && inst.c == p.compiled && !inst.mod.IsClosed()
	switch {
	case keep:
		p.idle = append(p.idle, inst)
	case !ok:
		p.stats.Discarded++
	case grown:
		p.stats.Recycled++
	}
	p.mu.Unlock()
	ts, tenant := inst.slots, inst.tenant
	inst.slots = nil
	if !keep {
		p.closeInstance(inst)
	}
	p.inflight.Done()
	<-p.sem
	if ts != nil {
		<-ts.ch
		p.dropTenantSlot(tenant, ts)
	}
}

// instance is one instantiated module. It serves one call at a time.
type instance struct {
	c       *compiledModule
	mod     api.Module
	alloc   api.Function
	exec    api.Function
	stack   [2]uint64
	stderr  tailBuffer
	tenant  string // the tenant it served last, "" when none
	manifst api.Function
	slots   *tenantSlots // the tenant slot of the call it serves
}

// sleepSlice caps each host sleep of a guest so that a sleeping guest
// notices its deadline.
const sleepSlice = 10 * time.Millisecond

func cappedSleep(ns int64) {
	time.Sleep(min(time.Duration(ns), sleepSlice))
}

func (p *Piece) newInstance(ctx context.Context) (*instance, error) {
	ctx, cancel := context.WithTimeout(ctx, p.rt.cfg.MaxCallTimeout)
	defer cancel()
	stop := context.AfterFunc(p.ctx, cancel)
	defer stop()
	p.mu.Lock()
	c := p.compiled
	p.live[c]++
	p.mu.Unlock()
	inst := &instance{c: c}
	mod, err := p.instantiate(ctx, inst)
	if err != nil {
		p.dropLive(c)
		return nil, err
	}
	inst.mod = mod
	p.mu.Lock()
	p.stats.Created++
	p.mu.Unlock()
	return inst, nil
}

// instantiate instantiates inst.c and checks its ABI version.
func (p *Piece) instantiate(ctx context.Context, inst *instance) (api.Module, error) {
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions("_initialize").
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(cappedSleep).
		WithRandSource(rand.Reader).
		WithStderr(&inst.stderr).
		WithStdout(&inst.stderr)
	mod, err := inst.c.eng.rt.InstantiateModule(ctx, inst.c.cm, mc)
	if err != nil {
		if msg := inst.stderrSummary(); msg != "" {
			err = fmt.Errorf("%v: %s", err, msg)
		}
		return nil, fmt.Errorf("instantiate piece %s: %w: %v", p.path, ErrTrap, err)
	}
	inst.mod = mod
	inst.alloc = mod.ExportedFunction("atom_alloc")
	inst.exec = mod.ExportedFunction("atom_execute")
	inst.manifst = mod.ExportedFunction("atom_manifest")
	v, err := mod.ExportedFunction("atom_abi_version").Call(ctx)
	if err != nil || len(v) != 1 || uint32(v[0]) != piece.ABIVersion {
		_ = mod.Close(context.Background())
		return nil, fmt.Errorf("%w: atom_abi_version is not %d", ErrInvalidModule, piece.ABIVersion)
	}
	return mod, nil
}

func (inst *instance) close() { _ = inst.mod.Close(context.Background()) }

// result reads a packed (ptr<<32 | len) result out of guest memory,
// refusing one over limit bytes before copying it.
func (inst *instance) result(packed uint64, limit int, tooLarge error) ([]byte, error) {
	ptr, n := uint32(packed>>32), uint32(packed)
	if int64(n) > int64(limit) {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", tooLarge, n, limit)
	}
	b, ok := inst.mod.Memory().Read(ptr, n)
	if !ok {
		return nil, fmt.Errorf("result (%d, %d) out of guest memory", ptr, n)
	}
	return bytes.Clone(b), nil
}

func (inst *instance) manifest(ctx context.Context, limit int) ([]byte, error) {
	inst.stack[0] = 0
	if err := inst.manifst.CallWithStack(ctx, inst.stack[:]); err != nil {
		return nil, fmt.Errorf("%w: atom_manifest: %v", ErrTrap, err)
	}
	return inst.result(inst.stack[0], limit, ErrManifestLimit)
}

func (inst *instance) execute(ctx context.Context, in []byte, limit int) ([]byte, error) {
	inst.stderr.Reset()
	inst.stack[0] = uint64(len(in))
	if err := inst.alloc.CallWithStack(ctx, inst.stack[:]); err != nil {
		return nil, err
	}
	ptr := uint32(inst.stack[0])
	if !inst.mod.Memory().Write(ptr, in) {
		return nil, fmt.Errorf("atom_alloc returned %d, outside guest memory", ptr)
	}
	inst.stack[0], inst.stack[1] = uint64(ptr), uint64(len(in))
	if err := inst.exec.CallWithStack(ctx, inst.stack[:]); err != nil {
		return nil, err
	}
	return inst.result(inst.stack[0], limit, ErrOutputLimit)
}

func (inst *instance) stderrSummary() string {
	s := inst.stderr.String()
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") || strings.HasPrefix(line, "runtime:") {
			return truncate(line, 300)
		}
	}
	return truncate(strings.TrimSpace(s), 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tailBuffer keeps the first 4 KiB written to a guest's stdout and stderr
// since the last Reset.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := 4096 - len(t.buf); room > 0 {
		t.buf = append(t.buf, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

func (t *tailBuffer) Reset() {
	t.mu.Lock()
	t.buf = t.buf[:0]
	t.mu.Unlock()
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
