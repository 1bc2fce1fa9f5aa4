package githubtest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
)

// Merge methods, as GitHub names them.
const (
	MethodMerge  = "merge"
	MethodSquash = "squash"
	MethodRebase = "rebase"
)

var allMethods = []string{MethodMerge, MethodSquash, MethodRebase}

// BranchRules are the ruleset rules GitHub applies to a branch, as
// GET /repos/{o}/{r}/rules/branches/{branch} reports them.
type BranchRules struct {
	// RequiredApprovals is the pull_request rule's
	// required_approving_review_count; the rule is present when it is
	// above zero or AllowedMethods is set.
	RequiredApprovals int
	// AllowedMethods limits the merge methods (the pull_request rule's
	// allowed_merge_methods); empty allows every method.
	AllowedMethods []string
	// RequiredChecks are status contexts that must be success on the head.
	RequiredChecks []string
	// MergeQueue requires landing through the branch's merge queue.
	MergeQueue bool
	// LinearHistory forbids merge commits.
	LinearHistory bool
	// UpToDate requires the head to hold the base's tip (required status
	// checks' strict policy): a PR behind its base cannot merge.
	UpToDate bool
}

// SetBranchRules sets the rules of a repository's branch; the zero value
// removes them.
func (s *Server) SetBranchRules(full, branch string, r BranchRules) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, err := s.repoOrErr(full)
	if err != nil {
		return err
	}
	if rp.rules == nil {
		rp.rules = map[string]*BranchRules{}
	}
	rp.rules[branch] = &r
	return nil
}

// SetMergeMethods sets the merge methods a repository allows (its
// allow_merge_commit, allow_squash_merge and allow_rebase_merge).
func (s *Server) SetMergeMethods(full string, methods ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, err := s.repoOrErr(full)
	if err != nil {
		return err
	}
	rp.methods = map[string]bool{}
	for _, m := range methods {
		rp.methods[m] = true
	}
	return nil
}

// AddReview records a review of the pull request's current head by user:
// APPROVED, CHANGES_REQUESTED or COMMENTED.
func (s *Server) AddReview(full string, number int, user, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, p, err := s.lookupPull(full, number)
	if err != nil {
		return err
	}
	s.st.nextID++
	p.reviews = append(p.reviews, &review{id: s.st.nextID, user: user, state: state, commit: p.headSHA, at: now()})
	return nil
}

type review struct {
	id     int64
	user   string
	state  string
	commit string
	at     time.Time
}

// allows says whether the repository allows method.
func (rp *repo) allows(method string) bool {
	return rp.methods == nil || rp.methods[method]
}

// approvals counts the users whose latest review of the head approves it.
func (p *pull) approvals() int {
	latest := map[string]string{}
	for _, r := range p.reviews {
		if r.state == "COMMENTED" {
			continue
		}
		latest[strings.ToLower(r.user)] = r.state
	}
	n := 0
	for _, st := range latest {
		if st == "APPROVED" {
			n++
		}
	}
	return n
}

// blocked says what of the branch's rules the pull request does not meet,
// as GitHub's merge refusal words it; "" when nothing. The caller holds
// s.mu.
func (s *Server) blocked(rp *repo, p *pull) string {
	r := rp.rules[p.baseRef]
	if r == nil {
		return ""
	}
	var why []string
	if r.MergeQueue {
		why = append(why, "Changes must be made through the merge queue")
	}
	if n := p.approvals(); n < r.RequiredApprovals {
		why = append(why, fmt.Sprintf("At least %d approving review is required by reviewers with write access.", r.RequiredApprovals))
	}
	latest := map[string]string{}
	for _, st := range rp.statuses[p.headSHA] {
		latest[st.context] = st.state
	}
	for _, cr := range s.st.checkRuns {
		if strings.EqualFold(cr.repo, rp.fullName()) && cr.headSHA == p.headSHA && cr.status == "completed" {
			latest[cr.name] = cr.conclusion
		}
	}
	for _, c := range r.RequiredChecks {
		if latest[c] != "success" {
			why = append(why, fmt.Sprintf("Required status check %q is expected.", c))
		}
	}
	if len(why) == 0 {
		return ""
	}
	return "Repository rule violations found\n\n" + strings.Join(why, "\n\n")
}

// mergeability is what GitHub's mergeable and mergeable_state say of an
// open pull request. GitHub computes them in the background after a push
// to the head or the base: the first read after one says null and
// "unknown". It runs git; the caller holds neither lock.
func (s *Server) mergeability(full string, number int) (mergeable any, state string) {
	s.mu.Lock()
	rp, p, err := s.lookupPull(full, number)
	if err != nil || p.state != "open" {
		s.mu.Unlock()
		return nil, "unknown"
	}
	headSHA, baseRef, draft := p.headSHA, p.baseRef, p.draft
	s.mu.Unlock()

	s.gitMu.Lock()
	dir := s.RepoDir(full)
	base := branchTip(dir, baseRef)
	_, conflict := gitfixture.Git(dir, "merge-tree", "--write-tree", base, headSHA)
	_, behind := gitfixture.Git(dir, "merge-base", "--is-ancestor", base, headSHA)
	s.gitMu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	key := base + ".." + headSHA
	if p.mergeableFor != key {
		p.mergeableFor = key
		return nil, "unknown"
	}
	switch {
	case conflict != nil:
		return false, "dirty"
	case draft:
		return true, "draft"
	case s.blocked(rp, p) != "":
		return true, "blocked"
	case behind != nil && rp.rules[p.baseRef] != nil && rp.rules[p.baseRef].UpToDate:
		return true, "behind"
	}
	return true, "clean"
}

// mergePull is PUT /repos/{o}/{r}/pulls/{n}/merge.
func (s *Server) mergePull(c *call) (int, any) {
	n, ok := c.intParam("number")
	var in struct {
		CommitTitle   string `json:"commit_title"`
		CommitMessage string `json:"commit_message"`
		SHA           string `json:"sha"`
		MergeMethod   string `json:"merge_method"`
	}
	if st, b := c.decode(&in); st != 0 {
		return st, b
	}
	if in.MergeMethod == "" {
		in.MergeMethod = MethodMerge
	}
	if !slices.Contains(allMethods, in.MergeMethod) {
		return invalid("PullRequest", "merge_method", "invalid", "merge_method must be one of merge, squash, rebase")
	}
	s.mu.Lock()
	rp := s.st.repo(c.repoName())
	p := rp.pulls[int(n)]
	if !ok || p == nil {
		s.mu.Unlock()
		return notFound()
	}
	refuse := func(status int, msg string) (int, any) {
		s.mu.Unlock()
		return status, errBody(msg)
	}
	switch {
	case p.state != "open":
		return refuse(http.StatusMethodNotAllowed, "Pull Request is not mergeable")
	case in.SHA != "" && !strings.EqualFold(in.SHA, p.headSHA):
		return refuse(http.StatusConflict, "Head branch was modified. Review and try the merge again.")
	case p.draft:
		return refuse(http.StatusMethodNotAllowed, "Pull Request is still a draft")
	case !rp.allows(in.MergeMethod):
		return refuse(http.StatusMethodNotAllowed, map[string]string{
			MethodMerge:  "Merge commits are not allowed on this repository.",
			MethodSquash: "Squash merges are not allowed on this repository.",
			MethodRebase: "Rebase merges are not allowed on this repository.",
		}[in.MergeMethod])
	}
	if r := rp.rules[p.baseRef]; r != nil {
		if r.LinearHistory && in.MergeMethod == MethodMerge {
			return refuse(http.StatusMethodNotAllowed, "Repository rule violations found\n\nThis branch must not contain merge commits.")
		}
		if len(r.AllowedMethods) > 0 && !slices.Contains(r.AllowedMethods, in.MergeMethod) {
			return refuse(http.StatusMethodNotAllowed, "Repository rule violations found\n\nMerge method "+in.MergeMethod+" is not allowed.")
		}
	}
	if why := s.blocked(rp, p); why != "" {
		return refuse(http.StatusMethodNotAllowed, why)
	}
	full, baseRef, head := rp.fullName(), p.baseRef, p.headSHA
	upToDate := rp.rules[p.baseRef] != nil && rp.rules[p.baseRef].UpToDate
	inst := s.st.installs[c.who.installID]
	mayWorkflows := inst == nil || inst.workflows
	// An App with permissions of its own has the workflows permission
	// or not, whatever the installation was registered with.
	if a := s.st.apps[c.who.appID]; c.who.installID != 0 && a != nil && a.perms != nil {
		mayWorkflows = a.perms["workflows"] == "write"
	}
	s.mu.Unlock()
	if !mayWorkflows {
		for _, f := range s.pullFiles(full, baseRef, head) {
			if strings.HasPrefix(f.name, ".github/workflows/") {
				return http.StatusForbidden, errBody("refusing to allow a GitHub App to create or update workflow `" + f.name + "` without `workflows` permission")
			}
		}
	}
	if upToDate {
		s.gitMu.Lock()
		_, behind := gitfixture.Git(s.RepoDir(full), "merge-base", "--is-ancestor", branchTip(s.RepoDir(full), baseRef), head)
		s.gitMu.Unlock()
		if behind != nil {
			return http.StatusMethodNotAllowed, errBody("Head branch is out of date. Review and try the merge again.")
		}
	}

	sha, err := s.land(full, int(n), in.MergeMethod, in.CommitTitle, c.who.login)
	if err != nil {
		return http.StatusMethodNotAllowed, errBody("Pull Request is not mergeable")
	}
	return http.StatusOK, map[string]any{"sha": sha, "merged": true, "message": "Pull Request successfully merged"}
}

// land merges the pull request's head into its base branch by method and
// marks it merged by user.
func (s *Server) land(full string, number int, method, title, user string) (string, error) {
	s.mu.Lock()
	rp, p, err := s.lookupPull(full, number)
	if err == nil && p.state != "open" {
		err = fmt.Errorf("githubtest: %s#%d is closed; only an open pull request can be merged", full, number)
	}
	var headRepo, headRef, baseRef, headSHA, prTitle string
	if err == nil {
		full = rp.fullName()
		headRepo, headRef, baseRef, headSHA, prTitle = p.headRepo, p.headRef, p.baseRef, p.headSHA, p.title
		if user == "" {
			user = rp.owner
		}
	}
	s.mu.Unlock()
	if err != nil {
		return "", err
	}
	if title == "" {
		title = prTitle
	}

	s.gitMu.Lock()
	dir := s.RepoDir(full)
	var sha string
	switch method {
	case MethodSquash:
		sha, err = squashCommit(dir, baseRef, headSHA, fmt.Sprintf("%s (#%d)", title, number))
	case MethodRebase:
		sha, err = rebaseCommits(dir, baseRef, headSHA)
	default:
		sha, err = mergeCommit(dir, baseRef, headSHA,
			fmt.Sprintf("Merge pull request #%d from %s/%s\n\n%s", number, strings.Split(headRepo, "/")[0], headRef, title))
	}
	s.gitMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("githubtest: merge %s#%d: %w", full, number, err)
	}

	s.mu.Lock()
	t := now()
	p.state, p.merged, p.mergeSHA, p.mergedBy = "closed", true, sha, user
	p.closed, p.mergedAt, p.updated = t, t, t
	rp.pushed = t
	s.mu.Unlock()
	s.syncPRHeads(full)
	return sha, nil
}

// squashCommit writes one commit on branch holding the merge of head, with
// the branch's tip as its only parent.
func squashCommit(dir, branch, head, msg string) (string, error) {
	base, tree, err := mergedTree(dir, branch, head)
	if err != nil {
		return "", err
	}
	sha, err := gitfixture.Git(dir, "commit-tree", tree, "-p", base, "-m", msg)
	if err != nil {
		return "", err
	}
	_, err = gitfixture.Git(dir, "update-ref", "refs/heads/"+branch, sha, base)
	return sha, err
}

// rebaseCommits replays each commit of head that branch lacks onto
// branch, one by one, as GitHub's rebase merge does, and returns the new
// tip.
func rebaseCommits(dir, branch, head string) (string, error) {
	base := branchTip(dir, branch)
	if base == "" {
		return "", fmt.Errorf("base branch %s does not exist", branch)
	}
	list, err := gitfixture.Git(dir, "rev-list", "--reverse", "--no-merges", base+".."+head)
	if err != nil {
		return "", err
	}
	commits := strings.Fields(list)
	if len(commits) == 0 {
		return "", fmt.Errorf("nothing to rebase: %s holds every commit of %s", branch, head)
	}
	// git 2.39 cannot replay a commit without a work tree: replay in a
	// throwaway one.
	tmp, err := os.MkdirTemp("", "githubtest-rebase-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	wt := filepath.Join(tmp, "wt")
	if _, err := gitfixture.Git(dir, "worktree", "add", "--quiet", "--detach", wt, base); err != nil {
		return "", err
	}
	defer gitfixture.Git(dir, "worktree", "remove", "--force", wt) //nolint:errcheck // the directory goes anyway
	if _, err := gitfixture.Git(wt, append([]string{"cherry-pick", "--allow-empty"}, commits...)...); err != nil {
		return "", fmt.Errorf("merge conflict or git failure: %w", err)
	}
	tip, err := gitfixture.Git(wt, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	_, err = gitfixture.Git(dir, "update-ref", "refs/heads/"+branch, tip, base)
	return tip, err
}

// listReviews is GET /repos/{o}/{r}/pulls/{n}/reviews.
func (s *Server) listReviews(c *call) (int, any) {
	n, ok := c.intParam("number")
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(c.repoName())
	p := rp.pulls[int(n)]
	if !ok || p == nil {
		return notFound()
	}
	lo, hi := c.page(len(p.reviews))
	out := []any{}
	for _, r := range p.reviews[lo:hi] {
		out = append(out, map[string]any{
			"id": r.id, "node_id": nodeID("PRR", r.id), "user": s.userJSON(r.user), "body": "",
			"state": r.state, "commit_id": r.commit, "submitted_at": ts(r.at),
			"html_url":           s.url + "/" + rp.fullName() + "/pull/" + strconv.Itoa(p.number) + "#pullrequestreview-" + strconv.FormatInt(r.id, 10),
			"author_association": "MEMBER",
		})
	}
	return http.StatusOK, out
}

// branchRules is GET /repos/{o}/{r}/rules/branches/{branch}.
func (s *Server) branchRules(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(c.repoName())
	r := rp.rules[c.param("branch")]
	out := []any{}
	if r == nil {
		return http.StatusOK, out
	}
	rule := func(typ string, params any) {
		m := map[string]any{"type": typ, "ruleset_source_type": "Repository", "ruleset_source": rp.fullName(), "ruleset_id": 1}
		if params != nil {
			m["parameters"] = params
		}
		out = append(out, m)
	}
	if r.RequiredApprovals > 0 || len(r.AllowedMethods) > 0 {
		methods := r.AllowedMethods
		if len(methods) == 0 {
			methods = allMethods
		}
		rule("pull_request", map[string]any{
			"required_approving_review_count": r.RequiredApprovals, "dismiss_stale_reviews_on_push": false,
			"require_code_owner_review": false, "require_last_push_approval": false,
			"required_review_thread_resolution": false, "allowed_merge_methods": methods,
		})
	}
	if len(r.RequiredChecks) > 0 {
		var checks []any
		for _, c := range r.RequiredChecks {
			checks = append(checks, map[string]any{"context": c})
		}
		rule("required_status_checks", map[string]any{"required_status_checks": checks, "strict_required_status_checks_policy": r.UpToDate})
	}
	if r.MergeQueue {
		rule("merge_queue", map[string]any{
			"check_response_timeout_minutes": 60, "grouping_strategy": "ALLGREEN", "max_entries_to_build": 5,
			"max_entries_to_merge": 5, "merge_method": "MERGE", "min_entries_to_merge": 1, "min_entries_to_merge_wait_minutes": 5,
		})
	}
	if r.LinearHistory {
		rule("required_linear_history", nil)
	}
	return http.StatusOK, out
}

// getBranch is GET /repos/{o}/{r}/branches/{branch}.
func (s *Server) getBranch(c *call) (int, any) {
	full, name := c.repoName(), c.param("branch")
	s.gitMu.Lock()
	sha := branchTip(s.RepoDir(full), name)
	var tree string
	if sha != "" {
		tree, _ = gitfixture.Git(s.RepoDir(full), "rev-parse", sha+"^{tree}")
	}
	s.gitMu.Unlock()
	if sha == "" {
		return http.StatusNotFound, errBody("Branch not found")
	}
	s.mu.Lock()
	protected := s.st.repo(full).rules[name] != nil
	s.mu.Unlock()
	return http.StatusOK, map[string]any{
		"name":      name,
		"protected": protected,
		"commit": map[string]any{
			"sha": sha, "url": s.api("repos/%s/commits/%s", full, sha),
			"commit": map[string]any{"tree": map[string]any{"sha": tree, "url": s.api("repos/%s/git/trees/%s", full, tree)}},
		},
		"_links": map[string]any{"self": s.api("repos/%s/branches/%s", full, name)},
	}
}

// getGitCommit is GET /repos/{o}/{r}/git/commits/{sha}.
func (s *Server) getGitCommit(c *call) (int, any) {
	if len(c.param("sha")) != 40 {
		return notFound()
	}
	m := s.gitCommitJSON(c.repoName(), c.param("sha"))
	if m == nil {
		return notFound()
	}
	return http.StatusOK, m
}

// gitCommitJSON is GitHub's git commit object for sha, or nil.
func (s *Server) gitCommitJSON(full, sha string) map[string]any {
	s.gitMu.Lock()
	out, err := gitfixture.Git(s.RepoDir(full), "show", "-s", "--format=%H%n%T%n%P", "--end-of-options", sha+"^{commit}")
	s.gitMu.Unlock()
	lines := strings.Split(out, "\n")
	if err != nil || len(lines) < 2 {
		return nil
	}
	parents := []any{}
	if len(lines) > 2 {
		for _, p := range strings.Fields(lines[2]) {
			parents = append(parents, map[string]any{"sha": p, "url": s.api("repos/%s/git/commits/%s", full, p)})
		}
	}
	return map[string]any{
		"sha": lines[0], "url": s.api("repos/%s/git/commits/%s", full, lines[0]),
		"tree": map[string]any{"sha": lines[1], "url": s.api("repos/%s/git/trees/%s", full, lines[1])}, "parents": parents,
	}
}

// getGitTree is GET /repos/{o}/{r}/git/trees/{sha}, recursive when asked.
func (s *Server) getGitTree(c *call) (int, any) {
	full, sha := c.repoName(), c.param("sha")
	args := []string{"ls-tree", "--full-tree"}
	if c.query("recursive") != "" {
		args = append(args, "-r", "-t")
	}
	s.gitMu.Lock()
	out, err := gitfixture.Git(s.RepoDir(full), append(args, "--end-of-options", sha)...)
	s.gitMu.Unlock()
	if err != nil {
		return notFound()
	}
	entries := []any{}
	for _, line := range strings.Split(out, "\n") {
		meta, path, ok := strings.Cut(line, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 3 {
			continue
		}
		entries = append(entries, map[string]any{"path": path, "mode": f[0], "type": f[1], "sha": f[2]})
	}
	return http.StatusOK, map[string]any{"sha": sha, "url": s.api("repos/%s/git/trees/%s", full, sha), "tree": entries, "truncated": false}
}

// refJSON is GitHub's git reference object.
func (s *Server) refJSON(full, ref, sha string) map[string]any {
	return map[string]any{
		"ref": ref, "node_id": nodeID("REF", int64(len(ref))), "url": s.api("repos/%s/git/%s", full, ref),
		"object": map[string]any{"type": "commit", "sha": sha, "url": s.api("repos/%s/git/commits/%s", full, sha)},
	}
}

// getGitRef is GET /repos/{o}/{r}/git/ref/{ref}, such as tags/v1.0.0.
func (s *Server) getGitRef(c *call) (int, any) {
	full, ref := c.repoName(), "refs/"+c.param("ref")
	s.gitMu.Lock()
	sha, err := gitfixture.Git(s.RepoDir(full), "rev-parse", "--verify", "--quiet", "--end-of-options", ref)
	s.gitMu.Unlock()
	if err != nil || sha == "" {
		return notFound()
	}
	return http.StatusOK, s.refJSON(full, ref, sha)
}

// createGitRef is POST /repos/{o}/{r}/git/refs: a branch or a lightweight
// tag at a commit; an existing ref is refused as GitHub does.
func (s *Server) createGitRef(c *call) (int, any) {
	var in struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if st, b := c.decode(&in); st != 0 {
		return st, b
	}
	full := c.repoName()
	if !strings.HasPrefix(in.Ref, "refs/") || strings.Count(in.Ref, "/") < 2 {
		return invalid("Reference", "ref", "invalid", "Reference name must start with 'refs/' and have at least two slashes.")
	}
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	dir := s.RepoDir(full)
	if _, err := gitfixture.Git(dir, "check-ref-format", in.Ref); err != nil {
		return invalid("Reference", "ref", "invalid", in.Ref+" is not a valid ref name.")
	}
	if existing, _ := gitfixture.Git(dir, "rev-parse", "--verify", "--quiet", in.Ref); existing != "" {
		return http.StatusUnprocessableEntity, errBody("Reference already exists")
	}
	sha, err := gitfixture.Git(dir, "rev-parse", "--verify", "--quiet", "--end-of-options", in.SHA+"^{commit}")
	if err != nil || sha == "" || len(in.SHA) != 40 {
		return http.StatusUnprocessableEntity, errBody("Object does not exist")
	}
	if _, err := gitfixture.Git(dir, "update-ref", in.Ref, sha, ""); err != nil {
		return http.StatusUnprocessableEntity, errBody("Reference already exists")
	}
	return http.StatusCreated, s.refJSON(full, in.Ref, sha)
}

// createGitCommit is POST /repos/{o}/{r}/git/commits: a commit of an
// existing tree on existing parents, on no branch.
func (s *Server) createGitCommit(c *call) (int, any) {
	var in struct {
		Message string   `json:"message"`
		Tree    string   `json:"tree"`
		Parents []string `json:"parents"`
	}
	if st, b := c.decode(&in); st != 0 {
		return st, b
	}
	if in.Message == "" || in.Tree == "" {
		return invalid("Commit", "message", "missing_field", "message and tree are required")
	}
	full := c.repoName()
	args := []string{"commit-tree", in.Tree}
	for _, p := range in.Parents {
		args = append(args, "-p", p)
	}
	s.gitMu.Lock()
	sha, err := gitfixture.Git(s.RepoDir(full), append(args, "-m", in.Message)...)
	s.gitMu.Unlock()
	if err != nil {
		return http.StatusUnprocessableEntity, errBody("Tree SHA or a parent SHA does not exist")
	}
	return http.StatusCreated, s.gitCommitJSON(full, sha)
}

type pullFile struct{ name, status string }

// pullFiles are the files a PR changes: those that differ between its
// head and where it forked from the base.
func (s *Server) pullFiles(full, baseRef, head string) []pullFile {
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	dir := s.RepoDir(full)
	out, err := gitfixture.Git(dir, "diff", "--name-status", "--no-renames", branchTip(dir, baseRef)+"..."+head)
	if err != nil {
		return nil
	}
	var files []pullFile
	status := map[string]string{"A": "added", "M": "modified", "D": "removed", "T": "changed"}
	for _, line := range strings.Split(out, "\n") {
		st, name, ok := strings.Cut(line, "\t")
		if ok {
			files = append(files, pullFile{name: name, status: status[st]})
		}
	}
	return files
}

// listPullFiles is GET /repos/{o}/{r}/pulls/{n}/files.
func (s *Server) listPullFiles(c *call) (int, any) {
	n, ok := c.intParam("number")
	s.mu.Lock()
	rp := s.st.repo(c.repoName())
	p := rp.pulls[int(n)]
	if !ok || p == nil {
		s.mu.Unlock()
		return notFound()
	}
	full, baseRef, head := rp.fullName(), p.baseRef, p.headSHA
	s.mu.Unlock()
	files := s.pullFiles(full, baseRef, head)
	lo, hi := c.page(len(files))
	out := []any{}
	for _, f := range files[lo:hi] {
		out = append(out, map[string]any{"filename": f.name, "status": f.status, "additions": 0, "deletions": 0, "changes": 0})
	}
	return http.StatusOK, out
}

// Release is a GitHub release as it was published.
type Release struct {
	Tag, Name, Body string
}

// Releases are repo's releases, oldest first.
func (s *Server) Releases(full string) []Release {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(full)
	if rp == nil {
		return nil
	}
	return append([]Release(nil), rp.releases...)
}

func (s *Server) releaseJSON(full string, i int, r Release) map[string]any {
	id := int64(5000 + i)
	return map[string]any{
		"id": id, "node_id": nodeID("RE", id), "tag_name": r.Tag, "name": r.Name, "body": r.Body,
		"draft": false, "prerelease": false, "url": s.api("repos/%s/releases/%d", full, id),
		"html_url": s.url + "/" + full + "/releases/tag/" + r.Tag,
	}
}

// createRelease is POST /repos/{o}/{r}/releases, for an existing tag.
func (s *Server) createRelease(c *call) (int, any) {
	var in struct {
		TagName string `json:"tag_name"`
		Name    string `json:"name"`
		Body    string `json:"body"`
	}
	if st, b := c.decode(&in); st != 0 {
		return st, b
	}
	full := c.repoName()
	if s.resolveRef(full, "refs/tags/"+in.TagName) == "" {
		return invalid("Release", "tag_name", "invalid", "tag "+in.TagName+" does not exist")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(full)
	for _, r := range rp.releases {
		if r.Tag == in.TagName {
			return invalid("Release", "tag_name", "already_exists", "")
		}
	}
	rp.releases = append(rp.releases, Release{Tag: in.TagName, Name: in.Name, Body: in.Body})
	return http.StatusCreated, s.releaseJSON(rp.fullName(), len(rp.releases)-1, rp.releases[len(rp.releases)-1])
}

// getReleaseByTag is GET /repos/{o}/{r}/releases/tags/{tag}.
func (s *Server) getReleaseByTag(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(c.repoName())
	for i, r := range rp.releases {
		if r.Tag == c.param("tag") {
			return http.StatusOK, s.releaseJSON(rp.fullName(), i, r)
		}
	}
	return notFound()
}
