package bot

import (
	"context"

	"github.com/google/go-github/v60/github"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/gh"
	"github.com/provide-io/workspace-bot/internal/logging"
)

// handlePullRequest starts a run when a PR's code or links change, and
// cancels runs when a member closes.
func handlePullRequest(ctx context.Context, b *Bot, payload []byte) error {
	var ev github.PullRequestEvent
	if !decode(ctx, b, payload, &ev) {
		return nil
	}
	var pr *changeset.PR
	if p := ev.GetPullRequest(); p != nil {
		pr = gh.ConvertPR(p, ev.GetRepo().GetFullName())
	}
	if pr == nil || pr.Repo == "" || pr.Number == 0 {
		b.logger(ctx).Warn("pull_request payload without a pull request or repository; ignored")
		return nil
	}
	ctx = logging.With(ctx, b.logger(ctx).WithFields(map[string]any{logging.Action: ev.GetAction(), logging.PR: pr.Ref()}))
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
