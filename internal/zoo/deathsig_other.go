//go:build !linux

package zoo

import "os/exec"

// setDeathSignal does nothing where the kernel has no parent-death
// signal; Stop ends the child.
func setDeathSignal(*exec.Cmd) {}
