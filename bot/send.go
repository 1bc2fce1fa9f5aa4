package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/mdescape"
	"github.com/provide-io/workspace-bot/internal/store"
)

// sendState posts a check run when the bot has Checks, or a commit
// status. Credentials that may not create check runs (a personal token
// in the Action) report with statuses from the first refusal on.
func (b *Bot) sendState(ctx context.Context, o payload, run int64) error {
	err := changeset.ErrForbidden
	if b.opt.Checks != nil && !b.noChecks.Load() {
		err = b.setCheck(ctx, o, run)
		if errors.Is(err, changeset.ErrForbidden) && !b.noChecks.Swap(true) {
			b.logger(ctx).WithError(err).Info("these credentials may not create check runs: reporting with commit statuses")
		}
	}
	if errors.Is(err, changeset.ErrForbidden) {
		err = b.gh.SetStatus(ctx, o.Repo, o.SHA, Status{State: o.shown().Status, Context: o.Context, Description: o.Description, TargetURL: o.TargetURL})
	}
	return err
}

// checkRunFor is the check run that shows a state. The title is plain
// text; the summary is Markdown.
func checkRunFor(o payload, run int64) CheckRun {
	shown := o.shown()
	cr := CheckRun{Name: o.Context, DetailsURL: o.TargetURL, Title: o.Description, Summary: mdescape.Text(o.Description), ExternalID: checkExternalID(run),
		Status: shown.CheckStatus, Conclusion: shown.CheckConclusion, Annotations: o.Annotations}
	if n := len(o.Annotations); n > 0 {
		cr.Summary += fmt.Sprintf("\n\nFailing tests shown on the lines of this repository's files: %d.", n)
	}
	return cr
}

// checkExternalPrefix starts the external id of every check run the bot
// creates: the check runs it finds on a head with it are its own.
const checkExternalPrefix = "workspace-bot"

// checkExternalID names the run a check run reports, so a check run
// created just before a crash is found again rather than made twice.
func checkExternalID(run int64) string {
	if run == 0 {
		return checkExternalPrefix
	}
	return fmt.Sprintf("%s/run/%d", checkExternalPrefix, run)
}

// setCheck keeps one check run per head until it completes, and after it
// for the same run; a later run (a re-run) starts a fresh one, as
// GitHub's own re-runs do, rather than reopening a completed check.
// Creating a check run is not idempotent, so before creating one it looks
// for the one a lost answer may have created, and it records the id
// before the report counts as sent.
func (b *Bot) setCheck(ctx context.Context, o payload, run int64) error {
	cr := checkRunFor(o, run)
	rec := store.CheckRunRecord{Repo: o.Repo, SHA: o.SHA, Name: cr.Name}
	if b.rec != nil {
		got, ok, err := b.rec.CheckRun(ctx, o.Repo, o.SHA, cr.Name)
		if err != nil {
			return err
		}
		if ok && (!got.Completed || run != 0 && got.Run == run) {
			err := b.opt.Checks.UpdateCheckRun(ctx, o.Repo, got.ID, cr)
			if err == nil {
				return b.recordCheck(ctx, got, run, cr)
			}
			if !errors.Is(err, changeset.ErrNotFound) {
				return err
			}
			// Deleted on GitHub: find or create another.
		}
	}
	id, err := b.findCheck(ctx, o, run)
	if err != nil {
		return err
	}
	if id != 0 {
		err = b.opt.Checks.UpdateCheckRun(ctx, o.Repo, id, cr)
	} else {
		id, err = b.opt.Checks.CreateCheckRun(ctx, o.Repo, o.SHA, cr)
	}
	if err != nil {
		return err
	}
	rec.ID = id
	return b.recordCheck(ctx, rec, run, cr)
}

func (b *Bot) recordCheck(ctx context.Context, rec store.CheckRunRecord, run int64, cr CheckRun) error {
	if b.rec == nil {
		return nil
	}
	rec.Run, rec.Completed = run, cr.Status == "completed"
	return b.rec.SetCheckRun(ctx, rec)
}

// findCheck looks on the head for a check run of ours to carry on: the
// one made for this run, else one not completed. 0 when there is none.
func (b *Bot) findCheck(ctx context.Context, o payload, run int64) (int64, error) {
	found, err := b.opt.Checks.CheckRuns(ctx, o.Repo, o.SHA, o.Context)
	if err != nil {
		return 0, err
	}
	if run != 0 {
		for _, f := range found {
			if f.ExternalID == checkExternalID(run) {
				return f.ID, nil
			}
		}
	}
	for _, f := range found {
		if f.Status != "completed" && strings.HasPrefix(f.ExternalID, checkExternalPrefix) {
			return f.ID, nil
		}
	}
	return 0, nil
}

// upsertSummary edits the PR's summary comment, or creates it. The comment
// is found by its marker among the PR's comments before one is ever
// created, so neither a lost comment id (a new data dir) nor a lost
// answer to the create (a retry after a crash) duplicates it.
func (b *Bot) upsertSummary(ctx context.Context, repo string, number int, body string) error {
	ref := fmt.Sprintf("%s#%d", repo, number)
	if b.rec != nil {
		if id, ok, err := b.rec.CommentID(ctx, repo, number); err == nil && ok {
			err := b.gh.EditComment(ctx, repo, id, body)
			if err == nil {
				return nil
			}
			if !errors.Is(err, changeset.ErrNotFound) && !errors.Is(err, changeset.ErrForbidden) {
				return fmt.Errorf("edit the summary comment on %s: %w", ref, err)
			}
			// Deleted or not ours: look for it again.
		}
	}
	comments, err := b.gh.Comments(ctx, repo, number)
	if err != nil {
		return fmt.Errorf("list comments of %s: %w", ref, err)
	}
	for _, c := range comments {
		if strings.HasPrefix(strings.TrimSpace(c.Body), SummaryMarker) {
			if err := b.gh.EditComment(ctx, repo, c.ID, body); err != nil {
				if errors.Is(err, changeset.ErrForbidden) {
					continue // someone else's comment quoting the marker
				}
				return fmt.Errorf("edit the summary comment on %s: %w", ref, err)
			}
			return b.recordComment(ctx, repo, number, c.ID)
		}
	}
	id, err := b.gh.CreateComment(ctx, repo, number, body)
	if err != nil {
		return fmt.Errorf("comment the summary on %s: %w", ref, err)
	}
	return b.recordComment(ctx, repo, number, id)
}

func (b *Bot) recordComment(ctx context.Context, repo string, number int, id int64) error {
	if b.rec == nil {
		return nil
	}
	return b.rec.SetCommentID(ctx, repo, number, id)
}
