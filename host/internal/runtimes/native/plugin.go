package native

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/pluginhost"
	"github.com/atomhq/atom/sdk/provider"
)

// States of a plugin as List reports them.
const (
	// StateIdle: loaded, no process running (not started yet or stopped
	// after its idle timeout).
	StateIdle = "idle"
	// StateRunning: a process is serving.
	StateRunning = "running"
	// StateCrashed: the process died; the next call restarts it.
	StateCrashed = "crashed"
	// StateRefused: the binary failed verification; nothing serves.
	StateRefused = "refused"
	// StateFailed: the binary could not be started or is not a valid
	// plugin; nothing serves.
	StateFailed = "failed"
	// StateLoading: the file was found and is being verified, copied and
	// asked for its manifest (at start, in the background); calls wait.
	StateLoading = "loading"
)

// Plugin is one native provider, served by the current version of its
// binary. It implements runtimes.Implementation and is safe for concurrent
// use. A Plugin stays valid after its binary is replaced (calls move to
// the new version); after removal its calls fail with ErrUnavailable.
type Plugin struct {
	id  string
	m   *Manager
	cur atomic.Pointer[version]
	sem chan struct{}

	calls atomic.Int64

	mu      sync.Mutex
	file    string
	state   string // StateRefused or StateFailed when nothing serves
	lastErr string
	removed bool
}

var _ runtimes.Implementation = (*Plugin)(nil)

// ID returns the plugin id.
func (p *Plugin) ID() string { return p.id }

// Kind returns runtimes.KindNative.
func (p *Plugin) Kind() string { return runtimes.KindNative }

// Manifest returns the manifest of the version serving now (the zero
// Manifest if none).
func (p *Plugin) Manifest() provider.Manifest {
	if v := p.cur.Load(); v != nil {
		return v.manifest
	}
	return provider.Manifest{}
}

// Execute runs one action in the plugin's current version, starting its
// process if needed. Errors that mean the plugin cannot serve (process
// died, removed, could not start) wrap runtimes.ErrUnavailable.
func (p *Plugin) Execute(ctx context.Context, req provider.Request, host runtimes.Host) (provider.Response, error) {
	if err := runtimes.ResolveBaseURL(ctx, p.m.cfg.BaseURL, p.id, &req); err != nil {
		return provider.Response{}, err
	}
	ctx, v, proc, release, err := p.acquire(ctx)
	if err != nil {
		return provider.Response{}, err
	}
	defer release()
	resp, err := p.execute(ctx, proc.client, req, host)
	if err != nil {
		return provider.Response{}, p.callFailed(v, proc, err)
	}
	if err := ctx.Err(); err != nil {
		// The deadline reached the plugin too (gRPC carries it), which may
		// answer first with the context error as a diagnostic: the call
		// still ran out of time.
		return provider.Response{}, fmt.Errorf("plugin %s: %w", p.id, err)
	}
	return resp, nil
}

// acquire readies one call: the plugin's call timeout on ctx, a call slot,
// the current version (entered, so a swap waits for the call) and its
// process, started if need be. release gives back what was taken.
func (p *Plugin) acquire(ctx context.Context) (context.Context, *version, *process, func(), error) {
	cancel := context.CancelFunc(func() {})
	if p.m.cfg.CallTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, p.m.cfg.CallTimeout)
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		cancel()
		return ctx, nil, nil, nil, fmt.Errorf("plugin %s: waiting for a free slot: %w", p.id, ctx.Err())
	}
	p.calls.Add(1)
	var v *version
	for {
		v = p.cur.Load()
		if v == nil {
			<-p.sem
			cancel()
			return ctx, nil, nil, nil, fmt.Errorf("plugin %s: %s: %w", p.id, p.unavailableReason(), runtimes.ErrUnavailable)
		}
		if v.enter() {
			break
		}
		// v is draining: a successor has been swapped in (or v was
		// removed and cur is nil). Look again.
	}
	release := func() { v.leave(); <-p.sem; cancel() }
	proc, err := v.process(ctx)
	if err != nil {
		release()
		p.setErr(err)
		return ctx, nil, nil, nil, err
	}
	return ctx, v, proc, release, nil
}

// callFailed words the error of a call that failed in proc, marking the
// process lost when it died.
func (p *Plugin) callFailed(v *version, proc *process, err error) error {
	if errors.Is(err, pluginhost.ErrUnavailable) || proc.gp.Exited() {
		v.lost(proc, err)
		err = fmt.Errorf("plugin %s: process died during the call (%v): %w", p.id, err, runtimes.ErrUnavailable)
	} else {
		err = fmt.Errorf("plugin %s: %w", p.id, err)
	}
	p.setErr(err)
	return err
}

func (p *Plugin) unavailableReason() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.removed:
		return "removed"
	case p.lastErr != "":
		return p.lastErr
	}
	return "not loaded"
}

func (p *Plugin) setErr(err error) {
	p.mu.Lock()
	p.lastErr = err.Error()
	p.mu.Unlock()
}

// PluginInfo describes a plugin for listing (GET /api/v1/admin/plugins).
type PluginInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	Version   string    `json:"version,omitempty"`
	Checksum  string    `json:"checksum,omitempty"`
	State     string    `json:"state"`
	Calls     int64     `json:"calls"`
	Restarts  int64     `json:"restarts"`
	LastError string    `json:"last_error,omitempty"`
	Path      string    `json:"path"`
	StartedAt time.Time `json:"started_at,omitzero"`
	// PID is the running process's id as the host sees it (0 when none
	// runs).
	PID int `json:"pid,omitempty"`
	// UID is the user the plugin's processes run as (0 when they are not
	// isolated and run as the host's user).
	UID     uint32   `json:"uid,omitempty"`
	Actions []string `json:"actions,omitempty"`
	// AllowedHosts and RawCredentials are the manifest's: the hosts the
	// plugin's requests may reach through the host, and whether it is
	// handed the connections' secrets instead of placeholders.
	AllowedHosts   []string `json:"allowed_hosts,omitempty"`
	RawCredentials bool     `json:"raw_credentials"`
}

func (p *Plugin) info() PluginInfo {
	p.mu.Lock()
	in := PluginInfo{
		ID:        p.id,
		Path:      p.file,
		State:     p.state,
		LastError: p.lastErr,
		Calls:     p.calls.Load(),
	}
	p.mu.Unlock()
	v := p.cur.Load()
	if v == nil {
		if in.State == "" {
			in.State = StateLoading
		}
		return in
	}
	in.Name, in.Version, in.Checksum = v.manifest.Name, v.manifest.Version, v.sum
	in.AllowedHosts, in.RawCredentials = v.manifest.AllowedHosts, v.manifest.RawCredentials
	for _, a := range v.manifest.Actions {
		in.Actions = append(in.Actions, a.Name)
	}
	in.State, in.StartedAt, in.Restarts, in.PID = v.status()
	if p.m.sandboxed {
		in.UID = p.m.uidFor(p.id)
	}
	return in
}

// version is one binary (by checksum) of a plugin, with at most one
// process at a time.
type version struct {
	p        *Plugin
	sum      string
	bin      string // private copy
	manifest provider.Manifest

	mu        sync.Mutex // guards the fields below; held while starting
	proc      *process
	crashed   bool
	failures  int
	nextStart time.Time
	restarts  int64

	cmu      sync.Mutex
	inflight int
	draining bool
	drained  chan struct{}
	lastUsed atomic.Int64
}

type process struct {
	gp      *plugin.Client
	rpc     plugin.ClientProtocol
	client  *pluginhost.Client
	started time.Time
	pid     int    // as the host sees it
	sockDir string // go-plugin's socket directory, when sandboxed
	// stopping is set when the host stops the process on purpose; the
	// plugin logger then reports its exit at debug level.
	stopping *atomic.Bool
}

func newVersion(p *Plugin, sum, bin string) *version {
	return &version{p: p, sum: sum, bin: bin, drained: make(chan struct{})}
}

func (v *version) enter() bool {
	v.cmu.Lock()
	defer v.cmu.Unlock()
	if v.draining {
		return false
	}
	v.inflight++
	v.lastUsed.Store(time.Now().UnixNano())
	return true
}

func (v *version) leave() {
	v.cmu.Lock()
	defer v.cmu.Unlock()
	v.inflight--
	v.lastUsed.Store(time.Now().UnixNano())
	if v.draining && v.inflight == 0 {
		close(v.drained)
	}
}

func (v *version) busy() bool {
	v.cmu.Lock()
	defer v.cmu.Unlock()
	return v.inflight > 0
}

// retire drains v's in-flight calls, stops its process and deletes its
// private copy. v must no longer be current.
func (v *version) retire(deleteBinary bool) {
	v.cmu.Lock()
	if !v.draining {
		v.draining = true
		if v.inflight == 0 {
			close(v.drained)
		}
	}
	v.cmu.Unlock()
	<-v.drained
	v.stop()
	if deleteBinary {
		_ = os.Remove(v.bin)
	}
}

func (v *version) status() (state string, started time.Time, restarts int64, pid int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case v.proc != nil && !v.proc.gp.Exited():
		return StateRunning, v.proc.started, v.restarts, v.proc.pid
	case v.crashed || v.proc != nil:
		return StateCrashed, time.Time{}, v.restarts, 0
	}
	return StateIdle, time.Time{}, v.restarts, 0
}

// process returns v's running process, starting one if none runs.
func (v *version) process(ctx context.Context) (*process, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.proc != nil {
		if !v.proc.gp.Exited() {
			return v.proc, nil
		}
		v.proc.kill()
		v.proc = nil
		v.noteCrash()
	}
	if wait := time.Until(v.nextStart); wait > 0 {
		return nil, fmt.Errorf("plugin %s: restarting after %d failed starts, next attempt in %s: %w",
			v.p.id, v.failures, wait.Round(time.Millisecond), runtimes.ErrUnavailable)
	}
	proc, err := v.start(ctx)
	if err != nil {
		v.failures++
		v.nextStart = time.Now().Add(backoff(v.failures))
		return nil, fmt.Errorf("plugin %s: start: %v: %w", v.p.id, err, runtimes.ErrUnavailable)
	}
	if v.crashed {
		v.restarts++
		v.p.m.log.Info("plugin restarted", "plugin", v.p.id, "version", v.manifest.Version)
	}
	v.crashed = false
	v.proc = proc
	return proc, nil
}

// noteCrash records that the process died on its own. v.mu is held.
func (v *version) noteCrash() {
	v.crashed = true
	v.p.m.log.Warn("plugin process exited", "plugin", v.p.id, "version", v.manifest.Version)
}

// lost handles a call that found proc gone: proc is killed and forgotten
// so that the next call starts a new process. A process that dies soon
// after starting counts as a failed start, for backoff.
func (v *version) lost(proc *process, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.proc != proc {
		return
	}
	proc.kill()
	v.proc = nil
	v.crashed = true
	if time.Since(proc.started) < 5*time.Second {
		v.failures++
		v.nextStart = proc.started.Add(backoff(v.failures))
	} else {
		v.failures = 0
		v.nextStart = time.Time{}
	}
	v.p.m.log.Warn("plugin process lost", "plugin", v.p.id, "version", v.manifest.Version, "error", err)
}

// pingTimeout bounds a health check; a plugin that does not answer is
// killed and restarted on its next call.
const pingTimeout = 5 * time.Second

// backoff is the delay before start attempt n+1 after n failures: none
// after the first, then 200ms doubling to 30s.
func backoff(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	d := 100 * time.Millisecond << min(n-1, 9)
	return min(d, 30*time.Second)
}

func (v *version) start(ctx context.Context) (*process, error) {
	sum, err := hex.DecodeString(v.sum)
	if err != nil {
		return nil, err
	}
	m := v.p.m
	cfg := m.cfg
	cmd := exec.Command(v.bin)
	cmd.Env = append([]string(nil), cfg.Env...)
	if !slices.ContainsFunc(cmd.Env, func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") }) {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(cfg.Procs))
	}
	cmd.Dir = cfg.DataDir
	// Without a sandbox go-plugin hashes the private copy before starting
	// it (a fresh SecureConfig per start: it keeps hash state); in one,
	// the sandbox's init step hashes the very descriptor it executes.
	secure := &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	var sb *sandbox
	var sockDir string
	var sockCfg *plugin.UnixSocketConfig
	if m.sandboxed {
		uid := m.uidFor(v.p.id)
		// go-plugin's socket lives in a directory only the plugin's uid
		// (and the host, root) can enter.
		if sockDir, err = os.MkdirTemp("", "atom-plugin-"); err != nil {
			return nil, err
		}
		if err := os.Chown(sockDir, int(uid), int(uid)); err != nil {
			os.RemoveAll(sockDir)
			return nil, err
		}
		cmd.Env = append(cmd.Env, "PLUGIN_UNIX_SOCKET_DIR="+sockDir)
		// The host's own sockets (the broker's, for callbacks such as a
		// credential refresh) belong to the plugin's group, mode 0660.
		sockCfg = &plugin.UnixSocketConfig{Group: strconv.FormatUint(uint64(uid), 10)}
		iso := cfg.Isolation
		sb = &sandbox{Bin: v.bin, Sum: v.sum, UID: uid, GID: uid, Hide: m.hidden,
			Memory: iso.MaxMemory, Procs: iso.MaxProcs, Files: iso.MaxOpenFiles, FileSize: iso.MaxFileSize}
		secure = nil
	}
	if err := isolateCmd(cmd, sb); err != nil {
		if sockDir != "" {
			os.RemoveAll(sockDir)
		}
		return nil, err
	}
	// The network namespace: the plugin's only way out is the host.
	isolateNetwork(cmd)
	// The session's socket (protocol version 3): a plugin of an older SDK
	// ignores it and is called over gRPC.
	sock, err := pluginhost.NewSessionSocket()
	if err != nil {
		m.log.Warn("no session socket; calls go over gRPC", "plugin", v.p.id, "err", err)
		sock = nil
	} else {
		sock.Attach(cmd)
	}
	stopping := new(atomic.Bool)
	gp := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginhost.Handshake,
		VersionedPlugins: pluginhost.VersionedPlugins(),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Cmd:              cmd,
		SecureConfig:     secure,
		UnixSocketConfig: sockCfg,
		SkipHostEnv:      true,
		AutoMTLS:         true,
		StartTimeout:     cfg.StartTimeout,
		Logger:           newPluginLogger(m.log, v.p.id, stopping),
	})
	proc := &process{gp: gp, sockDir: sockDir, stopping: stopping}
	rpc, err := gp.Client()
	if sock != nil {
		sock.Started()
	}
	if err != nil {
		if sock != nil {
			sock.Close()
		}
		proc.kill()
		return nil, err
	}
	if cmd.Process != nil {
		proc.pid = cmd.Process.Pid
	}
	sctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	client, err := pluginhost.DispenseSession(sctx, rpc, sock)
	if err != nil {
		proc.kill()
		return nil, err
	}
	if v.manifest.ID == "" {
		v.manifest = client.Manifest()
	}
	v.lastUsed.Store(time.Now().UnixNano())
	proc.rpc, proc.client, proc.started = rpc, client, time.Now()
	return proc, nil
}

// kill stops the process and removes its socket directory.
func (p *process) kill() {
	if p.stopping != nil {
		p.stopping.Store(true)
	}
	p.gp.Kill()
	if p.client != nil {
		p.client.Close()
	}
	if p.sockDir != "" {
		_ = os.RemoveAll(p.sockDir)
	}
}

// stop kills v's process, if any.
func (v *version) stop() {
	v.mu.Lock()
	proc := v.proc
	v.proc = nil
	v.mu.Unlock()
	if proc != nil {
		proc.kill()
	}
}

// maintain pings a running process and stops one idle for longer than
// idle. It is called periodically by the manager.
func (v *version) maintain(idle time.Duration, ping bool) {
	v.mu.Lock()
	proc := v.proc
	v.mu.Unlock()
	if proc == nil {
		return
	}
	if proc.gp.Exited() {
		v.lost(proc, errors.New("process exited"))
		return
	}
	if idle > 0 && !v.busy() && time.Since(time.Unix(0, v.lastUsed.Load())) > idle {
		v.mu.Lock()
		if v.proc == proc && !v.busy() {
			v.proc = nil
			v.mu.Unlock()
			proc.kill()
			v.p.m.log.Debug("plugin stopped after idle timeout", "plugin", v.p.id)
			return
		}
		v.mu.Unlock()
	}
	if ping {
		done := make(chan error, 1)
		go func() { done <- proc.rpc.Ping() }()
		select {
		case err := <-done:
			if err != nil {
				v.lost(proc, fmt.Errorf("health check: %w", err))
			}
		case <-time.After(pingTimeout):
			v.lost(proc, errors.New("health check: no answer within "+pingTimeout.String()))
		}
	}
}
