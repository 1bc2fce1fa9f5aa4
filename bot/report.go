package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/internal/text"
	"github.com/provide-io/workspace-bot/workspace"
)

// maxDescription is GitHub's limit for a commit status description.
const maxDescription = 140

// Report reports an outcome on every member of the plan: the final state
// of each head, and the summary comment, through the outbox. A stopped
// build reports nothing.
func (b *Bot) Report(ctx context.Context, p *Plan, o *Outcome) {
	b.owe(ctx, b.finalReports(ctx, p, o)...)
}

// finalReports are the reports an outcome owes: the final state of every
// member's head, then the summary comment on every member PR. A stopped
// build owes none.
func (b *Bot) finalReports(ctx context.Context, p *Plan, o *Outcome) []store.Report {
	if o.Stopped != nil {
		return nil
	}
	res := o.Result
	desc := describeResult(res, p.Changeset)
	if res.Result == ci.Cancelled && res.Error != "" {
		desc = res.Error
	}
	out := b.stateReports(p, statusState(res.Result), desc)
	body, err := RenderSummary(b.summary(p, o))
	if err != nil {
		// The template is ours and fixed: a failure is a bug, and the
		// states still go out.
		b.logger(ctx).WithError(err).Error("rendering the summary failed")
		return out
	}
	for _, m := range reportMembers(p.Changeset) {
		out = append(out, summaryReport(m.PR, body, p.Run))
	}
	return out
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
	if res.Isolation != nil {
		s.Isolation = res.Isolation.Line()
	}
	if res.Result != ci.Success && res.Error != "" {
		s.Problem = res.Error
	}
	return s
}

// setState reports state on the head of every member the plan reports
// on (reportMembers).
func (b *Bot) setState(ctx context.Context, p *Plan, state, desc string) {
	b.owe(ctx, b.stateReports(p, state, desc)...)
}

func (b *Bot) stateReports(p *Plan, state, desc string) []store.Report {
	members := reportMembers(p.Changeset)
	out := make([]store.Report, 0, len(members))
	for _, m := range members {
		out = append(out, b.stateReport(p.Config.Config, m.PR, state, desc, p.Run))
	}
	return out
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
	cs := &changeset.Changeset{Key: start.Ref(), Members: []changeset.Member{{PR: start}}}
	if s := cfg.SiblingByRepo(start.Repo); s != nil {
		cs.Members[0].Sibling = s.Name
	}
	s := Summary{
		Context: cfg.StatusContext(), Command: cfg.CommandWord(), State: ci.Error,
		Headline: "the changeset could not be resolved", Key: cs.Key,
		Members: summaryMembers(cs), Problem: problem, Fix: fix,
	}
	reports := []store.Report{b.stateReport(cfg, start, "failure", u.Description, 0)}
	var err error
	if u.Summary, err = RenderSummary(s); err == nil {
		reports = append(reports, summaryReport(start, u.Summary, 0))
	} else {
		b.logger(ctx).WithError(err).Error("rendering the summary failed")
	}
	b.owe(ctx, reports...)
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
