package gh

import (
	"context"
	"fmt"

	"github.com/google/go-github/v88/github"

	"github.com/provide-io/workspace-bot/changeset"
)

// FindOpenPullRequest returns the open PR of repo whose head is
// "owner:branch", or nil when there is none.
func (c *Client) FindOpenPullRequest(ctx context.Context, repo, head string) (*changeset.PR, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	opts := &github.PullRequestListOptions{State: "open", Head: head, ListOptions: github.ListOptions{PerPage: c.pageSize}}
	page, _, err := api.PullRequests.List(ctx, owner, name, opts)
	if err != nil {
		return nil, wrap(err, fmt.Sprintf("looking for an open pull request from %s in %s", head, repo), repo)
	}
	for _, p := range page {
		if p != nil {
			return ConvertPR(p, repo), nil
		}
	}
	return nil, nil
}

// CreatePullRequest opens a PR from head ("owner:branch") onto base.
func (c *Client) CreatePullRequest(ctx context.Context, repo, head, base, title, body string) (*changeset.PR, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	p, _, err := api.PullRequests.Create(ctx, owner, name, &github.NewPullRequest{
		Title: github.String(title), Head: github.String(head), Base: github.String(base), Body: github.String(body),
	})
	if err != nil {
		return nil, wrap(err, fmt.Sprintf("opening a pull request from %s onto %s in %s", head, base, repo), repo)
	}
	return ConvertPR(p, repo), nil
}

// EditPullRequest replaces a PR's title and body.
func (c *Client) EditPullRequest(ctx context.Context, repo string, number int, title, body string) error {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return err
	}
	edit := &github.PullRequest{Title: github.String(title), Body: github.String(body)}
	if _, _, err := api.PullRequests.Edit(ctx, owner, name, number, edit); err != nil {
		return wrap(err, fmt.Sprintf("editing %s#%d", repo, number), repo)
	}
	return nil
}
