package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/mdescape"
	"github.com/provide-io/workspace-bot/internal/text"
	"github.com/provide-io/workspace-bot/workspace"
)

// maxDescription is GitHub's limit for a commit status description.
const maxDescription = 140

// Report reports an outcome on every member of the plan: the final state
// of each head, and the summary comment. A stopped build reports nothing.
func (b *Bot) Report(ctx context.Context, p *Plan, o *Outcome) {
	if o.Stopped != nil {
		return
	}
	res := o.Result
	desc := describeResult(res, p.Changeset)
	if res.Result == ci.Cancelled && res.Error != "" {
		desc = res.Error
	}
	b.setState(ctx, p, statusState(res.Result), desc)
	b.postSummary(ctx, p.Changeset, b.summary(p, o))
}

// SummaryText is the summary comment Report posts for an outcome.
func (b *Bot) SummaryText(p *Plan, o *Outcome) (string, error) {
	return RenderSummary(b.summary(p, o))
}

func (b *Bot) summary(p *Plan, o *Outcome) Summary {
	res := o.Result
	headline := map[string]string{ci.Success: "passed", ci.Failure: "failed", ci.Error: "could not finish", ci.Cancelled: "cancelled"}[res.Result]
	if headline == "" {
		headline = res.Result
	}
	s := Summary{
		Context: p.Config.StatusContext(), Command: p.Config.CommandWord(), State: res.Result,
		Headline: headline, RunURL: b.runURL(p.Run), Key: p.Changeset.Key,
		Members: summaryMembers(p.Changeset), Steps: res.Steps, Failed: res.FirstFailure(),
	}
	s.Excluded, s.MoreExcluded = summaryExcluded(p.Changeset)
	if res.Result != ci.Success && res.Error != "" {
		s.Problem = res.Error
	}
	return s
}

// setState reports state on the head of every member the plan reports
// on (reportMembers). Reporting is best effort per member: one failing PR
// must not keep the others uninformed.
func (b *Bot) setState(ctx context.Context, p *Plan, state, desc string) {
	for _, m := range reportMembers(p.Changeset) {
		b.setMemberState(ctx, p.Config.Config, m.PR, state, desc, p.Run)
	}
}

// setMemberState posts a check run when the bot has Checks, or a commit
// status. Credentials that may not create check runs (a personal token
// in the Action) report with statuses from the first refusal on.
func (b *Bot) setMemberState(ctx context.Context, cfg *workspace.Config, pr *changeset.PR, state, desc string, runID int64) {
	// A description is plain text GitHub shows as written: one line, no
	// control characters (it carries branch names and commands).
	desc = text.Truncate(mdescape.Plain(desc), maxDescription)
	err := changeset.ErrForbidden
	if b.opt.Checks != nil && !b.noChecks.Load() {
		err = b.setCheck(ctx, cfg, pr, state, desc, runID)
		if errors.Is(err, changeset.ErrForbidden) && !b.noChecks.Swap(true) {
			b.logger(ctx).WithError(err).Info("these credentials may not create check runs: reporting with commit statuses")
		}
	}
	if errors.Is(err, changeset.ErrForbidden) {
		err = b.gh.SetStatus(ctx, pr.Repo, pr.HeadSHA, Status{
			State: state, Context: cfg.StatusContext(), Description: desc, TargetURL: b.runURL(runID),
		})
	}
	if err != nil {
		b.logger(ctx).WithError(err).WithFields(map[string]any{logging.PR: pr.Ref(), logging.State: state}).Warn("reporting a state failed")
	}
}

// setCheck creates the check run for a head once and updates it after.
func (b *Bot) setCheck(ctx context.Context, cfg *workspace.Config, pr *changeset.PR, state, desc string, runID int64) error {
	// The title is plain text; the summary is Markdown.
	cr := CheckRun{Name: cfg.StatusContext(), DetailsURL: b.runURL(runID), Title: desc, Summary: mdescape.Text(desc)}
	switch state {
	case "pending":
		cr.Status = "queued"
		if strings.HasPrefix(desc, "running") {
			cr.Status = "in_progress"
		}
	case "success":
		cr.Status, cr.Conclusion = "completed", "success"
	case "failure":
		cr.Status, cr.Conclusion = "completed", "failure"
	default:
		cr.Status, cr.Conclusion = "completed", "cancelled"
		if !strings.HasPrefix(desc, "cancelled") {
			cr.Conclusion = "failure"
		}
	}
	// One check run per head until it completes; the next report on the
	// head (a re-run) starts a fresh one, as GitHub's own re-runs do,
	// rather than reopening a completed check.
	key := fmt.Sprintf("check:%s@%s:%s", pr.Repo, pr.HeadSHA, cr.Name)
	// The queued and running reports of a run that starts at once race;
	// only one may create the check run.
	b.checkMu.Lock()
	defer b.checkMu.Unlock()
	if v, ok, err := b.rec.Meta(ctx, key); err == nil && ok {
		var id int64
		var done bool
		if _, err := fmt.Sscanf(v, "%d %t", &id, &done); err == nil && !done {
			if err := b.opt.Checks.UpdateCheckRun(ctx, pr.Repo, id, cr); err != nil {
				return err
			}
			return b.rec.SetMeta(ctx, key, fmt.Sprintf("%d %t", id, cr.Status == "completed"))
		}
	}
	id, err := b.opt.Checks.CreateCheckRun(ctx, pr.Repo, pr.HeadSHA, cr)
	if err != nil {
		return err
	}
	return b.rec.SetMeta(ctx, key, fmt.Sprintf("%d %t", id, cr.Status == "completed"))
}

// statusState maps a run result to a commit status state.
func statusState(result string) string {
	switch result {
	case ci.Success:
		return "success"
	case ci.Failure:
		return "failure"
	default:
		return "error"
	}
}

// describeResult is the one-line description of a finished run.
func describeResult(res *ci.Result, cs *changeset.Changeset) string {
	switch res.Result {
	case ci.Success:
		return fmt.Sprintf("passed: %s, %d steps in %s", describeMembers(cs), len(res.Steps), res.Duration.Round(1e8))
	case ci.Failure, ci.Error, ci.Cancelled:
		verb := map[string]string{ci.Failure: "failed", ci.Error: "error", ci.Cancelled: "cancelled"}[res.Result]
		if f := res.FirstFailure(); f != nil {
			where := f.Name
			if f.Sibling != "" {
				where += " of " + f.Sibling
			}
			if f.Command != "" {
				where += ": " + f.Command
			}
			return verb + " at " + where
		}
		if res.Error != "" {
			return verb + ": " + res.Error
		}
		return verb
	}
	return res.Result
}

// postSummary writes the summary comment on every member PR the
// changeset reports on (reportMembers).
func (b *Bot) postSummary(ctx context.Context, cs *changeset.Changeset, s Summary) {
	body, err := RenderSummary(s)
	if err != nil {
		b.logger(ctx).WithError(err).Error("rendering the summary failed")
		return
	}
	for _, m := range reportMembers(cs) {
		if err := b.upsertSummary(ctx, m.PR.Repo, m.PR.Number, body); err != nil {
			b.logger(ctx).WithError(err).WithField(logging.PR, m.PR.Ref()).Warn("posting the summary failed")
		}
	}
}

// upsertSummary edits the PR's summary comment, or creates it. The comment
// is found by its marker among the PR's comments, so a lost comment id (a
// new data dir) never duplicates it.
func (b *Bot) upsertSummary(ctx context.Context, repo string, number int, body string) error {
	b.commentMu.Lock()
	defer b.commentMu.Unlock()
	ref := fmt.Sprintf("%s#%d", repo, number)
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
			return b.rec.SetCommentID(ctx, repo, number, c.ID)
		}
	}
	id, err := b.gh.CreateComment(ctx, repo, number, body)
	if err != nil {
		return fmt.Errorf("comment the summary on %s: %w", ref, err)
	}
	return b.rec.SetCommentID(ctx, repo, number, id)
}

// Unresolved is a changeset that could not be resolved, as reported on
// the PR that asked for it.
type Unresolved struct {
	PR *changeset.PR
	// Description is the failure status posted on the PR's head, and
	// Summary the summary comment explaining the problem and the fix.
	Description string
	Summary     string
}

// reportResolutionError explains on the triggering PR why its changeset
// cannot be built: an error status and the summary comment with the fix.
func (b *Bot) reportResolutionError(ctx context.Context, cfg *workspace.Config, start *changeset.PR, rerr error) (*Unresolved, error) {
	b.logger(ctx).WithError(rerr).Info("changeset cannot be resolved; reported on the PR")
	if start.HeadSHA == "" {
		pr, err := b.gh.PullRequest(ctx, start.Repo, start.Number)
		if err != nil {
			return nil, fmt.Errorf("report on %s: %w", start.Ref(), err)
		}
		start = pr
	}
	problem, fix := explainResolution(rerr, cfg.CommandWord())
	u := &Unresolved{PR: start, Description: text.Truncate("changeset error: "+text.FirstLine(problem), maxDescription)}
	b.setMemberState(ctx, cfg, start, "failure", u.Description, 0)
	cs := &changeset.Changeset{Key: start.Ref(), Members: []changeset.Member{{PR: start}}}
	if s := cfg.SiblingByRepo(start.Repo); s != nil {
		cs.Members[0].Sibling = s.Name
	}
	s := Summary{
		Context: cfg.StatusContext(), Command: cfg.CommandWord(), State: ci.Error,
		Headline: "the changeset could not be resolved", Key: cs.Key,
		Members: summaryMembers(cs), Problem: problem, Fix: fix,
	}
	b.postSummary(ctx, cs, s)
	u.Summary, _ = RenderSummary(s)
	return u, nil
}

// explainResolution turns a resolution failure into the problem (one line
// per failure) and what to do about it.
func explainResolution(err error, word string) (problem, fix string) {
	var problems, fixes []string
	for _, e := range flatten(err) {
		var ce *changeset.Error
		if !errors.As(e, &ce) {
			problems = append(problems, e.Error())
			continue
		}
		p := ce.Problem
		switch {
		case ce.PR.Repo != "" && ce.Via != "":
			p = fmt.Sprintf("%s (%s): %s", ce.PR, ce.Via, p)
		case ce.PR.Repo != "":
			p = fmt.Sprintf("%s: %s", ce.PR, p)
		case ce.Repo != "":
			p = ce.Repo + ": " + p
		}
		problems = append(problems, p)
		if ce.Fix != "" {
			fixes = append(fixes, ce.Fix)
		}
	}
	if len(fixes) == 0 {
		fixes = append(fixes, fmt.Sprintf("correct the `Depends-On:` lines of the PR body (or use `%s link` / `%s unlink`) so every linked PR is open, in a sibling of the workspace, and targets that sibling's branch", word, word))
	}
	fixes = append(fixes, fmt.Sprintf("the changeset is resolved again when a member's body changes or on `%s test`", word))
	return strings.Join(problems, "\n"), strings.Join(fixes, "; ")
}

// flatten unpacks errors.Join.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
