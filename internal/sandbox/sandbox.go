// Package sandbox runs a build step's command where it cannot reach the
// service that started it, and where nothing it starts outlives it.
//
// An isolated command runs under a small init: the service's own binary,
// re-executed (/proc/self/exe) in new PID, mount and IPC namespaces with
// the parent-death signal set. The init makes every mount read-only,
// mounts a fresh /proc (so no process of the service is visible), a
// minimal /dev and a private /tmp, covers the hidden paths (the data dir:
// mirrors, database, other builds) with empty read-only directories,
// binds the writable paths (the build root) back read-write and the
// read-only ones (the mirrors' objects, which checkouts borrow) back
// read-only, drops every capability, sets no_new_privs, and starts the
// command, as the build user when one is given. It reaps orphans, and
// when the command exits, it exits with the command's status: the kernel
// then kills everything left in the namespace, daemons that called
// setsid included. Killing the init, or the service dying, does the same.
//
// Why Go's clone flags and not bubblewrap: they need nothing installed.
// A fresh CI machine with only Go and git (and any Linux host where the
// service runs as root or with CAP_SYS_ADMIN) gets the sandbox from the
// binary itself; bwrap would be one more package to install, keep at a
// known version and find on PATH, for the same kernel features.
//
// Where namespaces cannot be made (macOS, an unprivileged container),
// Available says why, and a command can still run in a process group of
// its own (Spec.Isolate false): killed as a group, with its environment
// and file descriptors chosen, but able to see the service.
package sandbox

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"syscall"

	"github.com/provide-io/workspace-bot/internal/cgroup"
)

// Spec says what to run and what it may see.
type Spec struct {
	// Path is the program (absolute), Args its argv (Args[0] included).
	Path string
	Args []string
	// Env is the whole environment; Dir the working directory.
	Env []string
	Dir string
	// Stdout and Stderr receive the output (they may be the same file);
	// stdin is /dev/null. No other file descriptor reaches the command.
	Stdout, Stderr *os.File
	// User, when set, runs the command as that user.
	User *User

	// Isolate runs the command in the sandbox; the paths below apply
	// only then. They must be absolute, without symlinks.
	Isolate bool
	// Writable paths stay read-write; everything else is read-only.
	Writable []string
	// Hidden paths are covered by empty read-only directories.
	Hidden []string
	// ReadOnly paths inside hidden ones are bound back, read-only.
	ReadOnly []string
	// IDMap, with User, shows the Writable and ReadOnly paths (the
	// service's own files) as User's: what it writes there lands as the
	// service's, so nothing on the host is ever owned by User.
	IDMap *IDMap
	// Net is the network the command gets.
	Net Net
	// Proxy serves NetEgress's only way out: it is handed the listener
	// the command reaches at EgressProxy, inside the sandbox's network,
	// and must return once that listener is closed.
	Proxy func(net.Listener)
	// Cgroup, when set, holds the command's processes from their start.
	Cgroup *cgroup.Group

	probe bool   // set up the sandbox, run nothing
	mode  nsMode // how, for the probe; else what Available found
}

// Net is a sandbox's network.
type Net int

const (
	// NetHost is the machine's network.
	NetHost Net = iota
	// NetIsolated is a network namespace with only its own loopback:
	// nothing outside the sandbox can be reached, by address or name.
	NetIsolated
	// NetEgress is NetIsolated with an HTTP proxy at EgressProxy, served
	// by the service (Spec.Proxy), which decides where it connects.
	NetEgress
)

// EgressProxy is where a NetEgress command finds its proxy.
const (
	EgressProxy = "127.0.0.1:3128"
	egressPort  = 3128
)

func (n Net) String() string {
	switch n {
	case NetIsolated:
		return "isolated"
	case NetEgress:
		return "egress"
	}
	return "host"
}

// How sandboxes are made here, as Available found.
type nsMode int

const (
	nsNone nsMode = iota
	// nsHost: namespaces owned by the host's user namespace, for a
	// service running as root (or with CAP_SYS_ADMIN).
	nsHost
	// nsUser: a user namespace of the sandbox's own first, which an
	// unprivileged service may create where the kernel allows it.
	nsUser
)

// User is an account to run commands as.
type User struct {
	Name   string
	UID    uint32
	GID    uint32
	Groups []uint32
	Home   string
}

// LookupUser finds a user by name or numeric id.
func LookupUser(name string) (*User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr == nil {
			u, err = user.LookupId(name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("build user %q: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("build user %q: uid %q, gid %q are not numbers", name, u.Uid, u.Gid)
	}
	bu := &User{Name: u.Username, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir}
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil && uint32(n) != bu.GID {
				bu.Groups = append(bu.Groups, uint32(n))
			}
		}
	}
	return bu, nil
}

// ExitError is a command that did not exit 0.
type ExitError struct {
	Code   int            // exit status, when it exited
	Signal syscall.Signal // the signal that killed it, or 0
}

func (e *ExitError) Error() string {
	if e.Signal != 0 {
		return "signal: " + e.Signal.String()
	}
	return "exit status " + strconv.Itoa(e.Code)
}

// SetupError is a sandbox that could not be made, or a command that could
// not be started in it: the machine's fault, not the command's.
type SetupError struct {
	Msg string
}

func (e *SetupError) Error() string { return "sandbox: " + e.Msg }
