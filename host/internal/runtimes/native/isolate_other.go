//go:build !linux

package native

import (
	"os/exec"
	goruntime "runtime"
)

// HostPIDEnv names the variable through which a sandboxed plugin learns
// its process id as the host sees it. Sandboxes exist only on Linux.
const HostPIDEnv = "ATOM_PLUGIN_HOST_PID"

func isolationAvailable() (bool, string) {
	return false, "plugin process isolation is implemented on Linux only (this host runs on " + goruntime.GOOS + ")"
}

// HardenHost does nothing outside Linux.
func HardenHost() error { return nil }

// isolateCmd builds the process of a plugin. Outside Linux there is no
// sandbox and no parent-death signal.
func isolateCmd(cmd *exec.Cmd, sb *sandbox) error { return nil }
