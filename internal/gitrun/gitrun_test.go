package gitrun

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/internal/scripttest"
)

// TestEnvironmentIsBuilt: the service's environment holds its tokens and
// secrets; a git child (and so every program git starts: transports,
// ssh, aliases) sees none of them, nor variables that point git at
// another repository.
func TestEnvironmentIsBuilt(t *testing.T) {
	secrets := map[string]string{
		"GITHUB_TOKEN":                 "ghp_gitrunTokenValue1",
		"WORKSPACE_BOT_GITHUB_TOKEN":   "ghp_gitrunTokenValue2",
		"WORKSPACE_BOT_WEBHOOK_SECRET": "hook-secret-value",
		"ACTIONS_RUNTIME_TOKEN":        "actions-runtime-value",
		"GIT_DIR":                      "/nonexistent/elsewhere.git",
		"GIT_CONFIG_PARAMETERS":        "'core.hookspath'='/tmp/planted-hooks'",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	for _, config := range []Config{Hermetic, UserConfig} {
		out, err := Run(context.Background(), dir, Env(config), nil, "-c", "alias.env=!env", "env")
		if err != nil {
			t.Fatal(err)
		}
		env := string(out)
		for k, v := range secrets {
			// git itself sets GIT_CONFIG_PARAMETERS for -c options; the
			// service's value must not be among them.
			if strings.Contains(env, v) || k != "GIT_CONFIG_PARAMETERS" && strings.Contains(env, "\n"+k+"=") {
				t.Errorf("config %d: git's child saw %s", config, k)
			}
		}
		for _, want := range []string{os.Getenv("PATH") + "\n", "\nGIT_TERMINAL_PROMPT=0\n", "\nLC_ALL=C\n"} {
			if !strings.Contains("\n"+env, want) {
				t.Errorf("config %d: environment lacks %s:\n%s", config, want, env)
			}
		}
		if hermetic := strings.Contains(env, "GIT_CONFIG_GLOBAL=/dev/null"); hermetic != (config == Hermetic) {
			t.Errorf("config %d: GIT_CONFIG_GLOBAL=/dev/null is %v", config, hermetic)
		}
	}
}

// plantHooks writes every hook the calls below could trigger into
// hooksDir; each one appends its name to marker.
func plantHooks(t *testing.T, hooksDir, marker string) {
	t.Helper()
	if err := os.MkdirAll(hooksDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"reference-transaction", "post-checkout", "post-merge", "pre-commit",
		"commit-msg", "post-commit", "pre-auto-gc", "post-rewrite", "pre-merge-commit", "prepare-commit-msg"} {
		script := "#!/bin/sh\necho " + h + " >> " + strconv.Quote(marker) + "\n"
		scripttest.Write(t, filepath.Join(hooksDir, h), script)
	}
}

// TestHooksNeverRun: hooks planted in a mirror (as a build step once did)
// and in a checkout do not run on fetch, clone, checkout, merge or commit,
// and neither does an fsmonitor command in a repository's config. The
// same calls through plain git run them, so the hooks are real.
func TestHooksNeverRun(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src.git")
	if err := gitfixture.InitBare(src, "main"); err != nil {
		t.Fatal(err)
	}
	base, err := gitfixture.Commit(src, "main", "", map[string]string{"a": "1"}, "one")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gitfixture.Commit(src, "topic", base, map[string]string{"b": "2"}, "two"); err != nil {
		t.Fatal(err)
	}

	scenario := func(t *testing.T, name string, runGit func(dir string, args ...string) error) string {
		marker := filepath.Join(tmp, name+".ran")
		mirror := filepath.Join(tmp, name+"-mirror.git")
		if err := runGit("", "init", "--bare", "--quiet", "--template=", mirror); err != nil {
			t.Fatal(err)
		}
		plantHooks(t, filepath.Join(mirror, "hooks"), marker)
		if err := runGit(mirror, "config", "core.fsmonitor", "echo fsmonitor >> "+strconv.Quote(marker)); err != nil {
			t.Fatal(err)
		}
		if err := runGit(mirror, "fetch", "--quiet", src, "+refs/heads/*:refs/heads/*"); err != nil {
			t.Fatal(err)
		}
		work := filepath.Join(tmp, name+"-work")
		if err := runGit("", "clone", "--quiet", "--shared", "--template=", mirror, work); err != nil {
			t.Fatal(err)
		}
		plantHooks(t, filepath.Join(work, ".git", "hooks"), marker)
		if err := runGit(work, "config", "core.fsmonitor", "echo fsmonitor >> "+strconv.Quote(marker)); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"checkout", "--quiet", "--detach", "origin/main"},
			{"merge", "--no-ff", "--quiet", "-m", "merge", "origin/topic"},
			{"status", "--porcelain"},
			{"commit", "--quiet", "--allow-empty", "-m", "more"},
		} {
			if err := runGit(work, args...); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := os.ReadFile(marker)
		return string(got)
	}

	plain := scenario(t, "plain", func(dir string, args ...string) error {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = Env(Hermetic)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return errors.New(string(out))
		}
		return nil
	})
	for _, h := range []string{"reference-transaction", "post-checkout", "post-merge", "post-commit", "fsmonitor"} {
		if !strings.Contains(plain, h) {
			t.Errorf("control: plain git did not run %s (ran: %q); the scenario proves nothing", h, plain)
		}
	}
	if ran := scenario(t, "guarded", func(dir string, args ...string) error {
		_, err := Run(context.Background(), dir, nil, nil, args...)
		return err
	}); ran != "" {
		t.Errorf("gitrun ran repository hooks or fsmonitor:\n%s", ran)
	}
}

// TestErrorHidesCredentials: a failed fetch from a URL with a token shows
// the URL without it, in the arguments and in git's own stderr.
func TestErrorHidesCredentials(t *testing.T) {
	dir := t.TempDir()
	if _, err := Output(context.Background(), "", "init", "--bare", "--quiet", dir); err != nil {
		t.Fatal(err)
	}
	url := "http://bot:s3cr3t-token@127.0.0.1:1/o/r.git"
	_, err := Run(context.Background(), dir, nil, nil, "fetch", "--end-of-options", url, "main")
	var ge *Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "http://127.0.0.1:1/o/r.git") {
		t.Errorf("message %q", err)
	}
	if strings.Contains(err.Error(), "hooksPath") {
		t.Errorf("message shows the guard options: %q", err)
	}
}

// TestCancelKillsHelpers: cancelling a call kills what git started, not
// only git.
func TestCancelKillsHelpers(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancel once git's helper has started and said so, however long a
	// loaded machine takes to get there.
	var cancelled time.Time
	go func() {
		for {
			if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancelled = time.Now()
		cancel()
	}()
	_, err := Run(ctx, "", nil, nil, "-c", "alias.hang=!sleep 300 & echo $! > "+strconv.Quote(pidFile)+"; wait", "hang")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want the cancel", err)
	}
	if d := time.Since(cancelled); d > 5*time.Second {
		t.Errorf("cancel took %s", d)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(2 * time.Second)
	for syscall.Kill(pid, 0) == nil && !zombie(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("git's child %d outlived the cancelled call", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func zombie(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(f) > 0 && f[0] == "Z"
}
