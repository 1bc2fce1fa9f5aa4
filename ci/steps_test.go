package ci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/lifecycle"
	"github.com/provide-io/workspace-bot/workspace"
)

// localWorkspace makes a workspace directory with the named siblings
// checked out beside it as real repositories, and its config.
func localWorkspace(t *testing.T, names ...string) *workspace.Config {
	t.Helper()
	f := newFixture(t)
	var sibs []sib
	for _, n := range names {
		dir := filepath.Join(filepath.Dir(f.wsDir), n)
		if _, err := gitfixture.Git(filepath.Dir(f.wsDir), "init", "--quiet", "--initial-branch=main", dir); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "README"), []byte(n), 0o644)
		if _, err := gitfixture.Git(dir, "add", "README"); err != nil {
			t.Fatal(err)
		}
		if _, err := gitfixture.Git(dir, "commit", "--quiet", "-m", "first"); err != nil {
			t.Fatal(err)
		}
		sibs = append(sibs, sib{name: n, url: "https://github.com/o/" + n + ".git"})
	}
	return f.config(sibs...)
}

func TestLocalRunsInPlace(t *testing.T) {
	cfg := localWorkspace(t, "alpha", "beta")
	cfg.Sibling("beta").Setup = []string{"touch built-here"}
	data := t.TempDir()
	res, err := (&Runner{DataDir: data}).Run(context.Background(), Request{Config: cfg, Local: true})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	beta := filepath.Join(filepath.Dir(cfg.Dir()), "beta")
	if _, err := os.Stat(filepath.Join(beta, "built-here")); err != nil {
		t.Errorf("--local did not run in the checkout on disk: %v", err)
	}
	head, _ := gitfixture.Git(beta, "rev-parse", "HEAD")
	if sr := siblingResult(t, res, "beta"); sr.SHA != head || sr.Ref != "main" {
		t.Errorf("beta reported as %+v, want main at %s", sr, head)
	}
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Errorf("--local touched the data dir: %v", entries)
	}
	if got := stepsOf(res, "checkout", "*"); len(got) != 0 {
		t.Errorf("--local reported checkouts: %+v", got)
	}
}

func TestLocalMissingCheckout(t *testing.T) {
	cfg := localWorkspace(t, "alpha")
	cfg.Siblings = append(cfg.Siblings, workspace.Sibling{Name: "ghost", Path: "../ghost", Repo: "https://github.com/o/ghost.git"})
	_, err := (&Runner{DataDir: t.TempDir()}).Run(context.Background(), Request{Config: cfg, Local: true})
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "ghost") {
		t.Fatalf("error %v, want an input error naming ghost", err)
	}
}

func TestFailingStepSkipsTheRest(t *testing.T) {
	cfg := localWorkspace(t, "alpha")
	cfg.Workspace.CI.Test = []string{"echo first", "echo boom >&2; exit 3", "echo never"}
	res, err := (&Runner{DataDir: t.TempDir()}).Run(context.Background(), Request{Config: cfg, Local: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Result != Failure {
		t.Fatalf("result %s, want failure", res.Result)
	}
	want := []lifecycle.Result{Success, Failure, Skipped}
	tests := stepsOf(res, "test", "")
	if len(tests) != 3 {
		t.Fatalf("steps %+v", res.Steps)
	}
	for i, s := range tests {
		if s.Result != want[i] {
			t.Errorf("step %d (%s): %s, want %s", i, s.Command, s.Result, want[i])
		}
	}
	if !strings.Contains(tests[1].LogTail, "boom") || !strings.Contains(tests[1].LogTail, "exit status 3") {
		t.Errorf("failing step's tail %q lacks its output", tests[1].LogTail)
	}
	if tests[2].Log != "" {
		t.Errorf("skipped step has output %q", tests[2].Log)
	}
}

func TestStepEnvironment(t *testing.T) {
	cfg := localWorkspace(t, "alpha")
	cfg.Workspace.CI.Env = map[string]string{"FOO": "bar baz"}
	cfg.Sibling("alpha").Setup = []string{`echo "pwd=$PWD"`}
	cfg.Workspace.CI.Test = []string{`echo "root=$WORKSPACE_ROOT cs=$WORKSPACE_CHANGESET foo=$FOO"`}
	res, err := (&Runner{DataDir: t.TempDir()}).Run(context.Background(), Request{Config: cfg, Local: true, Changeset: "o/alpha#7"})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	wsDir, _ := filepath.Abs(cfg.Dir())
	want := "root=" + wsDir + " cs=o/alpha#7 foo=bar baz"
	if got := strings.TrimSpace(stepsOf(res, "test", "")[0].Log); got != want {
		t.Errorf("test saw %q, want %q", got, want)
	}
	if got := strings.TrimSpace(stepsOf(res, "setup", "alpha")[0].Log); got != "pwd="+filepath.Join(filepath.Dir(wsDir), "alpha") {
		t.Errorf("sibling setup ran in %q", got)
	}
}

func TestStagesRunInOrderAndInParallel(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"a", "b", "c", "d"} {
		f.repo(n, nil)
	}
	cfg := f.config(sib{name: "a"}, sib{name: "b", deps: []string{"a"}}, sib{name: "c", deps: []string{"a"}}, sib{name: "d", deps: []string{"b", "c"}})
	// Steps can write only in the build root: the order is kept there.
	for i := range cfg.Siblings {
		cfg.Siblings[i].Setup = []string{`n=$(basename "$PWD"); o="$WORKSPACE_ROOT/../order"; echo start-$n >> "$o"; sleep 0.3; echo end-$n >> "$o"`}
	}
	var out strings.Builder
	r := f.runner()
	r.Keep = true
	res, err := r.Run(context.Background(), Request{Config: cfg, Output: &syncWriter{w: &out}})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	lines := strings.Fields(readFile(t, filepath.Join(res.BuildRoot, "order")))
	pos := map[string]int{}
	for i, l := range lines {
		pos[l] = i
	}
	before := func(x, y string) {
		if pos[x] >= pos[y] {
			t.Errorf("%s not before %s: %v", x, y, lines)
		}
	}
	before("end-a", "start-b")
	before("end-a", "start-c")
	before("end-b", "start-d")
	before("end-c", "start-d")
	// b and c share a stage: both start before either ends.
	before("start-b", "end-c")
	before("start-c", "end-b")
	if !strings.Contains(out.String(), "==> setup d:") {
		t.Errorf("combined output lacks step headers:\n%s", out.String())
	}
}

// TestTimeoutKillsEverything: a timed-out step's children and
// grandchildren die with it, sandboxed or in a process group.
func TestTimeoutKillsEverything(t *testing.T) {
	for _, mode := range []SandboxMode{SandboxAuto, SandboxOff} {
		cfg := localWorkspace(t, "alpha")
		cfg.Workspace.CI.Timeout = time.Second
		sleep := ownSleep(300, 31+len(mode))
		cfg.Workspace.CI.Test = []string{
			sleep + `1 & sh -c '` + sleep + `2 & wait' & touch "$WORKSPACE_ROOT/started"; wait`,
			"echo never",
		}
		start := time.Now()
		res, err := (&Runner{DataDir: t.TempDir(), Sandbox: mode}).Run(context.Background(), Request{Config: cfg, Local: true})
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%q: run took %s after a 1s timeout", mode, took)
		}
		if res.Result != Cancelled || !strings.Contains(res.Error, "timed out") {
			t.Errorf("%q: result %s %q, want cancelled after a time out", mode, res.Result, res.Error)
		}
		tests := stepsOf(res, "test", "")
		if tests[0].Result != Cancelled || tests[1].Result != Skipped {
			t.Errorf("%q: steps %+v", mode, tests)
		}
		if _, err := os.Stat(filepath.Join(cfg.Dir(), "started")); err != nil {
			t.Fatalf("%q: the step never started its children", mode)
		}
		if left := stillRunning(sleep); len(left) > 0 {
			t.Errorf("%q: children survived the timeout: %v", mode, left)
		}
	}
}

// stillRunning lists the processes on this machine whose command line
// contains s, waiting up to two seconds for them to go (a zombie waiting
// for its reaper does not count).
// ownSleep is a sleep command no other process on the machine runs,
// tagged with this test binary's pid (another suite may run the same test
// at once), so stillRunning finds exactly this run's leftovers.
func ownSleep(secs, tag int) string {
	return fmt.Sprintf("sleep %d.%d%07d", secs, tag, os.Getpid())
}

func stillRunning(s string) []int {
	var pids []int
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		pids = pids[:0]
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || !alive(pid) {
				continue
			}
			cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			if strings.Contains(strings.ReplaceAll(string(cmd), "\x00", " "), s) {
				pids = append(pids, pid)
			}
		}
		if len(pids) == 0 {
			return nil
		}
	}
	return pids
}

// alive says whether pid runs now and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func TestCancelKillsTheRunningStep(t *testing.T) {
	cfg := localWorkspace(t, "alpha")
	cfg.Workspace.CI.Test = []string{"sleep 300"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &Runner{DataDir: t.TempDir(), Progress: func(e Event) {
		if e.Kind == EventStep && !e.Done {
			go func() { time.Sleep(100 * time.Millisecond); cancel() }()
		}
	}}
	start := time.Now()
	res, err := r.Run(ctx, Request{Config: cfg, Local: true})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("cancel took %s", time.Since(start))
	}
	if res.Result != Cancelled || res.Error != "cancelled" || stepsOf(res, "test", "")[0].Result != Cancelled {
		t.Errorf("result %s %q %+v", res.Result, res.Error, res.Steps)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t)
	f.repo("alpha", nil)
	cases := []struct {
		name    string
		mutate  func(cfg *workspace.Config)
		pins    map[string]Pin
		input   bool     // an *InputError
		want    []string // in the message
		notWant string
	}{
		{name: "missing ref", pins: map[string]Pin{"alpha": {Ref: "no-such-branch"}}, input: true,
			want: []string{"alpha", `"no-such-branch"`, "git ls-remote " + f.url("alpha")}},
		{name: "missing commit", pins: map[string]Pin{"alpha": {SHA: strings.Repeat("ab", 20)}}, input: true,
			want: []string{"alpha", strings.Repeat("ab", 20)}},
		{name: "option-like ref", pins: map[string]Pin{"alpha": {Ref: "--upload-pack=touch /tmp/pwned"}}, input: true,
			want: []string{"alpha", "starts with '-'"}},
		{name: "unknown sibling", pins: map[string]Pin{"nope": {Ref: "main"}}, input: true,
			want: []string{`"nope"`, "known: alpha"}},
		{name: "escaping path", mutate: func(c *workspace.Config) { c.Siblings[0].Path = "../../escape" }, input: true,
			want: []string{"alpha", "outside the build root"}},
		{name: "unreachable repo", mutate: func(c *workspace.Config) { c.Siblings[0].Repo = "http://bot:s3cret@127.0.0.1:1/o/alpha.git" },
			want: []string{"alpha", "http://127.0.0.1:1/o/alpha.git"}, notWant: "s3cret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := f.config(sib{name: "alpha"})
			if tc.mutate != nil {
				tc.mutate(cfg)
			}
			res, err := f.runner().Run(context.Background(), Request{Config: cfg, Pins: tc.pins})
			if err == nil {
				t.Fatalf("no error; result %+v", res)
			}
			var ie *InputError
			if errors.As(err, &ie) != tc.input {
				t.Errorf("input error = %v, want %v: %v", !tc.input, tc.input, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			if tc.notWant != "" && (strings.Contains(err.Error(), tc.notWant) || strings.Contains(res.Error, tc.notWant)) {
				t.Errorf("%q shows %q", err, tc.notWant)
			}
			if res == nil || res.Result != Error || res.Error != err.Error() {
				t.Errorf("result %+v", res)
			}
		})
	}
	if _, err := os.Stat("/tmp/pwned"); err == nil {
		t.Error("an option-like ref ran a command")
	}
}

func TestStepLogCapAndTail(t *testing.T) {
	var l stepLog
	for i := 0; i < 200000; i++ {
		l.Write([]byte("line " + strconv.Itoa(i) + "\n"))
	}
	if len(l.Log()) > MaxLogHeld+tailKeep+200 {
		t.Errorf("log %d bytes, cap %d", len(l.Log()), MaxLogHeld)
	}
	if !strings.Contains(l.Log(), " bytes cut ...]") || !strings.HasSuffix(l.Log(), "line 199999\n") {
		t.Error("a cut log must say so and keep its end")
	}
	tail := l.Tail()
	if n := strings.Count(tail, "\n") + 1; n != TailLines || !strings.HasSuffix(tail, "line 199999") || len(tail) > TailBytes {
		t.Errorf("tail has %d lines, %d bytes: %q", n, len(tail), tail)
	}
}
