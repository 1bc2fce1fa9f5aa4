package ci

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runnerSecrets are variables of the service's (or the Action's)
// environment that a step must never see.
var runnerSecrets = []string{
	"GITHUB_TOKEN", "WORKSPACE_BOT_GITHUB_TOKEN", "WORKSPACE_BOT_WEBHOOK_SECRET", "WORKSPACE_BOT_APP_PRIVATE_KEY",
	"GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STATE", "GITHUB_STEP_SUMMARY",
	"ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_CACHE_URL",
}

// TestStepsDoNotInheritTheRunnersEnvironment reproduces the finding: a
// step printed GITHUB_TOKEN from its environment, and in the Action wrote
// into $GITHUB_OUTPUT and $GITHUB_ENV. None of those variables reach a
// step, in a build root or with --local.
func TestStepsDoNotInheritTheRunnersEnvironment(t *testing.T) {
	files := t.TempDir()
	for _, k := range runnerSecrets {
		v := "value-of-" + strings.ToLower(k)
		if strings.HasPrefix(k, "GITHUB_") && k != "GITHUB_TOKEN" {
			v = filepath.Join(files, k) // the Action's command files
			if err := os.WriteFile(v, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Setenv(k, v)
	}
	// What the step does: print its environment, then try to use the
	// Action's files.
	attack := `env; for f in "$GITHUB_OUTPUT" "$GITHUB_ENV" "$GITHUB_PATH"; do [ -n "$f" ] && echo result=success >> "$f"; done; true`

	f := newFixture(t)
	f.repo("alpha", nil)
	cfg := f.config(sib{name: "alpha"})
	cfg.Workspace.CI.Test = []string{attack}
	built, err := f.runner().Run(context.Background(), Request{Config: cfg})
	if err != nil || built.Result != Success {
		t.Fatalf("%v %+v", err, built)
	}
	lcfg := localWorkspace(t, "alpha")
	lcfg.Workspace.CI.Test = []string{attack}
	local, err := (&Runner{DataDir: t.TempDir()}).Run(context.Background(), Request{Config: lcfg, Local: true})
	if err != nil || local.Result != Success {
		t.Fatalf("%v %+v", err, local)
	}
	for name, res := range map[string]*Result{"build root": built, "local": local} {
		env := stepsOf(res, "test", "")[0].Log
		for _, k := range runnerSecrets {
			if strings.Contains(env, k+"=") || strings.Contains(env, "value-of-"+strings.ToLower(k)) {
				t.Errorf("%s: a step saw %s", name, k)
			}
		}
		for _, want := range []string{"PATH=" + os.Getenv("PATH"), "WORKSPACE_ROOT=", "HOME=", "TMPDIR="} {
			if !strings.Contains(env, want) {
				t.Errorf("%s: step environment lacks %s:\n%s", name, want, env)
			}
		}
		if strings.Contains(env, "HOME="+os.Getenv("HOME")+"\n") {
			t.Errorf("%s: a step got the service's HOME", name)
		}
	}
	for _, k := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH"} {
		if b, _ := os.ReadFile(filepath.Join(files, k)); len(b) != 0 {
			t.Errorf("a step wrote into %s: %q", k, b)
		}
	}
}

// TestStepsHomeAndTmp: steps of one run share a HOME and TMPDIR of their
// own, which the next run does not see.
func TestStepsHomeAndTmp(t *testing.T) {
	cfg := localWorkspace(t, "alpha")
	cfg.Workspace.CI.Setup = []string{`test -z "$(ls -A "$HOME")" && echo hi > "$HOME/.cfg" && echo t > "$TMPDIR/t"`}
	cfg.Workspace.CI.Test = []string{`test "$(cat "$HOME/.cfg")" = hi && test -f "$TMPDIR/t"`}
	r := &Runner{DataDir: t.TempDir()}
	for i := 0; i < 2; i++ {
		res, err := r.Run(context.Background(), Request{Config: cfg, Local: true})
		if err != nil || res.Result != Success {
			t.Fatalf("run %d: %v %+v", i, err, res.Steps)
		}
	}
}
