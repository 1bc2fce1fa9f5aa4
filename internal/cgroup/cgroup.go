// Package cgroup puts a run's processes in a control group of their own,
// with a memory, process and CPU limit, and says which limit they hit.
//
// It works on cgroup v2 (the unified hierarchy, where every controller
// lives) and on v1 (a hierarchy per controller, as hybrid hosts still
// mount memory and pids). Where neither can be written (an unprivileged
// service without a delegated subtree, a container with a read-only
// /sys/fs/cgroup), Open says why, and the caller decides whether to go
// on without limits.
//
// Why not a library: containerd's and runc's cgroup packages are built
// for container runtimes (systemd over D-Bus, statistics, devices,
// hugetlb) and bring dozens of modules; what a build needs is a
// directory, three limits, two counters and a kill, a few hundred lines
// of file writes the kernel documents.
package cgroup

// Limits bound one group's processes together; a zero field is no limit.
type Limits struct {
	// Memory is bytes of memory (page cache and tmpfs included).
	Memory int64
	// Pids is how many processes and threads may exist at once.
	Pids int64
	// CPU is how many CPUs' worth of time per second (1.5: one and a half).
	CPU float64
}

// DefaultPids is the process limit when none is configured: far above
// what a test suite starts, far below what takes a machine down.
const DefaultPids = 4096

// Defaults are the limits a run gets when its config sets none: half of
// the machine's memory and DefaultPids processes; CPU is shared.
func Defaults() Limits {
	return Limits{Memory: MachineMemory() / 2, Pids: DefaultPids}
}

// Counts are how often a group's processes ran into its limits.
type Counts struct {
	// OOMKills is how many processes the kernel killed for memory.
	OOMKills int64
	// PidsMax is how many forks were refused for the process limit.
	PidsMax int64
}
