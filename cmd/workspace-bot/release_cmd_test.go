package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/internal/githubtest"
)

// releaseWorkspace puts two siblings on the emulator: core (private,
// tagged v0.4.0, then a feat commit: the tag must reach the checkout for
// the commit fallback to see it) and app, whose range excludes core's next
// version and which holds a fragment.
func releaseWorkspace(t *testing.T) (*githubtest.Server, string) {
	t.Helper()
	srv, err := githubtest.Start(githubtest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.AddToken(cmdToken, githubtest.Token{Login: "dev"})
	if err := srv.CreateRepo("o/core", githubtest.RepoOptions{Private: true}); err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateRepo("o/app", githubtest.RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	commit := func(repo string, files map[string]string, msg string) string {
		sha, err := srv.Commit(repo, "main", files, msg)
		if err != nil {
			t.Fatal(err)
		}
		return sha
	}
	tagged := commit("o/core", map[string]string{"VERSION": "0.4.0\n"}, "feat: first")
	if err := gitfixture.Tag(srv.RepoDir("o/core"), "v0.4.0", tagged); err != nil {
		t.Fatal(err)
	}
	commit("o/core", map[string]string{"a.py": "a = 1\n"}, "feat: a")
	commit("o/app", map[string]string{
		"pyproject.toml":      "[project]\nname = \"app\"\nversion = \"1.0.0\"\ndependencies = [\"core>=0.4,<0.5\"]\n",
		".changeset/quiet.md": "---\n---\n",
	}, "initial")

	var b strings.Builder
	b.WriteString("[workspace]\nname = \"ws\"\n")
	for _, n := range []string{"core", "app"} {
		fmt.Fprintf(&b, "\n[[siblings]]\nname = %q\nrepo = %q\nlayer = \"foundation\"\n", n, srv.GitURL("o/"+n))
		if n == "app" {
			b.WriteString("depends_on = [\"core\"]\n")
		}
	}
	return srv, writeConfig(t, b.String())
}

func TestReleaseCommands(t *testing.T) {
	srv, config := releaseWorkspace(t)
	data := t.TempDir()
	base := []string{"--config", config, "--data-dir", data, "--github-api-url", srv.APIURL(), "--date", "2026-05-01"}

	// The private sibling cannot be read without credentials.
	t.Setenv("GITHUB_TOKEN", "")
	t.Setenv("WORKSPACE_BOT_GITHUB_TOKEN", "")
	if code, _, stderr := runCmd(t, append([]string{"release", "plan"}, base...)...); code != exitInfra || !strings.Contains(stderr, "o/core") {
		t.Errorf("plan without a token: exit %d, stderr %s", code, stderr)
	}
	t.Setenv("WORKSPACE_BOT_GITHUB_TOKEN", cmdToken)

	code, stdout, stderr := runCmd(t, append([]string{"release", "plan", "--json"}, base...)...)
	if code != exitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	var plan struct {
		Siblings []struct {
			Name, Old, New, Bump string
			Why                  []string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	got := fmt.Sprint(plan.Siblings)
	want := "[{core 0.4.0 0.5.0 minor [feat: commits since v0.4.0]} {app 1.0.0 1.0.1 patch [patch: core 0.5.0 is outside >=0.4,<0.5]}]"
	if got != want {
		t.Errorf("plan:\n got %s\nwant %s", got, want)
	}
	if entries, _ := os.ReadDir(filepath.Join(data, "builds")); len(entries) != 0 {
		t.Errorf("build roots left behind: %v", entries)
	}

	code, stdout, stderr = runCmd(t, append([]string{"release", "open", "--dry-run"}, base...)...)
	if code != exitOK || !strings.Contains(stdout, "core: would push workspace-bot/release: CHANGELOG.md, VERSION; would create a PR in o/core") {
		t.Errorf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if srv.PR("o/core", 1).Number != 0 {
		t.Error("the dry run opened a PR")
	}

	for run := 1; run <= 2; run++ {
		code, stdout, stderr = runCmd(t, append([]string{"release", "open"}, base...)...)
		if code != exitOK {
			t.Fatalf("open #%d: exit %d\n%s", run, code, stderr)
		}
		if strings.Contains(stdout+stderr, cmdToken) {
			t.Fatal("the token was printed")
		}
	}
	core, app := srv.PR("o/core", 1), srv.PR("o/app", 1)
	if core.Title != "Release core 0.5.0" || !strings.Contains(core.Body, "Depends-On: o/app#1\n") ||
		app.Title != "Release app 1.0.1" || !strings.Contains(app.Body, "Depends-On: o/core#1\n") {
		t.Errorf("PRs:\n%+v\n%+v", core, app)
	}
	if srv.PR("o/core", 2).Number != 0 || srv.PR("o/app", 2).Number != 0 {
		t.Error("the second run opened duplicates")
	}
	if v, err := gitfixture.Git(srv.RepoDir("o/core"), "show", "workspace-bot/release:VERSION"); err != nil || v != "0.5.0" {
		t.Errorf("core's release branch VERSION = %q, %v", v, err)
	}
	if v, _ := gitfixture.Git(srv.RepoDir("o/app"), "show", "workspace-bot/release:pyproject.toml"); !strings.Contains(v, `"core>=0.5,<0.6"`) {
		t.Errorf("app's pyproject:\n%s", v)
	}
	if _, err := gitfixture.Git(srv.RepoDir("o/app"), "show", "workspace-bot/release:.changeset/quiet.md"); err == nil {
		t.Error("app's fragment was not removed")
	}
}

func TestReleaseCommandErrors(t *testing.T) {
	srv, config := releaseWorkspace(t)
	t.Setenv("WORKSPACE_BOT_GITHUB_TOKEN", cmdToken)
	if _, err := srv.Commit("o/app", "main", map[string]string{".changeset/bad.md": "---\nnobody: minor\n---\nx\n"}, "chore: bad"); err != nil {
		t.Fatal(err)
	}
	base := []string{"--config", config, "--data-dir", t.TempDir(), "--github-api-url", srv.APIURL()}
	for name, tc := range map[string]struct {
		args []string
		code int
		want string
	}{
		"no subcommand":    {[]string{"release"}, exitUsage, "usage: workspace-bot release plan|open"},
		"unknown package":  {append([]string{"release", "plan"}, base...), exitUsage, `.changeset/bad.md names "nobody"`},
		"bad date":         {[]string{"release", "plan", "--date", "May 1"}, exitUsage, "--date"},
		"bad branch":       {[]string{"release", "open", "--branch", "--upload-pack=x"}, exitUsage, "--branch"},
		"missing config":   {[]string{"release", "plan", "--config", filepath.Join(t.TempDir(), "nope.toml")}, exitUsage, "file not found"},
		"unreachable repo": {[]string{"release", "plan", "--local", "--config", config}, exitUsage, "is not a git repository"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d (want %d), stderr:\n%s", code, tc.code, stderr)
			}
		})
	}
}
