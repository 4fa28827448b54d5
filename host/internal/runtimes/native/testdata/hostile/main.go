// Command hostile is a native plugin written as a hostile plugin author
// would write it, with the public SDK: each action is one attack on the
// host, its data or the plugins beside it, and reports what it managed.
// The fault suite runs every attack against a sandboxed plugin process
// and expects each to report managed=false.
//
//	go build -o <dir>/atom-provider-hostile ./host/internal/runtimes/native/testdata/hostile
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

// report is what every attack answers.
type report struct {
	// Managed: the attack did what it set out to do.
	Managed bool `json:"managed"`
	// Detail is what it got, or the error that stopped it.
	Detail string `json:"detail"`
	// UID is the uid the plugin runs as.
	UID int `json:"uid"`
}

func result(managed bool, detail string) report {
	return report{Managed: managed, Detail: detail, UID: os.Getuid()}
}

func failed(err error) report { return result(false, err.Error()) }

type target struct {
	Path string `json:"path"`
	PID  int    `json:"pid"`
	// Entry is a /proc/<pid>/ entry (environ, mem, maps, root/…, cwd/…).
	Entry string `json:"entry"`
	// Op says how: read, list, append, truncate, create, rename, remove,
	// chmod; seize or attach for ptrace.
	Op  string `json:"op"`
	Sig int    `json:"sig"`
	N   int    `json:"n"`
}

func action(name string, fn func(context.Context, target) report) provider.ActionDef {
	return provider.ActionDef{
		Name: name,
		Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in target) (any, error) {
			return fn(ctx, in), nil
		}),
	}
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "unhide" {
		unhideChild(os.Args[2])
		return
	}
	provider.Serve(provider.New(provider.Manifest{ID: "hostile", Name: "Hostile", Version: "1.0.0"}).
		Action(action("file", fileAttack)).
		Action(action("proc", procAttack)).
		Action(action("ptrace", ptraceAttack)).
		Action(action("signal", signalAttack)).
		Action(action("fork_bomb", forkBomb)).
		Action(action("open_files", openFiles)).
		Action(action("allocate", allocate)).
		Action(action("dial", dial)).
		Action(action("unhide", unhide)))
}

// fileAttack reads, lists or writes a path of the host.
func fileAttack(_ context.Context, in target) report {
	p := in.Path
	switch in.Op {
	case "read":
		f, err := os.Open(p)
		if err != nil {
			return failed(err)
		}
		defer f.Close()
		b := make([]byte, 4096)
		n, err := f.Read(b)
		if n == 0 {
			return failed(fmt.Errorf("read: %v", err))
		}
		return result(true, fmt.Sprintf("read %d bytes: %q", n, b[:min(n, 64)]))
	case "list":
		ents, err := os.ReadDir(p)
		if err != nil {
			return failed(err)
		}
		if len(ents) == 0 {
			return result(false, "empty directory")
		}
		names := ""
		for _, e := range ents {
			names += e.Name() + " "
		}
		return result(true, "listed: "+names)
	case "append", "truncate":
		flag := os.O_WRONLY | os.O_APPEND
		if in.Op == "truncate" {
			flag = os.O_WRONLY | os.O_TRUNC
		}
		f, err := os.OpenFile(p, flag, 0)
		if err != nil {
			return failed(err)
		}
		defer f.Close()
		if _, err := f.Write([]byte("#!/bin/sh\nhijacked\n")); err != nil {
			return failed(err)
		}
		return result(true, "wrote into "+p)
	case "create":
		if err := os.WriteFile(p, []byte("hijacked\n"), 0o755); err != nil {
			return failed(err)
		}
		return result(true, "created "+p)
	case "rename":
		tmp := filepath.Join(filepath.Dir(p), ".hostile-"+strconv.Itoa(os.Getpid()))
		if err := os.WriteFile(tmp, []byte("hijacked\n"), 0o755); err != nil {
			return failed(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			os.Remove(tmp)
			return failed(err)
		}
		return result(true, "replaced "+p)
	case "remove":
		if err := os.Remove(p); err != nil {
			return failed(err)
		}
		return result(true, "removed "+p)
	case "chmod":
		if err := os.Chmod(p, 0o777); err != nil {
			return failed(err)
		}
		return result(true, "made "+p+" world-writable")
	}
	return failed(errors.New("unknown op " + in.Op))
}

// procAttack opens /proc/<pid>/<entry>: mem read-write, anything else to
// read.
func procAttack(_ context.Context, in target) report {
	p := "/proc/" + strconv.Itoa(in.PID) + "/" + in.Entry
	if in.Entry == "mem" {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return failed(err)
		}
		f.Close()
		return result(true, "opened "+p+" read-write")
	}
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		ents, err := os.ReadDir(p)
		if err != nil {
			return failed(err)
		}
		return result(len(ents) > 0, fmt.Sprintf("listed %d entries of %s", len(ents), p))
	}
	f, err := os.Open(p)
	if err != nil {
		return failed(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<16))
	if len(b) == 0 {
		return failed(fmt.Errorf("read %s: %v", p, err))
	}
	return result(true, fmt.Sprintf("read %d bytes of %s", len(b), p))
}

const (
	ptraceSeize = 0x4206
)

// ptraceAttack attaches to a process (and detaches at once if it could).
func ptraceAttack(_ context.Context, in target) report {
	req := uintptr(syscall.PTRACE_ATTACH)
	if in.Op == "seize" {
		req = ptraceSeize
	}
	_, _, errno := syscall.Syscall6(syscall.SYS_PTRACE, req, uintptr(in.PID), 0, 0, 0, 0)
	if errno != 0 {
		return failed(fmt.Errorf("ptrace %s %d: %w", in.Op, in.PID, errno))
	}
	_, _, _ = syscall.Syscall6(syscall.SYS_PTRACE, syscall.PTRACE_DETACH, uintptr(in.PID), 0, 0, 0, 0)
	return result(true, fmt.Sprintf("ptrace %s %d succeeded", in.Op, in.PID))
}

// signalAttack sends a signal to a process.
func signalAttack(_ context.Context, in target) report {
	if in.PID <= 1 {
		return failed(errors.New("refusing to signal pid <= 1"))
	}
	if err := syscall.Kill(in.PID, syscall.Signal(in.Sig)); err != nil {
		return failed(fmt.Errorf("kill %d %d: %w", in.PID, in.Sig, err))
	}
	return result(true, fmt.Sprintf("signal %d delivered to %d", in.Sig, in.PID))
}

// forkBomb starts n sleeping processes and reports whether all started;
// it stops them before answering.
func forkBomb(_ context.Context, in target) report {
	var cmds []*exec.Cmd
	defer func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}()
	var err error
	for range in.N {
		c := exec.Command("/bin/sleep", "30")
		if err = c.Start(); err != nil {
			break
		}
		cmds = append(cmds, c)
	}
	if len(cmds) == in.N {
		return result(true, fmt.Sprintf("started %d processes", len(cmds)))
	}
	return result(false, fmt.Sprintf("started %d of %d processes: %v", len(cmds), in.N, err))
}

// openFiles opens n descriptors and reports whether all opened.
func openFiles(_ context.Context, in target) report {
	var fs []*os.File
	defer func() {
		for _, f := range fs {
			f.Close()
		}
	}()
	var err error
	for range in.N {
		var f *os.File
		if f, err = os.Open("/dev/null"); err != nil {
			break
		}
		fs = append(fs, f)
	}
	if len(fs) == in.N {
		return result(true, fmt.Sprintf("opened %d files", len(fs)))
	}
	return result(false, fmt.Sprintf("opened %d of %d files: %v", len(fs), in.N, err))
}

// allocate maps n bytes of writable anonymous memory and touches one page
// in every MiB of it.
func allocate(_ context.Context, in target) report {
	start := time.Now()
	b, err := syscall.Mmap(-1, 0, in.N, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return failed(fmt.Errorf("mmap %d bytes: %w", in.N, err))
	}
	defer syscall.Munmap(b)
	for i := 0; i < len(b); i += 1 << 20 {
		b[i] = 1
	}
	return result(true, fmt.Sprintf("mapped %d bytes in %s", in.N, time.Since(start)))
}

// dial connects to a unix socket, such as another plugin's go-plugin
// socket.
func dial(_ context.Context, in target) report {
	c, err := net.DialTimeout("unix", in.Path, 2*time.Second)
	if err != nil {
		return failed(err)
	}
	c.Close()
	return result(true, "connected to "+in.Path)
}

// unhide re-executes the plugin in a user and mount namespace of its own,
// where it is root, to unmount what hides path from it and read path.
func unhide(_ context.Context, in target) report {
	cmd := exec.Command("/proc/self/exe", "unhide", in.Path)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return failed(fmt.Errorf("%v: %s", err, out))
	}
	detail := string(out)
	return result(len(detail) > 0 && detail[0] == '+', detail)
}

// unhideChild runs in the new namespaces: "+" and what it read when path
// could be read after unmounting, "-" and why not otherwise.
func unhideChild(path string) {
	umountErr := syscall.Unmount(path, syscall.MNT_DETACH)
	if ents, err := os.ReadDir(path); err == nil && len(ents) > 0 {
		fmt.Printf("+ listed %d entries of %s (umount: %v)", len(ents), path, umountErr)
		return
	}
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		fmt.Printf("+ read %d bytes of %s (umount: %v)", len(b), path, umountErr)
		return
	}
	fmt.Printf("- umount %s: %v; still hidden", path, umountErr)
}
