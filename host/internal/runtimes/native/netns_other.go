//go:build !linux

package native

import "os/exec"

// isolateNetwork does nothing off Linux: plugins share the host's network
// and only the SDK's routing through the host keeps their requests under
// the outbound policy; a plugin that dials directly is not stopped.
func isolateNetwork(*exec.Cmd) {}

// NetworkIsolation reports false off Linux.
func NetworkIsolation() (bool, string) { return false, "" }
