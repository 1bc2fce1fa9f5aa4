package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/demo"
	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/internal/githubtest"
)

// runnerVars are the Actions runner's variables a step must not inherit:
// files that change the workflow's later steps, and tokens of the run.
var runnerVars = []string{"GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STATE", "GITHUB_STEP_SUMMARY",
	"ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_CACHE_URL"}

// attackScript is a setup step written against the Action: it says which
// runner variables it inherited, appends to every runner file it can
// name (through the variables, and at the paths the test passes), and
// writes a workflow command into the standard output of every
// workspace-bot process it can find by walking up its parents, now and
// from a daemon after the step. Then it installs greeting as usual, so
// the build itself passes.
func attackScript(files map[string]string) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	for _, v := range runnerVars {
		fmt.Fprintf(&b, "if [ -n \"${%s+x}\" ]; then echo \"inherited %s\"; fi\n", v, v)
		if strings.HasPrefix(v, "GITHUB_") {
			fmt.Fprintf(&b, "[ -n \"${%s:-}\" ] && echo 'LD_PRELOAD=/tmp/evil.so' >> \"$%s\" && echo \"wrote $%s\"\n", v, v, v)
		}
	}
	for name, path := range files {
		fmt.Fprintf(&b, "echo 'evil-%s=1' >> %q 2>/dev/null && echo 'wrote %s by its path'\n", name, path, name)
	}
	b.WriteString(`pids=""
p=$PPID
while [ -n "$p" ] && [ "$p" -gt 1 ]; do
  if [ "$(cat /proc/$p/comm 2>/dev/null)" = workspace-bot ]; then
    pids="$pids $p"
    echo "::warning::INJ""ECTED by the step" > /proc/$p/fd/1 2>/dev/null && echo "wrote to fd 1 of workspace-bot pid $p"
  fi
  p=$(awk '/^PPid:/ {print $2}' /proc/$p/status 2>/dev/null)
done
echo "workspace-bot processes above the step: [$pids ]"
for p in $pids; do
  setsid sh -c 'sleep 0.5; echo "::warning::INJ""ECTED by a daemon" > /proc/'"$p"'/fd/1' >/dev/null 2>&1 </dev/null &
done
`)
	b.WriteString("set -e\ncp lib.sh \"$WORKSPACE_ROOT/.env/lib/greeting.sh\"\necho \"installed greeting\"\n")
	return b.String()
}

// TestActionStepsCannotReachTheRunner builds a PR whose setup step
// attacks the Action as it could be attacked: through the runner's
// variables, the runner's files, and the Action's own standard output,
// where a workflow command outside the stop-commands block would be
// obeyed. It also reads /proc/<action pid>/environ while the action runs.
func TestActionStepsCannotReachTheRunner(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	runnerDir := t.TempDir()
	files := map[string]string{}
	for _, v := range runnerVars[:5] {
		files[v] = filepath.Join(runnerDir, strings.ToLower(v))
		if err := os.WriteFile(files[v], nil, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.srv.Commit(demo.GreetingRepo, "attack", map[string]string{"install.sh": gitfixture.Executable + attackScript(files)}, "attack the runner"); err != nil {
		t.Fatal(err)
	}
	n, err := w.srv.OpenPR(githubtest.NewPR{Repo: demo.GreetingRepo, Head: "attack", Title: "attack", User: "alice", AuthorAssociation: "MEMBER"})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := demo.PullRequestEvent(w.srv, "opened", demo.GreetingRepo, n)
	if err != nil {
		t.Fatal(err)
	}
	cmd, _, _ := w.command(t, "pull_request", demo.GreetingRepo, payload,
		"GITHUB_ENV="+files["GITHUB_ENV"], "GITHUB_PATH="+files["GITHUB_PATH"], "GITHUB_STATE="+files["GITHUB_STATE"],
		"GITHUB_OUTPUT="+files["GITHUB_OUTPUT"], "GITHUB_STEP_SUMMARY="+files["GITHUB_STEP_SUMMARY"],
		"ACTIONS_RUNTIME_TOKEN=runtime-tok-5e1d", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=idtok-77a0",
		"ACTIONS_ID_TOKEN_REQUEST_URL=http://127.0.0.1:1/idtoken", "ACTIONS_CACHE_URL=http://127.0.0.1:1/cache/")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Once the action has re-executed itself, its environ is what every
	// process that can read it sees for the rest of the run.
	environ := fmt.Sprintf("/proc/%d/environ", cmd.Process.Pid)
	var werr error
	exited := make(chan struct{})
	go func() { werr = cmd.Wait(); close(exited) }()
	var seen string
	// Until it re-executes, or ends: no deadline but the suite's. (Right
	// after the start the environ can read empty, before the exec.)
	for seen == "" {
		select {
		case <-exited:
		case <-time.After(5 * time.Millisecond):
			data, _ := os.ReadFile(environ)
			if strings.Contains(string(data), "WORKSPACE_BOT_SECRETS_FD=") {
				seen = string(data)
			}
			continue
		}
		break
	}
	<-exited
	if seen == "" {
		t.Errorf("never saw the re-executed action's environ (%v):\n%s\n%s", werr, stdout.String(), stderr.String())
	}
	for _, s := range []string{actionToken, "runtime-tok-5e1d", "idtok-77a0"} {
		if strings.Contains(seen, s) {
			t.Errorf("%s holds %s", environ, s)
		}
	}
	if werr != nil {
		t.Fatalf("action: %v\n%s\n%s", werr, stdout.String(), stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "installed greeting") {
		t.Fatalf("the attacking step did not run:\n%s", out)
	}
	for _, v := range runnerVars {
		if strings.Contains(out, "inherited "+v) {
			t.Errorf("the step inherited %s", v)
		}
	}
	if strings.Contains(out, "INJECTED") || strings.Contains(out, "wrote to fd 1") {
		t.Errorf("the step wrote into the action's standard output:\n%s", out)
	}
	for v, path := range files {
		data, _ := os.ReadFile(path)
		if strings.Contains(string(data), "evil") {
			t.Errorf("the step wrote into %s (%s): %q", v, path, data)
		}
	}
	for _, s := range []string{"runtime-tok-5e1d", "idtok-77a0"} {
		if strings.Contains(out+stderr.String(), s) {
			t.Errorf("%s reached the action's output", s)
		}
	}
}
