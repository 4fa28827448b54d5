//go:build !linux

package native

import "os/exec"

// setProcAttr does nothing where Pdeathsig does not exist.
func setProcAttr(*exec.Cmd) {}
