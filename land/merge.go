package land

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Proof compares what landed with what was tested.
type Proof struct {
	// Checked is false when there was nothing to compare with (a run
	// that recorded no tree).
	Checked bool
	// Same: the landed commit's tree is the tree the gate built.
	Same               bool
	Tested, LandedTree string
	// Paths differ between the two, when they can be told: both trees
	// read, or the base moved to BaseMovedTo before the merge and these
	// changed there since the tested base.
	Paths       []string
	BaseMovedTo string
}

// Landed is one member that is on its base now.
type Landed struct {
	Row      Row
	MergeSHA string
	// Before: it had merged before this sequence (a resumed landing).
	Before bool
	Proof  Proof
}

// Halt is why a sequence stopped before every member landed.
type Halt struct {
	Row Row
	Why string
	// Err is what GitHub answered.
	Err error
}

// Outcome is how a sequence ended.
type Outcome struct {
	Landed []Landed
	// Halted is nil when every member landed.
	Halted *Halt
	// Left are the members not merged, when Halted.
	Left []Row
}

// AsTested says whether every landed member's tree is the one tested.
func (o *Outcome) AsTested() bool {
	for _, l := range o.Landed {
		if l.Proof.Checked && !l.Proof.Same {
			return false
		}
	}
	return true
}

// Journal keeps a sequence's progress where a restart finds it. Merging
// is written before each merge, Merged after it: a restart between the
// two looks the PR up on GitHub before merging anything again.
type Journal interface {
	Merging(ctx context.Context, r Row) error
	Merged(ctx context.Context, l Landed) error
}

// Unrecorded is the Journal of a landing nothing resumes (the CLI's: it
// runs once, in the foreground).
var Unrecorded Journal = unrecorded{}

type unrecorded struct{}

func (unrecorded) Merging(context.Context, Row) error   { return nil }
func (unrecorded) Merged(context.Context, Landed) error { return nil }

// Land merges the checklist's rows in order, each at its tested head, and
// proves each. It stops at the first member GitHub will not merge: what
// merged stays merged, and the Outcome says what did not and why. A merge
// that GitHub answers with an error is looked up before it counts as
// failed, since GitHub sometimes merges and still errs. The checklist must
// not be Blocked.
func Land(ctx context.Context, g GitHub, cl *Checklist, j Journal) (*Outcome, error) {
	if cl.Blocked() {
		return nil, errors.New("land: the checklist has problems; nothing was merged")
	}
	out := &Outcome{}
	for i, r := range cl.Rows {
		sha, before := r.MergeSHA, r.Merged
		if !before {
			if err := j.Merging(ctx, r); err != nil {
				return out, fmt.Errorf("recording that %s merges: %w", r.Member.Ref(), err)
			}
			var err error
			sha, err = mergeOne(ctx, g, r)
			if err != nil {
				out.Halted = &Halt{Row: r, Why: err.Error(), Err: err}
				out.Left = append(out.Left, cl.Rows[i:]...)
				return out, nil
			}
		}
		l := Landed{Row: r, MergeSHA: sha, Before: before, Proof: prove(ctx, g, r, sha)}
		if err := j.Merged(ctx, l); err != nil {
			return out, fmt.Errorf("recording that %s merged as %s: %w", r.Member.Ref(), sha, err)
		}
		out.Landed = append(out.Landed, l)
	}
	return out, nil
}

// mergeOne merges one member at its tested head. When GitHub answers with
// an error, the PR is read again: merged at that head means it landed.
func mergeOne(ctx context.Context, g GitHub, r Row) (string, error) {
	m := r.Member
	sha, err := g.Merge(ctx, m.Repo, m.Number, m.Head, r.Method, "")
	if err == nil {
		return sha, nil
	}
	st, lerr := g.PullState(ctx, m.Repo, m.Number)
	if lerr == nil && st.Merged && st.MergeCommitSHA != "" && strings.EqualFold(st.HeadSHA, m.Head) {
		return st.MergeCommitSHA, nil
	}
	return "", fmt.Errorf("GitHub did not merge %s: %w", m.Ref(), err)
}

// prove compares the tree of the commit that landed with the tree the
// gate built.
func prove(ctx context.Context, g GitHub, r Row, sha string) Proof {
	p := Proof{Tested: r.Member.TestedTree}
	if p.Tested == "" || sha == "" {
		return p
	}
	tree, err := g.CommitTree(ctx, r.Member.Repo, sha)
	if err != nil {
		return p
	}
	p.Checked, p.LandedTree, p.Same = true, tree, strings.EqualFold(tree, p.Tested)
	if p.Same {
		return p
	}
	// The tested tree was made in the build root: GitHub holds it only
	// when its files match some commit's exactly.
	if paths, err := treeDiff(ctx, g, r.Member.Repo, p.Tested, tree); err == nil {
		p.Paths = paths
		return p
	}
	// Most often the base moved between the preflight and the merge: a
	// merge or squash commit's first parent is the base it landed on,
	// and what changed there since the tested base is what differs.
	if r.Method == MethodRebase || r.Member.TestedBase == "" {
		return p
	}
	parents, err := g.CommitParents(ctx, r.Member.Repo, sha)
	if err != nil || len(parents) == 0 || strings.EqualFold(parents[0], r.Member.TestedBase) {
		return p
	}
	before, err := g.CommitTree(ctx, r.Member.Repo, r.Member.TestedBase)
	if err != nil {
		return p
	}
	after, err := g.CommitTree(ctx, r.Member.Repo, parents[0])
	if err != nil {
		return p
	}
	if paths, err := treeDiff(ctx, g, r.Member.Repo, before, after); err == nil {
		p.Paths, p.BaseMovedTo = paths, parents[0]
	}
	return p
}

// treeDiff lists the files that differ between two trees GitHub holds.
func treeDiff(ctx context.Context, g GitHub, repo, a, b string) ([]string, error) {
	from, err := g.TreeFiles(ctx, repo, a)
	if err != nil {
		return nil, err
	}
	to, err := g.TreeFiles(ctx, repo, b)
	if err != nil {
		return nil, err
	}
	var paths []string
	for path, blob := range to {
		if from[path] != blob {
			paths = append(paths, path)
		}
	}
	for path := range from {
		if _, ok := to[path]; !ok {
			paths = append(paths, path)
		}
	}
	sort.Strings(paths)
	return paths, nil
}
