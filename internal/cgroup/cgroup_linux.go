package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// MachineMemory is the machine's memory in bytes (0 when unknown).
func MachineMemory() int64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

// Manager makes groups under the part of the hierarchy this process may
// write.
type Manager struct {
	// unified is the v2 directory groups are made in; "" on v1.
	unified string
	// v1 maps each v1 controller in use to the directory groups are made in.
	v1 map[string]string
	n  atomic.Int64
}

// Version says which hierarchy the manager writes: "v2" or "v1".
func (m *Manager) Version() string {
	if m.unified != "" {
		return "v2"
	}
	return "v1"
}

const (
	mountRoot       = "/sys/fs/cgroup"
	cgroup2Magic    = 0x63677270
	serviceLeafName = "service"
)

var (
	openOnce sync.Once
	opened   *Manager
	openErr  error
)

// Open finds where this process can make groups with memory and pids
// limits, or says why it cannot and what would let it. It looks once: on
// v2 it may move this process to a leaf of its own cgroup.
func Open() (*Manager, error) {
	openOnce.Do(func() { opened, openErr = open() })
	return opened, openErr
}

func open() (*Manager, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(mountRoot, &st); err != nil {
		return nil, fmt.Errorf("no cgroup file system at %s: %w", mountRoot, err)
	}
	if st.Type == cgroup2Magic {
		return openUnified(mountRoot)
	}
	return openV1()
}

// ownPaths reads /proc/self/cgroup: hierarchy controllers ("" for v2)
// to this process's path in it.
func ownPaths() (map[string]string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out, nil
}

func openUnified(mount string) (*Manager, error) {
	own, err := ownPaths()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(mount, own[""])
	have := fieldSet(readString(filepath.Join(dir, "cgroup.controllers")))
	var missing []string
	for _, c := range []string{"memory", "pids"} {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the cgroup v2 controllers %s are not available in %s (fix: run serve as root, or under systemd with Delegate=yes)", strings.Join(missing, " and "), dir)
	}
	enable := "+memory +pids"
	if have["cpu"] {
		enable += " +cpu"
	}
	err = writeFile(filepath.Join(dir, "cgroup.subtree_control"), enable)
	if errors.Is(err, syscall.EBUSY) {
		// A cgroup with processes of its own cannot hand controllers to
		// its children: this process moves to a leaf of its own first,
		// as a delegated service is meant to.
		leaf := filepath.Join(dir, serviceLeafName)
		if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, delegationErr(dir, err)
		}
		if err := writeFile(filepath.Join(leaf, "cgroup.procs"), strconv.Itoa(os.Getpid())); err != nil {
			return nil, delegationErr(dir, err)
		}
		err = writeFile(filepath.Join(dir, "cgroup.subtree_control"), enable)
	}
	if err != nil {
		return nil, delegationErr(dir, err)
	}
	removeStaleRuns(dir)
	return &Manager{unified: dir}, nil
}

// removeStaleRuns removes the v2 groups of services that are gone (a
// service killed before it could remove them); one with processes still
// in it is busy and stays.
func removeStaleRuns(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "run-")
		pid, _, hasPid := strings.Cut(rest, "-")
		if !ok || !hasPid || !e.IsDir() {
			continue
		}
		if n, err := strconv.Atoi(pid); err != nil || syscall.Kill(n, 0) == nil {
			continue
		}
		syscall.Rmdir(filepath.Join(dir, e.Name()))
	}
}

func delegationErr(dir string, err error) error {
	if errors.Is(err, syscall.EBUSY) {
		return fmt.Errorf("cannot enable controllers in %s: other processes share its cgroup (fix: run serve in a cgroup of its own, such as a systemd service with Delegate=yes)", dir)
	}
	return fmt.Errorf("cannot make cgroups in %s: %w (fix: run serve as root, or under systemd with Delegate=yes)", dir, err)
}

// v1Mounts finds each v1 controller's mount point.
func v1Mounts() (map[string]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options... - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 || qf[0] != "cgroup" {
			continue
		}
		for _, opt := range strings.Split(qf[2], ",") {
			if _, seen := out[opt]; !seen {
				out[opt] = pf[4]
			}
		}
	}
	return out, sc.Err()
}

func openV1() (*Manager, error) {
	mounts, err := v1Mounts()
	if err != nil {
		return nil, err
	}
	own, err := ownPaths()
	if err != nil {
		return nil, err
	}
	m := &Manager{v1: map[string]string{}}
	for _, c := range []string{"memory", "pids", "cpu"} {
		mp, ok := mounts[c]
		if !ok {
			if c == "cpu" {
				continue
			}
			return nil, fmt.Errorf("no cgroup controller %s is mounted (neither cgroup v2 nor a v1 %s hierarchy under %s)", c, c, mountRoot)
		}
		parent := filepath.Join(mp, own[c])
		removeStale(parent)
		dir := filepath.Join(parent, "workspace-bot."+strconv.Itoa(os.Getpid()))
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("cannot make a cgroup in %s: %w (fix: run serve as root)", parent, err)
		}
		m.v1[c] = dir
	}
	return m, nil
}

// removeStale removes the v1 parents of services that are gone; one with
// processes still in it is busy and stays.
func removeStale(parent string) {
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		pid, ok := strings.CutPrefix(e.Name(), "workspace-bot.")
		if !ok || !e.IsDir() {
			continue
		}
		if n, err := strconv.Atoi(pid); err == nil && syscall.Kill(n, 0) == nil {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		runs, _ := os.ReadDir(dir)
		for _, r := range runs {
			if r.IsDir() {
				syscall.Rmdir(filepath.Join(dir, r.Name()))
			}
		}
		syscall.Rmdir(dir)
	}
}

// Group is one run's control group.
type Group struct {
	Limits Limits
	dirs   map[string]string // controller ("" for v2) to directory
	fd     int               // the v2 directory, for CLONE_INTO_CGROUP; -1 on v1
}

// New makes a group with limits l.
func (m *Manager) New(l Limits) (*Group, error) {
	// On v2 every service in one delegated cgroup (replicas on one host,
	// a restart after a kill that left empty groups) makes its groups in
	// the same directory: the pid keeps their names apart.
	name := "run-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(m.n.Add(1), 10)
	g := &Group{Limits: l, dirs: map[string]string{}, fd: -1}
	fail := func(err error) (*Group, error) {
		g.Close()
		return nil, err
	}
	if m.unified != "" {
		dir := filepath.Join(m.unified, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("make cgroup %s: %w", dir, err)
		}
		g.dirs[""] = dir
		if l.Memory > 0 {
			if err := writeFile(filepath.Join(dir, "memory.max"), strconv.FormatInt(l.Memory, 10)); err != nil {
				return fail(err)
			}
			// Swap would let a run go on past its limit, slowly, instead
			// of ending.
			writeFile(filepath.Join(dir, "memory.swap.max"), "0")
		}
		if l.Pids > 0 {
			if err := writeFile(filepath.Join(dir, "pids.max"), strconv.FormatInt(l.Pids, 10)); err != nil {
				return fail(err)
			}
		}
		if l.CPU > 0 {
			if err := writeFile(filepath.Join(dir, "cpu.max"), fmt.Sprintf("%d 100000", int64(l.CPU*100000))); err != nil {
				return fail(fmt.Errorf("%w (the cpu controller may not be delegated here: leave limits.cpu unset)", err))
			}
		}
		fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return fail(err)
		}
		g.fd = fd
		return g, nil
	}
	for c, parent := range m.v1 {
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fail(fmt.Errorf("make cgroup %s: %w", dir, err))
		}
		g.dirs[c] = dir
	}
	if l.Memory > 0 {
		d := g.dirs["memory"]
		if err := writeFile(filepath.Join(d, "memory.limit_in_bytes"), strconv.FormatInt(l.Memory, 10)); err != nil {
			return fail(err)
		}
		if _, err := os.Stat(filepath.Join(d, "memory.memsw.limit_in_bytes")); err == nil {
			writeFile(filepath.Join(d, "memory.memsw.limit_in_bytes"), strconv.FormatInt(l.Memory, 10))
		}
	}
	if l.Pids > 0 {
		if err := writeFile(filepath.Join(g.dirs["pids"], "pids.max"), strconv.FormatInt(l.Pids, 10)); err != nil {
			return fail(err)
		}
	}
	if l.CPU > 0 {
		d, ok := g.dirs["cpu"]
		if !ok {
			return fail(errors.New("no cpu controller is mounted here: leave limits.cpu unset"))
		}
		if err := writeFile(filepath.Join(d, "cpu.cfs_period_us"), "100000"); err != nil {
			return fail(err)
		}
		if err := writeFile(filepath.Join(d, "cpu.cfs_quota_us"), strconv.FormatInt(int64(l.CPU*100000), 10)); err != nil {
			return fail(err)
		}
	}
	return g, nil
}

// FD is the v2 group's directory, for starting a process in it
// (CLONE_INTO_CGROUP); ok is false on v1.
func (g *Group) FD() (fd int, ok bool) { return g.fd, g.fd >= 0 }

// Procs are the files a process writes "0" to, to join the group: on v1,
// one per controller; on v2, the one.
func (g *Group) Procs() []string {
	var out []string
	for _, d := range g.dirs {
		out = append(out, filepath.Join(d, "cgroup.procs"))
	}
	sort.Strings(out)
	return out
}

// Counts reads the group's counters.
func (g *Group) Counts() Counts {
	var c Counts
	if d, ok := g.dirs[""]; ok {
		c.OOMKills = counter(filepath.Join(d, "memory.events"), "oom_kill")
		c.PidsMax = counter(filepath.Join(d, "pids.events"), "max")
		return c
	}
	if d, ok := g.dirs["memory"]; ok {
		c.OOMKills = counter(filepath.Join(d, "memory.oom_control"), "oom_kill")
	}
	if d, ok := g.dirs["pids"]; ok {
		c.PidsMax = counter(filepath.Join(d, "pids.events"), "max")
	}
	return c
}

// PeakMemory is the most memory the group's processes held at once, in
// bytes (0 where the kernel does not say).
func (g *Group) PeakMemory() int64 {
	if d, ok := g.dirs[""]; ok {
		n, _ := strconv.ParseInt(strings.TrimSpace(readString(filepath.Join(d, "memory.peak"))), 10, 64)
		return n
	}
	if d, ok := g.dirs["memory"]; ok {
		n, _ := strconv.ParseInt(strings.TrimSpace(readString(filepath.Join(d, "memory.max_usage_in_bytes"))), 10, 64)
		return n
	}
	return 0
}

// Kill kills every process in the group.
func (g *Group) Kill() {
	if d, ok := g.dirs[""]; ok {
		if writeFile(filepath.Join(d, "cgroup.kill"), "1") == nil {
			return
		}
	}
	// Without cgroup.kill (v1, kernels before 5.14): kill what is there
	// until nothing is; forks are bounded by pids.max.
	for i := 0; i < 100; i++ {
		found := false
		for _, p := range g.Procs() {
			for _, f := range strings.Fields(readString(p)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
					syscall.Kill(pid, syscall.SIGKILL)
					found = true
				}
			}
		}
		if !found {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// Close kills what is left in the group and removes it.
func (g *Group) Close() error {
	if g.fd >= 0 {
		syscall.Close(g.fd)
		g.fd = -1
	}
	if len(g.dirs) == 0 {
		return nil
	}
	g.Kill()
	var last error
	// A killed process leaves its group once it has exited, which may
	// take a moment after the signal.
	for deadline := time.Now().Add(5 * time.Second); ; {
		last = nil
		for c, d := range g.dirs {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
				last = fmt.Errorf("remove cgroup %s: %w", d, err)
				continue
			}
			delete(g.dirs, c)
		}
		if last == nil || time.Now().After(deadline) {
			return last
		}
		g.Kill()
		time.Sleep(5 * time.Millisecond)
	}
}

// counter reads "key N" from a flat-keyed file such as memory.events.
func counter(path, key string) int64 {
	for _, line := range strings.Split(readString(path), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

func readString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func fieldSet(s string) map[string]bool {
	out := map[string]bool{}
	for _, f := range strings.Fields(s) {
		out[f] = true
	}
	return out
}

// writeFile writes a control file in one write, as the kernel wants.
func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(value))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", bytes.TrimSpace([]byte(value)), path, err)
	}
	return nil
}
