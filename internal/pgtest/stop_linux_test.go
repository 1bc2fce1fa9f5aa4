package pgtest

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pids are the processes of a child's server, from its report.
func pids(t *testing.T, r report) (watchdog, postmaster int) {
	t.Helper()
	watchdog, err1 := strconv.Atoi(r["watchdog"])
	postmaster, err2 := strconv.Atoi(r["postmaster"])
	if err1 != nil || err2 != nil || r["root"] == "" {
		t.Fatalf("child reported %v, want the root, watchdog and postmaster of a server it started", r)
	}
	return watchdog, postmaster
}

// skipUnlessStarted skips the test when the child could not start a
// server, as DSN skips, and fails it where a server is required.
func skipUnlessStarted(t *testing.T, out []byte) {
	t.Helper()
	if bytes.Contains(out, []byte("--- SKIP: TestChild")) {
		if os.Getenv(envRequire) == "1" {
			t.Fatalf("child could not start a server:\n%s", out)
		}
		t.Skipf("child could not start a server:\n%s", out)
	}
}

// gone says whether no process has the pid: the child's server was its
// child's child, reaped by then.
func gone(pid int) bool {
	return errors.Is(unix.Kill(pid, 0), unix.ESRCH)
}

// A binary that runs its tests through Main has stopped its server and
// removed its directory by the time it exits.
func TestMainStopsTheServer(t *testing.T) {
	out, err := child("return").CombinedOutput()
	skipUnlessStarted(t, out)
	if err != nil {
		t.Fatalf("child failed (%v):\n%s", err, out)
	}
	r := parseReport(out)
	_, postmaster := pids(t, r)
	if !gone(postmaster) {
		t.Errorf("postmaster %d still runs after its test binary ended", postmaster)
	}
	if _, err := os.Stat(r["root"]); !os.IsNotExist(err) {
		t.Errorf("the server's directory %s is still there (%v)", r["root"], err)
	}
}

// A test binary killed mid-test takes its server with it: the watchdog
// sees the pipe from the binary close, stops the postmaster and removes
// its directory.
func TestKilledBinaryTakesTheServer(t *testing.T) {
	cmd := child("hold")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	// The child holds until its standard input ends; this end stays open
	// until the test ends, long after the kill.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var r report
	sc := bufio.NewScanner(stdout)
	for r == nil && sc.Scan() {
		out.Write(append(sc.Bytes(), '\n'))
		r = parseReport(sc.Bytes())
	}
	if r == nil {
		cmd.Wait()
		skipUnlessStarted(t, out.Bytes())
		t.Fatalf("child ended without a report:\n%s", out.Bytes())
	}
	watchdog, postmaster := pids(t, r)
	// Pidfds, taken while the child still holds the watchdog as its own,
	// so that they name these processes whatever pids are reused later.
	watchdogFD, err := unix.PidfdOpen(watchdog, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(watchdogFD)
	postmasterFD, err := unix.PidfdOpen(postmaster, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(postmasterFD)

	// Whatever fails below, no server is left behind: a fast shutdown
	// lets the watchdog, if it still runs, remove the directory.
	defer func() {
		if t.Failed() {
			unix.PidfdSendSignal(postmasterFD, unix.SIGINT, nil, 0)
			exits(t, postmasterFD, time.Minute)
			os.RemoveAll(r["root"])
			t.Logf("child said:\n%s", strings.TrimSpace(out.String()))
		}
	}()

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if !exits(t, watchdogFD, time.Minute) {
		t.Fatalf("watchdog %d still runs a minute after its test binary was killed", watchdog)
	}
	if !exits(t, postmasterFD, 0) {
		t.Errorf("postmaster %d outlived its watchdog", postmaster)
	}
	if _, err := os.Stat(r["root"]); !os.IsNotExist(err) {
		t.Errorf("the server's directory %s is still there (%v)", r["root"], err)
	}
}

// exits waits up to timeout for the process of a pidfd to exit, and says
// whether it has.
func exits(t *testing.T, fd int, timeout time.Duration) bool {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(timeout.Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
}
