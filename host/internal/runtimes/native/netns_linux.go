//go:build linux

package native

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
)

// isolateNetwork starts the plugin in a network namespace of its own,
// which has no interface but a loopback that is down: a plugin that dials
// anything itself (127.0.0.1, the host's API port, a metadata service, the
// internet) finds no route, and its only way out is the Host service,
// reached over go-plugin's unix sockets, which a network namespace does
// not separate. As root the namespace is created directly; otherwise in a
// user namespace of its own when the kernel lets unprivileged users create
// one. Where neither works (a container without CAP_SYS_ADMIN, user
// namespaces off) the plugin starts without one: the SDK still sends every
// request through the host, but a plugin that dials directly is not
// stopped.
func isolateNetwork(cmd *exec.Cmd) {
	mode := netnsMode()
	if mode == "" {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	a := cmd.SysProcAttr
	a.Cloneflags |= syscall.CLONE_NEWNET
	if mode == netnsUser && a.Cloneflags&syscall.CLONE_NEWUSER == 0 && a.Credential == nil {
		uid, gid := os.Geteuid(), os.Getegid()
		a.Cloneflags |= syscall.CLONE_NEWUSER
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		a.GidMappingsEnableSetgroups = false
	}
}

const (
	netnsRoot = "root"
	netnsUser = "user namespace"
)

// netnsMode says how plugins get a network namespace: netnsRoot,
// netnsUser, or "" when they cannot. It is decided once per process.
var netnsMode = sync.OnceValue(func() string {
	if os.Geteuid() == 0 {
		// Root may still lack CAP_SYS_ADMIN (a default container): try
		// on a thread that is thrown away afterwards.
		done := make(chan error, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
			done <- syscall.Unshare(syscall.CLONE_NEWNET)
		}()
		if <-done == nil {
			return netnsRoot
		}
	}
	if readSysctl("/proc/sys/user/max_user_namespaces") == "0" || readSysctl("/proc/sys/kernel/unprivileged_userns_clone") == "0" {
		return ""
	}
	if readSysctl("/proc/sys/user/max_user_namespaces") == "" {
		return ""
	}
	return netnsUser
})

func readSysctl(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// NetworkIsolation reports whether plugin processes start in a network
// namespace of their own, and how ("root" or "user namespace").
func NetworkIsolation() (bool, string) {
	m := netnsMode()
	return m != "", m
}
