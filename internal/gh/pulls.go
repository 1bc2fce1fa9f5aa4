package gh

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v88/github"

	"github.com/provide-io/workspace-bot/changeset"
)

// PullRequest implements changeset.GitHub.
func (c *Client) PullRequest(ctx context.Context, repo string, number int) (*changeset.PR, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	p, _, err := api.PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return nil, wrap(err, fmt.Sprintf("reading %s#%d", repo, number), repo)
	}
	return ConvertPR(p, repo), nil
}

// OpenPullRequests implements changeset.GitHub: every page of the open PRs
// whose base repository is repo.
func (c *Client) OpenPullRequests(ctx context.Context, repo string) ([]*changeset.PR, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	opts := &github.PullRequestListOptions{State: "open", ListOptions: github.ListOptions{PerPage: c.pageSize}}
	var out []*changeset.PR
	for {
		page, resp, err := api.PullRequests.List(ctx, owner, name, opts)
		if err != nil {
			return nil, wrap(err, "listing open pull requests of "+repo, repo)
		}
		for _, p := range page {
			if p != nil {
				out = append(out, ConvertPR(p, repo))
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// EditPullRequestBody replaces a PR's body.
func (c *Client) EditPullRequestBody(ctx context.Context, repo string, number int, body string) error {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return err
	}
	if _, _, err := api.PullRequests.Edit(ctx, owner, name, number, &github.PullRequest{Body: github.String(body)}); err != nil {
		return wrap(err, fmt.Sprintf("editing the body of %s#%d", repo, number), repo)
	}
	return nil
}

// ConvertPR converts go-github's pull request to ours; repo names the base
// repository when the payload leaves it out.
func ConvertPR(p *github.PullRequest, repo string) *changeset.PR {
	base, head := p.GetBase(), p.GetHead()
	pr := &changeset.PR{
		Repo:              base.GetRepo().GetFullName(),
		Number:            p.GetNumber(),
		State:             p.GetState(),
		Merged:            p.GetMerged() || p.MergedAt != nil,
		Draft:             p.GetDraft(),
		Title:             p.GetTitle(),
		Body:              p.GetBody(),
		URL:               p.GetHTMLURL(),
		Author:            p.GetUser().GetLogin(),
		AuthorAssociation: p.GetAuthorAssociation(),
		HeadRef:           head.GetRef(),
		HeadSHA:           head.GetSHA(),
		HeadRepo:          head.GetRepo().GetFullName(),
		HeadCloneURL:      head.GetRepo().GetCloneURL(),
		BaseRef:           base.GetRef(),
	}
	if pr.Repo == "" {
		pr.Repo = repo
	}
	// A deleted fork leaves head.repo null: still a fork, and unclonable.
	pr.Fork = !strings.EqualFold(pr.HeadRepo, pr.Repo)
	return pr
}
