package githubtest

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-github/v88/github"
	"github.com/provide-io/workspace-bot/internal/gitfixture"
)

func TestRepoAndPullRequests(t *testing.T) {
	s := start(t)
	base := seed(t, s)
	gh := client(t, s, "")
	ctx := t.Context()

	r := must[*github.Repository](t)(gh.Repositories.Get(ctx, "acme", "app"))
	if r.GetFullName() != "acme/app" || r.GetDefaultBranch() != "main" || r.GetCloneURL() != s.GitURL("acme/app") || r.GetFork() {
		t.Errorf("repo = %s %s %s fork=%v", r.GetFullName(), r.GetDefaultBranch(), r.GetCloneURL(), r.GetFork())
	}
	if _, resp, err := gh.Repositories.Get(ctx, "acme", "missing"); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("missing repo: err = %v", err)
	}

	head, err := s.Commit("acme/app", "feature/x", map[string]string{"b.txt": "b\n"}, "feature")
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.OpenPR(NewPR{Repo: "acme/app", Head: "feature/x", Title: "Add b", Body: "Depends-On: acme/lib#1", User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	pr := must[*github.PullRequest](t)(gh.PullRequests.Get(ctx, "acme", "app", n))
	if pr.GetNumber() != 1 || pr.GetState() != "open" || pr.GetMerged() || pr.GetBody() != "Depends-On: acme/lib#1" ||
		pr.GetUser().GetLogin() != "alice" || pr.GetAuthorAssociation() != "OWNER" ||
		pr.GetHead().GetRef() != "feature/x" || pr.GetHead().GetSHA() != head ||
		pr.GetHead().GetRepo().GetFullName() != "acme/app" || pr.GetBase().GetRef() != "main" || pr.GetBase().GetSHA() != base ||
		pr.GetHTMLURL() != s.URL()+"/acme/app/pull/1" {
		t.Errorf("unexpected PR: %+v", pr)
	}

	// A push to the head branch moves the PR's head, as on GitHub.
	head2, err := s.Commit("acme/app", "feature/x", map[string]string{"b.txt": "b2\n"}, "more")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.PR("acme/app", n).HeadSHA; got != head2 {
		t.Errorf("head after push = %s, want %s", got, head2)
	}

	// Edit the body and title through the API.
	pr.Body, pr.Title = github.String("new body"), github.String("New title")
	edited := must[*github.PullRequest](t)(gh.PullRequests.Edit(ctx, "acme", "app", n, &github.PullRequest{Body: pr.Body, Title: pr.Title}))
	if edited.GetBody() != "new body" || s.PR("acme/app", n).Title != "New title" {
		t.Errorf("edit: body %q title %q", edited.GetBody(), s.PR("acme/app", n).Title)
	}
	if err := s.SetPRBody("acme/app", n, "from the author"); err != nil {
		t.Fatal(err)
	}
	if got := must[*github.PullRequest](t)(gh.PullRequests.Get(ctx, "acme", "app", n)).GetBody(); got != "from the author" {
		t.Errorf("body after SetPRBody = %q", got)
	}
	if _, _, err := gh.PullRequests.Edit(ctx, "acme", "app", n, &github.PullRequest{State: github.String("bogus")}); !isStatus(err, 422) {
		t.Errorf("bad state: err = %v, want 422", err)
	}
	if _, resp, err := gh.PullRequests.Get(ctx, "acme", "app", 99); err == nil || resp.StatusCode != 404 {
		t.Errorf("missing PR: err = %v", err)
	}
}

func isStatus(err error, code int) bool {
	e, ok := err.(*github.ErrorResponse)
	return ok && e.Response.StatusCode == code
}

func TestListPullsFiltersAndPages(t *testing.T) {
	s := start(t)
	seed(t, s)
	gh := client(t, s, "")
	ctx := t.Context()
	for i, br := range []string{"a", "b", "c", "d", "e"} {
		if _, err := s.Commit("acme/app", br, map[string]string{br + ".txt": br}, br); err != nil {
			t.Fatal(err)
		}
		n, err := s.OpenPR(NewPR{Repo: "acme/app", Head: br, Title: br})
		if err != nil || n != i+1 {
			t.Fatalf("open %s: n=%d err=%v", br, n, err)
		}
	}
	if err := s.ClosePR("acme/app", 2); err != nil {
		t.Fatal(err)
	}
	if err := s.MergePR("acme/app", 3); err != nil {
		t.Fatal(err)
	}

	numbers := func(prs []*github.PullRequest) string {
		var out []string
		for _, p := range prs {
			out = append(out, p.GetHead().GetRef())
		}
		return strings.Join(out, ",")
	}
	open := must[[]*github.PullRequest](t)(gh.PullRequests.List(ctx, "acme", "app", nil))
	if got := numbers(open); got != "e,d,a" {
		t.Errorf("open PRs newest first = %s, want e,d,a", got)
	}
	closed := must[[]*github.PullRequest](t)(gh.PullRequests.List(ctx, "acme", "app", &github.PullRequestListOptions{State: "closed"}))
	if got := numbers(closed); got != "c,b" {
		t.Errorf("closed = %s", got)
	}
	// List results are pull-request-simple: no merged field, as on GitHub.
	for _, p := range closed {
		if p.Merged != nil {
			t.Errorf("list result carries merged for #%d", p.GetNumber())
		}
	}
	if got := must[*github.PullRequest](t)(gh.PullRequests.Get(ctx, "acme", "app", 3)); !got.GetMerged() || got.GetMergeCommitSHA() == "" {
		t.Errorf("#3 merged=%v sha=%q", got.GetMerged(), got.GetMergeCommitSHA())
	}
	byHead := must[[]*github.PullRequest](t)(gh.PullRequests.List(ctx, "acme", "app", &github.PullRequestListOptions{State: "all", Head: "acme:d"}))
	if got := numbers(byHead); got != "d" {
		t.Errorf("head filter = %s", got)
	}
	if got := numbers(must[[]*github.PullRequest](t)(gh.PullRequests.List(ctx, "acme", "app", &github.PullRequestListOptions{Base: "other"}))); got != "" {
		t.Errorf("base filter = %s", got)
	}

	// Two per page over five PRs: three pages, walked with NextPage.
	var all []*github.PullRequest
	opt := &github.PullRequestListOptions{State: "all", ListOptions: github.ListOptions{PerPage: 2}}
	pages := 0
	for {
		prs, resp, err := gh.PullRequests.List(ctx, "acme", "app", opt)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if pages == 1 && resp.LastPage != 3 {
			t.Errorf("LastPage = %d, want 3", resp.LastPage)
		}
		all = append(all, prs...)
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	if pages != 3 || numbers(all) != "e,d,c,b,a" {
		t.Errorf("pages=%d all=%s", pages, numbers(all))
	}
}

func TestForkPRAndCloneHeadSHA(t *testing.T) {
	s := start(t)
	seed(t, s)
	if err := s.CreateRepo("mallory/app", RepoOptions{ForkOf: "acme/app"}); err != nil {
		t.Fatal(err)
	}
	head, err := s.Commit("mallory/app", "patch", map[string]string{"evil.sh": "echo hi\n"}, "patch")
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.OpenPR(NewPR{Repo: "acme/app", Head: "patch", HeadRepo: "mallory/app", User: "mallory", AuthorAssociation: "CONTRIBUTOR"})
	if err != nil {
		t.Fatal(err)
	}
	gh := client(t, s, "")
	pr := must[*github.PullRequest](t)(gh.PullRequests.Get(t.Context(), "acme", "app", n))
	if !pr.GetHead().GetRepo().GetFork() || pr.GetHead().GetRepo().GetFullName() != "mallory/app" ||
		pr.GetHead().GetLabel() != "mallory:patch" || pr.GetHead().GetSHA() != head ||
		pr.GetHead().GetRepo().GetCloneURL() != s.GitURL("mallory/app") || pr.GetAuthorAssociation() != "CONTRIBUTOR" {
		t.Errorf("fork PR head = %+v", pr.GetHead())
	}
	fork := must[*github.Repository](t)(gh.Repositories.Get(t.Context(), "mallory", "app"))
	if fork.GetParent().GetFullName() != "acme/app" {
		t.Errorf("fork parent = %q", fork.GetParent().GetFullName())
	}

	// The head SHA is fetchable from the base repository as refs/pull/N/head
	// and from the fork's own URL.
	dst := filepath.Join(t.TempDir(), "c")
	if _, err := gitfixture.Git(t.TempDir(), "clone", "--quiet", s.GitURL("acme/app"), dst); err != nil {
		t.Fatal(err)
	}
	if _, err := gitfixture.Git(dst, "fetch", "--quiet", "origin", "refs/pull/1/head"); err != nil {
		t.Fatal(err)
	}
	if _, err := gitfixture.Git(dst, "checkout", "--quiet", head); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "evil.sh")); err != nil || string(b) != "echo hi\n" {
		t.Errorf("evil.sh = %q, %v", b, err)
	}

	// A push over smart HTTP moves the fork PR's head too.
	fc := filepath.Join(t.TempDir(), "f")
	if _, err := gitfixture.Git(t.TempDir(), "clone", "--quiet", "--branch", "patch", s.GitURL("mallory/app"), fc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fc, "more.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := gitfixture.Git(fc, "add", "."); err != nil {
		t.Fatal(err)
	}
	if _, err := gitfixture.Git(fc, "commit", "--quiet", "-m", "more"); err != nil {
		t.Fatal(err)
	}
	pushed, _ := gitfixture.Git(fc, "rev-parse", "HEAD")
	if _, err := gitfixture.Git(fc, "push", "--quiet", "origin", "patch"); err != nil {
		t.Fatal(err)
	}
	if got := s.PR("acme/app", n).HeadSHA; got != pushed {
		t.Errorf("head after push = %s, want %s", got, pushed)
	}
}

func TestCloseReopenAndMerge(t *testing.T) {
	log := &syncWriter{w: &strings.Builder{}}
	s, err := Start(Options{Dir: t.TempDir(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	seed(t, s)
	s.AddToken("secret-token-value", Token{Login: "bot"})
	if _, err := s.Commit("acme/app", "wip", map[string]string{"w.txt": "1"}, "wip"); err != nil {
		t.Fatal(err)
	}
	n, err := s.OpenPR(NewPR{Repo: "acme/app", Head: "wip", Draft: true})
	if err != nil {
		t.Fatal(err)
	}
	gh := client(t, s, "secret-token-value")
	ctx := t.Context()
	pr := must[*github.PullRequest](t)(gh.PullRequests.Get(ctx, "acme", "app", n))
	if pr.GetMergeableState() != "unknown" || pr.Mergeable != nil {
		t.Errorf("first read of a new head: mergeable %v state %s, want null and unknown (GitHub computes it after)", pr.Mergeable, pr.GetMergeableState())
	}
	pr = must[*github.PullRequest](t)(gh.PullRequests.Get(ctx, "acme", "app", n))
	if !pr.GetDraft() || pr.GetMergeableState() != "draft" || pr.GetUser().GetLogin() != "acme" {
		t.Errorf("draft PR: draft=%v state=%s user=%s", pr.GetDraft(), pr.GetMergeableState(), pr.GetUser().GetLogin())
	}
	closed := must[*github.PullRequest](t)(gh.PullRequests.Edit(ctx, "acme", "app", n, &github.PullRequest{State: github.String("closed")}))
	if closed.GetState() != "closed" || closed.ClosedAt == nil {
		t.Errorf("closed: %s %v", closed.GetState(), closed.ClosedAt)
	}
	// A push while closed does not move the head; reopening catches up.
	moved, err := s.Commit("acme/app", "wip", map[string]string{"w.txt": "2"}, "wip 2")
	if err != nil {
		t.Fatal(err)
	}
	if s.PR("acme/app", n).HeadSHA == moved {
		t.Error("closed PR followed a push")
	}
	reopened := must[*github.PullRequest](t)(gh.PullRequests.Edit(ctx, "acme", "app", n, &github.PullRequest{State: github.String("open")}))
	if reopened.GetState() != "open" || reopened.GetHead().GetSHA() != moved {
		t.Errorf("reopened: %s head %s, want open %s", reopened.GetState(), reopened.GetHead().GetSHA(), moved)
	}
	if _, _, err := gh.PullRequests.Edit(ctx, "acme", "app", n, &github.PullRequest{Base: &github.PullRequestBranch{Ref: github.String("nope")}}); !isStatus(err, 422) {
		t.Errorf("edit to a missing base: %v, want 422", err)
	}
	if err := s.MergePR("acme/app", n); err != nil {
		t.Fatal(err)
	}
	merged := must[*github.PullRequest](t)(gh.PullRequests.Get(ctx, "acme", "app", n))
	if !merged.GetMerged() || merged.GetState() != "closed" || merged.GetMergedBy().GetLogin() != "acme" {
		t.Errorf("merged: %v %s", merged.GetMerged(), merged.GetState())
	}
	f, _, _, err := gh.Repositories.GetContents(ctx, "acme", "app", "w.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	if text, _ := f.GetContent(); text != "2" {
		t.Errorf("main after merge has w.txt = %q", text)
	}
	if _, _, err := gh.PullRequests.Edit(ctx, "acme", "app", n, &github.PullRequest{State: github.String("open")}); !isStatus(err, 422) {
		t.Errorf("reopen merged: %v, want 422", err)
	}
	if err := s.ReopenPR("acme/app", n); err == nil {
		t.Error("ReopenPR of a merged PR succeeded")
	}
	if _, err := s.OpenPR(NewPR{Repo: "acme/app", Head: "missing"}); err == nil {
		t.Error("OpenPR on a missing branch succeeded")
	}

	if !strings.Contains(log.String(), "PATCH /api/v3/repos/acme/app/pulls/1 200") {
		t.Errorf("request log lacks the edit:\n%s", log.String())
	}
	if strings.Contains(log.String(), "secret-token-value") {
		t.Error("the request log contains a token")
	}
}

func TestUnknownRoutes(t *testing.T) {
	s := start(t)
	resp, err := http.Get(s.APIURL() + "repos/acme/app/nothing-here")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Message          string `json:"message"`
		DocumentationURL string `json:"documentation_url"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 404 || body.Message != "Not Found" || body.DocumentationURL == "" {
		t.Errorf("unknown route: %d %+v", resp.StatusCode, body)
	}
	// Absolute github.com URLs do not reach the emulator's API.
	resp, err = http.Get(s.URL() + "/repos/acme/app")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("API outside /api/v3: %d", resp.StatusCode)
	}
}
