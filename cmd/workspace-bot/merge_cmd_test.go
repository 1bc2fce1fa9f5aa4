package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/release"
)

// workspace-bot merge: the dry run names what stops a PR and merges
// nothing; then merge builds the changeset as the bot would and lands
// both PRs in build order, each at its tested head, proven.
func TestMergeCommand(t *testing.T) {
	srv, config := emulatedWorkspace(t, "test -f ../s1/pr-s1.txt && test -f ../s2/pr-s2.txt")
	a := openPR(t, srv, "o/s1", "feature", "")
	b := openPR(t, srv, "o/s2", "other-name", fmt.Sprintf("Depends-On: o/s1#%d", a))
	gh := []string{"--config", config, "--data-dir", t.TempDir(), "--github-api-url", srv.APIURL(), "--github-token", cmdToken}
	if err := srv.SetBranchRules("o/s1", "main", githubtest.BranchRules{RequiredApprovals: 1}); err != nil {
		t.Fatal(err)
	}

	code, out, errs := runCmd(t, append([]string{"merge", fmt.Sprintf("o/s2#%d", b), "--dry-run"}, gh...)...)
	if code != exitFailed || !strings.Contains(out, "it needs 1 approving review and has 0") || !strings.Contains(errs, "nothing was merged") {
		t.Fatalf("dry run of a blocked changeset (exit %d):\n%s\n%s", code, out, errs)
	}
	if err := srv.AddReview("o/s1", a, "carol", "APPROVED"); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCmd(t, append([]string{"merge", fmt.Sprintf("o/s2#%d", b), "--dry-run"}, gh...)...)
	if code != exitOK || strings.Count(out, "✔") != 2 || !strings.Contains(out, "dry run: nothing was built or merged") {
		t.Fatalf("dry run of a ready changeset (exit %d):\n%s\n%s", code, out, errs)
	}
	if srv.PR("o/s1", a).Merged || srv.PR("o/s2", b).Merged {
		t.Fatal("a dry run merged")
	}

	var mu sync.Mutex
	var merges []string
	srv.SetHook(func(method, path string, _ []byte) *githubtest.Fault {
		if method == "PUT" {
			mu.Lock()
			merges = append(merges, path)
			mu.Unlock()
		}
		return nil
	})
	heads := []string{srv.PR("o/s1", a).HeadSHA, srv.PR("o/s2", b).HeadSHA}
	code, out, errs = runCmd(t, append([]string{"merge", fmt.Sprintf("o/s2#%d", b)}, gh...)...)
	if code != exitOK || !strings.Contains(out, "test -f ../s1/pr-s1.txt") || !strings.Contains(out, "landed as tested") || strings.Count(out, "the tree tested") != 2 {
		t.Fatalf("merge (exit %d):\n%s\n%s", code, out, errs)
	}
	for i, pr := range []githubtest.PullRequest{srv.PR("o/s1", a), srv.PR("o/s2", b)} {
		if !pr.Merged || pr.HeadSHA != heads[i] || !strings.Contains(out, pr.MergeCommitSHA) {
			t.Errorf("PR %d: %+v, want merged at %s and its merge commit printed", i, pr, heads[i])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(merges, " "); got != fmt.Sprintf("/repos/o/s1/pulls/%d/merge /repos/o/s2/pulls/%d/merge", a, b) {
		t.Errorf("merges %s, want s1's then s2's", got)
	}
	if code, _, errs := runCmd(t, append([]string{"merge"}, gh...)...); code != exitUsage || !strings.Contains(errs, "name the PR to land first") {
		t.Errorf("merge without a PR: exit %d, %s", code, errs)
	}
}

// GitHub refuses the second merge (s2's main took a conflicting change as
// s1 merged): merge stops there, says so, exits 1, and s1 stays merged.
func TestMergeCommandStopsHalfway(t *testing.T) {
	srv, config := emulatedWorkspace(t, "true")
	a := openPR(t, srv, "o/s1", "feature", "")
	b := openPR(t, srv, "o/s2", "other-name", fmt.Sprintf("Depends-On: o/s1#%d", a))
	gh := []string{"--config", config, "--data-dir", t.TempDir(), "--github-api-url", srv.APIURL(), "--github-token", cmdToken}
	var once sync.Once
	srv.SetHook(func(method, path string, _ []byte) *githubtest.Fault {
		if method == "PUT" && path == fmt.Sprintf("/repos/o/s1/pulls/%d/merge", a) {
			once.Do(func() {
				if _, err := srv.Commit("o/s2", "main", map[string]string{"pr-s2.txt": "main's own\n"}, "in the way"); err != nil {
					t.Error(err)
				}
			})
		}
		return nil
	})
	code, out, errs := runCmd(t, append([]string{"merge", fmt.Sprintf("o/s1#%d", a)}, gh...)...)
	if code != exitFailed || !strings.Contains(out, fmt.Sprintf("STOPPED HALFWAY: o/s2#%d did not merge", b)) || !strings.Contains(errs, "what merged stays merged") {
		t.Fatalf("merge with a conflict on the second (exit %d):\n%s\n%s", code, out, errs)
	}
	if !srv.PR("o/s1", a).Merged || srv.PR("o/s2", b).Merged {
		t.Error("want s1 merged and s2 open")
	}
}

// Release PRs (as release open writes them) landed from the CLI are
// tagged at their merge commits too.
func TestMergeCommandTagsReleases(t *testing.T) {
	srv, config := emulatedWorkspace(t, "true")
	plan := &release.Plan{Workspace: "ws"}
	var prs []int
	for i, repo := range []string{"o/s1", "o/s2"} {
		e := &release.Entry{Sibling: strings.TrimPrefix(repo, "o/"), Package: repo, Old: "1.0.0", New: fmt.Sprintf("1.%d.0", i+1), Bump: release.Minor}
		prs = append(prs, openPR(t, srv, repo, release.DefaultBranch, plan.Body(e, nil)))
	}
	gh := []string{"--config", config, "--data-dir", t.TempDir(), "--github-api-url", srv.APIURL(), "--github-token", cmdToken}
	code, out, errs := runCmd(t, append([]string{"merge", fmt.Sprintf("o/s1#%d", prs[0])}, gh...)...)
	if code != exitOK || !strings.Contains(out, fmt.Sprintf("tagged o/s1#%d v1.1.0", prs[0])) || !strings.Contains(out, fmt.Sprintf("tagged o/s2#%d v1.2.0", prs[1])) {
		t.Fatalf("merge of release PRs (exit %d):\n%s\n%s", code, out, errs)
	}
	for i, repo := range []string{"o/s1", "o/s2"} {
		tag, err := gitfixture.Git(srv.RepoDir(repo), "rev-parse", fmt.Sprintf("v1.%d.0", i+1))
		if pr := srv.PR(repo, prs[i]); err != nil || tag != pr.MergeCommitSHA {
			t.Errorf("%s: tag at %q (%v), want the merge %s", repo, tag, err, pr.MergeCommitSHA)
		}
	}
}
