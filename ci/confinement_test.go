//go:build linux

package ci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/sandbox"
	"github.com/provide-io/workspace-bot/internal/scripttest"
	"github.com/provide-io/workspace-bot/workspace"
)

// needRootSandbox skips what only a sandbox made by root can show; the
// refusals where none can be made are TestWithoutASandbox's.
func needRootSandbox(t *testing.T) {
	t.Helper()
	needSandbox(t)
	if os.Geteuid() != 0 {
		t.Skip("a throwaway uid needs the service to run as root; this test runs as uid", os.Geteuid())
	}
}

// rootSecret is a file only root may read, where the service was told of
// nothing: a deploy key, /etc/shadow, cloud credentials.
func rootSecret(t *testing.T) (path, content string) {
	t.Helper()
	// Not under /tmp: every step has a /tmp of its own.
	dir, err := os.MkdirTemp("/var/tmp", "root-keeps-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // the directory is open; the file is not
	content = fmt.Sprintf("deploy-key-%d", time.Now().UnixNano())
	path = filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, content
}

// TestThrowawayUserReadsNothingOfRoot reproduces the finding: an approved
// fork's test step printed uid 0 and read a root-owned 0600 file the
// service was never told about. Confined, the steps run as the throwaway
// uid: the file cannot be read, the root's home is an empty directory,
// and yet the build root is the step's to write, what it writes is
// root's on disk, and the next run's git uses the same warm root without
// a complaint about its owner. Unconfined (the defence off), the same
// step reads the file.
func TestThrowawayUserReadsNothingOfRoot(t *testing.T) {
	needRootSandbox(t)
	secret, content := rootSecret(t)
	f := newFixture(t)
	f.repo("alpha", nil)
	cfg := f.config(sib{name: "alpha"})
	cfg.Sibling("alpha").Setup = []string{`echo built > built.txt && mkdir -p .venv/bin && echo "$HOME" > "$HOME/where"`}
	cfg.Workspace.CI.Test = []string{`id -u; cat ` + secret + ` 2>&1; ls -A /root 2>&1 | head -3; echo "listed root"; cat ../alpha/built.txt`}

	r := f.runner()
	r.Confine = true
	res, err := r.Run(context.Background(), Request{Config: cfg, Trusted: true})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	log := stepsOf(res, "test", "")[0].Log
	if !strings.HasPrefix(log, fmt.Sprintf("%d\n", ThrowawayUID)) {
		t.Errorf("the step did not run as the throwaway uid:\n%s", log)
	}
	if strings.Contains(log, content) {
		t.Errorf("the step read root's file:\n%s", log)
	}
	if !strings.Contains(log, "listed root\nbuilt\n") {
		t.Errorf("/root is not empty to the step, or the setup's file is not there:\n%s", log)
	}
	var st syscall.Stat_t
	built := filepath.Join(res.BuildRoot, "alpha", "built.txt")
	if err := syscall.Stat(built, &st); err != nil || st.Uid != 0 {
		t.Errorf("what the step wrote is owned by uid %d on disk, want root's: %v", st.Uid, err)
	}
	if res.Isolation == nil || !strings.Contains(res.Isolation.Line(), "throwaway") {
		t.Errorf("the result does not say the steps ran as a throwaway uid: %+v", res.Isolation)
	}

	// The next run reuses the warm root: git checks it out again.
	f.commit("alpha", "main", "", map[string]string{"b.txt": "b\n"})
	res, err = r.Run(context.Background(), Request{Config: cfg, Trusted: true})
	if err != nil || res.Result != Success || res.Root != RootReused {
		t.Fatalf("second run: %v %s %+v", err, res.Root, res)
	}

	// The defence off: steps run as root without capabilities, and read it.
	plain := f.runner()
	res, err = plain.Run(context.Background(), Request{Config: cfg, Trusted: true})
	if err != nil || !strings.Contains(stepsOf(res, "test", "")[0].Log, content) {
		t.Errorf("unconfined, the step could not read the file, so this test shows nothing: %v\n%s", err, stepsOf(res, "test", "")[0].Log)
	}
}

// TestThrowawayUserFindsItsPython: the interpreter the default setup
// uses is one the throwaway uid can run, not the first on the service's
// PATH (a pyenv under /root, which the step cannot reach).
func TestThrowawayUserFindsItsPython(t *testing.T) {
	u := throwawayUser()
	dir := t.TempDir() // 0700, root's
	hidden := filepath.Join(dir, "python3")
	scripttest.Write(t, hidden, "#!/bin/sh\necho Python 3.99.0\n")
	if os.Geteuid() == 0 && canRun(hidden, u) {
		t.Fatalf("%s is reachable by uid %d through a 0700 directory", hidden, u.UID)
	}
	find := finder{path: stepPath(dir+":/usr/bin:/bin", u), user: u}
	if os.Geteuid() == 0 && strings.Contains(find.path, dir) {
		t.Errorf("the steps' PATH keeps %s, which the build user cannot reach: %s", dir, find.path)
	}
	if p, err := find.look("sh"); err != nil || !strings.HasPrefix(p, "/") {
		t.Errorf("sh: %q %v", p, err)
	}
}

// netProbe is a bash step that tries to reach addr directly and prints
// what happened.
func netProbe(label, addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf(`if timeout 5 bash -c 'exec 3<>/dev/tcp/%s/%s && printf "GET /%s HTTP/1.0\r\n\r\n" >&3 && cat <&3' 2>/dev/null | grep -q reached; then echo "%s: REACHED"; else echo "%s: unreachable"; fi`,
		host, port, label, label, label)
}

// TestUntrustedStepsReachNothingOfTheMachine reproduces the finding: an
// approved fork's test step reached the service's own port and another
// local service with HTTP 200, and would have reached the cloud metadata
// endpoint. Confined, an untrusted run's test steps have only their own
// loopback, and its setup steps go out through the egress proxy, which
// refuses loopback and link-local addresses and says so in the step's
// log, yet takes a step to an address it allows. A trusted run keeps the
// machine's network, which is how the same probe shows it would work.
func TestUntrustedStepsReachNothingOfTheMachine(t *testing.T) {
	needRootSandbox(t)
	if err := sandbox.NetworkAvailable(); err != nil {
		t.Fatalf("a sandbox can be made but not a network namespace: %v", err)
	}
	var hits atomic.Int64
	service := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "reached "+r.URL.Path+"\n")
	}))
	defer service.Close()
	addr := service.Listener.Addr().String()

	f := newFixture(t)
	f.repo("alpha", nil)
	cfg := f.config(sib{name: "alpha"})
	viaProxy := func(label, target string) string {
		return fmt.Sprintf(`out=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/3128 && printf "GET http://%s/%s HTTP/1.0\r\n\r\n" >&3 && cat <&3' 2>&1); case "$out" in *reached*) echo "%s: REACHED";; *) echo "%s: $(echo "$out" | head -1)";; esac`,
			target, label, label, label)
	}
	cfg.Sibling("alpha").Setup = []string{netProbe("setup-direct", addr) + "; " + viaProxy("setup-proxy", addr) + "; " + viaProxy("setup-metadata", "169.254.169.254:80") + "; " + viaProxy("setup-allowed", "allowed.test:80")}
	cfg.Workspace.CI.Test = []string{netProbe("test-direct", addr) + "; " + netProbe("test-metadata", "169.254.169.254:80") + "; " + viaProxy("test-proxy", addr)}

	r := f.runner()
	r.Confine = true
	res, err := r.Run(context.Background(), Request{Config: cfg})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	setup, test := stepsOf(res, "setup", "alpha")[0].Log, stepsOf(res, "test", "")[0].Log
	for _, want := range []string{"setup-direct: unreachable", "setup-proxy: HTTP/1.1 403 Forbidden", "setup-metadata: HTTP/1.1 403 Forbidden",
		"[egress: refused GET " + addr + ": " + addr + " is a loopback address", "[egress: refused GET 169.254.169.254:80: 169.254.169.254:80 is a link-local address"} {
		if !strings.Contains(setup, want) {
			t.Errorf("setup log lacks %q:\n%s", want, setup)
		}
	}
	for _, want := range []string{"test-direct: unreachable", "test-metadata: unreachable", "test-proxy: "} {
		if !strings.Contains(test, want) {
			t.Errorf("test log lacks %q:\n%s", want, test)
		}
	}
	if strings.Contains(setup+test, "REACHED") || hits.Load() != 0 {
		t.Errorf("an untrusted step reached the local service (%d requests):\n%s\n%s", hits.Load(), setup, test)
	}
	if res.Isolation == nil || res.Isolation.SetupNetwork != "egress" || res.Isolation.TestNetwork != "isolated" {
		t.Errorf("the result says %+v", res.Isolation)
	}

	// The proxy does take a step where it may go.
	ap := netip.MustParseAddrPort(addr)
	r.EgressAllow = []netip.AddrPort{ap}
	cfg.Sibling("alpha").Setup = []string{viaProxy("setup-allowed", addr)}
	res, err = r.Run(context.Background(), Request{Config: cfg})
	if err != nil || !strings.Contains(stepsOf(res, "setup", "alpha")[0].Log, "setup-allowed: REACHED") {
		t.Fatalf("the proxy did not take the step to an allowed address: %v\n%s", err, stepsOf(res, "setup", "alpha")[0].Log)
	}

	// A trusted run has the machine's network: the probe itself works.
	hits.Store(0)
	cfg.Sibling("alpha").Setup = []string{"true"}
	res, err = r.Run(context.Background(), Request{Config: cfg, Trusted: true})
	if err != nil || !strings.Contains(stepsOf(res, "test", "")[0].Log, "test-direct: REACHED") || hits.Load() == 0 {
		t.Errorf("a trusted step could not reach the local service, so the probe shows nothing: %v\n%s", err, stepsOf(res, "test", "")[0].Log)
	}
}

// limitsOr skips to the refusal where no cgroup can be made here: an
// untrusted run that requires limits is refused before anything is
// fetched, naming why.
func limitsOr(t *testing.T) {
	t.Helper()
	needRootSandbox(t)
	err := LimitsAvailable()
	if err == nil {
		return
	}
	f := newFixture(t)
	f.repo("alpha", nil)
	r := f.runner()
	r.Confine = true
	res, rerr := r.Run(context.Background(), Request{Config: f.config(sib{name: "alpha"}), RequireLimits: true})
	if rerr == nil || res.Result != Error || !strings.Contains(rerr.Error(), "no cgroup can be made") || f.requests.Load() != 0 {
		t.Fatalf("where no cgroup can be made (%v), a run that requires limits: %v %+v", err, rerr, res)
	}
	t.Skipf("no cgroup can be made here, so the limit cannot be shown; the refusal was checked instead: %v", err)
}

// limitedRun runs an untrusted test step under limits, confined; where
// no cgroup can be made it checks the refusal and skips.
func limitedRun(t *testing.T, l workspace.Limits, test string) (*Result, error) {
	t.Helper()
	limitsOr(t)
	f := newFixture(t)
	f.repo("alpha", nil)
	cfg := f.config(sib{name: "alpha"})
	cfg.Workspace.CI.Limits = l
	cfg.Workspace.CI.Test = []string{test}
	r := f.runner()
	r.Confine = true
	return r.Run(context.Background(), Request{Config: cfg})
}

// TestForkBombEndsTheRun: a step that starts processes without end is
// stopped at the run's process limit, with a failure naming the limit
// and where to raise it, and nothing it started is left.
func TestForkBombEndsTheRun(t *testing.T) {
	start := time.Now()
	sleep := ownSleep(317, 1)
	res, err := limitedRun(t, workspace.Limits{Pids: 128}, `for i in $(seq 2000); do `+sleep+` & done; wait`)
	if err != nil || res.Result != Failure || !strings.Contains(res.Error, "too many processes") || !strings.Contains(res.Error, "limits.pids") {
		t.Fatalf("%v %s: %s", err, res.Result, res.Error)
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("the run took %s: the limit did not end it", d)
	}
	if log := stepsOf(res, "test", "")[0].Log; !strings.Contains(log, "stopped: too many processes") {
		t.Errorf("the step's log does not say why it stopped:\n%s", tail(log, 500))
	}
	if left := stillRunning(sleep); len(left) > 0 {
		t.Errorf("processes outlived the run: %v", left)
	}
}

// TestAllocationEndsTheRun: a step that allocates past the run's memory
// limit is killed by the kernel, and the run fails saying so.
func TestAllocationEndsTheRun(t *testing.T) {
	// Doubling a string to 256 MiB (512 with its copy): bounded, so that
	// without the limit it would pass, not take the machine.
	res, err := limitedRun(t, workspace.Limits{Memory: 64 << 20}, `x=a; for i in $(seq 28); do x=$x$x; done; echo "allocated ${#x}"`)
	if err != nil || res.Result != Failure || !strings.Contains(res.Error, "out of memory") || !strings.Contains(res.Error, "64 MiB") || !strings.Contains(res.Error, "limits.memory") {
		t.Fatalf("%v %s: %s\n%s", err, res.Result, res.Error, stepsOf(res, "test", "")[0].Log)
	}
	if res.Isolation == nil || !strings.Contains(res.Isolation.Limits, "memory 64 MiB") {
		t.Errorf("the result's limits: %+v", res.Isolation)
	}
}

// TestDiskFillStopsTheRun gives the runner a data dir on a 64 MiB file
// system with 24 MiB kept free, and a trusted run (its warm root on that
// disk) whose step writes 60 MiB into the build root and holds it: the
// run is stopped with an error saying the disk is full, and what the
// step wrote is gone when Run returns.
func TestDiskFillStopsTheRun(t *testing.T) {
	dataDir, cfg := smallDiskWorkspace(t)
	cfg.Workspace.CI.Test = []string{`dd if=/dev/zero of=fill bs=1M count=60 2>&1 | tail -1; sleep 30; echo held`}
	r := &Runner{DataDir: dataDir, Confine: true, DiskReserve: 24 << 20}
	res, err := r.Run(context.Background(), Request{Config: cfg, Trusted: true})
	if err != nil || res.Result != Error || !strings.Contains(res.Error, "the disk is full") || !strings.Contains(res.Error, "24 MiB") {
		t.Fatalf("%v %s: %s", err, res.Result, res.Error)
	}
	if strings.Contains(stepsOf(res, "test", "")[0].Log, "held") {
		t.Error("the step went on holding the disk")
	}
	if free := freeOn(dataDir); free < 40<<20 {
		t.Errorf("%d MiB free after the run: what the step wrote is still there", free>>20)
	}
}

// TestDiskFilledWhileStoppedForAnotherReason: the service stops a run
// (its log could not be stored on the full disk) before the runner's own
// look at the disk: what the step wrote still goes when Run returns, so
// the disk does not stay full until the warm root is next used.
func TestDiskFilledWhileStoppedForAnotherReason(t *testing.T) {
	dataDir, cfg := smallDiskWorkspace(t)
	cfg.Workspace.CI.Test = []string{`dd if=/dev/zero of=fill bs=1M count=60 2>&1 | tail -1; echo filled-$((1+1)); sleep 30; echo held`}
	// The runner does not look at the disk during the run; the final
	// look after the steps is skipped for a run stopped from outside.
	r := &Runner{DataDir: dataDir, Confine: true, DiskReserve: 24 << 20, WatchEvery: time.Hour}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	// The mark is printed, not in the command the log shows.
	out := &cancelOn{mark: "filled-2", cancel: func() { cancel(errors.New("the run's log could not be stored")) }}
	res, err := r.Run(ctx, Request{Config: cfg, Trusted: true, Output: out})
	if err != nil || res.Result == Success {
		t.Fatalf("%v %s: %s", err, res.Result, res.Error)
	}
	if !out.seen() {
		t.Fatalf("the step never said it filled the disk:\n%s", stepsOf(res, "test", "")[0].Log)
	}
	if free := freeOn(dataDir); free < 40<<20 {
		t.Errorf("%d MiB free after the run: what the step wrote is still there", free>>20)
	}
}

// smallDiskWorkspace is a one-sibling workspace whose runner's data dir
// is a 64 MiB file system, for runs that fill it.
func smallDiskWorkspace(t *testing.T) (dataDir string, cfg *workspace.Config) {
	t.Helper()
	needRootSandbox(t)
	dataDir = smallDisk(t, 64)
	f := newFixture(t)
	f.repo("alpha", nil)
	return dataDir, f.config(sib{name: "alpha"})
}

// cancelOn is a run's output that calls cancel once mark appears in it.
type cancelOn struct {
	mu     sync.Mutex
	buf    strings.Builder
	mark   string
	cancel func()
	done   bool
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if !c.done && strings.Contains(c.buf.String(), c.mark) {
		c.done = true
		c.cancel()
	}
	return len(p), nil
}

func (c *cancelOn) seen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done
}

// TestUntrustedFillStaysInMemory: an untrusted run's build root is a
// tmpfs within its memory limit, so a step that writes more than the
// data dir's disk holds never touches that disk: it runs out of room, or
// memory, in its own root.
func TestUntrustedFillStaysInMemory(t *testing.T) {
	limitsOr(t)
	dataDir := smallDisk(t, 64)
	f := newFixture(t)
	f.repo("alpha", nil)
	cfg := f.config(sib{name: "alpha"})
	cfg.Workspace.CI.Limits = workspace.Limits{Memory: 96 << 20}
	cfg.Workspace.CI.Test = []string{`df -P . | tail -1 | awk '{print "root on", $1}'; dd if=/dev/zero of=fill bs=1M count=200 2>&1 | tail -1; exit 1`}
	out := &strings.Builder{}
	r := &Runner{DataDir: dataDir, Confine: true, DiskReserve: 24 << 20}
	res, err := r.Run(context.Background(), Request{Config: cfg, Output: out})
	if err != nil || res.Result != Failure || strings.Contains(res.Error, "disk is full") {
		t.Fatalf("%v %s: %s\n%s", err, res.Result, res.Error, stepsOf(res, "test", "")[0].Log)
	}
	if log := stepsOf(res, "test", "")[0].Log; !strings.Contains(log, "root on tmpfs") {
		t.Errorf("the untrusted run's root is not a tmpfs:\n%s", log)
	}
	if !strings.Contains(out.String(), "the build root is in memory") {
		t.Errorf("the run's log does not say where its root is:\n%s", tail(out.String(), 1000))
	}
	if free := freeOn(dataDir); free < 40<<20 {
		t.Errorf("%d MiB free on the data dir's disk after the run", free>>20)
	}
}

// smallDisk mounts a tmpfs of mib MiB for a data dir.
func smallDisk(t *testing.T, mib int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%dm", mib)); err != nil {
		t.Fatalf("mount a tmpfs as root: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

func freeOn(dir string) int64 {
	var st syscall.Statfs_t
	syscall.Statfs(dir, &st)
	return int64(st.Bavail) * st.Bsize
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
