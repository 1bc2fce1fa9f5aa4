package githubtest

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v88/github"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
)

// mergeWorld is acme/app with two commits on a branch "feature" and a PR of
// it, read through the real client.
func mergeWorld(t *testing.T) (*Server, *github.Client, int) {
	t.Helper()
	s := start(t)
	seed(t, s)
	s.AddToken("tok", Token{Login: "bot"})
	for i, body := range []string{"one\n", "two\n"} {
		if _, err := s.Commit("acme/app", "feature", map[string]string{"f.txt": body}, "feature step "+string(rune('1'+i))); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.OpenPR(NewPR{Repo: "acme/app", Head: "feature", Title: "Add f"})
	if err != nil {
		t.Fatal(err)
	}
	return s, client(t, s, "tok"), n
}

func tree(t *testing.T, s *Server, rev string) string {
	t.Helper()
	out, err := gitfixture.Git(s.RepoDir("acme/app"), "rev-parse", rev+"^{tree}")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Each method lands the head's tree on main, in GitHub's shape: a merge
// commit with two parents, one squashed commit, or the commits replayed.
func TestMergeMethods(t *testing.T) {
	for _, tc := range []struct {
		method  string
		parents int
		commits int // new commits on main
	}{{MethodMerge, 2, 3}, {MethodSquash, 1, 1}, {MethodRebase, 1, 2}} {
		t.Run(tc.method, func(t *testing.T) {
			s, gh, n := mergeWorld(t)
			ctx := t.Context()
			head := s.PR("acme/app", n).HeadSHA
			before, beforeTip := tree(t, s, "main"), branchTip(s.RepoDir("acme/app"), "main")
			res := must[*github.PullRequestMergeResult](t)(gh.PullRequests.Merge(ctx, "acme", "app", n, "", &github.PullRequestOptions{SHA: head, MergeMethod: tc.method}))
			if !res.GetMerged() || len(res.GetSHA()) != 40 {
				t.Fatalf("merge: %+v", res)
			}
			main := branchTip(s.RepoDir("acme/app"), "main")
			if main != res.GetSHA() || tree(t, s, main) != tree(t, s, head) || tree(t, s, main) == before {
				t.Errorf("main %s after merge %s: tree %s, want the head's %s", main, res.GetSHA(), tree(t, s, main), tree(t, s, head))
			}
			c := must[*github.Commit](t)(gh.Git.GetCommit(ctx, "acme", "app", main))
			if len(c.Parents) != tc.parents || c.GetTree().GetSHA() != tree(t, s, main) {
				t.Errorf("merge commit: %d parents, tree %s", len(c.Parents), c.GetTree().GetSHA())
			}
			if count, _ := gitfixture.Git(s.RepoDir("acme/app"), "rev-list", "--count", beforeTip+"..main"); count != string(rune('0'+tc.commits)) {
				t.Errorf("%s new commits on main, want %d", count, tc.commits)
			}
			pr := s.PR("acme/app", n)
			if !pr.Merged || pr.State != "closed" || pr.MergeCommitSHA != main {
				t.Errorf("PR after merge: %+v", pr)
			}
			// Merging again is refused: it is closed.
			_, resp, err := gh.PullRequests.Merge(ctx, "acme", "app", n, "", &github.PullRequestOptions{MergeMethod: tc.method})
			if err == nil || resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("second merge: %v", err)
			}
		})
	}
}

// A merge names the head it merges: a push in between makes GitHub refuse.
func TestMergeRefusesAnotherHead(t *testing.T) {
	s, gh, n := mergeWorld(t)
	old := s.PR("acme/app", n).HeadSHA
	if _, err := s.Commit("acme/app", "feature", map[string]string{"f.txt": "three\n"}, "pushed"); err != nil {
		t.Fatal(err)
	}
	_, resp, err := gh.PullRequests.Merge(t.Context(), "acme", "app", n, "", &github.PullRequestOptions{SHA: old})
	if err == nil || resp.StatusCode != http.StatusConflict || !strings.Contains(err.Error(), "Head branch was modified") {
		t.Fatalf("merge of the old head: %v", err)
	}
	if s.PR("acme/app", n).Merged {
		t.Error("merged anyway")
	}
}

// Mergeability is unknown until GitHub has computed it, then says whether
// the head conflicts with the base, and what the rules block.
func TestMergeabilityAndRules(t *testing.T) {
	s, gh, n := mergeWorld(t)
	ctx := t.Context()
	state := func() (any, string) {
		pr := must[*github.PullRequest](t)(gh.PullRequests.Get(ctx, "acme", "app", n))
		var m any
		if pr.Mergeable != nil {
			m = *pr.Mergeable
		}
		return m, pr.GetMergeableState()
	}
	if m, st := state(); m != nil || st != "unknown" {
		t.Errorf("first read: %v %s", m, st)
	}
	if m, st := state(); m != true || st != "clean" {
		t.Errorf("second read: %v %s", m, st)
	}
	if err := s.SetBranchRules("acme/app", "main", BranchRules{RequiredApprovals: 1, RequiredChecks: []string{"ci"}, LinearHistory: true}); err != nil {
		t.Fatal(err)
	}
	if _, st := state(); st != "blocked" {
		t.Errorf("with rules unmet: %s", st)
	}
	rules := must[*github.BranchRules](t)(gh.Repositories.ListRulesForBranch(ctx, "acme", "app", "main", nil))
	if len(rules.PullRequest) != 1 || rules.PullRequest[0].Parameters.RequiredApprovingReviewCount != 1 ||
		len(rules.RequiredStatusChecks) != 1 || len(rules.RequiredLinearHistory) != 1 || len(rules.MergeQueue) != 0 {
		t.Errorf("rules: %+v", rules)
	}
	_, _, err := gh.PullRequests.Merge(ctx, "acme", "app", n, "", &github.PullRequestOptions{MergeMethod: MethodSquash})
	if err == nil || !strings.Contains(err.Error(), "approving review") || !strings.Contains(err.Error(), `"ci"`) {
		t.Errorf("merge with rules unmet: %v", err)
	}
	if err := s.AddReview("acme/app", n, "carol", "APPROVED"); err != nil {
		t.Fatal(err)
	}
	head := s.PR("acme/app", n).HeadSHA
	if _, _, err := gh.Repositories.CreateStatus(ctx, "acme", "app", head, github.RepoStatus{State: github.String("success"), Context: github.String("ci")}); err != nil {
		t.Fatal(err)
	}
	reviews := must[[]*github.PullRequestReview](t)(gh.PullRequests.ListReviews(ctx, "acme", "app", n, nil))
	if len(reviews) != 1 || reviews[0].GetState() != "APPROVED" || reviews[0].GetCommitID() != head {
		t.Errorf("reviews: %+v", reviews)
	}
	if _, st := state(); st != "clean" {
		t.Errorf("with rules met: %s", st)
	}
	_, _, err = gh.PullRequests.Merge(ctx, "acme", "app", n, "", &github.PullRequestOptions{MergeMethod: MethodMerge})
	if err == nil || !strings.Contains(err.Error(), "merge commits") {
		t.Errorf("a merge commit under linear history: %v", err)
	}
	if err := s.SetMergeMethods("acme/app", MethodMerge, MethodRebase); err != nil {
		t.Fatal(err)
	}
	_, _, err = gh.PullRequests.Merge(ctx, "acme", "app", n, "", &github.PullRequestOptions{MergeMethod: MethodSquash})
	if err == nil || !strings.Contains(err.Error(), "Squash merges are not allowed") {
		t.Errorf("a squash the repository forbids: %v", err)
	}
	repo := must[*github.Repository](t)(gh.Repositories.Get(ctx, "acme", "app"))
	if !repo.GetAllowMergeCommit() || repo.GetAllowSquashMerge() || !repo.GetAllowRebaseMerge() {
		t.Errorf("repository methods: %v %v %v", repo.GetAllowMergeCommit(), repo.GetAllowSquashMerge(), repo.GetAllowRebaseMerge())
	}
	if _, _, err := gh.PullRequests.Merge(ctx, "acme", "app", n, "", &github.PullRequestOptions{MergeMethod: MethodRebase}); err != nil {
		t.Errorf("a rebase everything allows: %v", err)
	}
}

// A head that conflicts with the base is dirty and cannot merge.
func TestMergeConflict(t *testing.T) {
	s, gh, n := mergeWorld(t)
	ctx := t.Context()
	if _, err := s.Commit("acme/app", "main", map[string]string{"f.txt": "main's own\n"}, "conflicting"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		gh.PullRequests.Get(ctx, "acme", "app", n)
	}
	pr := must[*github.PullRequest](t)(gh.PullRequests.Get(ctx, "acme", "app", n))
	if pr.GetMergeable() || pr.GetMergeableState() != "dirty" {
		t.Errorf("conflicting PR: %v %s", pr.GetMergeable(), pr.GetMergeableState())
	}
	_, resp, err := gh.PullRequests.Merge(ctx, "acme", "app", n, "", nil)
	if err == nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("merge of a conflict: %v", err)
	}
}

// GitHub sometimes merges and still answers with an error: the fault
// After serves the request, then fails it.
func TestMergeThenBadGateway(t *testing.T) {
	s, gh, n := mergeWorld(t)
	s.Fault(Fault{Method: "PUT", Path: "/repos/acme/app/pulls/", Status: http.StatusBadGateway, After: true})
	_, _, err := gh.PullRequests.Merge(t.Context(), "acme", "app", n, "", nil)
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) || ge.Response.StatusCode != http.StatusBadGateway {
		t.Fatalf("merge answered %v, want a 502", err)
	}
	if pr := s.PR("acme/app", n); !pr.Merged {
		t.Error("the merge behind the 502 did not happen")
	}
}

// The branch and git data endpoints the landing proof reads.
func TestBranchAndTrees(t *testing.T) {
	s, gh, _ := mergeWorld(t)
	ctx := t.Context()
	b := must[*github.Branch](t)(gh.Repositories.GetBranch(ctx, "acme", "app", "feature", 0))
	if b.GetCommit().GetSHA() != branchTip(s.RepoDir("acme/app"), "feature") || b.GetCommit().GetCommit().GetTree().GetSHA() != tree(t, s, "feature") {
		t.Errorf("branch: %+v", b)
	}
	tr := must[*github.Tree](t)(gh.Git.GetTree(ctx, "acme", "app", tree(t, s, "feature"), true))
	paths := map[string]string{}
	for _, e := range tr.Entries {
		paths[e.GetPath()] = e.GetType()
	}
	if paths["src/a.go"] != "blob" || paths["src"] != "tree" || paths["f.txt"] != "blob" {
		t.Errorf("recursive tree: %v", paths)
	}
	if _, resp, err := gh.Repositories.GetBranch(ctx, "acme", "app", "nope", 0); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("a missing branch: %v", err)
	}
}

// A tag made through the refs API is a git tag a clone sees; making it
// again is refused.
func TestCreateAndReadTags(t *testing.T) {
	s, gh, _ := mergeWorld(t)
	ctx := t.Context()
	main := branchTip(s.RepoDir("acme/app"), "main")
	ref := must[*github.Reference](t)(gh.Git.CreateRef(ctx, "acme", "app", github.CreateRef{Ref: "refs/tags/v1.0.0", SHA: main}))
	if ref.GetRef() != "refs/tags/v1.0.0" || ref.GetObject().GetSHA() != main {
		t.Errorf("created %+v", ref)
	}
	if got, _ := gitfixture.Git(s.RepoDir("acme/app"), "rev-parse", "v1.0.0"); got != main {
		t.Errorf("tag in git: %q, want %s", got, main)
	}
	if r := must[*github.Reference](t)(gh.Git.GetRef(ctx, "acme", "app", "tags/v1.0.0")); r.GetObject().GetSHA() != main {
		t.Errorf("read back %+v", r)
	}
	if _, resp, err := gh.Git.CreateRef(ctx, "acme", "app", github.CreateRef{Ref: "refs/tags/v1.0.0", SHA: main}); err == nil || resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("tagging again: %v", err)
	}
	if _, resp, err := gh.Git.GetRef(ctx, "acme", "app", "tags/v9"); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("a missing tag: %v", err)
	}
}
