package gh

import (
	"context"
	"fmt"

	"github.com/google/go-github/v88/github"

	"github.com/provide-io/workspace-bot/bot"
)

// Comments returns every comment on a PR, all pages.
func (c *Client) Comments(ctx context.Context, repo string, number int) ([]bot.Comment, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: c.pageSize}}
	var out []bot.Comment
	for {
		page, resp, err := api.Issues.ListComments(ctx, owner, name, number, opts)
		if err != nil {
			return nil, wrap(err, fmt.Sprintf("listing comments of %s#%d", repo, number), repo)
		}
		for _, cm := range page {
			out = append(out, bot.Comment{ID: cm.GetID(), Body: cm.GetBody(), User: cm.GetUser().GetLogin(),
				AuthorAssociation: cm.GetAuthorAssociation(), CreatedAt: cm.GetCreatedAt().Time})
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// CreateComment comments on a PR and returns the comment's id.
func (c *Client) CreateComment(ctx context.Context, repo string, number int, body string) (int64, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return 0, err
	}
	cm, _, err := api.Issues.CreateComment(ctx, owner, name, number, &github.IssueComment{Body: github.String(body)})
	if err != nil {
		return 0, wrap(err, fmt.Sprintf("commenting on %s#%d", repo, number), repo)
	}
	return cm.GetID(), nil
}

// EditComment replaces a comment's body.
func (c *Client) EditComment(ctx context.Context, repo string, id int64, body string) error {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return err
	}
	if _, _, err := api.Issues.EditComment(ctx, owner, name, id, &github.IssueComment{Body: github.String(body)}); err != nil {
		return wrap(err, fmt.Sprintf("editing comment %d in %s", id, repo), repo)
	}
	return nil
}

// React adds a reaction (+1, eyes, rocket, confused, ...) to a comment.
func (c *Client) React(ctx context.Context, repo string, commentID int64, content string) error {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return err
	}
	if _, _, err := api.Reactions.CreateIssueCommentReaction(ctx, owner, name, commentID, content); err != nil {
		return wrap(err, fmt.Sprintf("reacting %q to comment %d in %s", content, commentID, repo), repo)
	}
	return nil
}
