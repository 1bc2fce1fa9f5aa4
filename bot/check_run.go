package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/text"
)

// handleRerun re-runs the changeset when someone presses "Re-run" on the
// bot's check run, or "Re-run all checks".
func handleRerun(ctx context.Context, h *eventState, e Event) error {
	ev, ok := e.(*RerunEvent)
	if !ok || ev.Action != "rerequested" {
		return nil
	}
	return h.rerequested(ctx, ev.Repo, ev.HeadSHA, ev.PRs)
}

func (h *eventState) rerequested(ctx context.Context, repo, sha string, prs []int) error {
	if h.opt.Checks == nil || repo == "" || sha == "" {
		// Without an App the bot posts statuses, which have no re-run
		// button: this check run is someone else's.
		return nil
	}
	var found []*changeset.PR
	for _, n := range prs {
		pr, err := h.gh.PullRequest(ctx, repo, n)
		if err != nil {
			return fmt.Errorf("re-run of %s@%s: %w", repo, text.ShortSHA(sha), err)
		}
		found = append(found, pr)
	}
	if len(found) == 0 {
		// GitHub leaves pull_requests empty for PRs from forks: find the
		// open PR by its head SHA.
		open, err := h.gh.OpenPullRequests(ctx, repo)
		if err != nil {
			return fmt.Errorf("re-run of %s@%s: %w", repo, text.ShortSHA(sha), err)
		}
		for _, pr := range open {
			if strings.EqualFold(pr.HeadSHA, sha) {
				found = append(found, pr)
			}
		}
	}
	if len(found) == 0 {
		h.logger(ctx).WithField(logging.SHA, sha).Info("re-run requested for a commit no open PR has; ignored")
		return nil
	}
	for _, pr := range found {
		if err := h.trigger(ctx, trigger{start: pr, force: true, reason: "re-run requested on " + pr.Ref()}); err != nil {
			return err
		}
	}
	return nil
}
