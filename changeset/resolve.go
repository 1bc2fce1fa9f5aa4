package changeset

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/provide-io/workspace-bot/workspace"
)

// Defaults for Options.
const (
	DefaultMaxMembers = 50
	DefaultParallel   = 4
)

// Options tune Resolve.
type Options struct {
	// MaxMembers bounds the changeset; more is an error. DefaultMaxMembers
	// when zero.
	MaxMembers int
	// Parallel bounds the concurrent list calls. DefaultParallel when zero.
	Parallel int
	// Trusted says whether a PR's author is trusted. Links speak for whoever
	// wrote them, so trust decides which links count (see Resolve). Nil
	// trusts every author: right for a person resolving on their own
	// laptop, never for the bot, which must set it. It is asked at most
	// once per PR and resolution, for the members and for the PRs that
	// link themselves to them; an error (a GitHub failure) fails the
	// resolution.
	//
	// An author_association is not always reliable, so the
	// bot answers with its configured associations confirmed by the
	// collaborator-permission API (write or more on pr.Repo), for forks and
	// branches of the base repository alike: a read-only user may open a
	// PR from someone else's branch, and the body, with its links, is
	// theirs.
	Trusted TrustFunc
}

// TrustFunc decides whether a PR's author is trusted.
type TrustFunc func(ctx context.Context, pr *PR) (bool, error)

// repoInfo is what resolution knows of one repository of the workspace.
type repoInfo struct {
	fullName string // owner/name as configured
	sibling  string // sibling name, or the workspace's name
	// branch is the base branch PRs must target; "" for the workspace
	// repository, whose branch wrknv.toml does not name.
	branch string
}

type resolver struct {
	gh    GitHub
	cfg   *workspace.Config
	opts  Options
	repos map[string]*repoInfo // by lower-case owner/name
	// neverLink are branch names that never link PRs by branch.
	neverLink map[string]bool

	open    map[string]*PR   // every open PR of the workspace, by ref key
	openAll []*PR            // the same, in a stable order
	dependR map[string][]*PR // ref key -> open PRs whose Depends-On names it
	deps    map[string][]Ref // ref key -> its Depends-On references
	depErrs map[string][]error

	members  map[string]*PR
	via      map[string]Link
	order    []string
	problems []error

	trust    map[string]bool       // decided trust, by ref key
	excluded map[string]*Exclusion // PRs left out, by ref key
}

// Resolve finds the changeset that start belongs to,
// says: Depends-On lines in both directions, PRs on branches of the same
// name when link_by_branch is set, transitively, bounded; then validates
// it and pins every member to its head SHA.
//
// Links follow authorship: a PR's Depends-On lines and
// branch name speak for its author. So the links that count are those of
// the start and of members whose author is trusted (Options.Trusted):
//   - their Depends-On lines bring in the PRs they name, trusted or not (a
//     maintainer linked them on purpose; the bot then waits for an approval
//     of the untrusted heads);
//   - a PR whose own Depends-On names one of them, or that shares their
//     branch name, joins only when its author is trusted. An untrusted one
//     is left out and listed in Changeset.Excluded, so an outsider can
//     neither join a maintainer's changeset nor break it with a bad line
//     or a second PR for a sibling;
//   - the links of an untrusted member that is not the start do not count:
//     the PRs only they name are listed in Excluded too.
//
// An untrusted PR's own changeset (it is the start) includes what it
// names. Problems are reported only for what the counting links bring
// in, so they are always the fault of the start or a trusted author.
//
// Resolution failures are *Error values (several are joined); GitHub
// failures (outages, rate limits, a failing Trusted) come back as other
// errors.
func Resolve(ctx context.Context, gh GitHub, cfg *workspace.Config, start Ref, opts Options) (*Changeset, error) {
	if opts.MaxMembers <= 0 {
		opts.MaxMembers = DefaultMaxMembers
	}
	if opts.Parallel <= 0 {
		opts.Parallel = DefaultParallel
	}
	r := newResolver(gh, cfg, opts)
	info := r.repo(start.Repo)
	if info == nil {
		return nil, r.notInWorkspace(start, LinkStart)
	}
	start.Repo = info.fullName
	if err := r.listOpen(ctx); err != nil {
		return nil, err
	}
	first, err := r.get(ctx, start, LinkStart)
	if err != nil {
		return nil, err
	}
	if first == nil {
		return nil, errors.Join(r.problems...)
	}
	if err := r.closure(ctx, first); err != nil {
		return nil, err
	}
	r.validate()
	if len(r.problems) > 0 {
		return nil, errors.Join(r.problems...)
	}
	return r.changeset(), nil
}

func newResolver(gh GitHub, cfg *workspace.Config, opts Options) *resolver {
	r := &resolver{
		gh: gh, cfg: cfg, opts: opts,
		repos:     map[string]*repoInfo{},
		neverLink: map[string]bool{"main": true, "master": true, "develop": true},
		open:      map[string]*PR{},
		dependR:   map[string][]*PR{},
		deps:      map[string][]Ref{},
		depErrs:   map[string][]error{},
		members:   map[string]*PR{},
		via:       map[string]Link{},
		trust:     map[string]bool{},
		excluded:  map[string]*Exclusion{},
	}
	for i := range cfg.Siblings {
		s := &cfg.Siblings[i]
		if fn := cfg.FullName(s); fn != "" {
			r.repos[strings.ToLower(fn)] = &repoInfo{fullName: fn, sibling: s.Name, branch: s.Branch}
		}
		r.neverLink[strings.ToLower(s.Branch)] = true
	}
	if fn := cfg.WorkspaceFullName(); fn != "" {
		if _, dup := r.repos[strings.ToLower(fn)]; !dup {
			r.repos[strings.ToLower(fn)] = &repoInfo{fullName: fn, sibling: cfg.Workspace.Name}
		}
	}
	return r
}

func (r *resolver) repo(fullName string) *repoInfo { return r.repos[strings.ToLower(fullName)] }

// listOpen lists the open PRs of every repository once, in parallel. The
// reverse direction of Depends-On and branch linking both scan them; GitHub
// search is capped and would miss PRs. With the revalidating HTTP cache an
// unchanged list costs no rate limit.
func (r *resolver) listOpen(ctx context.Context) error {
	names := make([]string, 0, len(r.repos))
	for k := range r.repos {
		names = append(names, k)
	}
	sort.Strings(names)
	results := make([][]*PR, len(names))
	errs := make([]error, len(names))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, r.opts.Parallel)
	var wg sync.WaitGroup
	for i, k := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			prs, err := r.gh.OpenPullRequests(ctx, r.repos[k].fullName)
			if err != nil {
				errs[i] = err
				cancel()
				return
			}
			results[i] = prs
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return r.listError(r.repos[names[i]].fullName, err)
		}
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("listing open pull requests: %w", err)
		}
	}
	for _, prs := range results {
		for _, pr := range prs {
			if pr == nil || pr.State != "open" {
				continue
			}
			r.open[refOf(pr).key()] = pr
			r.openAll = append(r.openAll, pr)
		}
	}
	sort.Slice(r.openAll, func(i, j int) bool { return refOf(r.openAll[i]).less(refOf(r.openAll[j])) })
	for _, pr := range r.openAll {
		for _, d := range r.dependsOf(pr) {
			r.dependR[d.key()] = append(r.dependR[d.key()], pr)
		}
	}
	return nil
}

func (r *resolver) listError(repo string, err error) error {
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) {
		return &Error{Kind: KindNoAccess, Repo: repo, Err: err,
			Problem: "cannot list its open pull requests: the repository is missing or this token cannot read it",
			Fix:     fmt.Sprintf("give the token read access to %s (a fine-grained token or App installation must include every sibling), or fix its repo in wrknv.toml", repo)}
	}
	return concerning(err, "listing open pull requests of "+repo, repo)
}

// concerning names what err is about, unless the GitHub client already
// did (the real one does): a message must not say the same thing twice.
func concerning(err error, what, name string) error {
	if strings.Contains(err.Error(), name) {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

func refOf(pr *PR) Ref { return Ref{Repo: pr.Repo, Number: pr.Number} }

// dependsOf reads (once) a PR's Depends-On lines, with repository names
// in their configured spelling.
func (r *resolver) dependsOf(pr *PR) []Ref {
	k := refOf(pr).key()
	if d, ok := r.deps[k]; ok {
		return d
	}
	refs, errs := ScanDependsOn(pr.Body, refOf(pr).Owner())
	for i := range refs {
		if info := r.repo(refs[i].Repo); info != nil {
			refs[i].Repo = info.fullName
		}
	}
	r.deps[k], r.depErrs[k] = refs, errs
	return refs
}

// get returns a PR, from the open lists or from GitHub (a closed PR, or one
// opened since the lists were read). A PR that cannot be read becomes a
// problem and nil; an outage is an error.
func (r *resolver) get(ctx context.Context, ref Ref, via Link) (*PR, error) {
	if pr, ok := r.open[ref.key()]; ok {
		return pr, nil
	}
	pr, err := r.gh.PullRequest(ctx, ref.Repo, ref.Number)
	switch {
	case errors.Is(err, ErrNotFound):
		r.problems = append(r.problems, &Error{Kind: KindNotFound, PR: ref, Via: via.String(), Repo: ref.Repo, Err: err,
			Problem: "no such pull request, or this token cannot read it",
			Fix:     fmt.Sprintf("check the number, or give the token read access to %s", ref.Repo)})
		return nil, nil
	case errors.Is(err, ErrForbidden):
		r.problems = append(r.problems, &Error{Kind: KindNotFound, PR: ref, Via: via.String(), Repo: ref.Repo, Err: err,
			Problem: "this token may not read it",
			Fix:     fmt.Sprintf("give the token read access to %s", ref.Repo)})
		return nil, nil
	case err != nil:
		return nil, concerning(err, "reading "+ref.String(), ref.Repo)
	case pr == nil:
		return nil, fmt.Errorf("reading %s: GitHub returned no pull request", ref)
	}
	if pr.Repo == "" {
		pr.Repo = ref.Repo
	}
	return pr, nil
}

func (r *resolver) notInWorkspace(ref Ref, via Link) *Error {
	return &Error{Kind: KindNotInWorkspace, PR: ref, Via: via.String(), Repo: ref.Repo,
		Problem: fmt.Sprintf("%s is not a repository of workspace %s", ref.Repo, r.cfg.Workspace.Name),
		Fix:     fmt.Sprintf("link only PRs of the siblings in wrknv.toml, or add %s there as a sibling", ref.Repo)}
}

// closure adds every PR linked to start, breadth first.
func (r *resolver) closure(ctx context.Context, start *PR) error {
	queue := []*PR{start}
	if err := r.add(start, LinkStart); err != nil {
		return err
	}
	for len(queue) > 0 {
		pr := queue[0]
		queue = queue[1:]
		if pr.State != "open" || pr.Merged {
			continue // reported by validate; its links do not count
		}
		counts, err := r.linksCount(ctx, pr)
		if err != nil {
			return err
		}
		if !counts {
			for _, d := range r.dependsOf(pr) {
				if _, ok := r.members[d.key()]; !ok && r.repo(d.Repo) != nil {
					r.exclude(d, LinkDependsOnIn(refOf(pr)), ExcludedUntrustedLink)
				}
			}
			continue
		}
		type found struct {
			pr  *PR
			via Link
		}
		var next []found
		// joins adds q, linked to pr by q's own Depends-On or branch name,
		// when its author is trusted.
		joins := func(q *PR, via Link) error {
			if _, ok := r.members[refOf(q).key()]; ok {
				return nil
			}
			ok, err := r.trusted(ctx, q)
			if err != nil {
				return err
			}
			if ok {
				next = append(next, found{q, via})
			} else {
				r.exclude(refOf(q), via, ExcludedUntrustedAuthor)
			}
			return nil
		}
		for _, d := range r.dependsOf(pr) {
			if _, ok := r.members[d.key()]; ok {
				continue
			}
			via := LinkDependsOnIn(refOf(pr))
			if r.repo(d.Repo) == nil {
				r.problems = append(r.problems, r.notInWorkspace(d, via))
				continue
			}
			p, err := r.get(ctx, d, via)
			if err != nil {
				return err
			}
			if p != nil {
				next = append(next, found{p, via})
			}
		}
		for _, q := range r.dependR[refOf(pr).key()] {
			if err := joins(q, LinkDependsOn(refOf(pr))); err != nil {
				return err
			}
		}
		if r.cfg.Workspace.Bot.LinkByBranch {
			for _, q := range r.openAll {
				if r.sameBranch(pr, q) {
					if err := joins(q, LinkSameBranch(refOf(pr))); err != nil {
						return err
					}
				}
			}
		}
		for _, f := range next {
			if _, ok := r.members[refOf(f.pr).key()]; ok {
				continue
			}
			if err := r.add(f.pr, f.via); err != nil {
				return err
			}
			queue = append(queue, f.pr)
		}
	}
	return nil
}

func (r *resolver) add(pr *PR, via Link) error {
	k := refOf(pr).key()
	r.members[k] = pr
	r.via[k] = via
	r.order = append(r.order, k)
	delete(r.excluded, k)
	if len(r.members) > r.opts.MaxMembers {
		start := r.members[r.order[0]]
		return &Error{Kind: KindTooMany, PR: refOf(start), Via: LinkStart.String(),
			Problem: fmt.Sprintf("its changeset has more than %d pull requests (reached %s by %s)", r.opts.MaxMembers, pr.Ref(), via),
			Fix:     "split the change into smaller changesets, or look for a branch name or Depends-On line that links unrelated PRs"}
	}
	return nil
}

// sameBranch reports whether two PRs of different repositories link by
// branch: the same head branch name, pushed by the same owner (so two
// strangers' "patch-1" forks never link), and not a default branch.
func (r *resolver) sameBranch(a, b *PR) bool {
	if strings.EqualFold(a.Repo, b.Repo) || a.HeadRef == "" || a.HeadRef != b.HeadRef || r.neverLink[strings.ToLower(a.HeadRef)] {
		return false
	}
	oa, _, _ := strings.Cut(a.HeadRepo, "/")
	ob, _, _ := strings.Cut(b.HeadRepo, "/")
	return oa != "" && strings.EqualFold(oa, ob)
}

// validate reports every member that cannot be built, all at once.
//
// Each problem is the start's or a trusted author's to fix, because only
// their links bring members in: a missing, closed, merged, outside or
// wrongly based PR was named by one of them, or is the start; two PRs for
// a sibling or too many members were linked by them; and the Depends-On
// words checked are those of members whose links count (an untrusted
// member's lines are not read). The one exception is a sibling the token
// cannot list, which is the token's.
func (r *resolver) validate() {
	keys := r.sortedKeys()
	bySibling := map[string][]*PR{}
	for _, k := range keys {
		pr := r.members[k]
		ref, via := refOf(pr), r.via[k]
		if r.counts(k) { // an untrusted member's lines are not read
			for _, err := range r.depErrs[k] {
				r.problems = append(r.problems, &Error{Kind: KindBadRef, PR: ref, Via: via.String(), Err: err,
					Problem: "a Depends-On line names something that is not a pull request",
					Fix:     "write each as https://github.com/owner/repo/pull/N, owner/repo#N or repo#N, separated by spaces or commas, or remove it"})
			}
		}
		info := r.repo(pr.Repo)
		if info == nil {
			r.problems = append(r.problems, r.notInWorkspace(ref, via))
			continue
		}
		switch {
		case pr.Merged:
			r.problems = append(r.problems, &Error{Kind: KindMerged, PR: ref, Via: via.String(), Repo: pr.Repo,
				Problem: "is already merged",
				Fix:     fixLink(via, "its change is on the base branch now")})
			continue
		case pr.State != "open":
			r.problems = append(r.problems, &Error{Kind: KindClosed, PR: ref, Via: via.String(), Repo: pr.Repo,
				Problem: "is closed",
				Fix:     fixLink(via, "reopen it")})
			continue
		}
		if info.branch != "" && pr.BaseRef != info.branch {
			r.problems = append(r.problems, &Error{Kind: KindWrongBase, PR: ref, Via: via.String(), Repo: pr.Repo,
				Problem: fmt.Sprintf("targets branch %q, but sibling %s is built from %q", pr.BaseRef, info.sibling, info.branch),
				Fix:     fmt.Sprintf("change the PR's base to %s, or set branch = %q for %s in wrknv.toml", info.branch, pr.BaseRef, info.sibling)})
		}
		bySibling[info.sibling] = append(bySibling[info.sibling], pr)
	}
	sibs := make([]string, 0, len(bySibling))
	for s := range bySibling {
		sibs = append(sibs, s)
	}
	sort.Strings(sibs)
	for _, s := range sibs {
		prs := bySibling[s]
		for _, other := range prs[1:] {
			a, b := refOf(prs[0]), refOf(other)
			r.problems = append(r.problems, &Error{Kind: KindDuplicate, PR: a, Other: b, Repo: prs[0].Repo,
				Via: r.via[a.key()].String(),
				Problem: fmt.Sprintf("%s and %s (%s) are both open PRs for sibling %s, and a changeset builds one PR per sibling",
					a, b, r.via[b.key()], s),
				Fix: "remove the Depends-On line or rename the branch that links one of them"})
		}
	}
}

// fixLink suggests removing the link that brought a PR in, or otherwise.
func fixLink(via Link, otherwise string) string {
	if via.Kind == ReachedDependsOnIn {
		return "remove the Depends-On line naming it from " + via.PR.String()
	}
	return otherwise
}

func (r *resolver) sortedKeys() []string {
	keys := make([]string, 0, len(r.members))
	for k := range r.members {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return refOf(r.members[keys[i]]).less(refOf(r.members[keys[j]])) })
	return keys
}

// changeset builds the result: members sorted, every link between them
// recorded, identity computed.
func (r *resolver) changeset() *Changeset {
	keys := r.sortedKeys()
	links := map[string]map[Link]bool{}
	link := func(k string, l Link) {
		if links[k] == nil {
			links[k] = map[Link]bool{}
		}
		links[k][l] = true
	}
	link(r.order[0], LinkStart)
	for _, k := range keys {
		pr := r.members[k]
		if !r.counts(k) {
			continue // its links did not count; those to it are recorded from the other side
		}
		for _, d := range r.dependsOf(pr) {
			if _, ok := r.members[d.key()]; ok {
				link(d.key(), LinkDependsOnIn(refOf(pr)))
				link(k, LinkDependsOn(refOf(r.members[d.key()])))
			}
		}
		if r.cfg.Workspace.Bot.LinkByBranch {
			for _, k2 := range keys {
				if k2 != k && r.counts(k2) && r.sameBranch(pr, r.members[k2]) {
					link(k, LinkSameBranch(refOf(r.members[k2])))
				}
			}
		}
	}
	cs := &Changeset{}
	for _, k := range keys {
		pr := r.members[k]
		m := Member{PR: pr, Sibling: r.repo(pr.Repo).sibling, Trusted: r.trust[k]}
		for l := range links[k] {
			m.Links = append(m.Links, l)
		}
		sortLinks(m.Links)
		cs.Members = append(cs.Members, m)
	}
	cs.Key, cs.RunID = Identity(cs.Members)
	for _, e := range r.excluded {
		sortLinks(e.Links)
		cs.Excluded = append(cs.Excluded, *e)
	}
	sort.Slice(cs.Excluded, func(i, j int) bool { return cs.Excluded[i].PR.less(cs.Excluded[j].PR) })
	return cs
}

// trusted asks Options.Trusted about pr's author, once.
func (r *resolver) trusted(ctx context.Context, pr *PR) (bool, error) {
	k := refOf(pr).key()
	if ok, done := r.trust[k]; done {
		return ok, nil
	}
	ok := true
	if r.opts.Trusted != nil {
		var err error
		if ok, err = r.opts.Trusted(ctx, pr); err != nil {
			return false, fmt.Errorf("deciding whether the author of %s is trusted: %w", pr.Ref(), err)
		}
	}
	r.trust[k] = ok
	return ok, nil
}

// linksCount decides whether a member's links count: the start's always
// do, others' when their author is trusted.
func (r *resolver) linksCount(ctx context.Context, pr *PR) (bool, error) {
	ok, err := r.trusted(ctx, pr)
	return ok || refOf(pr).key() == r.order[0], err
}

// counts says whether the links of the member with key k counted.
func (r *resolver) counts(k string) bool { return k == r.order[0] || r.trust[k] }

// exclude records a PR left out, and the link that would have brought it
// in. An untrusted author outweighs an untrusted link.
func (r *resolver) exclude(ref Ref, via Link, why ExclusionReason) {
	k := ref.key()
	e := r.excluded[k]
	if e == nil {
		e = &Exclusion{PR: ref, Reason: why}
		r.excluded[k] = e
	}
	if why == ExcludedUntrustedAuthor {
		e.Reason = why
	}
	for _, l := range e.Links {
		if l == via {
			return
		}
	}
	e.Links = append(e.Links, via)
}
