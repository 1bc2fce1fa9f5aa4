package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Process is a started command.
type Process struct {
	pid      int
	isolated bool
	done     chan struct{}
	err      error
}

// Start starts the command s describes.
func Start(s Spec) (*Process, error) {
	if !s.Isolate {
		sealInherited() // the init does it for an isolated command
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	files := []*os.File{devnull, s.Stdout, s.Stderr}
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	path, argv := s.Path, s.Args
	var status *os.File
	if s.Isolate {
		mode := s.mode
		if mode == nsNone {
			if err := Available(); err != nil {
				return nil, &SetupError{Msg: err.Error()}
			}
			mode = found
		}
		if mode == nsUser && s.User != nil {
			return nil, &SetupError{Msg: "a build user needs the service to run as root; unprivileged, steps run as the service's own user"}
		}
		if mode == nsUser {
			// The service's uid and gid become root inside: the init
			// keeps its capabilities across exec, over its own namespaces
			// only, and the command (stripped of them) is the service's
			// user to everything outside.
			attr.Cloneflags |= syscall.CLONE_NEWUSER
			attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
			attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
			attr.GidMappingsEnableSetgroups = false
		}
		spec, err := initSpecOf(s)
		if err != nil {
			return nil, err
		}
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		defer w.Close()
		status = r
		files = append(files, w)
		path, argv = "/proc/self/exe", []string{initArg0, spec}
		attr.Cloneflags |= syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWIPC
	} else if s.User != nil {
		attr.Credential = credential(s.User)
	}
	dir := s.Dir
	if s.Isolate {
		dir = "/" // the init changes into Dir once its mounts are made
	}

	p := &Process{isolated: s.Isolate, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal is tied to the thread that started the
		// child, not the process: keep this thread for the child's life,
		// so it fires when the service dies and only then.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(p.done)
		proc, err := os.StartProcess(path, argv, &os.ProcAttr{Dir: dir, Env: s.Env, Files: files, Sys: attr})
		if err != nil {
			started <- err
			if status != nil {
				status.Close()
			}
			return
		}
		p.pid = proc.Pid
		started <- nil
		state, werr := proc.Wait()
		var report []byte
		if status != nil {
			report, _ = io.ReadAll(status)
			status.Close()
		}
		p.err = outcome(s.Isolate, state, werr, string(report))
	}()
	if err := <-started; err != nil {
		if s.Isolate {
			return nil, &SetupError{Msg: fmt.Sprintf("start the sandbox: %v", err)}
		}
		return nil, err
	}
	return p, nil
}

// outcome turns how the child ended (and what the init reported) into
// Wait's error.
func outcome(isolated bool, state *os.ProcessState, werr error, report string) error {
	if werr != nil {
		return werr
	}
	if isolated {
		verb, arg, _ := strings.Cut(report, " ")
		switch verb {
		case "exit":
			if code, _ := strconv.Atoi(arg); code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		case "signal":
			n, _ := strconv.Atoi(arg)
			return &ExitError{Signal: syscall.Signal(n)}
		case "setup":
			return &SetupError{Msg: arg}
		}
		// No report: the init was killed (a cancel, or the OOM killer).
	}
	ws, _ := state.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return &ExitError{Signal: ws.Signal()}
	}
	if code := ws.ExitStatus(); code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// Wait waits for the command: nil when it exited 0, an *ExitError when it
// did not, a *SetupError when the sandbox failed.
func (p *Process) Wait() error {
	<-p.done
	return p.err
}

// Kill kills everything the command started: the whole namespace, or the
// whole process group. After Wait it still ends the group's stragglers.
func (p *Process) Kill() {
	if p.isolated {
		select {
		case <-p.done:
			// The init has exited: the kernel has killed the namespace.
		default:
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
		return
	}
	syscall.Kill(-p.pid, syscall.SIGKILL)
}

func credential(u *User) *syscall.Credential {
	return &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups}
}

// initSpec is what the init is told, as JSON in its argv: nothing secret.
type initSpec struct {
	Path     string
	Args     []string
	Dir      string
	Writable []string
	Hidden   []string
	ReadOnly []string
	User     *User
	Probe    bool
}

func initSpecOf(s Spec) (string, error) {
	for _, list := range [][]string{s.Writable, s.Hidden, s.ReadOnly} {
		for _, p := range list {
			if !strings.HasPrefix(p, "/") || p == "/" {
				return "", &SetupError{Msg: fmt.Sprintf("path %q must be absolute and not /", p)}
			}
		}
	}
	b, err := json.Marshal(initSpec{Path: s.Path, Args: s.Args, Dir: s.Dir, Writable: s.Writable,
		Hidden: s.Hidden, ReadOnly: s.ReadOnly, User: s.User, Probe: s.probe})
	return string(b), err
}

var (
	probeOnce  sync.Once
	probeError error
	found      nsMode
)

// sealInherited marks every descriptor this process inherited close-on-
// exec: Go opens its own that way, but one left open by whoever started
// the service (the Actions runner, a shell) would otherwise reach every
// command it starts.
func sealInherited() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// Available makes one sandbox that runs nothing, once, and says why
// sandboxes cannot be made here, or nil. It tries the host's namespaces
// first (root), then a user namespace of the sandbox's own (unprivileged).
func Available() error {
	probeOnce.Do(func() {
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			probeError = err
			return
		}
		defer devnull.Close()
		var why []string
		for _, m := range []nsMode{nsHost, nsUser} {
			p, err := Start(Spec{Isolate: true, probe: true, mode: m, Dir: "/", Stdout: devnull, Stderr: devnull})
			if err == nil {
				err = p.Wait()
			}
			if err == nil {
				found = m
				return
			}
			var se *SetupError
			if errors.As(err, &se) {
				err = errors.New(se.Msg)
			}
			why = append(why, map[nsMode]string{nsHost: "as this user: ", nsUser: "in a user namespace: "}[m]+err.Error())
		}
		probeError = fmt.Errorf("PID and mount namespaces are not available here (%s); run as root, or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0)",
			strings.Join(why, "; "))
	})
	return probeError
}
