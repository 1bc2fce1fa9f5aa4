package gh

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v88/github"

	"github.com/provide-io/workspace-bot/internal/gherror"
	"github.com/provide-io/workspace-bot/internal/text"
	"github.com/provide-io/workspace-bot/land"
)

var _ land.GitHub = (*Client)(nil)

// PullState implements land.GitHub.
func (c *Client) PullState(ctx context.Context, repo string, number int) (land.PullState, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return land.PullState{}, err
	}
	p, _, err := api.PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return land.PullState{}, wrap(err, fmt.Sprintf("reading %s#%d", repo, number), repo)
	}
	return land.PullState{
		Open: p.GetState() == "open", Merged: p.GetMerged() || p.MergedAt != nil, Draft: p.GetDraft(),
		HeadSHA: p.GetHead().GetSHA(), BaseRef: p.GetBase().GetRef(),
		Mergeable: p.Mergeable, MergeableState: p.GetMergeableState(), MergeCommitSHA: p.GetMergeCommitSHA(),
	}, nil
}

// BranchRules implements land.GitHub from the rules GitHub reports for the
// branch (its rulesets).
func (c *Client) BranchRules(ctx context.Context, repo, branch string) (land.Rules, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return land.Rules{}, err
	}
	br, _, err := api.Repositories.ListRulesForBranch(ctx, owner, name, branch, &github.ListOptions{PerPage: 100})
	if err != nil {
		return land.Rules{}, wrap(err, fmt.Sprintf("reading the rules of %s %s", repo, branch), repo)
	}
	var r land.Rules
	if br == nil {
		return r, nil
	}
	for _, pr := range br.PullRequest {
		r.RequiredApprovals = max(r.RequiredApprovals, pr.Parameters.RequiredApprovingReviewCount)
		for _, m := range pr.Parameters.AllowedMergeMethods {
			r.AllowedMethods = append(r.AllowedMethods, strings.ToLower(string(m)))
		}
	}
	for _, sc := range br.RequiredStatusChecks {
		for _, c := range sc.Parameters.RequiredStatusChecks {
			r.RequiredChecks = append(r.RequiredChecks, c.Context)
		}
	}
	r.MergeQueue = len(br.MergeQueue) > 0
	r.LinearHistory = len(br.RequiredLinearHistory) > 0
	return r, nil
}

// MergeMethods implements land.GitHub from the repository's settings.
func (c *Client) MergeMethods(ctx context.Context, repo string) ([]string, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	r, _, err := api.Repositories.Get(ctx, owner, name)
	if err != nil {
		return nil, wrap(err, "reading the settings of "+repo, repo)
	}
	var out []string
	for _, m := range []struct {
		on     *bool
		method string
	}{{r.AllowMergeCommit, land.MethodMerge}, {r.AllowSquashMerge, land.MethodSquash}, {r.AllowRebaseMerge, land.MethodRebase}} {
		// A token without admin rights may not see the settings: then
		// every method is offered, and GitHub's answer to the merge says.
		if m.on == nil || *m.on {
			out = append(out, m.method)
		}
	}
	return out, nil
}

// Approvals implements land.GitHub: the reviewers whose latest review,
// comments aside, approves.
func (c *Client) Approvals(ctx context.Context, repo string, number int) (int, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return 0, err
	}
	latest := map[string]string{}
	opts := &github.ListOptions{PerPage: c.pageSize}
	for {
		page, resp, err := api.PullRequests.ListReviews(ctx, owner, name, number, opts)
		if err != nil {
			return 0, wrap(err, fmt.Sprintf("reading the reviews of %s#%d", repo, number), repo)
		}
		for _, r := range page {
			if st := r.GetState(); st != "COMMENTED" && st != "PENDING" {
				latest[strings.ToLower(r.GetUser().GetLogin())] = st
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	n := 0
	for _, st := range latest {
		if st == "APPROVED" {
			n++
		}
	}
	return n, nil
}

// CheckStates implements land.GitHub: the latest status of each context
// and the conclusion (or status, while running) of each check run.
func (c *Client) CheckStates(ctx context.Context, repo, sha string) (map[string]string, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	cs, _, err := api.Repositories.GetCombinedStatus(ctx, owner, name, sha, &github.ListOptions{PerPage: 100})
	if err != nil {
		return nil, wrap(err, fmt.Sprintf("reading the statuses of %s@%s", repo, text.ShortSHA(sha)), repo)
	}
	for _, st := range cs.Statuses {
		out[st.GetContext()] = st.GetState()
	}
	opts := &github.ListCheckRunsOptions{Filter: github.String("latest"), ListOptions: github.ListOptions{PerPage: c.pageSize}}
	for {
		page, resp, err := api.Checks.ListCheckRunsForRef(ctx, owner, name, sha, opts)
		if err != nil {
			return nil, wrap(err, fmt.Sprintf("listing the check runs of %s@%s", repo, text.ShortSHA(sha)), repo)
		}
		for _, cr := range page.CheckRuns {
			st := cr.GetStatus()
			if st == "completed" {
				st = cr.GetConclusion()
			}
			out[cr.GetName()] = st
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// BranchTip implements land.GitHub.
func (c *Client) BranchTip(ctx context.Context, repo, branch string) (string, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return "", err
	}
	b, _, err := api.Repositories.GetBranch(ctx, owner, name, branch, 0)
	if err != nil {
		return "", wrap(err, fmt.Sprintf("reading branch %s of %s", branch, repo), repo)
	}
	return b.GetCommit().GetSHA(), nil
}

// Merge implements land.GitHub.
func (c *Client) Merge(ctx context.Context, repo string, number int, sha, method, title string) (string, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return "", err
	}
	res, _, err := api.PullRequests.Merge(ctx, owner, name, number, "", &github.PullRequestOptions{SHA: sha, MergeMethod: method, CommitTitle: title})
	if err != nil {
		return "", wrap(err, fmt.Sprintf("merging %s#%d at %s by %s", repo, number, text.ShortSHA(sha), method), repo)
	}
	return res.GetSHA(), nil
}

// CommitTree implements land.GitHub.
func (c *Client) CommitTree(ctx context.Context, repo, sha string) (string, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return "", err
	}
	cm, _, err := api.Git.GetCommit(ctx, owner, name, sha)
	if err != nil {
		return "", wrap(err, fmt.Sprintf("reading commit %s of %s", text.ShortSHA(sha), repo), repo)
	}
	return cm.GetTree().GetSHA(), nil
}

// TreeFiles implements land.GitHub.
func (c *Client) TreeFiles(ctx context.Context, repo, tree string) (map[string]string, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	t, _, err := api.Git.GetTree(ctx, owner, name, tree, true)
	if err != nil {
		return nil, wrap(err, fmt.Sprintf("reading tree %s of %s", text.ShortSHA(tree), repo), repo)
	}
	if t.GetTruncated() {
		return nil, fmt.Errorf("tree %s of %s is too large for GitHub to list", text.ShortSHA(tree), repo)
	}
	out := map[string]string{}
	for _, e := range t.Entries {
		if e.GetType() == "blob" {
			out[e.GetPath()] = e.GetSHA()
		}
	}
	return out, nil
}

// Tag implements land.GitHub: a lightweight tag at sha, made once. A tag
// already at sha is fine; one at another commit is an error naming it.
func (c *Client) Tag(ctx context.Context, repo, name, sha string) (bool, error) {
	api, owner, repoName, err := c.on(ctx, repo)
	if err != nil {
		return false, err
	}
	existing := func() (bool, error) {
		ref, _, err := api.Git.GetRef(ctx, owner, repoName, "tags/"+name)
		if err != nil {
			return false, wrap(err, fmt.Sprintf("reading tag %s of %s", name, repo), repo)
		}
		if got := ref.GetObject().GetSHA(); !strings.EqualFold(got, sha) {
			return false, fmt.Errorf("tag %s of %s is at %s, not at the merge %s: it was left as it is", name, repo, text.ShortSHA(got), text.ShortSHA(sha))
		}
		return false, nil
	}
	created, err := existing()
	if err == nil || !errors.Is(err, gherror.NotFound) {
		return created, err
	}
	_, _, err = api.Git.CreateRef(ctx, owner, repoName, github.CreateRef{Ref: "refs/tags/" + name, SHA: sha})
	if err != nil {
		// Made meanwhile, by another landing or a person: read it again.
		if werr := wrap(err, "", repo); errors.Is(werr, gherror.Rejected) {
			return existing()
		}
		return false, wrap(err, fmt.Sprintf("tagging %s of %s at %s", name, repo, text.ShortSHA(sha)), repo)
	}
	return true, nil
}

var _ land.RevertGitHub = (*Client)(nil)

// CreateCommit implements land.RevertGitHub.
func (c *Client) CreateCommit(ctx context.Context, repo, message, tree string, parents []string) (string, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return "", err
	}
	var ps []*github.Commit
	for _, p := range parents {
		ps = append(ps, &github.Commit{SHA: github.String(p)})
	}
	cm, _, err := api.Git.CreateCommit(ctx, owner, name, github.Commit{Message: github.String(message), Tree: &github.Tree{SHA: github.String(tree)}, Parents: ps}, nil)
	if err != nil {
		return "", wrap(err, "making a commit in "+repo, repo)
	}
	return cm.GetSHA(), nil
}

// CreateBranch implements land.RevertGitHub.
func (c *Client) CreateBranch(ctx context.Context, repo, branch, sha string) error {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return err
	}
	if _, _, err := api.Git.CreateRef(ctx, owner, name, github.CreateRef{Ref: "refs/heads/" + branch, SHA: sha}); err != nil {
		return wrap(err, fmt.Sprintf("making branch %s of %s", branch, repo), repo)
	}
	return nil
}

// ChangedFiles implements land.GitHub.
func (c *Client) ChangedFiles(ctx context.Context, repo string, number int) ([]string, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	var out []string
	opts := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := api.PullRequests.ListFiles(ctx, owner, name, number, opts)
		if err != nil {
			return nil, wrap(err, fmt.Sprintf("listing the files of %s#%d", repo, number), repo)
		}
		for _, f := range page {
			out = append(out, f.GetFilename())
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// PublishRelease implements land.GitHub: a GitHub release of tag, made
// once; a release of that tag already there is left as it is.
func (c *Client) PublishRelease(ctx context.Context, repo, tag, name, notes string) (bool, error) {
	api, owner, repoName, err := c.on(ctx, repo)
	if err != nil {
		return false, err
	}
	if _, _, err := api.Repositories.GetReleaseByTag(ctx, owner, repoName, tag); err == nil {
		return false, nil
	} else if werr := wrap(err, "", repo); !errors.Is(werr, gherror.NotFound) {
		return false, wrap(err, fmt.Sprintf("reading the release of %s in %s", tag, repo), repo)
	}
	rel := &github.RepositoryRelease{TagName: github.String(tag), Name: github.String(name), Body: github.String(notes)}
	if _, _, err := api.Repositories.CreateRelease(ctx, owner, repoName, rel); err != nil {
		return false, wrap(err, fmt.Sprintf("publishing the release of %s in %s", tag, repo), repo)
	}
	return true, nil
}

// CommitParents implements land.GitHub.
func (c *Client) CommitParents(ctx context.Context, repo, sha string) ([]string, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	cm, _, err := api.Git.GetCommit(ctx, owner, name, sha)
	if err != nil {
		return nil, wrap(err, fmt.Sprintf("reading commit %s of %s", text.ShortSHA(sha), repo), repo)
	}
	var out []string
	for _, p := range cm.Parents {
		out = append(out, p.GetSHA())
	}
	return out, nil
}
