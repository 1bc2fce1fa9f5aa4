package gitrun

import "syscall"

// groupAttr puts git in a process group of its own, killed with the
// service even when the service is killed -9.
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
