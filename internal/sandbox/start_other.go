//go:build !linux

package sandbox

import (
	"errors"
	"os"
	"runtime"
	"syscall"
)

// Process is a started command.
type Process struct {
	proc *os.Process
	done chan struct{}
	err  error
}

// Start starts the command s describes, in a process group of its own;
// Isolate fails: there are no namespaces here.
func Start(s Spec) (*Process, error) {
	if s.Isolate {
		return nil, &SetupError{Msg: "build sandboxes need Linux namespaces; this is " + runtime.GOOS}
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	attr := &syscall.SysProcAttr{Setpgid: true}
	if s.User != nil {
		attr.Credential = &syscall.Credential{Uid: s.User.UID, Gid: s.User.GID, Groups: s.User.Groups}
	}
	proc, err := os.StartProcess(s.Path, s.Args, &os.ProcAttr{Dir: s.Dir, Env: s.Env, Files: []*os.File{devnull, s.Stdout, s.Stderr}, Sys: attr})
	if err != nil {
		return nil, err
	}
	p := &Process{proc: proc, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		state, err := proc.Wait()
		if err != nil {
			p.err = err
			return
		}
		if ws, ok := state.Sys().(syscall.WaitStatus); ok {
			if ws.Signaled() {
				p.err = &ExitError{Signal: ws.Signal()}
			} else if ws.ExitStatus() != 0 {
				p.err = &ExitError{Code: ws.ExitStatus()}
			}
		}
	}()
	return p, nil
}

// Wait waits for the command: nil when it exited 0, else an *ExitError.
func (p *Process) Wait() error {
	<-p.done
	return p.err
}

// Kill kills the command's whole process group.
func (p *Process) Kill() {
	syscall.Kill(-p.proc.Pid, syscall.SIGKILL)
}

// Available says why sandboxes cannot be made here.
func Available() error {
	return errors.New("build sandboxes need Linux PID and mount namespaces; this is " + runtime.GOOS)
}

// IDMap needs Linux's user namespaces.
type IDMap struct{ user *User }

// NewIDMap says ID mappings need Linux.
func NewIDMap(u *User) (*IDMap, error) {
	return nil, errors.New("ID-mapped mounts need Linux; this is " + runtime.GOOS)
}

// User is the user the mapping is for.
func (m *IDMap) User() *User { return m.user }

// Close does nothing here.
func (m *IDMap) Close() {}

// Probe says sandboxes need Linux.
func Probe(s Spec) error { return Available() }

// NetworkAvailable says network namespaces need Linux.
func NetworkAvailable() error { return Available() }

// Permits says whether u has the access bits on path, by its mode bits.
func Permits(path string, u *User, bits uint32) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	mode := uint32(fi.Mode().Perm())
	switch {
	case st.Uid == u.UID:
		return (mode>>6)&bits == bits
	case st.Gid == u.GID:
		return (mode>>3)&bits == bits
	}
	return mode&bits == bits
}

// UseInit does nothing here: there are no sandboxes.
func UseInit(path string) (restore func()) { return func() {} }

// Box needs Linux's namespaces.
type Box struct{}

// Open says sandboxes need Linux.
func Open(s Spec) (*Box, error) { return nil, &SetupError{Msg: Available().Error()} }

// Start fails: there are no sandboxes here.
func (b *Box) Start(s Spec) (*Process, error) { return nil, &SetupError{Msg: Available().Error()} }

// Close does nothing.
func (b *Box) Close() {}
