//go:build linux

package native

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the plugin die with the host: without Pdeathsig a
// plugin outlives a crashed host as an orphan.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
