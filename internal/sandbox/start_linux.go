package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Process is a started command.
type Process struct {
	pid  int  // a plain command's; a boxed one's is its box's business
	box  *Box // the box it runs in, or nil
	id   int  // its id in the box
	own  bool // the box is the command's alone: closed when it ends
	done chan struct{}
	err  error
}

// Start starts the command s describes: in a sandbox of its own when
// s.Isolate (a Box that holds it alone, closed when it ends), else in a
// process group of its own.
func Start(s Spec) (*Process, error) {
	if s.Isolate {
		b, err := Open(s)
		if err != nil {
			return nil, err
		}
		p, err := b.start(s, true)
		if err != nil {
			b.Close()
			return nil, err
		}
		return p, nil
	}
	sealInherited()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if s.Cgroup != nil {
		fd, ok := s.Cgroup.FD()
		if !ok {
			return nil, &SetupError{Msg: "a cgroup v1 hierarchy is joined by the sandbox's init; without a sandbox a step cannot be put in one"}
		}
		attr.UseCgroupFD, attr.CgroupFD = true, fd
	}
	if s.User != nil {
		attr.Credential = credential(s.User)
	}
	p := &Process{done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal is tied to the thread that started the
		// child, not the process: keep this thread for the child's life,
		// so it fires when the service dies and only then.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(p.done)
		proc, err := os.StartProcess(s.Path, s.Args, &os.ProcAttr{Dir: s.Dir, Env: s.Env, Files: []*os.File{devnull, s.Stdout, s.Stderr}, Sys: attr})
		if err != nil {
			started <- err
			return
		}
		p.pid = proc.Pid
		started <- nil
		state, werr := proc.Wait()
		p.err = plainOutcome(state, werr)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// plainOutcome turns how a plain command ended into Wait's error.
func plainOutcome(state *os.ProcessState, werr error) error {
	if werr != nil {
		return werr
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

// Kill kills the command and its process group; a command alone in its
// sandbox, everything in it. After Wait it still ends a plain command's
// stragglers.
func (p *Process) Kill() {
	if p.box != nil {
		select {
		case <-p.done:
			// Its init killed what was left in its group.
		default:
			p.box.kill(p.id)
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
	// Net is the Net; ProxyFD the descriptor to hand NetEgress's
	// listener over on.
	Net     int `json:",omitempty"`
	ProxyFD int `json:",omitempty"`
	// IDMapFD is the IDMap's user namespace, inherited.
	IDMapFD int `json:",omitempty"`
	// JoinCgroup are the cgroup.procs files to write "0" to first.
	JoinCgroup []string `json:",omitempty"`
}

func initSpecOf(s Spec, is initSpec) (string, error) {
	for _, list := range [][]string{s.Writable, s.Hidden, s.ReadOnly} {
		for _, p := range list {
			if !strings.HasPrefix(p, "/") || p == "/" {
				return "", &SetupError{Msg: fmt.Sprintf("path %q must be absolute and not /", p)}
			}
		}
	}
	is.Path, is.Args, is.Dir, is.User, is.Probe = s.Path, s.Args, s.Dir, s.User, s.probe
	is.Writable, is.ReadOnly = s.Writable, s.ReadOnly
	is.Hidden = append(append([]string{}, s.Hidden...), unreachable(s)...)
	b, err := json.Marshal(is)
	return string(b), err
}

// unreachable lists the directories above the paths bound for the build
// user that the user may not search (such as /root, 0700, above a data
// dir in root's home): each becomes an empty directory in the sandbox,
// holding only the way down to what is bound. The user could read
// nothing in them, and now reaches what it is given.
func unreachable(s Spec) []string {
	if s.User == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	covered := func(dir string) bool {
		for _, h := range append(s.Hidden, out...) {
			if under(dir, h) {
				return true
			}
		}
		return false
	}
	for _, p := range append(append([]string{}, s.Writable...), s.ReadOnly...) {
		var above []string
		for d := filepath.Dir(p); d != "/" && d != "."; d = filepath.Dir(d) {
			above = append(above, d)
		}
		for i := len(above) - 1; i >= 0; i-- {
			d := above[i]
			if seen[d] || covered(d) {
				continue
			}
			seen[d] = true
			if _, err := os.Stat(d); err == nil && !Permits(d, s.User, 0o1) {
				out = append(out, d)
			}
		}
	}
	return out
}

// Permits says whether u has the access bits (0o4 read, 0o2 write, 0o1
// execute or search) on path, by its mode bits: the owner's, the group's
// or the others', as the kernel picks them.
func Permits(path string, u *User, bits uint32) bool {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return false
	}
	switch {
	case st.Uid == u.UID:
		return (st.Mode>>6)&bits == bits
	case st.Gid == u.GID || slices.Contains(u.Groups, st.Gid):
		return (st.Mode>>3)&bits == bits
	}
	return st.Mode&bits == bits
}

var (
	probeOnce  sync.Once
	probeError error
	found      nsMode

	netOnce  sync.Once
	netError error
)

// Probe makes the sandbox s describes, runs nothing in it, and says why
// it could not be made, or nil: whether a path can be handed to a build
// user through an IDMap, say.
func Probe(s Spec) error {
	s.probe = true
	b, err := Open(s)
	if err != nil {
		var se *SetupError
		if errors.As(err, &se) {
			return errors.New(se.Msg)
		}
		return err
	}
	b.Close()
	return nil
}

// NetworkAvailable says, once, whether sandboxes can have a network of
// their own here (NetIsolated, NetEgress), or why not.
func NetworkAvailable() error {
	netOnce.Do(func() {
		if err := Available(); err != nil {
			netError = err
			return
		}
		if err := Probe(Spec{Net: NetIsolated}); err != nil {
			netError = fmt.Errorf("network namespaces are not available here: %w", err)
		}
	})
	return netError
}

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
		var why []string
		for _, m := range []nsMode{nsHost, nsUser} {
			err := Probe(Spec{mode: m})
			if err == nil {
				found = m
				return
			}
			why = append(why, map[nsMode]string{nsHost: "as this user: ", nsUser: "in a user namespace: "}[m]+err.Error())
		}
		probeError = fmt.Errorf("PID and mount namespaces are not available here (%s); run as root, or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0)",
			strings.Join(why, "; "))
	})
	return probeError
}
