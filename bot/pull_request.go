package bot

import (
	"context"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/provide-io/workspace-bot/changeset"
)

// handlePullRequest starts a run when a PR's code or links change, and
// cancels runs when a member closes.
func handlePullRequest(ctx context.Context, b *Bot, payload []byte) error {
	var ev github.PullRequestEvent
	if !decode(ctx, b, payload, &ev) {
		return nil
	}
	pr := prFromGitHub(ev.GetPullRequest(), ev.GetRepo().GetFullName())
	if pr == nil || pr.Repo == "" || pr.Number == 0 {
		b.logger(ctx).Warn("pull_request payload without a pull request or repository; ignored")
		return nil
	}
	ctx = withLogger(ctx, b.logger(ctx).WithFields(map[string]any{FieldAction: ev.GetAction(), FieldPR: pr.Ref()}))
	switch ev.GetAction() {
	case "opened", "reopened", "synchronize":
		return b.trigger(ctx, trigger{start: pr, reason: "pull_request " + ev.GetAction() + " " + pr.Ref()})
	case "edited":
		// Only the body holds links; a title edit changes nothing.
		if ev.GetChanges().GetBody() == nil {
			return nil
		}
		return b.trigger(ctx, trigger{start: pr, reason: "pull_request edited " + pr.Ref()})
	case "closed":
		return b.memberClosed(ctx, pr)
	}
	return nil
}

// prFromGitHub converts go-github's PR at the boundary.
func prFromGitHub(p *github.PullRequest, repo string) *changeset.PR {
	if p == nil {
		return nil
	}
	if base := p.GetBase().GetRepo().GetFullName(); base != "" {
		repo = base
	}
	headRepo := p.GetHead().GetRepo().GetFullName()
	return &changeset.PR{
		Repo:              repo,
		Number:            p.GetNumber(),
		State:             p.GetState(),
		Merged:            p.GetMerged(),
		Draft:             p.GetDraft(),
		Title:             p.GetTitle(),
		Body:              p.GetBody(),
		URL:               p.GetHTMLURL(),
		Author:            p.GetUser().GetLogin(),
		AuthorAssociation: p.GetAuthorAssociation(),
		HeadRef:           p.GetHead().GetRef(),
		HeadSHA:           p.GetHead().GetSHA(),
		HeadRepo:          headRepo,
		HeadCloneURL:      p.GetHead().GetRepo().GetCloneURL(),
		BaseRef:           p.GetBase().GetRef(),
		Fork:              headRepo != "" && !strings.EqualFold(headRepo, repo),
	}
}
