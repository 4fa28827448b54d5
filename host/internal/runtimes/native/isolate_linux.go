//go:build linux

package native

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sandboxArg0 is argv[0] of the init step: the host binary re-executed
// (/proc/self/exe) in the plugin's new namespaces, as root, to prepare
// the sandbox and then execute the plugin in place of itself.
const sandboxArg0 = "atom-plugin-sandbox"

// HostPIDEnv names the variable through which a sandboxed plugin learns
// its process id as the host sees it (inside its PID namespace it is 1).
const HostPIDEnv = "ATOM_PLUGIN_HOST_PID"

func init() {
	if len(os.Args) == 2 && os.Args[0] == sandboxArg0 {
		// Never returns: it executes the plugin or exits.
		runSandbox(os.Args[1])
	}
}

// isolationAvailable reports whether this process can isolate plugin
// processes, and why not.
func isolationAvailable() (bool, string) {
	if os.Geteuid() != 0 {
		return false, "the host does not run as root (uid " + strconv.Itoa(os.Geteuid()) + "): it cannot switch plugin processes to their own uid or create their namespaces"
	}
	return true, ""
}

// HardenHost marks the host process non-dumpable: /proc/<pid>/mem,
// environ, maps and fd of the host are then root-only and the host cannot
// be ptrace-attached by any process without CAP_SYS_PTRACE, whatever its
// uid. It also disables core dumps, which would hold decrypted secrets.
func HardenHost() error {
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}

// isolateCmd builds the process of a plugin: every plugin process is
// constructed here. Without a sandbox it only makes the plugin die with
// the host (Pdeathsig; without it a plugin outlives a crashed host). With
// one, cmd runs the host binary as the sandbox's init step in new PID,
// mount, IPC and UTS namespaces; the init step checks and executes the
// private copy as sb describes.
func isolateCmd(cmd *exec.Cmd, sb *sandbox) error {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.SysProcAttr = attr
	if sb == nil {
		return nil
	}
	spec, err := json.Marshal(sb)
	if err != nil {
		return err
	}
	cmd.Path = "/proc/self/exe"
	cmd.Args = []string{sandboxArg0, string(spec)}
	cmd.Dir = "/"
	attr.Cloneflags = syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS
	return nil
}

// runSandbox is the init step. It runs as root, as PID 1 of the new PID
// namespace, before any plugin code: every failure exits with status 126
// and a line on stdout, where go-plugin expects the handshake and from
// where it quotes the line in the start error, so nothing runs
// half-isolated and the reason reaches the host's log and listing.
func runSandbox(spec string) {
	goruntime.LockOSThread() // no_new_privs is per thread: set it on the thread that executes
	fail := func(step string, err error) {
		fmt.Fprintf(os.Stdout, "plugin sandbox: %s: %v\n", step, err)
		os.Exit(126)
	}
	var sb sandbox
	if err := json.Unmarshal([]byte(spec), &sb); err != nil {
		fail("read the sandbox spec", err)
	}

	// The bytes executed are the bytes hashed: the private copy is opened
	// once, hashed through that descriptor and executed from it.
	bin, err := os.Open(sb.Bin)
	if err != nil {
		fail("open the plugin binary", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, bin); err != nil {
		fail("hash the plugin binary", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sb.Sum {
		fail("verify the plugin binary", fmt.Errorf("sha256 %s, want %s", got, sb.Sum))
	}

	// The process id as the host sees it, read from the host's /proc
	// before a private one replaces it.
	hostPID, _ := os.Readlink("/proc/self")

	// Mounts made here must not propagate back to the host's namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fail("make mounts private", err)
	}
	for _, p := range sb.Hide {
		if err := hide(p); err != nil {
			fail("hide "+p, err)
		}
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		fail("mount a private /proc", err)
	}
	_ = unix.Sethostname([]byte("atom-plugin"))

	limits := []struct {
		res int
		max uint64
	}{
		{unix.RLIMIT_CORE, 0},
		{unix.RLIMIT_DATA, sb.Memory},
		{unix.RLIMIT_NPROC, sb.Procs},
		{unix.RLIMIT_NOFILE, sb.Files},
		{unix.RLIMIT_FSIZE, sb.FileSize},
	}
	for _, l := range limits {
		if err := unix.Setrlimit(l.res, &unix.Rlimit{Cur: l.max, Max: l.max}); err != nil {
			fail("set rlimit "+strconv.Itoa(l.res), err)
		}
	}

	if err := syscall.Setgroups(nil); err != nil {
		fail("drop supplementary groups", err)
	}
	if err := syscall.Setgid(int(sb.GID)); err != nil {
		fail("set gid", err)
	}
	if err := syscall.Setuid(int(sb.UID)); err != nil {
		fail("set uid", err)
	}
	if os.Getuid() != int(sb.UID) || os.Geteuid() != int(sb.UID) {
		fail("set uid", errors.New("still running as uid "+strconv.Itoa(os.Geteuid())))
	}
	// A change of credentials clears the parent-death signal: set it again.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		fail("set the parent-death signal", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail("set no_new_privs", err)
	}

	env := append(os.Environ(), HostPIDEnv+"="+hostPID)
	argv, err := syscall.SlicePtrFromStrings([]string{sb.Bin})
	if err != nil {
		fail("exec", err)
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		fail("exec", err)
	}
	empty, _ := syscall.BytePtrFromString("")
	_, _, errno := syscall.Syscall6(unix.SYS_EXECVEAT, bin.Fd(), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	goruntime.KeepAlive(bin) // its finalizer must not close the descriptor first
	fail("execute the plugin", errno)
}

// hide covers path: a directory with an empty read-only tmpfs, a file
// with /dev/null, read-only. A path that does not exist (or is already
// covered by a hidden parent) needs nothing.
func hide(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return unix.Mount("none", path, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=000,size=4k")
	}
	if err := unix.Mount("/dev/null", path, "", unix.MS_BIND, ""); err != nil {
		return err
	}
	return unix.Mount("", path, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, "")
}
