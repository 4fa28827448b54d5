package native

import (
	"fmt"
	"strings"
	"sync"
)

// IsolationMode says whether plugin processes must run in a sandbox.
type IsolationMode string

// Isolation modes (ATOM_PLUGIN_ISOLATION).
const (
	// IsolationAuto isolates plugin processes where the host can (Linux,
	// running as root). Where it cannot, plugins are refused unless
	// Isolation.AllowUnisolated is set (the development setup sets it),
	// in which case they run unisolated with a warning.
	IsolationAuto IsolationMode = "auto"
	// IsolationRequired refuses to start when plugin processes cannot be
	// isolated.
	IsolationRequired IsolationMode = "required"
	// IsolationOff runs plugin processes as the host's own user, with only
	// the environment stripped: the operator trusts every plugin.
	IsolationOff IsolationMode = "off"
)

// ParseIsolationMode parses ATOM_PLUGIN_ISOLATION ("" is auto).
func ParseIsolationMode(s string) (IsolationMode, error) {
	switch m := IsolationMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "", IsolationAuto:
		return IsolationAuto, nil
	case IsolationRequired, IsolationOff:
		return m, nil
	}
	return "", fmt.Errorf("%q is not one of auto, required, off", s)
}

// Default sandbox settings.
const (
	// DefaultUIDBase is the first uid (and gid) plugin processes run as:
	// a range no distribution hands out to users or services.
	DefaultUIDBase = 1879048192 // 0x70000000
	// DefaultUIDCount is how many uids the range holds.
	DefaultUIDCount = 65536
	// DefaultMaxMemory bounds a plugin process's data segment and
	// anonymous mappings (RLIMIT_DATA).
	DefaultMaxMemory = 1 << 30
	// DefaultMaxProcs bounds the processes and threads of a plugin's uid
	// (RLIMIT_NPROC).
	DefaultMaxProcs = 256
	// DefaultMaxOpenFiles bounds a plugin process's file descriptors
	// (RLIMIT_NOFILE).
	DefaultMaxOpenFiles = 1024
	// DefaultMaxFileSize bounds any file a plugin process writes
	// (RLIMIT_FSIZE).
	DefaultMaxFileSize = 64 << 20
)

// Isolation configures the sandbox of plugin processes. On Linux, when
// the host runs as root, each process is started through a small init
// step of the host binary (see isolate_linux.go) that, before any plugin
// code runs:
//
//   - opens the private copy and checks its SHA-256 on the bytes it will
//     execute (execveat on that descriptor: no path is looked up again);
//   - enters new PID, mount, IPC and UTS namespaces, with a fresh /proc
//     that shows only the plugin's own processes;
//   - hides the data directory, the plugin directory, the lock file and
//     every path in Hide behind empty read-only mounts;
//   - sets rlimits (core 0, data, processes, open files, file size);
//   - drops to the plugin's own uid and gid with no supplementary
//     groups, sets no_new_privs and the parent-death signal.
//
// Plugins of one manager get distinct uids, UIDBase + n, so a plugin can
// neither signal nor ptrace the host (root, and non-dumpable) or another
// plugin.
type Isolation struct {
	// Mode is auto (the zero value), required or off.
	Mode IsolationMode
	// AllowUnisolated lets Mode auto run plugins unisolated, with a
	// warning, where isolation is unavailable; without it they are
	// refused.
	AllowUnisolated bool
	// UIDBase and UIDCount are the uid range of plugin processes
	// (default DefaultUIDBase, DefaultUIDCount). With UIDCount 1 every
	// plugin runs as UIDBase (e.g. 65534, nobody): plugins are then
	// separated from the host but not from each other.
	UIDBase, UIDCount uint32
	// Hide lists more paths (files or directories) plugin processes must
	// not see, e.g. the SQLite file when it lives outside the data dir.
	Hide []string
	// MaxMemory, MaxProcs, MaxOpenFiles and MaxFileSize are the rlimits
	// (defaults above).
	MaxMemory, MaxProcs, MaxOpenFiles, MaxFileSize uint64
}

func (o Isolation) withDefaults() Isolation {
	if o.Mode == "" {
		o.Mode = IsolationAuto
	}
	if o.UIDBase == 0 {
		o.UIDBase = DefaultUIDBase
	}
	if o.UIDCount == 0 {
		o.UIDCount = DefaultUIDCount
	}
	if o.MaxMemory == 0 {
		o.MaxMemory = DefaultMaxMemory
	}
	if o.MaxProcs == 0 {
		o.MaxProcs = DefaultMaxProcs
	}
	if o.MaxOpenFiles == 0 {
		o.MaxOpenFiles = DefaultMaxOpenFiles
	}
	if o.MaxFileSize == 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	return o
}

// sandbox is what the init step applies to one plugin process.
type sandbox struct {
	// Bin is the private copy to execute, Sum its expected SHA-256 (hex).
	Bin, Sum string
	UID, GID uint32
	// Hide are the paths to cover.
	Hide []string
	// Rlimits.
	Memory, Procs, Files, FileSize uint64
}

// uidSlots hands out plugin uids: one per (manager, plugin id), distinct
// across the managers of a process as long as the range lasts.
var uidSlots struct {
	sync.Mutex
	next uint32
}

// uidFor returns the uid plugin id runs as, assigning one on first use.
func (m *Manager) uidFor(id string) uint32 {
	m.uidMu.Lock()
	defer m.uidMu.Unlock()
	if uid, ok := m.uids[id]; ok {
		return uid
	}
	iso := m.cfg.Isolation
	var off uint32
	if iso.UIDCount > 1 {
		uidSlots.Lock()
		off = uidSlots.next % iso.UIDCount
		uidSlots.next++
		uidSlots.Unlock()
	}
	uid := iso.UIDBase + off
	m.uids[id] = uid
	return uid
}
