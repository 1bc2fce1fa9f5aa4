package land

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Problem is one reason a member cannot land yet, and how to fix it.
type Problem struct {
	What, Fix string
}

// Row is one member's line of the checklist.
type Row struct {
	Member Member
	// Method is the merge method it lands with.
	Method string
	// Merged: it merged already (a resumed landing skips it), as
	// MergeSHA.
	Merged   bool
	MergeSHA string
	// BaseTip is its base branch's commit now; Moved says it is not the
	// one the gate built onto, so the gate must run again first.
	BaseTip  string
	Moved    bool
	Problems []Problem
}

// Checklist is the preflight's answer: a row per member, in the order
// they land, and the problems of the changeset as a whole.
type Checklist struct {
	Rows     []Row
	Problems []Problem
}

// Blocked says whether anything must be fixed by a person first.
func (c *Checklist) Blocked() bool {
	if len(c.Problems) > 0 {
		return true
	}
	for _, r := range c.Rows {
		if len(r.Problems) > 0 {
			return true
		}
	}
	return false
}

// Moved are the unmerged members whose base moved since the gate: the
// changeset is tested again onto the new bases before anything merges.
func (c *Checklist) Moved() []Row {
	var out []Row
	for _, r := range c.Rows {
		if r.Moved && !r.Merged {
			out = append(out, r)
		}
	}
	return out
}

// Check is the preflight: it reads every member, its branch's rules and
// its repository's settings, and says what stops it from landing. It
// changes nothing. user must have write permission on every member's
// repository. An error is GitHub failing to answer; every refusal is a
// Problem.
func Check(ctx context.Context, g GitHub, user string, members []Member, opts Options) (*Checklist, error) {
	cl := &Checklist{}
	seen := map[string]bool{}
	for _, m := range members {
		repo := strings.ToLower(m.Repo)
		if seen[repo] || user == "" {
			continue
		}
		seen[repo] = true
		perm, err := g.Permission(ctx, m.Repo, user)
		if err != nil {
			return nil, fmt.Errorf("the permission of %s on %s: %w", user, m.Repo, err)
		}
		if !canWrite(perm) {
			cl.Problems = append(cl.Problems, Problem{
				What: fmt.Sprintf("%s has %s permission on %s", user, orNone(perm), m.Repo),
				Fix:  "landing needs write permission on every member's repository: ask someone who has it",
			})
		}
	}
	// Each member's reads wait on GitHub alone: they go side by side.
	cl.Rows = make([]Row, len(members))
	errs := make([]error, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl.Rows[i], errs[i] = check(ctx, g, m, opts)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cl, nil
}

func canWrite(perm string) bool {
	return perm == "admin" || perm == "maintain" || perm == "write"
}

func orNone(s string) string {
	if s == "" {
		return "no"
	}
	return s
}

func check(ctx context.Context, g GitHub, m Member, opts Options) (Row, error) {
	row := Row{Member: m}
	problem := func(what, fix string) { row.Problems = append(row.Problems, Problem{What: what, Fix: fix}) }
	st, err := pullState(ctx, g, m, opts)
	if err != nil {
		return row, err
	}
	if st.Merged {
		row.Merged, row.MergeSHA = true, st.MergeCommitSHA
		return row, nil
	}
	if !st.Open {
		problem("it was closed without merging", "reopen it, or unlink it and test what is left")
		return row, nil
	}
	if st.Draft {
		problem("it is a draft", "mark it ready for review")
	}
	if !strings.EqualFold(st.HeadSHA, m.Head) {
		problem(fmt.Sprintf("its head moved to %s after the tested run (which built %s)", short(st.HeadSHA), short(m.Head)),
			"the new head was never tested: test the changeset again, then merge once it passes")
	}
	switch {
	case st.MergeableState == "dirty" || (st.Mergeable != nil && !*st.Mergeable):
		problem(fmt.Sprintf("it conflicts with %s", st.BaseRef), fmt.Sprintf("merge or rebase %s into its branch, push, and test again", st.BaseRef))
	case st.MergeableState == "unknown" || st.Mergeable == nil:
		problem("GitHub has not yet computed whether it can merge", "merge again in a minute")
	}

	rules, err := g.BranchRules(ctx, m.Repo, m.BaseRef)
	if err != nil {
		return row, fmt.Errorf("the rules of %s %s: %w", m.Repo, m.BaseRef, err)
	}
	known := false
	if rules.MergeQueue {
		known = true
		problem(fmt.Sprintf("%s of %s requires its merge queue", m.BaseRef, m.Repo),
			"this sibling must land through its merge queue, which workspace-bot does not drive yet: land it there by hand")
	}
	if rules.RequiredApprovals > 0 {
		n, err := g.Approvals(ctx, m.Repo, m.Number)
		if err != nil {
			return row, fmt.Errorf("the reviews of %s: %w", m.Ref(), err)
		}
		if n < rules.RequiredApprovals {
			known = true
			problem(fmt.Sprintf("it needs %d approving %s and has %d", rules.RequiredApprovals, plural(rules.RequiredApprovals, "review"), n),
				"ask a reviewer with write access to approve it")
		}
	}
	if len(rules.RequiredChecks) > 0 {
		states, err := g.CheckStates(ctx, m.Repo, st.HeadSHA)
		if err != nil {
			return row, fmt.Errorf("the checks of %s: %w", m.Ref(), err)
		}
		for _, c := range rules.RequiredChecks {
			if s := states[c]; s != "success" {
				known = true
				problem(fmt.Sprintf("the required check %q is %s", c, orMissing(s)), "wait for it to pass, or fix what fails")
			}
		}
	}
	if st.MergeableState == "behind" {
		// Branch protection requires the branch to be up to date: GitHub
		// would refuse the merge halfway through the sequence.
		problem(fmt.Sprintf("its branch is behind %s, which the branch's protection does not allow", st.BaseRef),
			fmt.Sprintf("update the branch with %s (merge it in and push), then test again", st.BaseRef))
	}
	if st.MergeableState == "blocked" && !known {
		problem("GitHub blocks its merge (branch protection: reviews, checks, or unresolved conversations)",
			"open the PR and read what its merge box asks for")
	}

	if opts.MayChangeWorkflows != nil {
		if err := checkWorkflows(ctx, g, m, opts, problem); err != nil {
			return row, err
		}
	}

	method, p := pickMethod(ctx, g, m, rules)
	if p != nil {
		row.Problems = append(row.Problems, *p)
	}
	row.Method = method

	tip, err := g.BranchTip(ctx, m.Repo, m.BaseRef)
	if err != nil {
		return row, fmt.Errorf("the tip of %s %s: %w", m.Repo, m.BaseRef, err)
	}
	row.BaseTip = tip
	row.Moved = m.TestedBase != "" && !strings.EqualFold(tip, m.TestedBase)
	return row, nil
}

// checkWorkflows names a change to .github/workflows that the credentials
// may not merge: GitHub would refuse it halfway through the sequence.
func checkWorkflows(ctx context.Context, g GitHub, m Member, opts Options, problem func(what, fix string)) error {
	may, known, err := opts.MayChangeWorkflows(ctx, m.Repo)
	if err != nil {
		return fmt.Errorf("whether the bot may change workflows in %s: %w", m.Repo, err)
	}
	if may || !known {
		return nil
	}
	files, err := g.ChangedFiles(ctx, m.Repo, m.Number)
	if err != nil {
		return fmt.Errorf("the files of %s: %w", m.Ref(), err)
	}
	for _, f := range files {
		if strings.HasPrefix(f, ".github/workflows/") {
			problem(fmt.Sprintf("it changes %s, and the GitHub App may not change workflows", f),
				"give the App the Workflows permission (read and write) in its settings and accept it on the installation, or merge this PR by hand")
			return nil
		}
	}
	return nil
}

// pullState reads the PR until GitHub has computed its mergeability, or
// the reads run out.
func pullState(ctx context.Context, g GitHub, m Member, opts Options) (PullState, error) {
	reads := opts.MergeableReads
	if reads <= 0 {
		reads = 6
	}
	wait := 500 * time.Millisecond
	for i := 1; ; i++ {
		st, err := g.PullState(ctx, m.Repo, m.Number)
		if err != nil {
			return st, fmt.Errorf("reading %s: %w", m.Ref(), err)
		}
		if !st.Open || st.Mergeable != nil || st.MergeableState != "unknown" && st.MergeableState != "" || i >= reads {
			return st, nil
		}
		if err := opts.sleep(ctx, wait); err != nil {
			return st, err
		}
		wait *= 2
	}
}

// pickMethod is the member's merge method: the configured one when the
// repository and its rules allow it, else the first they allow.
func pickMethod(ctx context.Context, g GitHub, m Member, rules Rules) (string, *Problem) {
	repoAllows, err := g.MergeMethods(ctx, m.Repo)
	if err != nil {
		return m.Method, &Problem{What: fmt.Sprintf("the merge methods of %s cannot be read: %v", m.Repo, err), Fix: "merge again later"}
	}
	var allowed []string
	for _, meth := range Methods {
		if !slices.Contains(repoAllows, meth) {
			continue
		}
		if len(rules.AllowedMethods) > 0 && !slices.Contains(rules.AllowedMethods, meth) {
			continue
		}
		if rules.LinearHistory && meth == MethodMerge {
			continue
		}
		allowed = append(allowed, meth)
	}
	if m.Method != "" {
		if slices.Contains(allowed, m.Method) {
			return m.Method, nil
		}
		why := "its settings and rules allow " + orNothing(allowed)
		if rules.LinearHistory && m.Method == MethodMerge {
			why = "its rules require linear history, which forbids merge commits"
		}
		return m.Method, &Problem{
			What: fmt.Sprintf("merge_method = %q cannot be used in %s: %s", m.Method, m.Repo, why),
			Fix:  "set merge_method (in [workspace.bot], or the sibling's) to one the repository allows",
		}
	}
	if len(allowed) == 0 {
		return "", &Problem{What: fmt.Sprintf("%s allows no merge method its rules accept", m.Repo), Fix: "allow one in the repository's settings"}
	}
	return allowed[0], nil
}

func orNothing(list []string) string {
	if len(list) == 0 {
		return "nothing"
	}
	return strings.Join(list, ", ")
}

func orMissing(s string) string {
	if s == "" {
		return "missing"
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func refOf(repo string, n int) string { return fmt.Sprintf("%s#%d", repo, n) }
