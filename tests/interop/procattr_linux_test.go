package interop

import "syscall"

// daemonAttr makes a daemon die with the test binary (a timeout panic
// skips the cleanups that would stop it).
func daemonAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
