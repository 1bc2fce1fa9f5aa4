package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/logging"
)

// checkEvent holds the few fields of check_run and check_suite payloads
// the bot reads. go-github's types are not used: real payloads carry
// timestamps it refuses to parse, and an event must not fail for a field
// nobody reads.
type checkEvent struct {
	Action   string `json:"action"`
	CheckRun *struct {
		HeadSHA      string     `json:"head_sha"`
		PullRequests []checkPR  `json:"pull_requests"`
		CheckSuite   checkSuite `json:"check_suite"`
	} `json:"check_run"`
	CheckSuite *checkSuite `json:"check_suite"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
}

type checkSuite struct {
	HeadSHA      string    `json:"head_sha"`
	PullRequests []checkPR `json:"pull_requests"`
}

type checkPR struct {
	Number int `json:"number"`
}

// handleCheckRun re-runs the changeset when someone presses "Re-run" on
// the bot's check run.
func handleCheckRun(ctx context.Context, b *Bot, payload []byte) error {
	var ev checkEvent
	if !decode(ctx, b, payload, &ev) || ev.Action != "rerequested" || ev.CheckRun == nil {
		return nil
	}
	prs := ev.CheckRun.PullRequests
	if len(prs) == 0 {
		prs = ev.CheckRun.CheckSuite.PullRequests
	}
	return b.rerequested(ctx, ev.Repository.FullName, ev.CheckRun.HeadSHA, prs)
}

// handleCheckSuite is the same for "Re-run all checks".
func handleCheckSuite(ctx context.Context, b *Bot, payload []byte) error {
	var ev checkEvent
	if !decode(ctx, b, payload, &ev) || ev.Action != "rerequested" || ev.CheckSuite == nil {
		return nil
	}
	return b.rerequested(ctx, ev.Repository.FullName, ev.CheckSuite.HeadSHA, ev.CheckSuite.PullRequests)
}

func (b *Bot) rerequested(ctx context.Context, repo, sha string, prs []checkPR) error {
	if b.opt.Checks == nil || repo == "" || sha == "" {
		// Without an App the bot posts statuses, which have no re-run
		// button: this check run is someone else's.
		return nil
	}
	var found []*changeset.PR
	for _, p := range prs {
		pr, err := b.gh.PullRequest(ctx, repo, p.Number)
		if err != nil {
			return fmt.Errorf("re-run of %s@%s: %w", repo, shortSHA(sha), err)
		}
		found = append(found, pr)
	}
	if len(found) == 0 {
		// GitHub leaves pull_requests empty for PRs from forks: find the
		// open PR by its head SHA.
		open, err := b.gh.OpenPullRequests(ctx, repo)
		if err != nil {
			return fmt.Errorf("re-run of %s@%s: %w", repo, shortSHA(sha), err)
		}
		for _, pr := range open {
			if strings.EqualFold(pr.HeadSHA, sha) {
				found = append(found, pr)
			}
		}
	}
	if len(found) == 0 {
		b.logger(ctx).WithField(logging.SHA, sha).Info("re-run requested for a commit no open PR has; ignored")
		return nil
	}
	for _, pr := range found {
		if err := b.trigger(ctx, trigger{start: pr, force: true, reason: "re-run requested on " + pr.Ref()}); err != nil {
			return err
		}
	}
	return nil
}
