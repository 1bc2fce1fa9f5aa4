package main

import (
	"context"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/gh"
	"github.com/provide-io/workspace-bot/internal/ghclient"
)

// appGitHub acts on each repository through the App's installation on it
// (siblings may sit in several organisations, each its own installation),
// and reports with check runs, which only an App may create.
type appGitHub struct{ f *ghclient.Factory }

func (a *appGitHub) on(ctx context.Context, repo string) (githubForBot, error) {
	c, err := a.f.ForRepo(ctx, repo)
	if err != nil {
		return githubForBot{}, err
	}
	return githubForBot{gh.New(c)}, nil
}

func (a *appGitHub) PullRequest(ctx context.Context, repo string, n int) (*changeset.PR, error) {
	g, err := a.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	return g.PullRequest(ctx, repo, n)
}

func (a *appGitHub) OpenPullRequests(ctx context.Context, repo string) ([]*changeset.PR, error) {
	g, err := a.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	return g.OpenPullRequests(ctx, repo)
}

func (a *appGitHub) EditPullRequestBody(ctx context.Context, repo string, n int, body string) error {
	g, err := a.on(ctx, repo)
	if err != nil {
		return err
	}
	return g.EditPullRequestBody(ctx, repo, n, body)
}

func (a *appGitHub) SetStatus(ctx context.Context, repo, sha string, st bot.Status) error {
	g, err := a.on(ctx, repo)
	if err != nil {
		return err
	}
	return g.SetStatus(ctx, repo, sha, st)
}

func (a *appGitHub) Comments(ctx context.Context, repo string, n int) ([]bot.Comment, error) {
	g, err := a.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	return g.Comments(ctx, repo, n)
}

func (a *appGitHub) CreateComment(ctx context.Context, repo string, n int, body string) (int64, error) {
	g, err := a.on(ctx, repo)
	if err != nil {
		return 0, err
	}
	return g.CreateComment(ctx, repo, n, body)
}

func (a *appGitHub) EditComment(ctx context.Context, repo string, id int64, body string) error {
	g, err := a.on(ctx, repo)
	if err != nil {
		return err
	}
	return g.EditComment(ctx, repo, id, body)
}

func (a *appGitHub) React(ctx context.Context, repo string, id int64, content string) error {
	g, err := a.on(ctx, repo)
	if err != nil {
		return err
	}
	return g.React(ctx, repo, id, content)
}

func (a *appGitHub) Permission(ctx context.Context, repo, user string) (string, error) {
	g, err := a.on(ctx, repo)
	if err != nil {
		return "", err
	}
	return g.Permission(ctx, repo, user)
}

func (a *appGitHub) FileContents(ctx context.Context, repo, path, ref string) ([]byte, error) {
	g, err := a.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	return g.FileContents(ctx, repo, path, ref)
}

func (a *appGitHub) CreateCheckRun(ctx context.Context, repo, sha string, cr bot.CheckRun) (int64, error) {
	g, err := a.on(ctx, repo)
	if err != nil {
		return 0, err
	}
	return g.CreateCheckRun(ctx, repo, sha, cr)
}

func (a *appGitHub) UpdateCheckRun(ctx context.Context, repo string, id int64, cr bot.CheckRun) error {
	g, err := a.on(ctx, repo)
	if err != nil {
		return err
	}
	return g.UpdateCheckRun(ctx, repo, id, cr)
}
