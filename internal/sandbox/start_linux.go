package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
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
	var status, proxyEnd *os.File
	if s.Cgroup != nil {
		if fd, ok := s.Cgroup.FD(); ok {
			attr.UseCgroupFD, attr.CgroupFD = true, fd
		} else if !s.Isolate {
			return nil, &SetupError{Msg: "a cgroup v1 hierarchy is joined by the sandbox's init; without a sandbox a step cannot be put in one"}
		}
	}
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
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		defer w.Close()
		status = r
		files = append(files, w)
		is := initSpec{Net: int(s.Net)}
		if s.Cgroup != nil {
			if _, ok := s.Cgroup.FD(); !ok {
				is.JoinCgroup = s.Cgroup.Procs()
			}
		}
		if s.Net != NetHost {
			attr.Cloneflags |= syscall.CLONE_NEWNET
		}
		if s.Net == NetEgress {
			pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
			if err != nil {
				r.Close()
				return nil, err
			}
			proxyEnd = os.NewFile(uintptr(pair[0]), "proxy")
			initEnd := os.NewFile(uintptr(pair[1]), "proxy-init")
			defer initEnd.Close()
			is.ProxyFD = len(files)
			files = append(files, initEnd)
		}
		if s.IDMap != nil && s.User != nil {
			is.IDMapFD = len(files)
			files = append(files, s.IDMap.ns)
		}
		spec, err := initSpecOf(s, is)
		if err != nil {
			r.Close()
			if proxyEnd != nil {
				proxyEnd.Close()
			}
			return nil, err
		}
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
	egress := startEgress(proxyEnd, s.Proxy)
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
			egress.stop()
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
		egress.stop()
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

// egressServer serves a NetEgress sandbox's proxy listener, once the
// init has handed it over, until the sandbox ends.
type egressServer struct {
	mu     sync.Mutex
	ln     net.Listener
	closed bool
	done   chan struct{}
}

// startEgress receives the listener on end (nil: no egress) and gives
// it to serve.
func startEgress(end *os.File, serve func(net.Listener)) *egressServer {
	e := &egressServer{done: make(chan struct{})}
	if end == nil {
		close(e.done)
		return e
	}
	go func() {
		defer close(e.done)
		defer end.Close()
		oob := make([]byte, syscall.CmsgSpace(4))
		// Returns when the init sends, or with nothing once it is gone
		// (its end closes with it).
		_, oobn, _, _, err := syscall.Recvmsg(int(end.Fd()), make([]byte, 1), oob, 0)
		if err != nil || oobn == 0 {
			return
		}
		msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) == 0 {
			return
		}
		fds, err := syscall.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) == 0 {
			return
		}
		f := os.NewFile(uintptr(fds[0]), "egress")
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return
		}
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			ln.Close()
			return
		}
		e.ln = ln
		e.mu.Unlock()
		if serve == nil {
			ln.Close()
			return
		}
		serve(ln)
	}()
	return e
}

// stop closes the listener and waits for the proxy to return.
func (e *egressServer) stop() {
	e.mu.Lock()
	e.closed = true
	if e.ln != nil {
		e.ln.Close()
	}
	e.mu.Unlock()
	<-e.done
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
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	s.Isolate, s.probe, s.Stdout, s.Stderr = true, true, devnull, devnull
	if s.Dir == "" {
		s.Dir = "/"
	}
	p, err := Start(s)
	if err == nil {
		err = p.Wait()
	}
	var se *SetupError
	if errors.As(err, &se) {
		return errors.New(se.Msg)
	}
	return err
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
