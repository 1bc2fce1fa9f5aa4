package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/sandboxtest"
)

// needSandbox skips what can only be shown with namespaces; the fallback
// path is tested wherever they are missing (TestWithoutNamespaces).
func needSandbox(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("no sandbox on this machine, so isolation cannot be shown here (TestWithoutNamespaces covers it): %v", err)
	}
}

// run runs script with sh in a sandbox (or not) and returns its output
// and Wait's error.
func run(t *testing.T, s Spec, script string) (string, error) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	s.Path, s.Args = "/bin/sh", []string{"sh", "-c", script}
	if s.Env == nil {
		s.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	}
	if s.Dir == "" {
		s.Dir = "/"
	}
	s.Stdout, s.Stderr = out, out
	p, err := Start(s)
	if err != nil {
		return "", err
	}
	err = p.Wait()
	b, _ := os.ReadFile(out.Name())
	return string(b), err
}

// running lists the host's processes whose command line contains s.
func running(s string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		zombie := false
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 {
			f := strings.Fields(string(stat[i+1:]))
			zombie = len(f) > 0 && f[0] == "Z"
		}
		if !zombie && strings.Contains(strings.ReplaceAll(string(cmd), "\x00", " "), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// gone waits up to two seconds for no process to match s.
func gone(s string) bool {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if len(running(s)) == 0 {
			return true
		}
	}
	return false
}

// TestServiceInvisible: walking up its parents, a command finds only its
// sandbox's init, and the service's process does not exist for it.
func TestServiceInvisible(t *testing.T) {
	needSandbox(t)
	out, err := run(t, Spec{Isolate: true, Env: []string{"PATH=/usr/bin:/bin", "SERVICE=" + strconv.Itoa(os.Getpid())}}, `
		p=$$
		while [ "$p" -gt 0 ]; do echo "ancestor $p"; p=$(awk '/^PPid/{print $2}' /proc/$p/status); done
		test -e /proc/$SERVICE && echo "service visible"
		ls /proc | grep -c '^[0-9]' | sed 's/^/processes /'`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, "service visible") || !strings.Contains(out, "ancestor 1\n") || strings.Count(out, "ancestor") != 2 {
		t.Errorf("the command saw beyond its sandbox:\n%s", out)
	}
}

// TestNothingOutlivesTheCommand: a daemon that left the process group
// with setsid dies when the command exits, and when it is killed.
func TestNothingOutlivesTheCommand(t *testing.T) {
	needSandbox(t)
	if out, err := run(t, Spec{Isolate: true}, "setsid "+ownSleep(311)+" & sleep 0.2"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !gone(ownSleep(311)) {
		t.Errorf("a setsid daemon outlived its command: %v", running(ownSleep(311)))
	}

	out, _ := os.Create(filepath.Join(t.TempDir(), "out"))
	defer out.Close()
	p, err := Start(Spec{Isolate: true, Path: "/bin/sh", Args: []string{"sh", "-c", "setsid " + ownSleep(312) + " & sleep 300"},
		Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/", Stdout: out, Stderr: out})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); len(running(ownSleep(312))) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the daemon never started")
		}
	}
	p.Kill()
	var ee *ExitError
	if err := p.Wait(); !errors.As(err, &ee) || ee.Signal != syscall.SIGKILL {
		t.Errorf("Wait after Kill: %v", err)
	}
	if !gone(ownSleep(312)) {
		t.Errorf("a setsid daemon outlived Kill: %v", running(ownSleep(312)))
	}
}

// TestHelperProcess is not a test: other tests run this binary as a
// helper through it (see helper).
func TestHelperProcess(t *testing.T) {
	switch os.Getenv("SANDBOX_TEST_HELPER") {
	case "serve":
		// A stand-in for the service: start a sandboxed step, say so,
		// and wait to be killed.
		p, err := Start(Spec{Isolate: true, Path: "/bin/sh", Args: []string{"sh", "-c", "setsid " + ownSleep(313) + " & " + ownSleep(315)},
			Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/", Stdout: os.Stderr, Stderr: os.Stderr})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("started")
		p.Wait()
		os.Exit(0)
	case "denied":
		if err := sandboxtest.DenyNamespaces(); err != nil {
			fmt.Println("cannot deny namespaces:", err)
			os.Exit(1)
		}
		withoutNamespaces(t)
	case "unprivileged":
		unprivileged(t)
	}
}

// helper runs this test binary as a helper process.
func helper(t *testing.T, mode string, cred *syscall.Credential) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		// The test binary sits in a directory only its owner can enter.
		dir, err := os.MkdirTemp("", "sandbox-helper-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		os.Chmod(dir, 0o777)
		copyFile(t, exe, filepath.Join(dir, "helper.test"))
		exe = filepath.Join(dir, "helper.test")
		t.Setenv("TMPDIR", dir)
	}
	cmd := exec.Command(exe, "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "SANDBOX_TEST_HELPER="+mode)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Dir = filepath.Dir(exe)
	}
	return cmd
}

func copyFile(t *testing.T, from, to string) {
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
}

// TestServiceDeathKillsTheSandbox reproduces the finding: after kill -9
// of serve, a step kept running. The sandbox's init has the parent-death
// signal, and everything in its namespace dies with it.
func TestServiceDeathKillsTheSandbox(t *testing.T) {
	needSandbox(t)
	cmd := helper(t, "serve", nil)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "started\n" {
		cmd.Process.Kill()
		t.Fatalf("helper said %q", line)
	}
	for deadline := time.Now().Add(5 * time.Second); len(running(ownSleep(313))) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the step never started")
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !gone(ownSleep(315)) || !gone(ownSleep(313)) {
		t.Errorf("the step outlived the service: %v %v", running(ownSleep(315)), running(ownSleep(313)))
	}
}

// TestFileSystemView: the writable path is writable; everything else is
// read-only; a hidden directory is empty (what the service keeps there,
// a mirror's hooks for one, can be neither read nor planted); a hidden
// file reads empty; a read-only path inside a hidden one is readable and
// stays unchanged; /tmp is private.
func TestFileSystemView(t *testing.T) {
	needSandbox(t)
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	build := filepath.Join(data, "builds", "run-1")
	objects := filepath.Join(data, "mirrors", "x.git", "objects")
	for _, d := range []string{build, objects} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(objects, "pack"), []byte("objects\n"), 0o644)
	os.WriteFile(filepath.Join(data, "state.db"), []byte("database\n"), 0o600)
	key := filepath.Join(tmp, "app.pem")
	os.WriteFile(key, []byte("PRIVATE KEY\n"), 0o600)
	hostTmp, err := os.CreateTemp("", "host-only-")
	if err != nil {
		t.Fatal(err)
	}
	hostTmp.Close()
	defer os.Remove(hostTmp.Name())

	out, err := run(t, Spec{Isolate: true, Dir: build, Writable: []string{build}, Hidden: []string{data, key}, ReadOnly: []string{objects},
		Env: []string{"PATH=/usr/bin:/bin", "DATA=" + data, "KEY=" + key, "HOSTTMP=" + hostTmp.Name()}}, `
		echo ok > built && echo "wrote build root"
		cat "$DATA/state.db" && echo "read database"
		ls "$DATA/mirrors/x.git"
		mkdir -p "$DATA/mirrors/x.git/hooks" && echo "made hooks dir"
		echo '#!/bin/sh' > "$DATA/mirrors/x.git/objects/../hooks/reference-transaction" && echo "planted hook"
		cat "$DATA/mirrors/x.git/objects/pack"
		echo x >> "$DATA/mirrors/x.git/objects/pack" && echo "changed objects"
		cat "$KEY"; echo "key read"
		test -e "$HOSTTMP" && echo "host tmp visible"
		echo t > /tmp/t && echo "wrote private tmp"
		touch /usr/planted && echo "wrote /usr"
		true`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"wrote build root", "objects\n", "key read", "wrote private tmp"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"read database", "database\n", "made hooks dir", "planted hook", "changed objects", "PRIVATE KEY", "host tmp visible", "wrote /usr"} {
		if strings.Contains(out, bad) {
			t.Errorf("the command could %q:\n%s", bad, out)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(build, "built")); string(b) != "ok\n" {
		t.Errorf("build root not written: %q", b)
	}
	if _, err := os.Stat(filepath.Join(data, "mirrors", "x.git", "hooks")); err == nil {
		t.Error("a hooks directory appeared in the mirror")
	}
	if b, _ := os.ReadFile(filepath.Join(objects, "pack")); string(b) != "objects\n" {
		t.Errorf("objects changed: %q", b)
	}
}

// TestNoCapabilities: even as root, the command holds no capability and
// cannot gain one, so it cannot undo the mounts that hide things.
func TestNoCapabilities(t *testing.T) {
	needSandbox(t)
	dir := t.TempDir()
	out, err := run(t, Spec{Isolate: true, Hidden: []string{dir}}, `grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs)' /proc/self/status; umount `+dir+` && echo unmounted; true`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, c := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if !strings.Contains(out, c+":\t0000000000000000") {
			t.Errorf("%s not empty:\n%s", c, out)
		}
	}
	if !strings.Contains(out, "NoNewPrivs:\t1") || strings.Contains(out, "unmounted") {
		t.Errorf("privileges left:\n%s", out)
	}
}

// TestCommandsAreTheOOMKillersFirstChoice: a command starts with the
// highest OOM score and cannot lower it to where no one may kill it
// (-1000, which the init may hold), and the init is not left at the
// command's score. A command the kernel may not kill would hang at its
// memory limit instead of failing.
func TestCommandsAreTheOOMKillersFirstChoice(t *testing.T) {
	needSandbox(t)
	spec := Spec{Isolate: true}
	if os.Getuid() == 0 {
		u, err := LookupUser("nobody")
		if err != nil {
			t.Skip("no user nobody here:", err)
		}
		spec.User = u
	}
	own, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // the second command: the init went back down after the first fork
		out, err := run(t, spec, `cat /proc/self/oom_score_adj
			echo -1000 > /proc/self/oom_score_adj 2>/dev/null
			echo -1 > /proc/self/oom_score_adj 2>/dev/null
			sh -c 'cat /proc/self/oom_score_adj'
			cat /proc/1/oom_score_adj`)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		lines := strings.Fields(out)
		if len(lines) != 3 {
			t.Fatalf("want three scores, got:\n%s", out)
		}
		if lines[0] != "1000" {
			t.Errorf("a command started with OOM score %s, not 1000", lines[0])
		}
		if n, _ := strconv.Atoi(lines[1]); n < 0 {
			t.Errorf("a command lowered its OOM score to %d: it could make itself unkillable", n)
		}
		serve, _ := strconv.Atoi(strings.TrimSpace(string(own)))
		if n, _ := strconv.Atoi(lines[2]); n > serve {
			t.Errorf("the init's OOM score is %d, above the service's %d: it was left at a command's", n, serve)
		}
	}
}

// TestBuildUser: the command runs as the build user.
func TestBuildUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("switching users needs root; this test runs as uid", os.Getuid())
	}
	u, err := LookupUser("nobody")
	if err != nil {
		t.Skip("no user nobody here:", err)
	}
	// t.TempDir's parent is private to root.
	dir, err := os.MkdirTemp("", "build-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chown(dir, int(u.UID), int(u.GID))
	for _, isolate := range []bool{false, Available() == nil} {
		spec := Spec{Isolate: isolate, User: u, Dir: dir}
		if isolate {
			spec.Writable = []string{dir}
		}
		out, err := run(t, spec, `id -u; id -G; touch mine && echo wrote`)
		if err != nil {
			t.Fatalf("isolate %v: %v\n%s", isolate, err, out)
		}
		if want := fmt.Sprintf("%d\n", u.UID); !strings.HasPrefix(out, want) || strings.Contains(out, " 0\n") || !strings.Contains(out, "wrote") {
			t.Errorf("isolate %v: ran as:\n%s", isolate, out)
		}
	}
}

// TestExitStatuses: how the command ended is reported as it happened,
// and a command that cannot start is the sandbox's failure.
func TestExitStatuses(t *testing.T) {
	for _, isolate := range []bool{false, Available() == nil} {
		var ee *ExitError
		if _, err := run(t, Spec{Isolate: isolate}, "exit 3"); !errors.As(err, &ee) || ee.Code != 3 || ee.Signal != 0 {
			t.Errorf("isolate %v: exit 3 gave %v", isolate, err)
		}
		if _, err := run(t, Spec{Isolate: isolate}, "kill -TERM $$"); !errors.As(err, &ee) || ee.Signal != syscall.SIGTERM {
			t.Errorf("isolate %v: killed by TERM gave %v", isolate, err)
		}
		if _, err := run(t, Spec{Isolate: isolate}, "true"); err != nil {
			t.Errorf("isolate %v: true gave %v", isolate, err)
		}
		_, err := run(t, Spec{Isolate: isolate, Dir: "/nonexistent"}, "true")
		var se *SetupError
		if isolate && !errors.As(err, &se) || err == nil {
			t.Errorf("isolate %v: a missing directory gave %v", isolate, err)
		}
	}
}

// TestDescriptorsNotInherited: a descriptor the service holds without
// close-on-exec (as one inherited from the Actions runner would be)
// reaches no command.
func TestDescriptorsNotInherited(t *testing.T) {
	fd, err := syscall.Open(os.Args[0], syscall.O_RDONLY, 0) // no O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	for _, isolate := range []bool{false, Available() == nil} {
		out, err := run(t, Spec{Isolate: isolate}, "ls /proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		// 0, 1, 2, and the directory ls reads
		if got := strings.Fields(out); strings.Join(got, " ") != "0 1 2 3" {
			t.Errorf("isolate %v: the command holds descriptors %v (the service's %d)", isolate, got, fd)
		}
	}
}

// TestWithoutNamespaces: where namespaces cannot be made (shown here by
// denying them to a copy of this test, as Docker's seccomp profile does
// to a container), Available says why, an isolated command is refused
// with a SetupError, and a command still runs in a process group.
func TestWithoutNamespaces(t *testing.T) {
	if Available() != nil {
		withoutNamespaces(t)
		return
	}
	out, err := helper(t, "denied", nil).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "namespaces checked") {
		t.Fatalf("the run without namespaces failed: %v\n%s", err, out)
	}
}

// TestUnprivilegedSandbox: a service that is not root gets the same
// sandbox through a user namespace of its own, where the kernel allows
// unprivileged ones (as root, the test runs a copy of itself as nobody).
func TestUnprivilegedSandbox(t *testing.T) {
	if os.Getuid() != 0 {
		needSandbox(t)
		unprivileged(t)
		return
	}
	nobody, err := LookupUser("nobody")
	if err != nil {
		t.Skip("running as root and there is no user nobody to drop to:", err)
	}
	out, err := helper(t, "unprivileged", &syscall.Credential{Uid: nobody.UID, Gid: nobody.GID}).CombinedOutput()
	if why, ok := strings.CutPrefix(string(out), "skip: "); ok {
		t.Skip("this kernel refuses unprivileged user namespaces:", why)
	}
	if err != nil || !strings.Contains(string(out), "unprivileged checked") {
		t.Fatalf("the unprivileged run failed: %v\n%s", err, out)
	}
}

func unprivileged(t *testing.T) {
	if err := Available(); err != nil {
		fmt.Println("skip:", err)
		return
	}
	if found != nsUser && os.Getuid() != 0 {
		t.Fatalf("unprivileged, yet the sandbox is made as %d", found)
	}
	dir := t.TempDir()
	hidden := filepath.Join(dir, "data")
	build := filepath.Join(hidden, "build")
	os.MkdirAll(build, 0o755)
	os.WriteFile(filepath.Join(hidden, "secret"), []byte("data dir content\n"), 0o644)
	out, err := run(t, Spec{Isolate: true, Dir: build, Writable: []string{build}, Hidden: []string{hidden},
		Env: []string{"PATH=/usr/bin:/bin", "SERVICE=" + strconv.Itoa(os.Getpid()), "HIDDEN=" + hidden}}, `
		test -e /proc/$SERVICE && echo "service visible"
		echo "processes $(ls /proc | grep -c '^[0-9]')"
		cat "$HIDDEN/secret"
		echo ok > built && echo "wrote build"
		touch /usr/planted && echo "wrote /usr"
		grep -E '^CapEff' /proc/self/status
		setsid `+ownSleep(314)+` &
		true`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, bad := range []string{"service visible", "data dir content", "wrote /usr"} {
		if strings.Contains(out, bad) {
			t.Errorf("unprivileged sandbox: %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "wrote build") || !strings.Contains(out, "CapEff:\t0000000000000000") {
		t.Errorf("unprivileged sandbox:\n%s", out)
	}
	if !gone(ownSleep(314)) {
		t.Errorf("a daemon outlived its unprivileged sandbox")
	}
	fmt.Println("unprivileged checked")
}

func withoutNamespaces(t *testing.T) {
	err := Available()
	if err == nil {
		t.Fatal("Available says yes where namespaces are denied")
	}
	if !strings.Contains(err.Error(), "namespaces are not available") {
		t.Errorf("Available: %v", err)
	}
	var se *SetupError
	if _, err := run(t, Spec{Isolate: true}, "true"); !errors.As(err, &se) {
		t.Errorf("an isolated command without namespaces: %v", err)
	}
	out, err := run(t, Spec{}, "echo unsandboxed")
	if err != nil || out != "unsandboxed\n" {
		t.Errorf("a process group command: %v %q", err, out)
	}
	fmt.Println("namespaces checked:", err)
}

// ownSleep is a sleep no other suite on the machine runs at once: its
// fraction is drawn from this test binary's path, which the helper
// processes it starts share, so a check for leftovers finds only its own.
func ownSleep(secs int) string {
	exe, _ := os.Executable()
	h := fnv.New32a()
	h.Write([]byte(exe))
	return fmt.Sprintf("sleep %d.%d", secs, 10000+h.Sum32()%90000)
}
