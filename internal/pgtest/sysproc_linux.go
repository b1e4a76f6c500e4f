package pgtest

import "syscall"

// sysProcAttr runs the child as cred and kills it if the test binary dies
// first, so a crashed test leaves no server behind.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
}
