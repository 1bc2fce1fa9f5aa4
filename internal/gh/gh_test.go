package gh

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-github/v88/github"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/githubtest"
)

func TestPullRequestsAgainstEmulator(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.repo(t, "o/lib", githubtest.RepoOptions{})
	w.repo(t, "alice/lib", githubtest.RepoOptions{ForkOf: "o/lib"})
	own := w.pr(t, githubtest.NewPR{Repo: "o/lib", Head: "feat", Title: "Feature", Body: "Depends-On: o/app#1"})
	fork := w.pr(t, githubtest.NewPR{Repo: "o/lib", Head: "fix", HeadRepo: "alice/lib", Title: "Fix", User: "alice", AuthorAssociation: "CONTRIBUTOR"})
	for i := 0; i < 3; i++ {
		w.pr(t, githubtest.NewPR{Repo: "o/lib", Head: "more-" + string(rune('a'+i))})
	}
	closed := w.pr(t, githubtest.NewPR{Repo: "o/lib", Head: "gone"})
	if err := w.srv.ClosePR("o/lib", closed); err != nil {
		t.Fatal(err)
	}
	c := w.client(t, fullToken, "")
	c.pageSize = 2 // 5 open PRs: three pages

	p, err := c.PullRequest(ctx, "o/lib", own)
	if err != nil {
		t.Fatal(err)
	}
	want := w.srv.PR("o/lib", own)
	if p.Repo != "o/lib" || p.Number != own || p.State != "open" || p.Body != "Depends-On: o/app#1" || p.HeadRef != "feat" ||
		p.HeadSHA == "" || p.HeadSHA != want.HeadSHA || p.BaseRef != "main" || p.Fork || p.HeadRepo != "o/lib" || p.Title != "Feature" {
		t.Errorf("converted PR = %+v", p)
	}
	f, err := c.PullRequest(ctx, "o/lib", fork)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Fork || f.HeadRepo != "alice/lib" || !strings.Contains(f.HeadCloneURL, "alice/lib") || f.Author != "alice" || f.AuthorAssociation != "CONTRIBUTOR" {
		t.Errorf("fork PR = %+v", f)
	}
	open, err := c.OpenPullRequests(ctx, "o/lib")
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 5 {
		t.Errorf("open PRs over pages = %d, want 5", len(open))
	}
	for _, p := range open {
		if p.Number == closed || p.State != "open" {
			t.Errorf("listed a closed PR: %+v", p)
		}
	}
	if err := w.srv.MergePR("o/lib", own); err != nil {
		t.Fatal(err)
	}
	if m, err := c.PullRequest(ctx, "o/lib", own); err != nil || !m.Merged || m.State != "closed" {
		t.Errorf("merged PR = %+v, %v", m, err)
	}
}

func TestErrorsNameTheRepository(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.repo(t, "o/a", githubtest.RepoOptions{})
	w.repo(t, "o/secret", githubtest.RepoOptions{Private: true})
	w.srv.AddToken("narrow", githubtest.Token{Login: "dev", Repos: []string{"o/a"}})
	c := w.client(t, "narrow", "")
	_, err := c.PullRequest(ctx, "o/a", 42)
	if !errors.Is(err, changeset.ErrNotFound) || !strings.Contains(err.Error(), "o/a#42") {
		t.Errorf("missing PR: %v", err)
	}
	_, err = c.OpenPullRequests(ctx, "o/secret")
	if !errors.Is(err, changeset.ErrNotFound) || !strings.Contains(err.Error(), "the token cannot read o/secret") {
		t.Errorf("unreadable repository: %v", err)
	}
	if strings.Contains(err.Error(), "narrow") {
		t.Errorf("error leaks the token: %v", err)
	}
	bad := w.client(t, "not-a-registered-token", "")
	if _, err := bad.PullRequest(ctx, "o/a", 1); err == nil || !strings.Contains(err.Error(), "rejected the credentials") {
		t.Errorf("bad token: %v", err)
	}
}

func TestReportingCalls(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.repo(t, "o/a", githubtest.RepoOptions{})
	n := w.pr(t, githubtest.NewPR{Repo: "o/a", Head: "feat", Body: "first"})
	sha := w.srv.PR("o/a", n).HeadSHA
	c := w.client(t, fullToken, "")

	long := strings.Repeat("é", 200)
	if err := c.SetStatus(ctx, "o/a", sha, bot.Status{State: "pending", Context: "workspace/integration", Description: long, TargetURL: "http://x/runs/1"}); err != nil {
		t.Fatal(err)
	}
	sts := w.srv.Statuses("o/a", sha)
	if len(sts) != 1 || sts[0].State != "pending" || sts[0].Context != "workspace/integration" || sts[0].TargetURL != "http://x/runs/1" {
		t.Fatalf("statuses = %+v", sts)
	}
	if d := []rune(sts[0].Description); len(d) != 140 || d[139] != '…' {
		t.Errorf("description %d characters, want 140 ending in …", len(d))
	}

	if err := c.EditPullRequestBody(ctx, "o/a", n, "second\nDepends-On: o/b#1"); err != nil {
		t.Fatal(err)
	}
	if got := w.srv.PR("o/a", n).Body; got != "second\nDepends-On: o/b#1" {
		t.Errorf("body = %q", got)
	}

	c.pageSize = 2
	var ids []int64
	for _, body := range []string{"one", "two", "three"} {
		id, err := c.CreateComment(ctx, "o/a", n, body)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := c.EditComment(ctx, "o/a", ids[1], "two, edited"); err != nil {
		t.Fatal(err)
	}
	if err := c.React(ctx, "o/a", ids[0], "eyes"); err != nil {
		t.Fatal(err)
	}
	cms, err := c.Comments(ctx, "o/a", n)
	if err != nil {
		t.Fatal(err)
	}
	if len(cms) != 3 || cms[1].Body != "two, edited" || cms[0].User != "bot" || cms[0].ID != ids[0] || cms[0].AuthorAssociation == "" {
		t.Errorf("comments = %+v", cms)
	}
	if r := w.srv.Reactions("o/a", ids[0]); len(r) != 1 || r[0] != "eyes" {
		t.Errorf("reactions = %v", r)
	}

	w.srv.SetPermission("o/a", "carol", "write")
	if p, err := c.Permission(ctx, "o/a", "carol"); err != nil || p != "write" {
		t.Errorf("permission = %q, %v", p, err)
	}

	if _, err := w.srv.Commit("o/a", "main", map[string]string{"wrknv.toml": "[workspace]\nname = \"x\"\n"}, "config"); err != nil {
		t.Fatal(err)
	}
	data, err := c.FileContents(ctx, "o/a", "wrknv.toml", "main")
	if err != nil || string(data) != "[workspace]\nname = \"x\"\n" {
		t.Errorf("contents = %q, %v", data, err)
	}
	if _, err := c.FileContents(ctx, "o/a", "missing.toml", ""); !errors.Is(err, changeset.ErrNotFound) || !strings.Contains(err.Error(), "missing.toml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestCheckRunsAsApp(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.repo(t, "o/a", githubtest.RepoOptions{})
	n := w.pr(t, githubtest.NewPR{Repo: "o/a", Head: "feat"})
	sha := w.srv.PR("o/a", n).HeadSHA
	key, pemKey := rsaKey(t)
	w.srv.AddApp(77, "workspace-bot", &key.PublicKey)
	w.srv.AddInstallation(githubtest.Installation{ID: 9, AppID: 77, Account: "o"})
	f, err := ghclient.New(ghclient.Options{APIURL: w.srv.APIURL(), AppID: 77, AppPrivateKey: pemKey})
	if err != nil {
		t.Fatal(err)
	}
	id, err := f.InstallationForRepo(ctx, "o/a")
	if err != nil || id != 9 {
		t.Fatalf("installation = %d, %v", id, err)
	}
	ic, err := f.ForRepo(ctx, "o/a")
	if err != nil {
		t.Fatal(err)
	}
	c := New(ic)
	runID, err := c.CreateCheckRun(ctx, "o/a", sha, bot.CheckRun{Name: "workspace/integration", Status: "in_progress", Title: "Running", Summary: "3 siblings", ExternalID: "run-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateCheckRun(ctx, "o/a", runID, bot.CheckRun{Conclusion: "success", Title: "Passed", Summary: "all green", Text: "details"}); err != nil {
		t.Fatal(err)
	}
	runs := w.srv.CheckRuns("o/a", sha)
	if len(runs) != 1 {
		t.Fatalf("check runs = %+v", runs)
	}
	r := runs[0]
	if r.Name != "workspace/integration" || r.Status != "completed" || r.Conclusion != "success" || r.Title != "Passed" || r.Summary != "all green" {
		t.Errorf("check run = %+v", r)
	}
}

// A check run takes at most 50 annotations a request: the client sends
// the first 50 with the create and the rest in updates, and the check
// run ends with every one, in order.
func TestCheckRunAnnotationsInBatches(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.repo(t, "o/a", githubtest.RepoOptions{})
	n := w.pr(t, githubtest.NewPR{Repo: "o/a", Head: "feat"})
	sha := w.srv.PR("o/a", n).HeadSHA
	key, pemKey := rsaKey(t)
	w.srv.AddApp(77, "workspace-bot", &key.PublicKey)
	w.srv.AddInstallation(githubtest.Installation{ID: 9, AppID: 77, Account: "o"})
	f, err := ghclient.New(ghclient.Options{APIURL: w.srv.APIURL(), AppID: 77, AppPrivateKey: pemKey})
	if err != nil {
		t.Fatal(err)
	}
	ic, err := f.ForRepo(ctx, "o/a")
	if err != nil {
		t.Fatal(err)
	}
	var ann []bot.Annotation
	for i := range 120 {
		ann = append(ann, bot.Annotation{Path: "tests/test_a.py", StartLine: i + 1, EndLine: i + 1, Level: "failure",
			Title: fmt.Sprintf("tests.test_a::test_%d", i), Message: "assert False", RawDetails: "tests/test_a.py:1: AssertionError"})
	}
	c := New(ic)
	id, err := c.CreateCheckRun(ctx, "o/a", sha, bot.CheckRun{Name: "workspace/integration", Conclusion: "failure", Title: "Failed", Summary: "120 failing", Annotations: ann})
	if err != nil {
		t.Fatal(err)
	}
	got := w.srv.CheckRuns("o/a", sha)[0].Annotations
	if len(got) != 120 || got[0].Title != "tests.test_a::test_0" || got[119].StartLine != 120 || got[50].Level != "failure" {
		t.Fatalf("%d annotations: first %+v", len(got), got[:min(1, len(got))])
	}
	// An update adds its own the same way.
	if err := c.UpdateCheckRun(ctx, "o/a", id, bot.CheckRun{Title: "Failed", Summary: "more", Annotations: ann[:60]}); err != nil {
		t.Fatal(err)
	}
	if got := w.srv.CheckRuns("o/a", sha)[0].Annotations; len(got) != 180 {
		t.Fatalf("%d annotations after the update, want 180", len(got))
	}
	// What the batching is for: GitHub refuses 51 in one request.
	var many []*github.CheckRunAnnotation
	for _, b := range annotationBatches(ann[:51]) {
		many = append(many, b...)
	}
	_, _, err = ic.Checks.UpdateCheckRun(ctx, "o", "a", id, github.UpdateCheckRunOptions{Name: "workspace/integration",
		Output: &github.CheckRunOutput{Title: github.String("x"), Summary: github.String("x"), Annotations: many}})
	if err == nil || !strings.Contains(err.Error(), "422") {
		t.Fatalf("51 annotations in one request: %v, want a 422", err)
	}
}
