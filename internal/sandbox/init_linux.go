package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// initArg0 is the argv[0] the binary is re-executed with to be a
// sandbox's init. Any binary that links this package can be one.
const initArg0 = "workspace-bot-sandbox-init"

func init() {
	// Straight to the exit call: os.Exit would first run exit hooks,
	// and under the race detector those sleep a second.
	if len(os.Args) == 2 && os.Args[0] == initArg0 {
		syscall.Exit(initMain(os.Args[1]))
	}
	if len(os.Args) == 1 && os.Args[0] == usernsArg0 {
		holdUserns()
		syscall.Exit(0)
	}
}

// initMain is PID 1 of a new sandbox. Fd 3 is its control socket to the
// service (see Box): it reports that the sandbox is ready, or why it
// could not be made; then it starts the commands the service sends, each
// in a process group of its own, and reports how each ended, killing
// what the command left in its group. It exits when the service closes
// the socket, and the kernel then kills everything left in the sandbox.
func initMain(arg string) int {
	// Capabilities and no_new_privs belong to a thread, and commands are
	// forked from this one only.
	runtime.LockOSThread()
	ctl := 3
	var s initSpec
	if err := json.Unmarshal([]byte(arg), &s); err != nil {
		return setupFailed(ctl, err)
	}
	// Into the run's cgroup before anything else, so everything the
	// commands start is in it (on v2 the clone itself put us there).
	for _, procs := range s.JoinCgroup {
		if err := os.WriteFile(procs, []byte("0"), 0); err != nil {
			return setupFailed(ctl, fmt.Errorf("join the cgroup: %w", err))
		}
	}
	sealInherited()
	var rights []byte
	if Net(s.Net) != NetHost {
		if err := loopbackUp(); err != nil {
			return setupFailed(ctl, err)
		}
	}
	if Net(s.Net) == NetEgress {
		l, err := proxyListener()
		if err != nil {
			return setupFailed(ctl, err)
		}
		defer unix.Close(l)
		rights = unix.UnixRights(l)
	}
	if err := s.mount(); err != nil {
		return setupFailed(ctl, err)
	}
	if err := dropPrivileges(); err != nil {
		return setupFailed(ctl, err)
	}
	if err := sendMsg(ctl, boxMsg{Ready: true}, rights); err != nil {
		return 125
	}
	if s.Probe {
		return 0
	}
	// The init, which reports how the commands ended, is the last thing
	// the OOM killer should take when the run's memory runs out (this
	// needs CAP_SYS_RESOURCE, and is skipped without it).
	os.WriteFile(oomScoreFile, []byte("-1000"), 0)
	z := &zygote{ctl: ctl, user: s.User, pids: map[int]int{}, oomScore: readOOMScore()}
	return z.serve()
}

// oomScoreFile is the init's OOM score adjustment. A child inherits it
// at fork, so the init raises it for each fork and lowers it after.
const oomScoreFile = "/proc/self/oom_score_adj"

// commandOOMScore is every command's OOM score adjustment: code under
// test is the first thing the kernel kills, in its run's group and on
// the host. Had the commands kept the init's -1000, a step over its
// memory limit could be killed by no one and would hang in the kernel
// until its timeout, instead of failing at once. An init holding
// CAP_SYS_RESOURCE also makes 1000 the least the command may set; one
// without it passes on the least the service was given (0 unless its
// own parent chose lower).
const commandOOMScore = "1000"

// readOOMScore is the init's own adjustment, to return to after a fork
// (any process may go back down to what it was given).
func readOOMScore() []byte {
	b, err := os.ReadFile(oomScoreFile)
	if err != nil {
		return nil
	}
	return []byte(strings.TrimSpace(string(b)))
}

// setupFailed reports why the sandbox could not be made.
func setupFailed(ctl int, err error) int {
	sendMsg(ctl, boxMsg{Setup: err.Error()}, nil)
	return 125
}

// zygote is the init's life once the sandbox is made.
type zygote struct {
	ctl  int
	user *User
	mu   sync.Mutex
	pids map[int]int // a running command's pid to its id
	ids  map[int]int // and back
	// killed are commands the service killed before they were forked.
	killed map[int]bool
	// oomScore is the init's own OOM score adjustment (nil if unknown).
	oomScore []byte
}

// serve forks what the service asks for, on this thread, until the
// service hangs up.
func (z *zygote) serve() int {
	z.ids, z.killed = map[int]int{}, map[int]bool{}
	// Before the first fork: a SIGCHLD before Notify would be lost.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGCHLD)
	runs := make(chan boxRun)
	go z.read(runs)
	go z.reap(sigs)
	sys := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if z.user != nil {
		sys.Credential = credential(z.user)
	}
	for r := range runs {
		z.mu.Lock()
		pid, err := z.fork(r, sys)
		if err == nil {
			z.pids[pid], z.ids[r.ID] = r.ID, pid
			if z.killed[r.ID] {
				// Killed before it could be started.
				syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
		delete(z.killed, r.ID)
		z.mu.Unlock()
		for _, fd := range []int{r.stdin, r.stdout, r.stderr} {
			syscall.Close(fd)
		}
		if err != nil {
			sendMsg(z.ctl, boxMsg{ID: r.ID, Setup: fmt.Sprintf("start %s in %s: %v", r.Path, r.Dir, err)}, nil)
		}
	}
	return 0
}

// fork starts r's command with commandOOMScore.
func (z *zygote) fork(r boxRun, sys *syscall.SysProcAttr) (int, error) {
	if err := os.WriteFile(oomScoreFile, []byte(commandOOMScore), 0); err != nil {
		return 0, fmt.Errorf("set the OOM score it starts with: %w", err)
	}
	if z.oomScore != nil {
		defer os.WriteFile(oomScoreFile, z.oomScore, 0)
	}
	return syscall.ForkExec(r.Path, r.Args, &syscall.ProcAttr{Dir: r.Dir, Env: r.Env, Files: []uintptr{uintptr(r.stdin), uintptr(r.stdout), uintptr(r.stderr)}, Sys: sys})
}

// read takes the service's requests: a command to run, with its three
// descriptors, or one to kill. When the service hangs up, the sandbox
// ends: the init exits, and with it everything in its namespace.
func (z *zygote) read(runs chan<- boxRun) {
	buf := make([]byte, 1<<20)
	oob := make([]byte, syscall.CmsgSpace(3*4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(z.ctl, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || n == 0 {
			syscall.Exit(0)
		}
		var r boxRun
		if json.Unmarshal(buf[:n], &r) != nil {
			continue
		}
		fds := receivedFDs(oob[:oobn])
		if r.Kill {
			closeAll(fds)
			z.mu.Lock()
			if pid, ok := z.ids[r.ID]; ok {
				syscall.Kill(-pid, syscall.SIGKILL)
			} else {
				// Its fork is still to come.
				z.killed[r.ID] = true
			}
			z.mu.Unlock()
			continue
		}
		if len(fds) != 3 {
			closeAll(fds)
			sendMsg(z.ctl, boxMsg{ID: r.ID, Setup: "a command came without its descriptors"}, nil)
			continue
		}
		r.stdin, r.stdout, r.stderr = fds[0], fds[1], fds[2]
		runs <- r
	}
}

// reap waits for every child and reports the commands' ends.
func (z *zygote) reap(sigs <-chan os.Signal) {
	for range sigs {
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil || pid <= 0 {
				break
			}
			z.mu.Lock()
			id, ok := z.pids[pid]
			delete(z.pids, pid)
			delete(z.ids, id)
			z.mu.Unlock()
			if !ok {
				continue // an orphan, reaped
			}
			// What the command left running in its process group goes
			// with it; what left the group dies with the sandbox.
			syscall.Kill(-pid, syscall.SIGKILL)
			m := boxMsg{ID: id, Exited: true, Code: ws.ExitStatus()}
			if ws.Signaled() {
				m.Code, m.Signal = 0, int(ws.Signal())
			}
			sendMsg(z.ctl, m, nil)
		}
	}
}

func receivedFDs(oob []byte) []int {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for i := range msgs {
		if f, err := syscall.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, f...)
		}
	}
	return fds
}

func closeAll(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// Mount flags kept across a remount, from statfs's ST_* to MS_*.
var keptFlags = [][2]uintptr{
	{2, syscall.MS_NOSUID}, {4, syscall.MS_NODEV}, {8, syscall.MS_NOEXEC},
	{1024, syscall.MS_NOATIME}, {2048, syscall.MS_NODIRATIME}, {4096, syscall.MS_RELATIME},
}

func kept(path string) (uintptr, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, err
	}
	var flags uintptr
	for _, f := range keptFlags {
		if uintptr(st.Flags)&f[0] != 0 {
			flags |= f[1]
		}
	}
	return flags, nil
}

// remount sets path's mount read-only or read-write, keeping its other
// flags (dropping nosuid or nodev by omission would be a change).
func remount(path string, readOnly bool) error {
	flags, err := kept(path)
	if err != nil {
		return err
	}
	flags |= syscall.MS_REMOUNT | syscall.MS_BIND
	if readOnly {
		flags |= syscall.MS_RDONLY
	}
	if err := syscall.Mount("", path, "", flags, ""); err != nil {
		return fmt.Errorf("remount %s: %w", path, err)
	}
	return nil
}

func under(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// mountPoints lists this namespace's mount points.
func mountPoints() ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 {
			out = append(out, unescapeOctal(f[4]))
		}
	}
	return out, nil
}

// unescapeOctal undoes mountinfo's \040-style escapes.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// readOnlyTree makes every mount read-only: in one call where the kernel
// has mount_setattr (5.12), which also covers mounts a path cannot name,
// else mount by mount.
func readOnlyTree() error {
	attr := struct{ set, clr, propagation, userns uint64 }{set: mountAttrRdonly}
	root := []byte("/\x00")
	cwd := atFDCWD
	_, _, e := syscall.Syscall6(sysMountSetattr, uintptr(cwd), uintptr(unsafe.Pointer(&root[0])),
		atRecursive, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if e == 0 {
		return nil
	}
	if e != syscall.ENOSYS && e != syscall.EINVAL && e != syscall.EPERM {
		return fmt.Errorf("make / read-only: %w", e)
	}
	points, err := mountPoints()
	if err != nil {
		return err
	}
	for _, mp := range points {
		if under(mp, "/proc") || under(mp, "/dev") {
			continue
		}
		if err := remount(mp, true); err != nil && !errors.Is(err, syscall.ENOENT) {
			return err
		}
	}
	return nil
}

// devices are bound from the host's /dev into the sandbox's.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// mount builds the sandbox's view of the file system (see the package
// doc). Every source is opened before anything covers it.
func (s *initSpec) mount() error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	type op struct {
		path string
		kind byte // 't' fresh tmpfs, 'h' hidden, 'w' writable, 'r' read-only
		fd   int
	}
	ops := []op{{path: "/tmp", kind: 't'}}
	for _, p := range s.Hidden {
		ops = append(ops, op{path: p, kind: 'h'})
	}
	for kind, list := range map[byte][]string{'w': s.Writable, 'r': s.ReadOnly} {
		for _, p := range list {
			fd, err := syscall.Open(p, oPath|syscall.O_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("open %s: %w", p, err)
			}
			ops = append(ops, op{path: p, kind: kind, fd: fd})
		}
	}
	rank := map[byte]int{'t': 0, 'h': 1, 'w': 2, 'r': 3}
	sort.SliceStable(ops, func(i, j int) bool {
		di, dj := strings.Count(ops[i].path, "/"), strings.Count(ops[j].path, "/")
		if di != dj {
			return di < dj
		}
		return rank[ops[i].kind] < rank[ops[j].kind]
	})
	devFDs := map[string]int{}
	for _, d := range devices {
		if fd, err := syscall.Open("/dev/"+d, oPath|syscall.O_CLOEXEC, 0); err == nil {
			devFDs[d] = fd
		}
	}

	// Everything read-only, as the command will see it outside the paths
	// bound below. /proc and /dev are replaced whole.
	if err := readOnlyTree(); err != nil {
		return err
	}

	// A /proc of this namespace only, with what can change the kernel
	// read-only.
	if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	for _, p := range []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"} {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		if err := syscall.Mount(p, p, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s: %w", p, err)
		}
		if err := remount(p, true); err != nil {
			return err
		}
	}
	if err := mountDev(devFDs); err != nil {
		return err
	}

	var sealed []string
	for _, o := range ops {
		switch o.kind {
		case 't':
			if err := syscall.Mount("tmpfs", o.path, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=1777"); err != nil {
				return fmt.Errorf("mount a private %s: %w", o.path, err)
			}
		case 'h':
			if fi, err := os.Lstat(o.path); err == nil && !fi.IsDir() {
				// A file (a key, a config): an empty one in its place.
				if err := syscall.Mount("/dev/null", o.path, "", syscall.MS_BIND, ""); err != nil {
					return fmt.Errorf("hide %s: %w", o.path, err)
				}
				continue
			}
			if err := os.MkdirAll(o.path, 0o755); err != nil {
				if errors.Is(err, syscall.EROFS) {
					continue // not there, and nothing can put it there
				}
				return fmt.Errorf("hide %s: %w", o.path, err)
			}
			if err := syscall.Mount("tmpfs", o.path, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "mode=0755,size=1m"); err != nil {
				return fmt.Errorf("hide %s: %w", o.path, err)
			}
			sealed = append(sealed, o.path)
		case 'w', 'r':
			if err := os.MkdirAll(o.path, 0o755); err != nil {
				return fmt.Errorf("bind %s: %w", o.path, err)
			}
			if s.IDMapFD > 0 {
				if err := idmappedBind(o.fd, o.path, s.IDMapFD, o.kind == 'r'); err != nil {
					return err
				}
				syscall.Close(o.fd)
				continue
			}
			if err := syscall.Mount(fdPath(o.fd), o.path, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
				return fmt.Errorf("bind %s: %w", o.path, err)
			}
			if err := remount(o.path, o.kind == 'r'); err != nil {
				return err
			}
			syscall.Close(o.fd)
		}
	}
	for _, p := range sealed {
		if err := syscall.Mount("", p, "", syscall.MS_REMOUNT|syscall.MS_RDONLY|syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("seal %s: %w", p, err)
		}
	}
	return nil
}

// idmappedBind binds the tree at fd onto path through the build user's
// ID mapping (see IDMap), read-only or read-write. Only the top mount is
// taken: a file system mounted inside a build root is not the service's
// to hand over.
func idmappedBind(fd int, path string, userns int, readOnly bool) error {
	tree, err := unix.OpenTree(fd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("clone the mount of %s: %w", path, err)
	}
	defer syscall.Close(tree)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Attr_clr: unix.MOUNT_ATTR_RDONLY, Userns_fd: uint64(userns)}
	if readOnly {
		attr.Attr_set, attr.Attr_clr = unix.MOUNT_ATTR_IDMAP|unix.MOUNT_ATTR_RDONLY, 0
	}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return fmt.Errorf("map %s to the build user (idmapped mounts need Linux 5.12 and a file system that has them, such as ext4, xfs, btrfs or tmpfs): %w", path, err)
	}
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, path, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount %s for the build user: %w", path, err)
	}
	return nil
}

// loopbackUp brings up the new network namespace's lo, its only device.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up loopback: %w", err)
	}
	return nil
}

// proxyListener listens at EgressProxy inside the sandbox's network;
// the socket is handed to the service, which serves it from outside: the
// commands' one way out.
func proxyListener() (int, error) {
	l, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("proxy socket: %w", err)
	}
	unix.SetsockoptInt(l, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(l, &unix.SockaddrInet4{Port: egressPort, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(l)
		return -1, fmt.Errorf("proxy bind %s: %w", EgressProxy, err)
	}
	if err := unix.Listen(l, 128); err != nil {
		unix.Close(l)
		return -1, fmt.Errorf("proxy listen: %w", err)
	}
	return l, nil
}

// mountDev makes a /dev with only the harmless devices, a private shm
// and, when the kernel allows, a private devpts.
func mountDev(fds map[string]int) error {
	if err := syscall.Mount("tmpfs", "/dev", "tmpfs", syscall.MS_NOSUID|syscall.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	for name, fd := range fds {
		p := "/dev/" + name
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o666)
		if err != nil {
			return err
		}
		f.Close()
		if err := syscall.Mount(fdPath(fd), p, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s: %w", p, err)
		}
		syscall.Close(fd)
	}
	for link, to := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"} {
		if err := os.Symlink(to, filepath.Join("/dev", link)); err != nil {
			return err
		}
	}
	if err := os.Mkdir("/dev/shm", 0o1777); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", "/dev/shm", "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=1777"); err != nil {
		return fmt.Errorf("mount /dev/shm: %w", err)
	}
	if err := os.Mkdir("/dev/pts", 0o755); err != nil {
		return err
	}
	// Without it only programs that want a terminal fail; not worth
	// failing the step.
	syscall.Mount("devpts", "/dev/pts", "devpts", syscall.MS_NOSUID|syscall.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
	if err := syscall.Mount("", "/dev", "", syscall.MS_REMOUNT|syscall.MS_RDONLY|syscall.MS_NOSUID|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("seal /dev: %w", err)
	}
	return nil
}

// Linux prctl and capability constants the syscall package lacks.
const (
	oPath              = 0o10000000 // open a path without opening the file
	sysMountSetattr    = 442        // the same number on every architecture
	mountAttrRdonly    = 0x1
	atRecursive        = 0x8000
	atFDCWD            = -100
	prCapBSetDrop      = 24
	prSetNoNewPrivs    = 38
	prCapAmbient       = 47
	prCapAmbientClear  = 4
	capabilityVersion3 = 0x20080522
)

// dropPrivileges leaves the command no capability, even as root: none
// in the bounding set (so exec grants none), none inheritable or ambient,
// and no_new_privs, so no setuid program can bring any back. Without
// CAP_SYS_ADMIN it cannot undo a mount, nor with anything else reach the
// service or the kernel.
func dropPrivileges() error {
	for c := uintptr(0); c < 64; c++ {
		if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prCapBSetDrop, c, 0); e == syscall.EINVAL {
			break
		} else if e != 0 {
			return fmt.Errorf("drop capability %d: %w", c, e)
		}
	}
	syscall.RawSyscall6(syscall.SYS_PRCTL, prCapAmbient, prCapAmbientClear, 0, 0, 0, 0)
	hdr := struct {
		version uint32
		pid     int32
	}{version: capabilityVersion3}
	var data [2]struct{ effective, permitted, inheritable uint32 }
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPGET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capget: %w", e)
	}
	data[0].inheritable, data[1].inheritable = 0, 0
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0, 0, 0, 0); e != 0 {
		return fmt.Errorf("no_new_privs: %w", e)
	}
	return nil
}
