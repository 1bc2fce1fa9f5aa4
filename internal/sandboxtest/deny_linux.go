//go:build linux && (amd64 || arm64)

package sandboxtest

import (
	"fmt"
	"syscall"
	"unsafe"
)

// Namespace flags of clone and unshare.
const nsFlags = syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUSER |
	syscall.CLONE_NEWPID | syscall.CLONE_NEWNET | 0x02000000 /* CLONE_NEWCGROUP */

const (
	sysClone3       = 435
	seccompSetMode  = 1 // SECCOMP_SET_MODE_FILTER
	seccompTSync    = 1 // SECCOMP_FILTER_FLAG_TSYNC
	retAllow        = 0x7fff0000
	retErrno        = 0x00050000
	prSetNoNewPrivs = 38
)

type sockFilter struct {
	code   uint16
	jt, jf uint8
	k      uint32
}

type sockFprog struct {
	len    uint16
	filter *sockFilter
}

// DenyNamespaces makes every thread of this process, and everything it
// starts, fail to create a namespace: unshare fails with EPERM, clone with
// a namespace flag too, and clone3 with ENOSYS (so callers fall back to
// clone, as Go and glibc do).
func DenyNamespaces() error {
	prog := []sockFilter{
		{0x20, 0, 0, 0}, // 0: A = syscall number
		{0x15, 5, 0, uint32(syscall.SYS_UNSHARE)},       // 1: unshare -> 7
		{0x15, 5, 0, sysClone3},                         // 2: clone3 -> 8
		{0x15, 0, 2, uint32(syscall.SYS_CLONE)},         // 3: not clone -> 6
		{0x20, 0, 0, 16},                                // 4: A = low word of the flags
		{0x45, 1, 0, nsFlags},                           // 5: a namespace flag -> 7
		{0x06, 0, 0, retAllow},                          // 6
		{0x06, 0, 0, retErrno | uint32(syscall.EPERM)},  // 7
		{0x06, 0, 0, retErrno | uint32(syscall.ENOSYS)}, // 8
	}
	fprog := sockFprog{len: uint16(len(prog)), filter: &prog[0]}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0, 0, 0, 0); e != 0 {
		return fmt.Errorf("no_new_privs: %w", e)
	}
	if _, _, e := syscall.Syscall(sysSeccomp, seccompSetMode, seccompTSync, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		return fmt.Errorf("seccomp: %w", e)
	}
	return nil
}
