package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/internal/text"
)

const cmdToken = "cli-test-token"

// emulatedWorkspace starts the GitHub emulator with siblings s1 and s2 and
// writes a wrknv.toml cloning them from it; testCmd is the workspace test.
func emulatedWorkspace(t *testing.T, testCmd string) (*githubtest.Server, string) {
	t.Helper()
	srv, err := githubtest.Start(githubtest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.AddToken(cmdToken, githubtest.Token{Login: "dev"})
	var b strings.Builder
	fmt.Fprintf(&b, "[workspace]\nname = \"ws\"\n\n[workspace.ci]\ntest = [%q]\ntimeout = \"1m\"\n\n[workspace.bot]\nlink_by_branch = true\n", testCmd)
	for _, n := range []string{"s1", "s2"} {
		if err := srv.CreateRepo("o/"+n, githubtest.RepoOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Commit("o/"+n, "main", map[string]string{"base-" + n + ".txt": "base\n"}, "initial"); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "\n[[siblings]]\nname = %q\npath = \"../%s\"\nrepo = %q\nlayer = \"foundation\"\nsetup = [\"true\"]\ntest = [\"echo own tests of %s\"]\n", n, n, srv.GitURL("o/"+n), n)
	}
	return srv, writeConfig(t, b.String())
}

func openPR(t *testing.T, srv *githubtest.Server, repo, branch, body string) int {
	t.Helper()
	name := strings.TrimPrefix(repo, "o/")
	if _, err := srv.Commit(repo, branch, map[string]string{"pr-" + name + ".txt": branch + "\n"}, "change on "+branch); err != nil {
		t.Fatal(err)
	}
	n, err := srv.OpenPR(githubtest.NewPR{Repo: repo, Head: branch, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	if strings.Contains(out.String()+errb.String(), cmdToken) {
		t.Errorf("the token was printed:\n%s\n%s", out.String(), errb.String())
	}
	return code, out.String(), errb.String()
}

func TestChangesetAndTestPRCommands(t *testing.T) {
	// The build sees both PRs' files merged onto their bases.
	srv, config := emulatedWorkspace(t, "test -f ../s1/pr-s1.txt && test -f ../s1/base-s1.txt && test -f ../s2/pr-s2.txt")
	a := openPR(t, srv, "o/s1", "feature", "")
	b := openPR(t, srv, "o/s2", "other-name", fmt.Sprintf("Depends-On: o/s1#%d", a))
	data := t.TempDir()
	gh := []string{"--config", config, "--data-dir", data, "--github-api-url", srv.APIURL(), "--github-token", cmdToken}

	code, out, errs := runCmd(t, append([]string{"changeset", fmt.Sprintf("o/s1#%d", a), "--json"}, gh...)...)
	if code != exitOK {
		t.Fatalf("changeset exit %d: %s", code, errs)
	}
	var cs changeset.Output
	if err := json.Unmarshal([]byte(out), &cs); err != nil {
		t.Fatalf("changeset --json: %v\n%s", err, out)
	}
	wantKey := fmt.Sprintf("o/s1#%d,o/s2#%d", a, b)
	if cs.Key != wantKey || len(cs.Members) != 2 || cs.Members[1].HeadSHA != srv.PR("o/s2", b).HeadSHA ||
		strings.Join(cs.Members[1].Links, ";") != fmt.Sprintf("depends on o/s1#%d", a) {
		t.Errorf("changeset = %+v", cs)
	}

	code, out, _ = runCmd(t, append([]string{"changeset", fmt.Sprintf("s2#%d", b)}, gh...)...)
	if code != exitOK || !strings.Contains(out, wantKey) || !strings.Contains(out, fmt.Sprintf("Depends-On in o/s2#%d", b)) || !strings.Contains(out, text.ShortSHA(srv.PR("o/s1", a).HeadSHA)) {
		t.Errorf("changeset text (exit %d):\n%s", code, out)
	}

	code, out, errs = runCmd(t, append([]string{"test", "--pr", fmt.Sprintf("o/s2#%d", b), "--json"}, gh...)...)
	if code != exitOK {
		t.Fatalf("test --pr exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	var res struct {
		Result    string `json:"result"`
		Changeset string `json:"changeset"`
		Siblings  []struct {
			Name, Ref, SHA string
		} `json:"siblings"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("test --json: %v\n%s", err, out)
	}
	if res.Result != "success" || res.Changeset != wantKey {
		t.Errorf("result %q changeset %q", res.Result, res.Changeset)
	}
	heads := map[string]string{"s1": srv.PR("o/s1", a).HeadSHA, "s2": srv.PR("o/s2", b).HeadSHA}
	for _, s := range res.Siblings {
		if want, ok := heads[s.Name]; ok && s.SHA != want {
			t.Errorf("sibling %s built at %s, want the PR head %s", s.Name, s.SHA, want)
		}
	}

	// A failing test is exit 1: the PR's file is missing from the build.
	srv2, config2 := emulatedWorkspace(t, "test -f ../s1/never-there.txt")
	c := openPR(t, srv2, "o/s1", "feature", "")
	gh2 := []string{"--config", config2, "--data-dir", t.TempDir(), "--github-api-url", srv2.APIURL(), "--github-token", cmdToken}
	code, out, _ = runCmd(t, append([]string{"test", "--pr", fmt.Sprintf("o/s1#%d", c)}, gh2...)...)
	if code != exitFailed {
		t.Errorf("failing test exit = %d, want %d", code, exitFailed)
	}
	// s1's PR does not reach s2: its tests do not run, and test says so;
	// --all runs them.
	if !strings.Contains(out, "not run: the tests of s2 (not affected: depends on no member); test --all runs them") {
		t.Errorf("test --pr does not say which tests did not run:\n%s", out)
	}
	code, out, errs = runCmd(t, append([]string{"test", "--pr", fmt.Sprintf("o/s1#%d", c), "--all", "-v"}, gh2...)...)
	if code != exitFailed || strings.Contains(out, "not run") || !strings.Contains(errs, "own tests of s2") {
		t.Errorf("test --all: exit %d\n%s\n%s", code, out, errs)
	}
}

func TestChangesetCommandErrors(t *testing.T) {
	srv, config := emulatedWorkspace(t, "true")
	gone := openPR(t, srv, "o/s2", "gone", "")
	if err := srv.ClosePR("o/s2", gone); err != nil {
		t.Fatal(err)
	}
	a := openPR(t, srv, "o/s1", "feature", fmt.Sprintf("Depends-On: o/s2#%d", gone))
	gh := []string{"--config", config, "--data-dir", t.TempDir(), "--github-api-url", srv.APIURL(), "--github-token", cmdToken}
	start := fmt.Sprintf("o/s1#%d", a)

	code, _, errs := runCmd(t, append([]string{"changeset", start}, gh...)...)
	if code != exitUsage || !strings.Contains(errs, fmt.Sprintf("o/s2#%d (Depends-On in %s): is closed", gone, start)) {
		t.Errorf("closed member: exit %d\n%s", code, errs)
	}
	code, _, errs = runCmd(t, append([]string{"test", "--pr", start}, gh...)...)
	if code != exitUsage || !strings.Contains(errs, "is closed") {
		t.Errorf("test --pr with a closed member: exit %d\n%s", code, errs)
	}
	code, _, errs = runCmd(t, append([]string{"changeset", "not-a-ref"}, gh...)...)
	if code != exitUsage || !strings.Contains(errs, "not a pull request reference") {
		t.Errorf("bad ref: exit %d\n%s", code, errs)
	}
	code, _, errs = runCmd(t, append([]string{"test", "--pr", start, "--local"}, gh...)...)
	if code != exitUsage || !strings.Contains(errs, "--local") {
		t.Errorf("--pr with --local: exit %d\n%s", code, errs)
	}

	tuneGitHub = func(o *ghclient.Options) { o.RetryBase = time.Millisecond }
	t.Cleanup(func() { tuneGitHub = nil })
	srv.Fault(githubtest.Fault{Status: 503, Count: -1})
	code, _, errs = runCmd(t, append([]string{"changeset", start}, gh...)...)
	if code != exitInfra || !strings.Contains(errs, "503") {
		t.Errorf("GitHub down: exit %d\n%s", code, errs)
	}
	srv.ClearFaults()

	t.Setenv("GITHUB_TOKEN", "")
	t.Setenv("WORKSPACE_BOT_GITHUB_TOKEN", "")
	code, _, errs = runCmd(t, "changeset", start, "--config", config, "--github-api-url", srv.APIURL())
	if code != exitUsage || !strings.Contains(errs, "no credentials") {
		t.Errorf("no token: exit %d\n%s", code, errs)
	}
	t.Setenv("WORKSPACE_BOT_GITHUB_TOKEN", "not-registered")
	code, _, errs = runCmd(t, "changeset", start, "--config", config, "--data-dir", t.TempDir(), "--github-api-url", srv.APIURL())
	if code != exitInfra || !strings.Contains(errs, "rejected the credentials") || strings.Contains(errs, "not-registered") {
		t.Errorf("bad token from the environment: exit %d\n%s", code, errs)
	}
}

// writeConfig writes text as wrknv.toml in a new workspace directory and
// returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	ws := filepath.Join(t.TempDir(), "ws")
	if err := os.MkdirAll(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(ws, "wrknv.toml")
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return config
}
