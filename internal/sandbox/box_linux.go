package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Box is a sandbox that runs commands, one after another or side by
// side: its init is started once, makes the namespaces, the mounts and
// the network, joins the cgroup, and then forks each command into a
// process group of its own; when the command exits, what it left in its
// group is killed, and when the box closes, everything in it. Making a
// sandbox costs a start of the service's own binary (the init is that
// binary re-executed: some 25 ms for workspace-bot) and its mounts, so a
// run makes one per network its steps need, not one per step. Commands
// in one box share its /tmp and see each other's processes in its /proc;
// nothing of the service's.
type Box struct {
	ctl  *os.File
	done chan struct{} // the init has exited

	mu     sync.Mutex
	procs  map[int]*Process
	next   int
	closed bool

	egress *egressServer
}

// Messages on a box's control socket, one JSON object a packet.

// boxMsg is what the init says.
type boxMsg struct {
	// Ready: the sandbox is made; the egress listener, if any, comes
	// with this message.
	Ready bool `json:",omitempty"`
	// Setup: why the sandbox, or command ID, could not be made.
	Setup string `json:",omitempty"`
	ID    int    `json:",omitempty"`
	// Exited: command ID ended, with Code or killed by Signal.
	Exited bool `json:",omitempty"`
	Code   int  `json:",omitempty"`
	Signal int  `json:",omitempty"`
}

// boxRun is what the service asks: run a command (its stdin, stdout and
// stderr come with the message), or kill one.
type boxRun struct {
	ID   int
	Kill bool     `json:",omitempty"`
	Path string   `json:",omitempty"`
	Args []string `json:",omitempty"`
	Dir  string   `json:",omitempty"`
	Env  []string `json:",omitempty"`

	stdin, stdout, stderr int
}

// initBinary is the program a sandbox's init runs: this process's own.
var initBinary = "/proc/self/exe"

// UseInit makes sandboxes run path (a binary that links this package) as
// their init, until restore is called: a benchmark of a test binary then
// measures what the service's own binary costs to start. Not safe while
// sandboxes are being opened.
func UseInit(path string) (restore func()) {
	old := initBinary
	initBinary = path
	return func() { initBinary = old }
}

// maxMsg bounds one request: a command's argv and environment.
const maxMsg = 1 << 20

func sendMsg(fd int, v any, rights []byte) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	for {
		err = unix.Sendmsg(fd, b, rights, nil, 0)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// Open makes the sandbox s describes (its paths, user, network, proxy
// and cgroup; the command fields are ignored) and waits until it is
// ready for commands.
func Open(s Spec) (*Box, error) {
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
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL,
		Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWIPC}
	if mode == nsUser {
		// The service's uid and gid become root inside: the init keeps
		// its capabilities across exec, over its own namespaces only, and
		// the commands (stripped of them) are the service's user to
		// everything outside.
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	if s.Net != NetHost {
		attr.Cloneflags |= syscall.CLONE_NEWNET
	}
	is := initSpec{Net: int(s.Net)}
	if s.Cgroup != nil {
		if fd, ok := s.Cgroup.FD(); ok {
			attr.UseCgroupFD, attr.CgroupFD = true, fd
		} else {
			is.JoinCgroup = s.Cgroup.Procs()
		}
	}
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	syscall.SetsockoptInt(pair[0], syscall.SOL_SOCKET, syscall.SO_SNDBUF, maxMsg)
	ctl := os.NewFile(uintptr(pair[0]), "sandbox-control")
	initEnd := os.NewFile(uintptr(pair[1]), "sandbox-control-init")
	defer initEnd.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		ctl.Close()
		return nil, err
	}
	defer devnull.Close()
	files := []*os.File{devnull, devnull, devnull, initEnd}
	if s.IDMap != nil && s.User != nil {
		is.IDMapFD = len(files)
		files = append(files, s.IDMap.ns)
	}
	spec, err := initSpecOf(s, is)
	if err != nil {
		ctl.Close()
		return nil, err
	}

	b := &Box{ctl: ctl, done: make(chan struct{}), procs: map[int]*Process{}}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal is tied to the thread that started the
		// init, not the process: keep this thread for the init's life, so
		// it fires when the service dies and only then.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(b.done)
		proc, err := os.StartProcess(initBinary, []string{initArg0, spec}, &os.ProcAttr{Dir: "/", Env: []string{}, Files: files, Sys: attr})
		started <- err
		if err != nil {
			return
		}
		proc.Wait()
	}()
	if err := <-started; err != nil {
		ctl.Close()
		return nil, &SetupError{Msg: fmt.Sprintf("start the sandbox: %v", err)}
	}
	initEnd.Close()
	// The first message says whether the sandbox was made.
	m, fds, err := b.recv()
	if err != nil || !m.Ready {
		closeAll(fds)
		b.Close()
		ctl.Close()
		msg := m.Setup
		if msg == "" {
			msg = fmt.Sprintf("the sandbox's init said nothing: %v", err)
		}
		return nil, &SetupError{Msg: msg}
	}
	b.egress = startEgress(fds, s.Proxy)
	go b.read()
	return b, nil
}

// recv reads one message from the init, with the descriptors it sent.
func (b *Box) recv() (boxMsg, []int, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, syscall.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(b.ctl.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return boxMsg{}, nil, err
		}
		if n == 0 {
			return boxMsg{}, nil, errors.New("the sandbox's init hung up")
		}
		var m boxMsg
		fds := receivedFDs(oob[:oobn])
		if err := json.Unmarshal(buf[:n], &m); err != nil {
			closeAll(fds)
			return boxMsg{}, nil, fmt.Errorf("the sandbox's init said %q: %w", buf[:n], err)
		}
		return m, fds, nil
	}
}

// read hands the init's reports to the commands they are about, until
// the init is gone; then every command still running ends with why.
func (b *Box) read() {
	for {
		m, fds, err := b.recv()
		closeAll(fds)
		if err != nil {
			break
		}
		b.mu.Lock()
		p := b.procs[m.ID]
		delete(b.procs, m.ID)
		b.mu.Unlock()
		if p == nil {
			continue
		}
		switch {
		case m.Setup != "":
			p.end(&SetupError{Msg: m.Setup})
		case m.Signal != 0:
			p.end(&ExitError{Signal: syscall.Signal(m.Signal)})
		case m.Code != 0:
			p.end(&ExitError{Code: m.Code})
		default:
			p.end(nil)
		}
	}
	<-b.done
	b.mu.Lock()
	procs := b.procs
	b.procs = map[int]*Process{}
	b.closed = true
	b.ctl.Close()
	b.mu.Unlock()
	for _, p := range procs {
		// The init was killed (by a cancel, or the OOM killer), and
		// everything in the sandbox with it.
		p.end(&ExitError{Signal: syscall.SIGKILL})
	}
}

// Start starts a command (s's Path, Args, Dir, Env, Stdout and Stderr)
// in the box.
func (b *Box) Start(s Spec) (*Process, error) { return b.start(s, false) }

func (b *Box) start(s Spec, own bool) (*Process, error) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	p := &Process{box: b, own: own, done: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, &SetupError{Msg: "the sandbox is closed"}
	}
	b.next++
	p.id = b.next
	b.procs[p.id] = p
	b.mu.Unlock()
	r := boxRun{ID: p.id, Path: s.Path, Args: s.Args, Dir: s.Dir, Env: s.Env}
	rights := unix.UnixRights(int(devnull.Fd()), int(s.Stdout.Fd()), int(s.Stderr.Fd()))
	if err := b.send(r, rights); err != nil {
		b.mu.Lock()
		delete(b.procs, p.id)
		b.mu.Unlock()
		if errors.Is(err, syscall.EMSGSIZE) {
			return nil, &SetupError{Msg: fmt.Sprintf("the command and its environment are too large to send to the sandbox (over %d bytes)", maxMsg)}
		}
		return nil, &SetupError{Msg: fmt.Sprintf("the sandbox is gone: %v", err)}
	}
	return p, nil
}

// end records how the command ended; a command alone in its box closes
// it first, so that nothing of it is left when Wait returns.
func (p *Process) end(err error) {
	p.err = err
	if p.own {
		p.box.Close()
	}
	close(p.done)
}

func (b *Box) kill(id int) {
	b.send(boxRun{ID: id, Kill: true}, nil)
}

// send sends a request, unless the box is closed.
func (b *Box) send(r boxRun, rights []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("closed")
	}
	return sendMsg(int(b.ctl.Fd()), r, rights)
}

// Close ends the box: its init exits, and the kernel kills everything
// in it. It waits for that, and for the egress proxy to return.
func (b *Box) Close() {
	b.mu.Lock()
	already := b.closed
	b.closed = true
	b.mu.Unlock()
	if !already {
		// Hanging up is the init's signal to exit.
		b.mu.Lock()
		syscall.Shutdown(int(b.ctl.Fd()), syscall.SHUT_RDWR)
		b.mu.Unlock()
	}
	<-b.done
	if b.egress != nil {
		b.egress.stop()
	}
}

// egressServer serves a NetEgress box's proxy listener until the box
// ends.
type egressServer struct {
	mu   sync.Mutex
	ln   net.Listener
	done chan struct{}
}

// startEgress serves the listener the init sent (fds), when it sent one.
func startEgress(fds []int, serve func(net.Listener)) *egressServer {
	e := &egressServer{done: make(chan struct{})}
	if len(fds) == 0 {
		close(e.done)
		return e
	}
	closeAll(fds[1:])
	f := os.NewFile(uintptr(fds[0]), "egress")
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil || serve == nil {
		if ln != nil {
			ln.Close()
		}
		close(e.done)
		return e
	}
	e.ln = ln
	go func() {
		defer close(e.done)
		serve(ln)
	}()
	return e
}

// stop closes the listener and waits for the proxy to return.
func (e *egressServer) stop() {
	e.mu.Lock()
	if e.ln != nil {
		e.ln.Close()
	}
	e.mu.Unlock()
	<-e.done
}
