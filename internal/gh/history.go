package gh

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-github/v88/github"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/text"
)

// FirstReported is when a state of context was first reported on sha in
// repo, as GitHub recorded it: the oldest commit status of that context,
// or the oldest check run of that name, whichever came first; the zero
// time when there is none. Only someone who can push to repo (or the
// App) can report there, so it is the bot's own record of when it first
// saw the head, kept by GitHub, on GitHub's clock: the clock a comment's
// created_at is on.
func (c *Client) FirstReported(ctx context.Context, repo, sha, context string) (time.Time, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return time.Time{}, err
	}
	what := fmt.Sprintf("reading the %s reports on %s@%s", context, repo, text.ShortSHA(sha))
	var first time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	opts := &github.ListOptions{PerPage: c.pageSize}
	for {
		page, resp, err := api.Repositories.ListStatuses(ctx, owner, name, sha, opts)
		if err != nil {
			return time.Time{}, wrap(err, what, repo)
		}
		for _, st := range page {
			if st.GetContext() == context {
				earlier(st.GetCreatedAt().Time)
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	copts := &github.ListCheckRunsOptions{CheckName: github.String(context), Filter: github.String("all"), ListOptions: github.ListOptions{PerPage: c.pageSize}}
	for {
		runs, resp, err := api.Checks.ListCheckRunsForRef(ctx, owner, name, sha, copts)
		if err != nil {
			// A token without checks access reports with statuses.
			werr := wrap(err, what, repo)
			if errors.Is(werr, changeset.ErrForbidden) || errors.Is(werr, changeset.ErrNotFound) {
				return first, nil
			}
			return time.Time{}, werr
		}
		for _, r := range runs.CheckRuns {
			earlier(r.GetStartedAt().Time)
		}
		if resp == nil || resp.NextPage == 0 {
			return first, nil
		}
		copts.Page = resp.NextPage
	}
}
