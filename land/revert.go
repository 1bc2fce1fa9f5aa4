package land

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/provide-io/workspace-bot/changeset"
)

// RevertGitHub is what reverting a landing reads and does on GitHub.
type RevertGitHub interface {
	BranchTip(ctx context.Context, repo, branch string) (string, error)
	CommitTree(ctx context.Context, repo, sha string) (string, error)
	// CreateCommit makes a commit of tree on parents, on no branch.
	CreateCommit(ctx context.Context, repo, message, tree string, parents []string) (string, error)
	CreateBranch(ctx context.Context, repo, branch, sha string) error
	CreatePullRequest(ctx context.Context, repo, head, base, title, body string) (*changeset.PR, error)
	EditPullRequestBody(ctx context.Context, repo string, number int, body string) error
}

// Merged is one member a landing merged, with what undoes it: its base
// held Before until the landing made After.
type Merged struct {
	Member Member
	Before string
	After  string
}

// Reverted is what became of one merged member: the PR that reverts it,
// or why there is none.
type Reverted struct {
	Merged Merged
	PR     *changeset.PR
	Err    error
}

// RevertBranch is the branch every revert PR of a landing is pushed to,
// in each repository: one name, so they link as one changeset by branch
// as well as by their Depends-On lines.
func RevertBranch(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "workspace-bot/revert-" + hex.EncodeToString(sum[:4])
}

// Revert opens, for each merged member, a PR onto its base whose one
// commit returns the base's files to what they were before the landing,
// and links the PRs with Depends-On lines, so they are tested and landed
// as one. A base that moved on since the merge is not reverted here: a
// commit made through the API cannot merge what came after, so that
// member's Err says how to revert it by hand.
func Revert(ctx context.Context, g RevertGitHub, key string, merged []Merged) []Reverted {
	branch := RevertBranch(key)
	out := make([]Reverted, 0, len(merged))
	for _, m := range merged {
		r := Reverted{Merged: m}
		r.PR, r.Err = revertOne(ctx, g, key, branch, m)
		out = append(out, r)
	}
	var refs []string
	for _, r := range out {
		if r.PR != nil {
			refs = append(refs, r.PR.Ref())
		}
	}
	for i, r := range out {
		if r.PR == nil || len(refs) < 2 {
			continue
		}
		var b strings.Builder
		b.WriteString(r.PR.Body)
		b.WriteString("\n")
		for _, ref := range refs {
			if ref != r.PR.Ref() {
				fmt.Fprintf(&b, "Depends-On: %s\n", ref)
			}
		}
		if err := g.EditPullRequestBody(ctx, r.PR.Repo, r.PR.Number, b.String()); err != nil {
			out[i].Err = fmt.Errorf("linking %s to the other reverts: %w", r.PR.Ref(), err)
		} else {
			out[i].PR.Body = b.String()
		}
	}
	return out
}

func revertOne(ctx context.Context, g RevertGitHub, key, branch string, m Merged) (*changeset.PR, error) {
	mem := m.Member
	tip, err := g.BranchTip(ctx, mem.Repo, mem.BaseRef)
	if err != nil {
		return nil, err
	}
	if m.Before == "" {
		// Merged before a restart carried the landing on: what its base
		// held before is not recorded.
		return nil, fmt.Errorf("what %s held before %s merged is not recorded: revert it by hand: git revert %s (-m 1 for a merge commit)", mem.BaseRef, mem.Ref(), m.After)
	}
	if !strings.EqualFold(tip, m.After) {
		return nil, fmt.Errorf("%s %s moved on since %s merged (now %s): revert it by hand with git revert, onto what came after",
			mem.Repo, mem.BaseRef, mem.Ref(), short(tip))
	}
	tree, err := g.CommitTree(ctx, mem.Repo, m.Before)
	if err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("Revert %s (landing of %s stopped halfway)\n\nThis returns %s to %s, as it was before %s merged as %s.\n",
		mem.Ref(), key, mem.BaseRef, m.Before, mem.Ref(), m.After)
	sha, err := g.CreateCommit(ctx, mem.Repo, msg, tree, []string{m.After})
	if err != nil {
		return nil, err
	}
	if err := g.CreateBranch(ctx, mem.Repo, branch, sha); err != nil {
		return nil, err
	}
	body := fmt.Sprintf("Reverts %s, which merged as %s when the landing of %s stopped halfway. Its base returns to %s.\n",
		mem.Ref(), m.After, key, m.Before)
	return g.CreatePullRequest(ctx, mem.Repo, strings.SplitN(mem.Repo, "/", 2)[0]+":"+branch, mem.BaseRef, "Revert "+mem.Ref(), body)
}
