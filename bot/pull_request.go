package bot

import (
	"context"
	"fmt"

	"github.com/provide-io/workspace-bot/workspace"

	"github.com/provide-io/workspace-bot/internal/logging"
)

// handlePullRequest starts a run when a PR's code or links change, and
// cancels runs when a member closes.
func handlePullRequest(ctx context.Context, h *eventState, e Event) error {
	ev, ok := e.(*PullRequestEvent)
	if !ok {
		return nil
	}
	pr := ev.PR
	if pr == nil || pr.Repo == "" || pr.Number == 0 {
		h.logger(ctx).Warn("pull_request payload without a pull request or repository; ignored")
		return nil
	}
	ctx = logging.With(ctx, h.logger(ctx).WithFields(map[string]any{logging.Action: ev.Action, logging.PR: pr.Ref()}))
	switch ev.Action {
	case "opened", "reopened", "synchronize":
		return h.trigger(ctx, trigger{start: pr, reason: "pull_request " + ev.Action + " " + pr.Ref()})
	case "edited":
		// Only the body holds links; a title edit changes nothing.
		if !ev.BodyChanged {
			return nil
		}
		return h.trigger(ctx, trigger{start: pr, reason: "pull_request edited " + pr.Ref()})
	case "closed":
		return h.runs.closed(ctx, pr, closedBy(ctx, h, ev))
	}
	return nil
}

// closedBy is the cancel of the runs a closed member was in: who closed
// it, and how to test the members left.
func closedBy(ctx context.Context, h *eventState, ev *PullRequestEvent) *Cancel {
	c := &Cancel{Why: ev.PR.Ref() + " was closed"}
	if ev.PR.Merged {
		c.Why = ev.PR.Ref() + " was merged"
	}
	if ev.Sender != "" {
		c.By = "@" + ev.Sender
	}
	word := workspace.DefaultCommand
	if cfg, err := h.config(ctx); err == nil {
		word = cfg.CommandWord()
	}
	c.Next = fmt.Sprintf("comment %s test on another member to test what is left", word)
	return c
}
