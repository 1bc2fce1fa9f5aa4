package secretenv

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/provide-io/workspace-bot/internal/scripttest"
)

var spec = Spec{
	Vars: []string{"GITHUB_TOKEN", "WORKSPACE_BOT_GITHUB_TOKEN", "WORKSPACE_BOT_WEBHOOK_SECRET"},
	Flags: []Flag{
		{Name: "github-token", Var: "WORKSPACE_BOT_GITHUB_TOKEN", Instead: "--github-token-file"},
		{Name: "webhook-secret", Var: "WORKSPACE_BOT_WEBHOOK_SECRET", Instead: "--webhook-secret-file"},
		{Name: "app-private-key", Var: "KEY", Instead: "a file", Is: func(v string) bool { return strings.HasPrefix(v, "-----BEGIN") }},
	},
}

const helperVar = "SECRETENV_TEST_HELPER"

// report is what the helper process says it sees.
type report struct {
	PID                                    int
	Args                                   []string
	Token, GhToken, Secret, Plain, OSToken string
	Warnings, Values                       []string
	Dumpable                               int
}

// TestMain doubles as the program under test: with helperVar set, the
// test binary protects itself as workspace-bot does, says what it sees,
// and waits for stdin to close so the test can read its /proc files.
func TestMain(m *testing.M) {
	if os.Getenv(helperVar) == "" {
		os.Exit(m.Run())
	}
	s, err := Protect(spec, os.Args)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	dumpable, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	json.NewEncoder(os.Stdout).Encode(report{
		PID: os.Getpid(), Args: os.Args[1:],
		Token: s.Getenv("WORKSPACE_BOT_GITHUB_TOKEN"), GhToken: s.Getenv("GITHUB_TOKEN"),
		Secret: s.Getenv("WORKSPACE_BOT_WEBHOOK_SECRET"), Plain: s.Getenv("PLAIN"), OSToken: os.Getenv("GITHUB_TOKEN"),
		Warnings: s.Warnings, Values: s.Values(), Dumpable: dumpable,
	})
	bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

func TestSplit(t *testing.T) {
	env := []string{"PATH=/bin", "GITHUB_TOKEN=env-tok", "WORKSPACE_BOT_WEBHOOK_SECRET=env-secret"}
	args := []string{"serve", "--listen", "x", "--github-token", "flag-tok", "--webhook-secret=flag-secret",
		"--app-private-key", "key.pem", "--app-private-key=-----BEGIN KEY", "--", "--github-token", "after"}
	keptEnv, keptArgs, h := split(spec, env, args)
	if !reflect.DeepEqual(keptEnv, []string{"PATH=/bin"}) {
		t.Errorf("env kept %q", keptEnv)
	}
	if want := []string{"serve", "--listen", "x", "--app-private-key", "key.pem", "--", "--github-token", "after"}; !reflect.DeepEqual(keptArgs, want) {
		t.Errorf("args kept %q, want %q", keptArgs, want)
	}
	want := map[string]string{"GITHUB_TOKEN": "env-tok", "WORKSPACE_BOT_GITHUB_TOKEN": "flag-tok",
		"WORKSPACE_BOT_WEBHOOK_SECRET": "flag-secret", "KEY": "-----BEGIN KEY"}
	if !reflect.DeepEqual(h.Env, want) {
		t.Errorf("handed over %q, want %q", h.Env, want)
	}
	if len(h.Warnings) != 3 || !strings.Contains(h.Warnings[0], "--github-token on the command line") || !strings.Contains(h.Warnings[0], "use --github-token-file") {
		t.Errorf("warnings %q", h.Warnings)
	}
	for _, w := range h.Warnings {
		for _, v := range want {
			if strings.Contains(w, v) {
				t.Errorf("warning %q shows a credential", w)
			}
		}
	}
	// A flag without its value is left for the flag parser to name.
	if _, kept, h := split(spec, nil, []string{"serve", "--github-token"}); len(kept) != 2 || !h.empty() {
		t.Errorf("dangling flag: kept %q, handed %v", kept, h)
	}
}

// TestReexecLeavesNothingInProc starts a real process with credentials in
// its environment and on its command line, then reads its /proc files
// from outside, as a build step of the same user would.
func TestReexecLeavesNothingInProc(t *testing.T) {
	cmd := exec.Command(os.Args[0], "serve", "--github-token", "flag-tok-7f3a", "--listen", "127.0.0.1:1")
	cmd.Env = append(os.Environ(), helperVar+"=1", "GITHUB_TOKEN=env-tok-91c2", "WORKSPACE_BOT_WEBHOOK_SECRET=env-secret-55d0", "PLAIN=plain-value")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	var seen report
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no report from the helper: %v", err)
	}
	if err := json.Unmarshal([]byte(line), &seen); err != nil {
		t.Fatalf("report %q: %v", line, err)
	}

	if seen.PID != cmd.Process.Pid {
		t.Errorf("the re-executed image runs as pid %d, not %d: supervisors would lose it", seen.PID, cmd.Process.Pid)
	}
	if seen.Token != "flag-tok-7f3a" || seen.GhToken != "env-tok-91c2" || seen.Secret != "env-secret-55d0" || seen.Plain != "plain-value" {
		t.Errorf("handed over %+v", seen)
	}
	if seen.OSToken != "" {
		t.Errorf("os.Getenv still has the token")
	}
	if !reflect.DeepEqual(seen.Args, []string{"serve", "--listen", "127.0.0.1:1"}) {
		t.Errorf("args %q", seen.Args)
	}
	if len(seen.Warnings) != 1 || !strings.Contains(seen.Warnings[0], "--github-token-file") {
		t.Errorf("warnings %q", seen.Warnings)
	}
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid))
	if want := filepath.Base(os.Args[0]); strings.TrimSpace(string(comm)) != want[:min(len(want), 15)] {
		t.Errorf("the re-executed process is named %q, not %q", comm, want)
	}
	if seen.Dumpable != 0 {
		t.Errorf("PR_GET_DUMPABLE = %d, want 0", seen.Dumpable)
	}
	if len(seen.Values) != 3 {
		t.Errorf("values %q", seen.Values)
	}
	for _, f := range []string{"environ", "cmdline"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", cmd.Process.Pid, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"flag-tok-7f3a", "env-tok-91c2", "env-secret-55d0"} {
			if strings.Contains(string(data), secret) {
				t.Errorf("/proc/%d/%s holds %s", cmd.Process.Pid, f, secret)
			}
		}
		if f == "environ" && !strings.Contains(string(data), "PLAIN=plain-value") {
			t.Errorf("/proc/%d/environ lost the rest of the environment", cmd.Process.Pid)
		}
	}
	// The pipe was read and closed: no descriptor of it is left to open.
	// (Pipes this test inherited, and passed on, are not its.)
	ours := map[string]bool{}
	for _, fd := range openFiles(t, "self") {
		ours[fd] = true
	}
	for _, target := range openFiles(t, fmt.Sprint(cmd.Process.Pid))[3:] {
		if strings.HasPrefix(target, "pipe:") && !ours[target] {
			t.Errorf("a pipe is still open after the handover: %s", target)
		}
	}
}

func TestNothingToHideRunsInPlace(t *testing.T) {
	cmd := exec.Command(os.Args[0], "serve")
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.Contains(k, "TOKEN") && !strings.Contains(k, "SECRET") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, helperVar+"=1")
	cmd.Stdin = strings.NewReader("\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"Dumpable":0`) || !strings.Contains(string(out), `"Args":["serve"]`) {
		t.Errorf("report %s", out)
	}
}

// openFiles lists what a process's descriptors point at, in fd order
// from 0 (0, 1 and 2 first).
func openFiles(t *testing.T, pid string) []string {
	t.Helper()
	var out []string
	for fd := 0; fd < 1024; fd++ {
		target, err := os.Readlink(fmt.Sprintf("/proc/%s/fd/%d", pid, fd))
		if err != nil && fd < 3 {
			target = ""
		} else if err != nil {
			continue
		}
		out = append(out, target)
	}
	return out
}

// TestSameUserCannotReadTheProcess runs the protected process as an
// unprivileged user and reads its /proc files as another process of that
// same user, as a build step running as the service's user would: being
// undumpable, its environ, memory and descriptors are root's alone.
func TestSameUserCannotReadTheProcess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the processes as an unprivileged user")
	}
	const uid = 65534 // nobody
	dir := t.TempDir()
	bin := dir + "/helper"
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	scripttest.Write(t, bin, string(data))
	for _, d := range []string{dir, strings.TrimSuffix(dir, "/001")} {
		os.Chmod(d, 0o755)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{helperVar + "=1", "GITHUB_TOKEN=env-tok-31aa", "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		t.Fatalf("no report from the helper: %v", err)
	}
	for _, f := range []string{"environ", "mem", "fd/0"} {
		reader := exec.Command("cat", fmt.Sprintf("/proc/%d/%s", cmd.Process.Pid, f))
		reader.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		out, err := reader.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Permission denied") {
			t.Errorf("a process of the same user read /proc/%d/%s: %v %q", cmd.Process.Pid, f, err, out)
		}
	}
}
