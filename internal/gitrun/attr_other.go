//go:build !linux

package gitrun

import "syscall"

// groupAttr puts git in a process group of its own.
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
