package githubtest

import (
	"fmt"
	"strings"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
)

// NewPR describes a pull request to open.
type NewPR struct {
	Repo              string // base repository, owner/name
	Head              string // head branch
	HeadRepo          string // "" for the base repository; else a fork's owner/name
	Base              string // base branch; the default branch when ""
	Title             string
	Body              string
	User              string // author; the head repository's owner when ""
	AuthorAssociation string // "OWNER" when ""
	Draft             bool
}

// OpenPR opens a pull request and returns its number, which comes from
// the repository's issue number sequence as on GitHub.
func (s *Server) OpenPR(n NewPR) (int, error) {
	s.mu.Lock()
	base, err := s.repoOrErr(n.Repo)
	if err != nil {
		s.mu.Unlock()
		return 0, err
	}
	if n.HeadRepo == "" {
		n.HeadRepo = base.fullName()
	}
	head, err := s.repoOrErr(n.HeadRepo)
	if err != nil {
		s.mu.Unlock()
		return 0, err
	}
	n.Repo, n.HeadRepo = base.fullName(), head.fullName()
	if head != base && !strings.EqualFold(head.forkOf, base.fullName()) {
		s.mu.Unlock()
		return 0, fmt.Errorf("githubtest: pull request from %s into %s: the head repository is not a fork of the base; create it with RepoOptions.ForkOf", n.HeadRepo, n.Repo)
	}
	if n.Base == "" {
		n.Base = base.defaultBranch
	}
	for _, p := range base.pulls {
		if p.state == "open" && p.headRef == n.Head && strings.EqualFold(p.headRepo, n.HeadRepo) && p.baseRef == n.Base {
			s.mu.Unlock()
			return 0, fmt.Errorf("githubtest: a pull request already exists for %s:%s (#%d)", head.owner, n.Head, p.number)
		}
	}
	s.mu.Unlock()

	s.gitMu.Lock()
	headSHA := branchTip(s.RepoDir(n.HeadRepo), n.Head)
	baseSHA := branchTip(s.RepoDir(n.Repo), n.Base)
	s.gitMu.Unlock()
	if headSHA == "" {
		return 0, fmt.Errorf("githubtest: pull request head %s:%s does not exist; commit to it first", n.HeadRepo, n.Head)
	}
	if baseSHA == "" {
		return 0, fmt.Errorf("githubtest: pull request base %s:%s does not exist; commit to it first", n.Repo, n.Base)
	}

	if n.User == "" {
		n.User = head.owner
	}
	if n.AuthorAssociation == "" {
		n.AuthorAssociation = "OWNER"
	}
	t := now()
	s.mu.Lock()
	base.lastNumber++
	p := &pull{
		number: base.lastNumber, id: s.st.id(), title: n.Title, body: n.Body,
		user: n.User, assoc: n.AuthorAssociation, draft: n.Draft,
		headRef: n.Head, headRepo: n.HeadRepo, headSHA: headSHA, baseRef: n.Base, baseSHA: baseSHA,
		state: "open", created: t, updated: t,
	}
	base.pulls[p.number] = p
	s.st.userID(n.User)
	s.mu.Unlock()

	s.gitMu.Lock()
	err = s.updatePullRef(n.Repo, n.HeadRepo, n.Head, p.number)
	s.gitMu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("githubtest: %s#%d: write refs/pull/%d/head: %w", n.Repo, p.number, p.number, err)
	}
	return p.number, nil
}

// lookupPull returns the pull request; the caller holds s.mu.
func (s *Server) lookupPull(full string, number int) (*repo, *pull, error) {
	rp, err := s.repoOrErr(full)
	if err != nil {
		return nil, nil, err
	}
	p := rp.pulls[number]
	if p == nil {
		return nil, nil, fmt.Errorf("githubtest: %s#%d: no such pull request", rp.fullName(), number)
	}
	return rp, p, nil
}

// PR returns a snapshot of the pull request; the zero value when there is
// none.
func (s *Server) PR(full string, number int) PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, p, err := s.lookupPull(full, number)
	if err != nil {
		return PullRequest{}
	}
	return p.snapshot()
}

// SetPRBody replaces the description, as its author editing it would.
func (s *Server) SetPRBody(full string, number int, body string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, p, err := s.lookupPull(full, number)
	if err != nil {
		return err
	}
	p.body, p.updated = body, now()
	return nil
}

// ClosePR closes the pull request without merging it.
func (s *Server) ClosePR(full string, number int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, p, err := s.lookupPull(full, number)
	if err != nil {
		return err
	}
	if p.state == "closed" {
		return fmt.Errorf("githubtest: %s#%d is already closed", full, number)
	}
	t := now()
	p.state, p.closed, p.updated = "closed", t, t
	return nil
}

// ReopenPR reopens a closed, unmerged pull request; its head follows the
// branch again.
func (s *Server) ReopenPR(full string, number int) error {
	s.mu.Lock()
	rp, p, err := s.lookupPull(full, number)
	if err == nil {
		switch {
		case p.merged:
			err = fmt.Errorf("githubtest: %s#%d is merged and cannot be reopened", full, number)
		case p.state == "open":
			err = fmt.Errorf("githubtest: %s#%d is already open", full, number)
		default:
			p.state, p.closed, p.updated = "open", timeZero, now()
			full = rp.fullName()
		}
	}
	headRepo := ""
	if err == nil {
		headRepo = p.headRepo
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.syncPRHeads(headRepo)
	return nil
}

// MergePR merges the head into the base branch with a merge commit, as
// GitHub's default merge method does, and closes the pull request.
func (s *Server) MergePR(full string, number int) error {
	_, err := s.land(full, number, MethodMerge, "", "")
	return err
}

// mergedTree is branch's tip and the tree of head merged onto it, as
// GitHub's merges make it; a conflict is an error.
func mergedTree(dir, branch, head string) (base, tree string, err error) {
	base = branchTip(dir, branch)
	if base == "" {
		return "", "", fmt.Errorf("base branch %s does not exist", branch)
	}
	tree, err = gitfixture.Git(dir, "merge-tree", "--write-tree", base, head)
	if err != nil {
		return "", "", fmt.Errorf("merge conflict or git failure: %w", err)
	}
	return base, strings.SplitN(tree, "\n", 2)[0], nil
}

// mergeCommit writes a two-parent merge of head into branch and moves the
// branch to it; a conflict is an error.
func mergeCommit(dir, branch, head, msg string) (string, error) {
	base, tree, err := mergedTree(dir, branch, head)
	if err != nil {
		return "", err
	}
	sha, err := gitfixture.Git(dir, "commit-tree", tree, "-p", base, "-p", head, "-m", msg)
	if err != nil {
		return "", err
	}
	if _, err := gitfixture.Git(dir, "update-ref", "refs/heads/"+branch, sha, base); err != nil {
		return "", err
	}
	return sha, nil
}
