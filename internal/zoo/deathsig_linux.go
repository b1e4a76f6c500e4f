package zoo

import (
	"os/exec"
	"syscall"
)

// setDeathSignal has the kernel kill the child when its parent dies, so
// a test or scoreboard that is killed leaves no service behind.
func setDeathSignal(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
