package pgtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// childMode names what TestChild does in a copy of this test binary that
// a test below runs.
const childMode = "PGTEST_CHILD"

// TestChild is the test a child binary runs; on its own it does nothing.
// It reports on a line of its own starting "pgtest-child", and in mode
// hold waits for its standard input to end, which it never does: the
// test kills it.
func TestChild(t *testing.T) {
	mode := os.Getenv(childMode)
	switch mode {
	case "":
		t.Skip("run in a child binary by the tests of starting and stopping")
	case "nothing":
		// PATH is empty; this machine's Debian directories are hidden.
		binGlob = filepath.Join(t.TempDir(), "*", "bin")
	}
	dsn := DSN(t)
	if mode == "nothing" {
		t.Fatal("DSN returned with no server to be had")
	}
	var watchdog, postmaster int
	if c := shared.local; c != nil {
		watchdog = c.cmd.Process.Pid
		pidFile, err := os.ReadFile(filepath.Join(c.root, "data", "postmaster.pid"))
		if err != nil {
			t.Fatal(err)
		}
		postmaster, _ = strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
		fmt.Printf("pgtest-child root=%s watchdog=%d postmaster=%d db=%s\n", c.root, watchdog, postmaster, dbOf(t, dsn))
	} else {
		fmt.Printf("pgtest-child external db=%s\n", dbOf(t, dsn))
	}
	if mode == "hold" {
		io.Copy(io.Discard, os.Stdin)
	}
}

// child is a command that runs TestChild in mode in a copy of this
// binary, in an environment without this package's variables but for
// those in env.
func child(mode string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.v", "-test.count=1")
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != envServer && name != envRequire && name != childMode {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childMode+"="+mode)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// report is what a child said about its server: the fields of its
// "pgtest-child" line.
type report map[string]string

func parseReport(out []byte) report {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields, ok := strings.CutPrefix(sc.Text(), "pgtest-child ")
		if !ok {
			continue
		}
		r := report{}
		for _, f := range strings.Fields(fields) {
			k, v, _ := strings.Cut(f, "=")
			r[k] = v
		}
		return r
	}
	return nil
}

// With no server to start and none named, a test that asks for a
// database is skipped, and the skip says what is missing and how to get
// it.
func TestNoServerSkips(t *testing.T) {
	out, err := child("nothing", "PATH=").CombinedOutput()
	if err != nil {
		t.Fatalf("child failed (%v), want a skip:\n%s", err, out)
	}
	for _, want := range []string{"--- SKIP: TestChild", "initdb and postgres are neither on PATH nor in", "apt-get install postgresql", envServer} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("child's output lacks %q:\n%s", want, out)
		}
	}
}

// Where CI requires a server, having none fails the test with the same
// message instead of skipping it.
func TestNoServerFailsWhereRequired(t *testing.T) {
	out, err := child("nothing", "PATH=", envRequire+"=1").CombinedOutput()
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("child ended with %v, want a failure:\n%s", err, out)
	}
	for _, want := range []string{"--- FAIL: TestChild", "initdb and postgres are neither on PATH nor in", envServer, envRequire + "=1"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("child's output lacks %q:\n%s", want, out)
		}
	}
	if bytes.Contains(out, []byte("--- SKIP")) {
		t.Errorf("child skipped:\n%s", out)
	}
}

// A server named in the environment is used, not started: the child's
// database is on this binary's server, and dropped when the child's test
// ends.
func TestNamedServerIsUsed(t *testing.T) {
	DSN(t) // this binary's server, whichever it is
	out, err := child("external", envServer+"="+shared.base.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("child failed (%v):\n%s", err, out)
	}
	r := parseReport(out)
	if _, ok := r["external"]; !ok {
		t.Fatalf("child did not use the named server:\n%s", out)
	}
	var n int
	if err := shared.admin.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, r["db"]).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the child's database %s outlived its test", r["db"])
	}
}

// A named server that cannot be used fails the test, required or not:
// someone asked for it. The message does not repeat the password.
func TestBrokenNamedServerFails(t *testing.T) {
	for _, dsn := range []string{"postgres://u:hunter2@127.0.0.1:1/postgres?connect_timeout=5", "mysql://u:hunter2@127.0.0.1/x"} {
		out, err := child("external", envServer+"="+dsn).CombinedOutput()
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("%s: child ended with %v, want a failure:\n%s", dsn, err, out)
		}
		for _, want := range []string{"--- FAIL: TestChild", envServer, "unset " + envServer} {
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("%s: child's output lacks %q:\n%s", dsn, want, out)
			}
		}
		if bytes.Contains(out, []byte("hunter2")) {
			t.Errorf("%s: child's output shows the password:\n%s", dsn, out)
		}
	}
}
