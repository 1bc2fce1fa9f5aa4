package ci

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/sandbox"
	"github.com/provide-io/workspace-bot/internal/sandboxtest"
)

// needSandbox skips what only a sandbox can guarantee, where this
// machine cannot make one; TestWithoutASandbox covers that case.
func needSandbox(t *testing.T) {
	t.Helper()
	if err := SandboxAvailable(); err != nil {
		t.Skipf("this machine cannot sandbox steps, so the isolation cannot be shown here (TestWithoutASandbox covers it): %v", err)
	}
}

// TestHelperProcess is not a test: other tests run this binary through
// it as a stand-in for the service.
func TestHelperProcess(t *testing.T) {
	switch os.Getenv("CI_TEST_HELPER") {
	case "service":
		cfg := localWorkspace(t, "alpha")
		cfg.Workspace.CI.Env = map[string]string{"SERVICE_PID": strconv.Itoa(os.Getpid())}
		cfg.Workspace.CI.Test = []string{os.Getenv("CI_TEST_STEP")}
		res, err := (&Runner{DataDir: t.TempDir()}).Run(context.Background(), Request{Config: cfg, Local: true})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Print(stepsOf(res, "test", "")[0].Log)
	case "denied":
		if err := sandboxtest.DenyNamespaces(); err != nil {
			fmt.Println("cannot deny namespaces:", err)
			os.Exit(1)
		}
		withoutASandbox(t)
	}
}

// helperCmd runs this test binary as a helper with env added to its
// initial environment (the kernel's copy, the one /proc shows).
func helperCmd(t *testing.T, mode string, env ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestHelperProcess$")
	cmd.Env = append(append(os.Environ(), "CI_TEST_HELPER="+mode), env...)
	return cmd
}

// TestStepCannotSeeTheService reproduces the finding: a test step walked
// up its parents and read /proc/<serve pid>/environ, where the kernel's
// copy of the environment still held the token and the webhook secret.
// In the sandbox the walk ends at the sandbox's init, and the service's
// process does not exist for the step.
func TestStepCannotSeeTheService(t *testing.T) {
	needSandbox(t)
	const token = "ghp_tokenInTheServicesEnviron0042"
	step := `p=$$
		while [ "$p" -gt 0 ]; do
			echo "ancestor $p: $(tr '\0\n' '  ' < /proc/$p/cmdline | cut -c1-40)"
			tr '\0' '\n' < /proc/$p/environ
			p=$(awk '/^PPid/{print $2}' /proc/$p/status)
		done
		cat /proc/$SERVICE_PID/environ && echo "read the service's environ"
		for e in /proc/[0-9]*/environ; do tr '\0' '\n' < $e; done
		true`
	out, err := helperCmd(t, "service", "GITHUB_TOKEN="+token, "WORKSPACE_BOT_WEBHOOK_SECRET=hook-"+token, "CI_TEST_STEP="+step).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(string(out), token) || strings.Contains(string(out), "read the service's environ") {
		t.Errorf("a step read the service's environment:\n%s", out)
	}
	if n := len(regexp.MustCompile(`(?m)^ancestor \d+:`).FindAll(out, -1)); n != 2 || !strings.Contains(string(out), "ancestor 1: workspace-bot-sandbox-init") {
		t.Errorf("the step's ancestry reaches beyond its sandbox:\n%s", out)
	}
}

// TestStepCannotTouchTheMirrors reproduces the finding: an approved
// fork's step wrote hooks/reference-transaction into every mirror, and
// the next run of an unrelated PR ran it with the token. The step finds
// the mirrors from its build root, tries to plant hooks and to change
// objects; it can do neither, while git in the checkout still reads the
// objects it borrows from its mirror.
func TestStepCannotTouchTheMirrors(t *testing.T) {
	needSandbox(t)
	f := newFixture(t)
	f.repo("alpha", map[string]string{"a.txt": "a\n"})
	cfg := f.config(sib{name: "alpha"})
	cfg.Workspace.CI.Test = []string{`
		git -C ../alpha log --oneline -1 && echo "git works"
		m="$WORKSPACE_ROOT/../../../mirrors"
		for d in "$m"/*.git; do
			mkdir -p "$d/hooks" && printf '#!/bin/sh\ntouch "$d/hook-ran"\n' > "$d/hooks/reference-transaction" && chmod +x "$d/hooks/reference-transaction" && echo "planted in $d"
			for p in "$d"/objects/*/*; do echo x >> "$p" && echo "changed $p"; done
		done
		ls -a "$m" | tr '\n' ' ' | sed 's/^/mirrors: /'
		true`}
	res, err := f.runner().Run(context.Background(), Request{Config: cfg})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	log := stepsOf(res, "test", "")[0].Log
	if !strings.Contains(log, "git works") {
		t.Errorf("git in a step cannot read the checkout's borrowed objects:\n%s", log)
	}
	if strings.Contains(log, "planted in") || strings.Contains(log, "changed ") {
		t.Errorf("a step wrote into a mirror:\n%s", log)
	}
	mirror := f.runner().mirrorFor(f.url("alpha")).dir
	if _, err := os.Stat(filepath.Join(mirror, "hooks")); err == nil {
		t.Errorf("hooks appeared in the mirror")
	}
	if _, err := gitfixtureFsck(mirror); err != nil {
		t.Errorf("the mirror is damaged: %v", err)
	}
	// And the next run fetches into it with nothing to run.
	f.commit("alpha", "main", "", map[string]string{"b.txt": "b\n"})
	if res, err := f.runner().Run(context.Background(), Request{Config: cfg}); err != nil || res.Result != Success {
		t.Fatalf("next run: %v %+v", err, res)
	}
	if _, err := os.Stat(filepath.Join(mirror, "hook-ran")); err == nil {
		t.Error("a planted hook ran")
	}
}

func gitfixtureFsck(dir string) (string, error) {
	return git(context.Background(), dir, "fsck", "--no-dangling")
}

// TestDaemonDiesWithTheRun reproduces the finding: test = ["setsid sleep
// 311 & sleep 1"] left sleep 311 running after the run ended.
func TestDaemonDiesWithTheRun(t *testing.T) {
	needSandbox(t)
	cfg := localWorkspace(t, "alpha")
	daemon := ownSleep(311, 1)
	cfg.Workspace.CI.Test = []string{"setsid " + daemon + " & sleep 1"}
	res, err := (&Runner{DataDir: t.TempDir()}).Run(context.Background(), Request{Config: cfg, Local: true})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res)
	}
	if left := stillRunning(daemon); len(left) > 0 {
		t.Errorf("a daemon outlived its run: %v", left)
	}
}

// TestBuildUserRunsSteps: with a build user, steps run as that user and
// can write the build root, which is handed to it.
func TestBuildUserRunsSteps(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("a build user needs the service to run as root; this test runs as uid", os.Getuid())
	}
	u, err := sandbox.LookupUser("nobody")
	if err != nil {
		t.Skip("no user nobody here:", err)
	}
	f := newFixture(t)
	f.repo("alpha", nil)
	cfg := f.config(sib{name: "alpha"})
	cfg.Sibling("alpha").Setup = []string{`touch built && echo hi > "$HOME/.rc" && echo "$TMPDIR" > /dev/null`}
	cfg.Workspace.CI.Test = []string{`test "$(id -u)" = ` + strconv.Itoa(int(u.UID)) + ` && test -f ../alpha/built && test "$USER" = ` + u.Name}
	r := f.runner()
	r.BuildUser = "nobody"
	// Its data dir and the builds in it must be reachable by the user
	// when there is no sandbox to bind the build root in.
	os.Chmod(filepath.Dir(f.dataDir), 0o755)
	res, err := r.Run(context.Background(), Request{Config: cfg})
	if err != nil || res.Result != Success {
		t.Fatalf("%v %+v", err, res.Steps)
	}
	r.BuildUser = "no-such-user-here"
	if _, err := r.Run(context.Background(), Request{Config: cfg}); err == nil || !strings.Contains(err.Error(), "no-such-user-here") {
		t.Errorf("an unknown build user: %v", err)
	}
}

// TestWithoutASandbox: where steps cannot be sandboxed (shown here by
// denying namespaces to a copy of this test, as Docker's seccomp profile
// does to a container), a run warns, once, and still runs its steps; a
// run that requires a sandbox is refused before anything is fetched.
func TestWithoutASandbox(t *testing.T) {
	if SandboxAvailable() != nil {
		withoutASandbox(t)
		return
	}
	out, err := helperCmd(t, "denied").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "fallback checked") {
		t.Fatalf("the run without namespaces failed: %v\n%s", err, out)
	}
}

func withoutASandbox(t *testing.T) {
	if err := SandboxAvailable(); err == nil {
		t.Fatal("steps can be sandboxed where namespaces are denied")
	}
	cfg := localWorkspace(t, "alpha")
	cfg.Workspace.CI.Test = []string{"echo ran"}
	var warnings []string
	r := &Runner{DataDir: t.TempDir(), Progress: func(e Event) {
		if e.Kind == EventWarning {
			warnings = append(warnings, e.Detail)
		}
	}}
	res, err := r.Run(context.Background(), Request{Config: cfg, Local: true})
	if err != nil || res.Result != Success || stepsOf(res, "test", "")[0].Log != "ran\n" {
		t.Fatalf("%v %+v", err, res)
	}
	if len(warnings) != 1 || len(res.Warnings) != 1 || !strings.Contains(warnings[0], "without a sandbox") || strings.Contains(warnings[0], "\n") {
		t.Errorf("warnings %q, result %q: want one line", warnings, res.Warnings)
	}
	f := newFixture(t)
	f.repo("alpha", nil)
	fcfg := f.config(sib{name: "alpha"})
	res, err = f.runner().Run(context.Background(), Request{Config: fcfg, RequireSandbox: true})
	if err == nil || !strings.Contains(err.Error(), "sandbox") || res.Result != Error {
		t.Errorf("a run that requires a sandbox: %v %+v", err, res)
	}
	if f.requests.Load() != 0 {
		t.Errorf("%d requests to the repository before refusing", f.requests.Load())
	}
	fmt.Println("fallback checked")
}
