// Package land lands a changeset as one. Before anything merges it checks
// every member (Check); it merges them in build order, each at the head
// that was tested (Land); it proves that what landed is what was tested,
// by comparing trees; and a sequence that GitHub stops halfway ends in a
// known state that says what merged, what did not, and the ways out.
//
// It knows GitHub only through the GitHub interface, and nothing of the
// store: the caller finds the run that gates the landing and keeps the
// journal that makes a sequence resumable.
package land

import (
	"context"
	"time"

	"github.com/provide-io/workspace-bot/internal/clock"
)

// Merge methods, as GitHub names them.
const (
	MethodMerge  = "merge"
	MethodSquash = "squash"
	MethodRebase = "rebase"
)

// Methods are the merge methods, in the order a repository's first
// allowed one is picked.
var Methods = []string{MethodMerge, MethodSquash, MethodRebase}

// PullState is what landing reads of one pull request.
type PullState struct {
	Open, Merged, Draft bool
	HeadSHA             string
	BaseRef             string
	// Mergeable is nil while GitHub has not computed it.
	Mergeable      *bool
	MergeableState string // clean, blocked, behind, dirty, draft, unstable, has_hooks, unknown
	MergeCommitSHA string
}

// Rules are what a branch's rules ask of a merge.
type Rules struct {
	RequiredApprovals int
	RequiredChecks    []string
	MergeQueue        bool
	LinearHistory     bool
	// AllowedMethods limits the merge methods; empty allows any.
	AllowedMethods []string
}

// GitHub is what landing reads and does on GitHub.
type GitHub interface {
	PullState(ctx context.Context, repo string, number int) (PullState, error)
	BranchRules(ctx context.Context, repo, branch string) (Rules, error)
	// MergeMethods are the methods the repository's settings allow.
	MergeMethods(ctx context.Context, repo string) ([]string, error)
	// Approvals counts the reviewers whose latest review approves.
	Approvals(ctx context.Context, repo string, number int) (int, error)
	// CheckStates are the states of the statuses and check runs on sha,
	// by context or name: success, failure, pending...
	CheckStates(ctx context.Context, repo, sha string) (map[string]string, error)
	BranchTip(ctx context.Context, repo, branch string) (string, error)
	// Merge merges the PR at head sha by method and returns the commit
	// it made.
	Merge(ctx context.Context, repo string, number int, sha, method, title string) (string, error)
	// CommitTree is the tree of a commit; CommitParents its parents.
	CommitTree(ctx context.Context, repo, sha string) (string, error)
	CommitParents(ctx context.Context, repo, sha string) ([]string, error)
	// TreeFiles lists a tree's files, path to blob.
	TreeFiles(ctx context.Context, repo, tree string) (map[string]string, error)
	Permission(ctx context.Context, repo, user string) (string, error)
	// ChangedFiles are the paths a PR changes.
	ChangedFiles(ctx context.Context, repo string, number int) ([]string, error)
	// Tag makes a lightweight tag at sha unless it is there already
	// (created false); a tag of that name at another commit is an error.
	Tag(ctx context.Context, repo, name, sha string) (created bool, err error)
	// PublishRelease makes a GitHub release of an existing tag unless one
	// is there already (created false).
	PublishRelease(ctx context.Context, repo, tag, name, notes string) (created bool, err error)
}

// Member is one PR to land, with what the gate built of it.
type Member struct {
	Sibling string
	Repo    string
	Number  int
	// Head is the head the gate tested; the merge names it, so a push
	// since makes GitHub refuse.
	Head string
	// BaseRef is the branch it merges into; TestedBase the commit of it
	// the gate merged the head onto, and TestedTree the tree that made.
	BaseRef    string
	TestedBase string
	TestedTree string
	// Method is the configured merge method; "" takes the first the
	// repository and its rules allow.
	Method string
}

// Ref is owner/repo#N.
func (m *Member) Ref() string { return refOf(m.Repo, m.Number) }

// Options tune Check and Land.
type Options struct {
	// Sleep waits between reads of a PR whose mergeability GitHub is
	// still computing; nil sleeps for real.
	Sleep func(ctx context.Context, d time.Duration) error
	// MergeableReads bounds those reads (default 6).
	MergeableReads int
	// MayChangeWorkflows says whether the credentials may merge a change
	// to .github/workflows in repo (an App needs the workflows
	// permission); known false when GitHub does not say. Nil: not asked.
	MayChangeWorkflows func(ctx context.Context, repo string) (may, known bool, err error)
}

func (o *Options) sleep(ctx context.Context, d time.Duration) error {
	if o.Sleep != nil {
		return o.Sleep(ctx, d)
	}
	return clock.Sleep(ctx, d)
}
