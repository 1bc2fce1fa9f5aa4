package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/demo"
	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/internal/pgtest"
)

// The action is tested as GitHub runs it: the binary in its own process,
// with the runner's environment, event file and output files.

const actionToken = "ghp_actionTestToken0123456789"

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// TestMain removes the binary actionBinary built, so a test run leaves
// nothing behind in the temporary directory.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	if err := pgtest.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// actionBinary builds workspace-bot once per test binary.
func actionBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "workspace-bot-bin-*")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "workspace-bot")
		args := append(append([]string{"build"}, binaryBuildFlags...), "-o", binPath, ".")
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("build workspace-bot: %v", binErr)
	}
	return binPath
}

// actionWorld is the demo workspace on an emulator, as the action sees it.
type actionWorld struct {
	srv *githubtest.Server
	dir string
}

func newActionWorld(t *testing.T) *actionWorld {
	t.Helper()
	srv, err := githubtest.Start(githubtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.AddToken(actionToken, githubtest.Token{Login: "workspace-bot"})
	if err := demo.Create(srv); err != nil {
		t.Fatal(err)
	}
	return &actionWorld{srv: srv, dir: t.TempDir()}
}

// actionRunResult is what one action step left behind.
type actionRunResult struct {
	code    int
	stdout  string
	stderr  string
	outputs map[string]string
	summary string
}

// command prepares the action for event with payload in repo, with the
// runner's environment; outFile and sumFile are GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY.
func (w *actionWorld) command(t *testing.T, event, repo string, payload []byte, extra ...string) (cmd *exec.Cmd, outFile, sumFile string) {
	t.Helper()
	dir := t.TempDir()
	eventPath := filepath.Join(dir, "event.json")
	if err := os.WriteFile(eventPath, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	outFile, sumFile = filepath.Join(dir, "output"), filepath.Join(dir, "summary.md")
	cmd = exec.Command(actionBinary(t), "action")
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + os.TempDir(),
		"GITHUB_ACTIONS=true",
		"GITHUB_EVENT_NAME=" + event, "GITHUB_EVENT_PATH=" + eventPath,
		"GITHUB_REPOSITORY=" + repo, "GITHUB_API_URL=" + w.srv.APIURL(),
		"GITHUB_SERVER_URL=" + w.srv.URL(), "GITHUB_RUN_ID=4242",
		"GITHUB_OUTPUT=" + outFile, "GITHUB_STEP_SUMMARY=" + sumFile,
		"WORKSPACE_BOT_GITHUB_TOKEN=" + actionToken,
		"WORKSPACE_BOT_CONFIG=" + demo.WorkspaceRepo + ":wrknv.toml",
		"WORKSPACE_BOT_COMMAND=auto",
		"WORKSPACE_BOT_DATA_DIR=" + filepath.Join(w.dir, "data"),
	}, append(binaryEnv, extra...)...)
	return cmd, outFile, sumFile
}

// run runs the action for event with payload in repo.
func (w *actionWorld) run(t *testing.T, event, repo string, payload []byte, extra ...string) actionRunResult {
	t.Helper()
	cmd, outFile, sumFile := w.command(t, event, repo, payload, extra...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r := actionRunResult{code: code, stdout: stdout.String(), stderr: stderr.String(), outputs: readOutputs(t, outFile)}
	if b, err := os.ReadFile(sumFile); err == nil {
		r.summary = string(b)
	}
	// The token may appear only in the line that masks it.
	for _, line := range strings.Split(r.stdout+r.stderr+r.summary, "\n") {
		if strings.Contains(line, actionToken) && line != "::add-mask::"+actionToken {
			t.Errorf("the token leaked: %q", line)
		}
	}
	return r
}

// readOutputs parses the heredoc form ghactions.SetOutput writes.
func readOutputs(t *testing.T, file string) map[string]string {
	t.Helper()
	out := map[string]string{}
	b, err := os.ReadFile(file)
	if err != nil {
		return out
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

func (r actionRunResult) String() string {
	return "exit " + strconv.Itoa(r.code) + "\n--- stdout\n" + r.stdout + "\n--- stderr\n" + r.stderr + "\n--- summary\n" + r.summary
}

func lastStatus(srv *githubtest.Server, repo string, number int) githubtest.Status {
	st, _ := demo.LastStatus(srv, repo, number)
	return st
}

func summaryComment(srv *githubtest.Server, repo string, number int) string {
	c, _ := demo.SummaryComment(srv, repo, number)
	return c.Body
}

func assertWorkflowCommands(t *testing.T, r actionRunResult) {
	t.Helper()
	if !strings.Contains(r.stdout, "::add-mask::"+actionToken+"\n") {
		t.Errorf("the token is not masked:\n%s", r)
	}
	if !strings.Contains(r.stdout, "::group::") || !strings.Contains(r.stdout, "::endgroup::") {
		t.Errorf("no log groups:\n%s", r)
	}
	// Every group body sits between ::stop-commands::TOKEN and ::TOKEN::.
	re := regexp.MustCompile(`(?m)^::stop-commands::([0-9a-f]{32})$`)
	ms := re.FindAllStringSubmatch(r.stdout, -1)
	if len(ms) == 0 {
		t.Errorf("no stop-commands markers:\n%s", r)
	}
	for _, m := range ms {
		if !strings.Contains(r.stdout, "\n::"+m[1]+"::\n") {
			t.Errorf("stop-commands %s is never resumed", m[1])
		}
	}
}

func TestActionPassingChangeset(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	rn, payload := w.openRename(t)
	r := w.run(t, "pull_request", demo.CLIRepo, payload)
	if r.code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}
	assertWorkflowCommands(t, r)
	if strings.Contains(r.stdout, "::error") {
		t.Errorf("an error annotation on success:\n%s", r)
	}
	if r.outputs["result"] != "success" {
		t.Errorf("result output %q", r.outputs["result"])
	}
	var cs changeset.Output
	if err := json.Unmarshal([]byte(r.outputs["changeset"]), &cs); err != nil {
		t.Fatalf("changeset output %q: %v", r.outputs["changeset"], err)
	}
	if cs.Key != "demo-org/greeting#1,demo-org/hello-cli#1" || len(cs.Members) != 2 || cs.Members[0].HeadSHA == "" {
		t.Errorf("changeset output %+v", cs)
	}
	runURL := w.srv.URL() + "/" + demo.CLIRepo + "/actions/runs/4242"
	for _, m := range []struct {
		repo string
		n    int
	}{{demo.GreetingRepo, rn.Greeting}, {demo.CLIRepo, rn.CLI}} {
		st := lastStatus(w.srv, m.repo, m.n)
		if st.State != "success" || st.TargetURL != runURL {
			t.Errorf("%s#%d status %+v, want success linking %s", m.repo, m.n, st, runURL)
		}
		body := summaryComment(w.srv, m.repo, m.n)
		if !strings.Contains(body, "passed") || !strings.Contains(body, runURL) || strings.Contains(body, "invalid") {
			t.Errorf("%s#%d summary comment:\n%s", m.repo, m.n, body)
		}
	}
	if !strings.Contains(r.summary, "| step | sibling | result | time |") || !strings.Contains(r.summary, "passed") {
		t.Errorf("step summary:\n%s", r.summary)
	}
}

func TestActionFailingChangeset(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	n, err := demo.OpenBannerBreak(w.srv)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := demo.PullRequestEvent(w.srv, "opened", demo.BannerRepo, n)
	if err != nil {
		t.Fatal(err)
	}
	r := w.run(t, "pull_request", demo.BannerRepo, payload)
	if r.code != exitFailed {
		t.Fatalf("want exit 1:\n%s", r)
	}
	assertWorkflowCommands(t, r)
	if !strings.Contains(r.stdout, "::error title=workspace/integration%3A failure::test workspace: sh tests/integration.sh") {
		t.Errorf("no error annotation for the failing step:\n%s", r)
	}
	// The failing test's output is inside a group, behind stop-commands.
	if i, j := strings.Index(r.stdout, "FAIL: expected"), strings.Index(r.stdout, "::stop-commands::"); i < 0 || j < 0 || j > i {
		t.Errorf("the failing log is not in a stop-commands group:\n%s", r)
	}
	if r.outputs["result"] != "failure" {
		t.Errorf("result output %q", r.outputs["result"])
	}
	if st := lastStatus(w.srv, demo.BannerRepo, n); st.State != "failure" {
		t.Errorf("status %+v, want failure", st)
	}
	if body := summaryComment(w.srv, demo.BannerRepo, n); !strings.Contains(body, "FAIL: expected") {
		t.Errorf("summary comment without the log tail:\n%s", body)
	}
	if !strings.Contains(r.summary, "failed") {
		t.Errorf("step summary:\n%s", r.summary)
	}
	// banner's change reaches hello-cli, which depends on it, but not
	// greeting: its own test does not run, and the step summary says so.
	if !strings.Contains(r.summary, "**Not run:** the tests of greeting, not affected") || !strings.Contains(r.summary, "| banner | ✅ success |") {
		t.Errorf("the step summary does not say which tests did not run:\n%s", r.summary)
	}
}

func TestActionCommentFromTrustedUserRuns(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	rn, c, payload := w.renameComment(t, "alice", "MEMBER", "Looks right.\n/workspace test\n", true)
	r := w.run(t, "issue_comment", demo.GreetingRepo, payload)
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("want exit 0 and success:\n%s", r)
	}
	if got := w.srv.Reactions(demo.GreetingRepo, c.ID); len(got) != 1 || got[0] != "+1" {
		t.Errorf("reactions %v, want [+1]", got)
	}
	for _, m := range []struct {
		repo string
		n    int
	}{{demo.GreetingRepo, rn.Greeting}, {demo.CLIRepo, rn.CLI}} {
		if st := lastStatus(w.srv, m.repo, m.n); st.State != "success" {
			t.Errorf("%s#%d status %+v", m.repo, m.n, st)
		}
	}
}

func TestActionCommentFromUntrustedUserIsRefused(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	rn, c, payload := w.renameComment(t, "mallory", "CONTRIBUTOR", "/workspace test", true)
	r := w.run(t, "issue_comment", demo.GreetingRepo, payload)
	if r.code != 0 || r.outputs["result"] != "skipped" {
		t.Fatalf("want exit 0 and skipped:\n%s", r)
	}
	if st := lastStatus(w.srv, demo.GreetingRepo, rn.Greeting); st.State != "" {
		t.Errorf("a status was posted for an untrusted command: %+v", st)
	}
	var refused bool
	for _, cm := range w.srv.Comments(demo.GreetingRepo, rn.Greeting) {
		if cm.ID != c.ID && strings.Contains(cm.Body, "@mallory") {
			refused = true
		}
	}
	if !refused {
		t.Errorf("no refusal answered to @mallory: %+v", w.srv.Comments(demo.GreetingRepo, rn.Greeting))
	}
	if strings.Contains(r.stdout, "::group::") {
		t.Errorf("something was built:\n%s", r)
	}
}

func TestActionCommentOnPlainIssueIsIgnored(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	rn, c, payload := w.renameComment(t, "alice", "MEMBER", "/workspace test", false)
	r := w.run(t, "issue_comment", demo.GreetingRepo, payload)
	if r.code != 0 || r.outputs["result"] != "skipped" {
		t.Fatalf("want exit 0 and skipped:\n%s", r)
	}
	if got := w.srv.Reactions(demo.GreetingRepo, c.ID); len(got) != 0 {
		t.Errorf("reacted to a comment on a plain issue: %v", got)
	}
	if st := lastStatus(w.srv, demo.GreetingRepo, rn.Greeting); st.State != "" {
		t.Errorf("a status was posted: %+v", st)
	}
}

func TestActionPushInWorkspaceBuildsTips(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	// The code under test must not find the token in its environment.
	script, err := gitfixture.Git(w.srv.RepoDir(demo.WorkspaceRepo), "show", "main:tests/integration.sh")
	if err != nil {
		t.Fatal(err)
	}
	guard := "#!/bin/sh\nif env | grep -q " + actionToken + "; then echo 'the token is visible to tests'; exit 1; fi\n"
	if _, err := w.srv.Commit(demo.WorkspaceRepo, "main", map[string]string{"tests/integration.sh": guard + script}, "guard the token"); err != nil {
		t.Fatal(err)
	}
	r := w.run(t, "push", demo.WorkspaceRepo, []byte(`{"ref":"refs/heads/main"}`), "GITHUB_TOKEN="+actionToken)
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("want exit 0 and success:\n%s", r)
	}
	assertWorkflowCommands(t, r)
	if !strings.Contains(r.outputs["changeset"], `"key":"tips"`) || !strings.Contains(r.outputs["changeset"], `"name":"hello-cli"`) {
		t.Errorf("changeset output %s", r.outputs["changeset"])
	}
	if !strings.Contains(r.summary, "| sibling | ref | commit |") || !strings.Contains(r.summary, "| greeting |") {
		t.Errorf("step summary:\n%s", r.summary)
	}
	// A push to a sibling is not the workspace's business.
	r = w.run(t, "push", demo.GreetingRepo, []byte(`{"ref":"refs/heads/main"}`))
	if r.code != 0 || r.outputs["result"] != "skipped" {
		t.Errorf("push in a sibling:\n%s", r)
	}
}

func TestActionRefusesPullRequestTarget(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	r := w.run(t, "pull_request_target", demo.CLIRepo, []byte(`{}`))
	if r.code != exitUsage || r.outputs["result"] != "error" || !strings.Contains(r.stdout, "::error title=workspace-bot::refusing pull_request_target") {
		t.Errorf("pull_request_target must fail with an error annotation and exit 2:\n%s", r)
	}
}

func TestActionBadEnvironment(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	r := w.run(t, "pull_request", demo.CLIRepo, []byte(`{}`), "WORKSPACE_BOT_COMMAND=deploy")
	if r.code != exitUsage || r.outputs["result"] != "error" ||
		!strings.Contains(r.stdout, `::error title=workspace-bot::WORKSPACE_BOT_COMMAND="deploy": want auto, test or validate (the same as --command)`) {
		t.Errorf("bad command input:\n%s", r)
	}
	r = w.run(t, "pull_request", demo.CLIRepo, []byte(`{}`), "WORKSPACE_BOT_CONFIG=demo-org/demo-workspace:missing.toml")
	if r.code != exitUsage || r.outputs["result"] != "error" || !strings.Contains(r.stdout, "missing.toml") {
		t.Errorf("missing remote config:\n%s", r)
	}
}

func TestActionUnresolvableChangesetIsAConfigError(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	if _, err := w.srv.Commit(demo.CLIRepo, "stray", map[string]string{"NOTES": "x\n"}, "notes"); err != nil {
		t.Fatal(err)
	}
	n, err := w.srv.OpenPR(githubtest.NewPR{Repo: demo.CLIRepo, Head: "stray", Title: "Notes",
		Body: "Depends-On: elsewhere/unrelated#3\n", User: "alice", AuthorAssociation: "MEMBER"})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := demo.PullRequestEvent(w.srv, "opened", demo.CLIRepo, n)
	if err != nil {
		t.Fatal(err)
	}
	r := w.run(t, "pull_request", demo.CLIRepo, payload)
	if r.code != exitUsage || r.outputs["result"] != "error" {
		t.Fatalf("want exit 2 and error:\n%s", r)
	}
	if !strings.Contains(r.stdout, "::error title=workspace/integration::changeset error") || !strings.Contains(r.stdout, "elsewhere/unrelated") {
		t.Errorf("no annotation naming the bad link:\n%s", r)
	}
	if st := lastStatus(w.srv, demo.CLIRepo, n); st.State != "failure" {
		t.Errorf("status %+v, want failure", st)
	}
	if !strings.Contains(r.summary, "could not be resolved") || !strings.Contains(r.summary, "Fix") {
		t.Errorf("step summary without the fix:\n%s", r.summary)
	}
}

// openRename opens the demo's rename across greeting and hello-cli and
// returns it with hello-cli's pull_request opened event.
func (w *actionWorld) openRename(t *testing.T) (demo.Rename, []byte) {
	t.Helper()
	rn, err := demo.OpenRename(w.srv)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := demo.PullRequestEvent(w.srv, "opened", demo.CLIRepo, rn.CLI)
	if err != nil {
		t.Fatal(err)
	}
	return rn, payload
}

// forkPR opens a PR on banner from eve's fork, by a first-time
// contributor, with files committed on branch; it returns its number.
func (w *actionWorld) forkPR(t *testing.T, branch string, files map[string]string, title string) int {
	t.Helper()
	if err := w.srv.CreateRepo("eve/banner", githubtest.RepoOptions{ForkOf: demo.BannerRepo}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.srv.Commit("eve/banner", branch, files, title); err != nil {
		t.Fatal(err)
	}
	n, err := w.srv.OpenPR(githubtest.NewPR{Repo: demo.BannerRepo, Head: branch, HeadRepo: "eve/banner",
		Title: title, User: "eve", AuthorAssociation: "FIRST_TIME_CONTRIBUTOR"})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestActionForkFromUntrustedAuthorWaits(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	n := w.forkPR(t, "steal", map[string]string{"lib.sh": "banner() { env; }\n"}, "Small fix")
	payload, err := demo.PullRequestEvent(w.srv, "opened", demo.BannerRepo, n)
	if err != nil {
		t.Fatal(err)
	}
	r := w.run(t, "pull_request", demo.BannerRepo, payload)
	if r.code != 0 || r.outputs["result"] != "skipped" || strings.Contains(r.stdout, "::group::") {
		t.Fatalf("fork code must not run before a maintainer's command:\n%s", r)
	}
	if st := lastStatus(w.srv, demo.BannerRepo, n); st.State != "pending" || !strings.Contains(st.Description, "waiting for a trusted") {
		t.Errorf("status %+v, want pending waiting for a trusted command", st)
	}
	if !strings.Contains(r.summary, "waiting for a trusted /workspace test") {
		t.Errorf("step summary:\n%s", r.summary)
	}
}

func TestActionValidateCommand(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	r := w.run(t, "push", demo.WorkspaceRepo, []byte(`{}`), "WORKSPACE_BOT_COMMAND=validate")
	if r.code != 0 || !strings.Contains(r.stdout, "demo-workspace: 3 siblings, valid; build order: greeting, banner, hello-cli") {
		t.Errorf("validate:\n%s", r)
	}
}

func TestActionCancelledLeavesNoPendingStatus(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	rn, err := demo.OpenRename(w.srv)
	if err != nil {
		t.Fatal(err)
	}
	// The integration test hangs, as a job cancelled mid-run would find it.
	if _, err := w.srv.Commit(demo.WorkspaceRepo, "main", map[string]string{"tests/integration.sh": "sleep 60\n"}, "slow test"); err != nil {
		t.Fatal(err)
	}
	payload, err := demo.PullRequestEvent(w.srv, "opened", demo.GreetingRepo, rn.Greeting)
	if err != nil {
		t.Fatal(err)
	}
	cmd, outFile, _ := w.command(t, "pull_request", demo.GreetingRepo, payload)
	var stdout strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.HasPrefix(lastStatus(w.srv, demo.CLIRepo, rn.CLI).Description, "running") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the run never started:\n%s", stdout.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// GitHub cancels a job with SIGINT first.
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1 (cancelled):\n%s", err, stdout.String())
	}
	for _, m := range []struct {
		repo string
		n    int
	}{{demo.GreetingRepo, rn.Greeting}, {demo.CLIRepo, rn.CLI}} {
		st := lastStatus(w.srv, m.repo, m.n)
		if st.State != "error" || !strings.Contains(st.Description, "cancelled") {
			t.Errorf("%s#%d status %+v, want error saying the workflow run was cancelled", m.repo, m.n, st)
		}
	}
	if got := readOutputs(t, outFile)["result"]; got != "cancelled" {
		t.Errorf("result output %q, want cancelled", got)
	}
}

// renameComment opens the demo's rename pair and has user comment body on
// greeting's PR; onPR false makes the payload a plain issue's.
func (w *actionWorld) renameComment(t *testing.T, user, association, body string, onPR bool) (demo.Rename, githubtest.Comment, []byte) {
	t.Helper()
	rn, err := demo.OpenRename(w.srv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.srv.AddComment(demo.GreetingRepo, rn.Greeting, user, association, body)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := demo.IssueCommentEvent(w.srv, demo.GreetingRepo, rn.Greeting, c, onPR)
	if err != nil {
		t.Fatal(err)
	}
	return rn, c, payload
}

// The Action's store lasts one job, so an approving comment's job has
// never seen the fork's head: it reads when an earlier job first posted a
// state on it from GitHub. A head that appears after the comment is not
// approved.
func TestActionApprovalCoversHeadsWaitingBeforeTheComment(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	n := w.forkPR(t, "typo", map[string]string{"NOTES": "a typo fixed\n"}, "Typo")
	opened, err := demo.PullRequestEvent(w.srv, "opened", demo.BannerRepo, n)
	if err != nil {
		t.Fatal(err)
	}
	if r := w.run(t, "pull_request", demo.BannerRepo, opened); r.outputs["result"] != "skipped" {
		t.Fatalf("the fork ran before an approval:\n%s", r)
	}
	comment := func(body string) []byte {
		t.Helper()
		c, err := w.srv.AddComment(demo.BannerRepo, n, "alice", "MEMBER", body)
		if err != nil {
			t.Fatal(err)
		}
		p, err := demo.IssueCommentEvent(w.srv, demo.BannerRepo, n, c, true)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	reply := func() string {
		cs := w.srv.Comments(demo.BannerRepo, n)
		return cs[len(cs)-1].Body
	}

	// A push lands between the comment and its job.
	time.Sleep(1100 * time.Millisecond)
	raced := comment("/workspace test")
	if _, err := w.srv.Commit("eve/banner", "typo", map[string]string{"NOTES": "a typo fixed, and more\n"}, "more"); err != nil {
		t.Fatal(err)
	}
	head := w.srv.PR(demo.BannerRepo, n).HeadSHA
	if r := w.run(t, "issue_comment", demo.BannerRepo, raced); r.outputs["result"] != "skipped" || strings.Contains(r.stdout, "::group::") {
		t.Fatalf("a head pushed after the approving comment ran:\n%s", r)
	}
	if got := reply(); !strings.Contains(got, "Not approved: demo-org/banner#"+strconv.Itoa(n)+" at `"+head+"`") {
		t.Fatalf("reply to the raced approval:\n%s", got)
	}

	// Asked again once the head has waited: it runs.
	time.Sleep(1100 * time.Millisecond)
	r := w.run(t, "issue_comment", demo.BannerRepo, comment("/workspace test"))
	if r.outputs["result"] != "success" {
		t.Fatalf("the approved fork did not run:\n%s", r)
	}
	if got := reply(); !strings.Contains(got, "| demo-org/banner#"+strconv.Itoa(n)+" | eve | `"+head+"` | alice |") {
		t.Errorf("reply to the approval:\n%s", got)
	}
}

// The Action has the service's outbox within its step: a summary comment
// GitHub failed to take (a 502 on the create, which is never repeated at
// once: it may have been applied) is sent again before the step ends, and
// every PR ends with one summary.
func TestActionSendsAgainWhatGitHubFailed(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	rn, payload := w.openRename(t)
	w.srv.Fault(githubtest.Fault{Method: "POST", Path: "/repos/" + demo.GreetingRepo + "/issues/", Status: 502})
	w.srv.Fault(githubtest.Fault{Method: "POST", Path: "/repos/" + demo.CLIRepo + "/issues/", Status: 502})
	r := w.run(t, "pull_request", demo.CLIRepo, payload)
	if r.code != 0 || strings.Contains(r.stdout, "::error") {
		t.Fatalf("want exit 0 and no error annotation:\n%s", r)
	}
	for _, m := range []struct {
		repo string
		n    int
	}{{demo.GreetingRepo, rn.Greeting}, {demo.CLIRepo, rn.CLI}} {
		var sums int
		for _, c := range w.srv.Comments(m.repo, m.n) {
			if strings.Contains(c.Body, "workspace-bot:summary") {
				sums++
			}
		}
		if st := lastStatus(w.srv, m.repo, m.n); st.State != "success" || sums != 1 {
			t.Errorf("%s#%d: status %+v and %d summaries, want success and one", m.repo, m.n, st, sums)
		}
	}
}

// A test the workspace's suite reports by name in a JUnit file is named in
// the step summary and the summary comment, in the Action as in the
// service.
func TestActionNamesTheFailingTest(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	script := `#!/bin/sh
cat > "$WORKSPACE_REPORTS/integration.xml" <<'EOF'
<testsuite><testcase classname="tests.integration" name="test_frame"><failure message="expected '*** Hello, world! ***'">tests/integration.sh:2: FAIL</failure></testcase><testcase classname="tests.integration" name="test_ok"/></testsuite>
EOF
exit 1
`
	if _, err := w.srv.Commit(demo.WorkspaceRepo, "junit", map[string]string{"tests/integration.sh": script}, "Report the integration test as JUnit"); err != nil {
		t.Fatal(err)
	}
	n, err := w.srv.OpenPR(githubtest.NewPR{Repo: demo.WorkspaceRepo, Head: "junit", Title: "JUnit", User: "bob", AuthorAssociation: "COLLABORATOR"})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := demo.PullRequestEvent(w.srv, "opened", demo.WorkspaceRepo, n)
	if err != nil {
		t.Fatal(err)
	}
	r := w.run(t, "pull_request", demo.WorkspaceRepo, payload)
	if r.code != exitFailed {
		t.Fatalf("want exit 1:\n%s", r)
	}
	const named = "- workspace: `tests.integration::test_frame` at `tests/integration.sh:2`: expected '\\*\\*\\* Hello, world! \\*\\*\\*'"
	if !strings.Contains(r.summary, "**Tests:** 1 passed, 1 failed") || !strings.Contains(r.summary, named) {
		t.Errorf("the step summary does not name the failing test:\n%s", r.summary)
	}
	if body := summaryComment(w.srv, demo.WorkspaceRepo, n); !strings.Contains(body, named) {
		t.Errorf("the summary comment does not name the failing test:\n%s", body)
	}
}

// A token that cannot write to a sibling (the workflow's own GITHUB_TOKEN
// on another repository): the step says so once for that repository, as
// a warning naming it and the fix, and the step summary lists the PR
// left without a report. The other PR gets its reports as usual.
func TestActionNamesTheRepositoryItCannotReport(t *testing.T) {
	t.Parallel()
	w := newActionWorld(t)
	rn, payload := w.openRename(t)
	for _, method := range []string{"POST", "PATCH"} {
		w.srv.Fault(githubtest.Fault{Method: method, Path: "/repos/" + demo.GreetingRepo + "/", Status: 403, Count: -1})
	}
	r := w.run(t, "pull_request", demo.CLIRepo, payload)
	if r.code != 0 || r.outputs["result"] != "success" {
		t.Fatalf("want exit 0 and success: the build passed:\n%s", r)
	}
	warnings := regexp.MustCompile(`(?m)^::warning .*$`).FindAllString(r.stdout, -1)
	if len(warnings) != 1 {
		t.Fatalf("want one warning, got %d:\n%s", len(warnings), r)
	}
	for _, want := range []string{"title=workspace-bot: no report on " + demo.GreetingRepo, demo.GreetingRepo + "#" + strconv.Itoa(rn.Greeting) + " got no result from this run",
		"actions/create-github-app-token"} {
		if !strings.Contains(strings.ReplaceAll(warnings[0], "%3A", ":"), want) {
			t.Errorf("the warning lacks %q:\n%s", want, warnings[0])
		}
	}
	if strings.Contains(r.stdout+r.stderr, "GitHub refused a report") {
		t.Errorf("each refused report is still logged on its own:\n%s", r)
	}
	wantLine := "- " + demo.GreetingRepo + "#" + strconv.Itoa(rn.Greeting) + ": no "
	if !strings.Contains(r.summary, "### Pull requests without a report") || !strings.Contains(r.summary, wantLine) ||
		strings.Contains(r.summary, "- "+demo.CLIRepo+"#") {
		t.Errorf("the step summary does not list exactly %s#%d:\n%s", demo.GreetingRepo, rn.Greeting, r.summary)
	}
	if st := lastStatus(w.srv, demo.CLIRepo, rn.CLI); st.State != "success" {
		t.Errorf("%s#%d: status %+v, want success", demo.CLIRepo, rn.CLI, st)
	}
	if st := lastStatus(w.srv, demo.GreetingRepo, rn.Greeting); st.State != "" {
		t.Errorf("%s#%d got a status through the refusing token: %+v", demo.GreetingRepo, rn.Greeting, st)
	}
}
