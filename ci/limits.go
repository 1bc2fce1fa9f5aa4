package ci

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/provide-io/workspace-bot/internal/cgroup"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// watchEvery is how often a running run's limits are looked at: the
// disk's free space and the cgroup's counters. A step that writes a
// gigabyte a second takes 50 MB of the reserve in that time.
const watchEvery = 50 * time.Millisecond

// limitStop is why the runner stopped a run itself: its steps ran into
// a limit. It is the run's context's cause.
type limitStop struct {
	result lifecycle.Result // Failure for the run's own limits, Error for the disk
	msg    string
	disk   bool
}

func (e *limitStop) Error() string { return e.msg }

// cgroups is the process's cgroup manager.
func (r *Runner) cgroups() (*cgroup.Manager, error) { return cgroup.Open() }

// LimitsAvailable says whether runs can get a cgroup with limits here,
// or why not; serve says so at start-up and refuses fork builds without.
func LimitsAvailable() error {
	_, err := cgroup.Open()
	return err
}

// limitsFor decides a run's limits: the config's, over the defaults; ok
// is false (and the limits zero) when the run gets no cgroup, which it
// says in one line. A run that requires limits is refused when none can
// be made.
func (r *Runner) limitsFor(req Request, iso isolation, res *Result) (cgroup.Limits, error) {
	if !r.Confine {
		if req.RequireLimits {
			return cgroup.Limits{}, errors.New("this run requires resource limits and the runner has them turned off")
		}
		return cgroup.Limits{}, nil
	}
	m, err := r.cgroups()
	if err == nil && m.Version() == "v1" && !iso.isolate {
		err = errors.New("cgroup v1 groups are joined inside the sandbox, and steps run without one")
	}
	if err != nil {
		if req.RequireLimits {
			return cgroup.Limits{}, &RefusedError{Need: NeedLimits, Err: fmt.Errorf("untrusted code must run with memory and process limits, and no cgroup can be made here: %w", err)}
		}
		r.warn(res, "steps run without resource limits: "+err.Error())
		return cgroup.Limits{}, nil
	}
	l := cgroup.Defaults()
	c := req.Config.Workspace.CI.Limits
	if c.Memory > 0 {
		l.Memory = c.Memory
	}
	if c.Pids > 0 {
		l.Pids = c.Pids
	}
	if c.CPU > 0 {
		l.CPU = c.CPU
	}
	return l, nil
}

// cgroupFor makes the run's cgroup, or nil when it has no limits.
func (r *Runner) cgroupFor(l cgroup.Limits, iso *isolation) (*cgroup.Group, error) {
	if l == (cgroup.Limits{}) {
		return nil, nil
	}
	m, err := r.cgroups()
	if err != nil {
		return nil, err
	}
	g, err := m.New(l)
	if err != nil {
		return nil, inputErr(fmt.Sprintf("[workspace.ci].limits: %v", err))
	}
	iso.shown.Limits = limitWords(l)
	return g, nil
}

// watch stops the run (through stop) when its steps ran into a limit:
// the kernel killed one of them for memory, a fork was refused for the
// process limit, or the data dir's disk has less than DiskReserve free.
// The returned func stops watching, after a last look.
func (r *Runner) watch(ctx context.Context, stop context.CancelCauseFunc, g *cgroup.Group, dataDir string, rootInMemory bool) func() {
	watchDisk := r.DiskReserve > 0 && dataDir != ""
	if g == nil && !watchDisk {
		return func() {}
	}
	var base cgroup.Counts
	if g != nil {
		base = g.Counts()
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		every := r.WatchEvery
		if every <= 0 {
			every = watchEvery
		}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if why := r.overLimit(g, base, watchDisk, dataDir, rootInMemory); why != nil {
				stop(why)
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
		// A step that filled the disk and exited between two looks
		// still counts: what it left is removed with the run.
		if ctx.Err() == nil {
			if why := r.overLimit(g, base, watchDisk, dataDir, rootInMemory); why != nil {
				stop(why)
			}
		}
	}
}

// overLimit says which limit the run ran into, or nil.
func (r *Runner) overLimit(g *cgroup.Group, base cgroup.Counts, watchDisk bool, dataDir string, rootInMemory bool) *limitStop {
	if g != nil {
		c := g.Counts()
		if c.OOMKills > base.OOMKills {
			what := "the run's processes"
			if rootInMemory {
				what = "the run's processes and the files they wrote (an untrusted run's build root is in memory)"
			}
			return &limitStop{result: Failure, msg: fmt.Sprintf("out of memory: %s reached the memory limit of %s together, and the kernel killed a process (fix: raise [workspace.ci].limits.memory in wrknv.toml, or use less)", what, sizeWords(g.Limits.Memory))}
		}
		if c.PidsMax > base.PidsMax {
			return &limitStop{result: Failure, msg: fmt.Sprintf("too many processes: the run's steps reached the limit of %d processes and threads together, and a fork was refused (fix: raise [workspace.ci].limits.pids in wrknv.toml, or start fewer)", g.Limits.Pids)}
		}
	}
	if watchDisk {
		if free, ok := freeSpace(dataDir); ok && free < r.DiskReserve {
			return &limitStop{result: Error, disk: true, msg: fmt.Sprintf("the disk is full: the build left %s free on the data dir's disk (%s), less than the %s kept for webhook deliveries, and was stopped; what it wrote is removed (fix: give --data-dir a larger disk, or build less)", sizeWords(free), dataDir, sizeWords(r.DiskReserve))}
		}
	}
	return nil
}

// diskShort says whether the data dir's disk has less than DiskReserve
// free.
func (r *Runner) diskShort(dataDir string) bool {
	if r.DiskReserve <= 0 || dataDir == "" {
		return false
	}
	free, ok := freeSpace(dataDir)
	return ok && free < r.DiskReserve
}

// freeSpace is what the disk holding dir has free for an unprivileged
// writer.
func freeSpace(dir string) (int64, bool) {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}

// limitWords says limits as a reader wants them: "memory 4 GiB, 4096
// processes, 2 CPUs".
func limitWords(l cgroup.Limits) string {
	var parts []string
	if l.Memory > 0 {
		parts = append(parts, "memory "+sizeWords(l.Memory))
	}
	if l.Pids > 0 {
		parts = append(parts, strconv.FormatInt(l.Pids, 10)+" processes")
	}
	if l.CPU > 0 {
		parts = append(parts, strconv.FormatFloat(l.CPU, 'f', -1, 64)+" CPUs")
	}
	return strings.Join(parts, ", ")
}

// sizeWords prints a size in binary units, to one decimal.
func sizeWords(n int64) string {
	if n <= 0 {
		return "none"
	}
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	return strings.TrimSuffix(strconv.FormatFloat(f, 'f', 1, 64), ".0") + " " + units[i]
}
