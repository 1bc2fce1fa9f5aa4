package githubtest

import (
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
)

// RepoOptions configure CreateRepo.
type RepoOptions struct {
	DefaultBranch string // "main" when empty; a fork takes its parent's
	Private       bool
	// ForkOf makes the repository a fork of this owner/name, starting with
	// a copy of its branches.
	ForkOf string
}

func splitRepo(full string) (owner, name string, ok bool) {
	owner, name, ok = strings.Cut(full, "/")
	ok = ok && owner != "" && name != "" && !strings.ContainsAny(name, "/\\") &&
		!strings.HasPrefix(owner, ".") && !strings.HasPrefix(name, ".") && !strings.HasPrefix(owner, "-")
	return owner, name, ok
}

// CreateRepo creates repo ("owner/name") as an empty bare repository, or as
// a fork holding its parent's branches.
func (s *Server) CreateRepo(full string, opts RepoOptions) error {
	owner, name, ok := splitRepo(full)
	if !ok {
		return fmt.Errorf("githubtest: repository %q: want owner/name", full)
	}
	s.mu.Lock()
	if s.st.repo(full) != nil {
		s.mu.Unlock()
		return fmt.Errorf("githubtest: repository %s already exists", full)
	}
	var parentDir string
	if opts.ForkOf != "" {
		parent := s.st.repo(opts.ForkOf)
		if parent == nil {
			s.mu.Unlock()
			return fmt.Errorf("githubtest: fork %s of %s: parent does not exist; create it first", full, opts.ForkOf)
		}
		opts.ForkOf = parent.fullName()
		if opts.DefaultBranch == "" {
			opts.DefaultBranch = parent.defaultBranch
		}
		parentDir = s.RepoDir(parent.fullName())
	}
	if opts.DefaultBranch == "" {
		opts.DefaultBranch = "main"
	}
	t := now()
	rp := &repo{
		id: s.st.id(), owner: owner, name: name, private: opts.Private,
		defaultBranch: opts.DefaultBranch, forkOf: opts.ForkOf, created: t, pushed: t,
		pulls: map[int]*pull{}, statuses: map[string][]*status{}, perms: map[string]string{},
	}
	s.st.repos[strings.ToLower(full)] = rp
	s.st.userID(owner)
	s.mu.Unlock()

	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	dir := s.RepoDir(full)
	err := gitfixture.InitBare(dir, opts.DefaultBranch)
	if err == nil && parentDir != "" {
		_, err = gitfixture.Git(dir, "fetch", "--quiet", parentDir, "+refs/heads/*:refs/heads/*")
	}
	if err != nil {
		s.mu.Lock()
		delete(s.st.repos, strings.ToLower(full))
		s.mu.Unlock()
		os.RemoveAll(dir)
		return fmt.Errorf("githubtest: create repository %s: %w", full, err)
	}
	return nil
}

func (s *Server) repoOrErr(full string) (*repo, error) {
	rp := s.st.repo(full)
	if rp == nil {
		return nil, fmt.Errorf("githubtest: repository %s does not exist; call CreateRepo first", full)
	}
	return rp, nil
}

// branchTip returns the SHA of branch in dir, or "" when it does not exist.
func branchTip(dir, branch string) string {
	return gitfixture.ResolveRef(dir, "refs/heads/"+branch)
}

// Commit adds a commit writing files (see gitfixture.Commit for deletions
// and executables) on branch's tip, or on the default branch's tip when
// branch is new, and moves the open pull requests whose head is that branch,
// as a push would.
func (s *Server) Commit(full, branch string, files map[string]string, msg string) (string, error) {
	s.mu.Lock()
	rp, err := s.repoOrErr(full)
	var def string
	if err == nil {
		def = rp.defaultBranch
		full = rp.fullName()
	}
	s.mu.Unlock()
	if err != nil {
		return "", err
	}
	s.gitMu.Lock()
	dir := s.RepoDir(full)
	from := ""
	if branchTip(dir, def) != "" {
		from = "refs/heads/" + def
	}
	sha, err := gitfixture.Commit(dir, branch, from, files, msg)
	s.gitMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("githubtest: commit on %s:%s: %w", full, branch, err)
	}
	s.mu.Lock()
	rp.pushed = now()
	s.mu.Unlock()
	s.syncPRHeads(full)
	return sha, nil
}

// syncPRHeads points the open pull requests whose head repository is
// pushed at their branch tips (and refs/pull/N/head of their base
// repositories with them), and refreshes the base SHA of those whose base
// repository is pushed.
func (s *Server) syncPRHeads(pushed string) {
	type target struct {
		base, headRepo string
		number         int
		headRef        string
		baseRef        string
		oldHead        string
	}
	var targets []target
	s.mu.Lock()
	for _, rp := range s.st.repos {
		for _, p := range rp.pulls {
			if p.state == "open" && (strings.EqualFold(p.headRepo, pushed) || strings.EqualFold(rp.fullName(), pushed)) {
				targets = append(targets, target{rp.fullName(), p.headRepo, p.number, p.headRef, p.baseRef, p.headSHA})
			}
		}
	}
	s.mu.Unlock()
	for _, t := range targets {
		s.gitMu.Lock()
		head := branchTip(s.RepoDir(t.headRepo), t.headRef)
		base := branchTip(s.RepoDir(t.base), t.baseRef)
		if head != "" && head != t.oldHead {
			s.updatePullRef(t.base, t.headRepo, t.headRef, t.number) //nolint:errcheck // best effort; the PR still moves
		}
		s.gitMu.Unlock()
		s.mu.Lock()
		if rp := s.st.repo(t.base); rp != nil {
			if p := rp.pulls[t.number]; p != nil && p.state == "open" {
				if head != "" && head != p.headSHA {
					p.headSHA, p.updated = head, now()
				}
				if base != "" {
					p.baseSHA = base
				}
			}
		}
		s.mu.Unlock()
	}
}

// updatePullRef makes refs/pull/N/head of base point at the head branch,
// copying the objects over for a fork. The caller holds gitMu.
func (s *Server) updatePullRef(base, headRepo, headRef string, number int) error {
	if strings.EqualFold(base, headRepo) {
		// The objects are there: one update-ref, not a fetch's processes.
		_, err := gitfixture.Git(s.RepoDir(base), "update-ref", fmt.Sprintf("refs/pull/%d/head", number), "refs/heads/"+headRef)
		return err
	}
	ref := fmt.Sprintf("+refs/heads/%s:refs/pull/%d/head", headRef, number)
	_, err := gitfixture.Git(s.RepoDir(base), "fetch", "--quiet", s.RepoDir(headRepo), ref)
	return err
}

// SetPermission gives user a role on repo: admin, maintain, write, triage,
// read or none.
func (s *Server) SetPermission(full, user, permission string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.userID(user)
	if rp := s.st.repo(full); rp != nil {
		rp.perms[strings.ToLower(user)] = permission
	}
}

// role is user's role on rp; the owner is admin.
func (rp *repo) role(user string) string {
	if r, ok := rp.perms[strings.ToLower(user)]; ok {
		return r
	}
	if strings.EqualFold(user, rp.owner) {
		return "admin"
	}
	return "none"
}

func (s *Server) getRepo(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(c.repoName())
	return http.StatusOK, s.repoJSON(rp, true, c.who)
}

// getPermission answers like GitHub: a known user who is not a
// collaborator has "none"; a login the server has never seen does not
// exist, which is a 404. role_name keeps the fine-grained role while
// permission folds it to the legacy admin/write/read/none.
func (s *Server) getPermission(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(c.repoName())
	user := c.param("user")
	if _, ok := s.st.users[strings.ToLower(user)]; !ok {
		return notFound()
	}
	role := rp.role(user)
	legacy := map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}[role]
	roleName := role
	if legacy == "" {
		legacy, roleName = "none", ""
	}
	u := s.userJSON(user)
	u["permissions"] = permissionsJSON(role)
	u["role_name"] = roleName
	return http.StatusOK, map[string]any{"permission": legacy, "role_name": roleName, "user": u}
}

func permissionsJSON(role string) map[string]bool {
	rank := map[string]int{"read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}[role]
	return map[string]bool{
		"pull": rank >= 1, "triage": rank >= 2, "push": rank >= 3, "maintain": rank >= 4, "admin": rank >= 5,
	}
}
