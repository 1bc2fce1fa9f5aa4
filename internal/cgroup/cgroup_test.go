//go:build linux

package cgroup

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// manager is Open, or, where this machine cannot make groups, a check that
// it says why and what would help, then a skip naming it.
func manager(t *testing.T) *Manager {
	t.Helper()
	m, err := Open()
	if err != nil {
		if !strings.Contains(err.Error(), "fix:") && !strings.Contains(err.Error(), "no cgroup controller") {
			t.Errorf("Open's error names no fix: %v", err)
		}
		t.Skipf("no cgroup can be made here (the error was checked instead): %v", err)
	}
	return m
}

// inGroup runs script with sh in g, joined the way the sandbox's init
// joins: by the clone on v2, by writing "0" to each cgroup.procs on v1.
func inGroup(t *testing.T, g *Group, script string) (string, error) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", `for p in $PROCS; do echo 0 > "$p" || exit 99; done; `+script)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	if fd, ok := g.FD(); ok {
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	} else {
		cmd.Env = append(cmd.Env, "PROCS="+strings.Join(g.Procs(), " "))
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestLimitsHoldAndAreCounted: a group's process limit refuses forks and
// counts them, its memory limit has the kernel kill what passes it and
// counts that, and its processes show the group as theirs.
func TestLimitsHoldAndAreCounted(t *testing.T) {
	m := manager(t)
	g, err := m.New(Limits{Memory: 48 << 20, Pids: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	out, err := inGroup(t, g, `cat /proc/self/cgroup`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, d := range g.dirs {
		rel := strings.TrimPrefix(d, mountRoot)
		if m.Version() == "v1" {
			rel = "/" + strings.SplitN(strings.TrimPrefix(rel, "/"), "/", 2)[1]
		}
		if !strings.Contains(out, rel+"\n") {
			t.Errorf("the process is not in %s:\n%s", d, out)
		}
	}
	if c := g.Counts(); c != (Counts{}) {
		t.Fatalf("a new group counts %+v", c)
	}
	// Bounded doubling: 128 MiB, so that without the limit it would pass.
	out, err = inGroup(t, g, `x=a; for i in $(seq 27); do x=$x$x; done; echo done`)
	if err == nil || strings.Contains(out, "done") {
		t.Errorf("a 128 MiB string under a 48 MiB limit was made: %v %s", err, out)
	}
	if c := g.Counts(); c.OOMKills == 0 || c.PidsMax != 0 {
		t.Errorf("the kernel's kill was not counted, or only it: %+v", c)
	}
	if peak := g.PeakMemory(); peak < 16<<20 || peak > 48<<20 {
		t.Errorf("peak memory %d, want between 16 MiB and the 48 MiB limit", peak)
	}
	out, _ = inGroup(t, g, `for i in $(seq 64); do sleep 0.2 & done; wait`)
	if c := g.Counts(); c.PidsMax == 0 {
		t.Errorf("64 forks under a limit of 16 were not counted: %+v\n%s", c, out)
	}
}

// TestCloseKillsAndRemoves: what is still running in a group when it is
// closed is killed, and the group is gone.
func TestCloseKillsAndRemoves(t *testing.T) {
	m := manager(t)
	g, err := m.New(Limits{Pids: 64, CPU: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	dirs := []string{}
	for _, d := range g.dirs {
		dirs = append(dirs, d)
	}
	cpu := filepath.Join(g.dirs[""], "cpu.max")
	if m.Version() == "v1" {
		cpu = filepath.Join(g.dirs["cpu"], "cpu.cfs_quota_us")
	}
	if b, err := os.ReadFile(cpu); err != nil || !strings.HasPrefix(string(b), "50000") {
		t.Errorf("half a CPU is %q in %s: %v", b, cpu, err)
	}
	cmd := exec.Command("/bin/sh", "-c", `for p in $PROCS; do echo 0 > "$p"; done; sleep 3323 & sleep 3323`)
	if fd, ok := g.FD(); ok {
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	} else {
		cmd.Env = []string{"PROCS=" + strings.Join(g.Procs(), " ")}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	for i := 0; i < 500 && !strings.Contains(strings.Join(pidsIn(g), " "), " "); i++ {
		syscall.Nanosleep(&syscall.Timespec{Nsec: 10e6}, nil)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err == nil {
		t.Error("the group's process was not killed")
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s is still there", d)
		}
	}
}

func pidsIn(g *Group) []string {
	var out []string
	for _, p := range g.Procs() {
		b, _ := os.ReadFile(p)
		out = append(out, strings.Fields(string(b))...)
	}
	return out
}

// TestGroupsOfGoneServicesAreRemoved: a v2 service's groups carry its
// pid, so services sharing one delegated cgroup never take each other's
// names, and the empty groups of a service that is gone are removed
// when the next one opens; a live service's, or a group with processes
// in it (rmdir refuses), stay. Shown on a plain directory, as Open does
// it on the cgroup's.
func TestGroupsOfGoneServicesAreRemoved(t *testing.T) {
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	names := map[string]bool{ // name: kept
		"run-" + strconv.Itoa(gone.Process.Pid) + "-1": false,
		"run-" + strconv.Itoa(gone.Process.Pid) + "-7": false,
		"run-" + strconv.Itoa(os.Getpid()) + "-1":      true,
		"run-3":              true, // not a name of ours
		"workspace-bot.leaf": true,
	}
	for n := range names {
		if err := os.Mkdir(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	removeStaleRuns(dir)
	for n, kept := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); (err == nil) != kept {
			t.Errorf("%s: kept %v, want %v", n, err == nil, kept)
		}
	}
	if m, err := Open(); err == nil {
		g, err := m.New(Limits{Pids: 16})
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		for _, p := range g.Procs() {
			if !strings.Contains(p, "/run-"+strconv.Itoa(os.Getpid())+"-") {
				t.Errorf("a group's name does not carry the service's pid: %s", p)
			}
		}
	}
}
