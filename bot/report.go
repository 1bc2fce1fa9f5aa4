package bot

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/internal/text"
	"github.com/provide-io/workspace-bot/lifecycle"
	"github.com/provide-io/workspace-bot/workspace"
)

// maxDescription is GitHub's limit for a commit status description.
const maxDescription = 140

// Report reports an outcome on every member of the plan: the final state
// of each head, and the summary comment, through the outbox. A stopped
// build reports nothing.
func (b *Bot) Report(ctx context.Context, p *Plan, o *Outcome) {
	b.report(ctx, b.finalReports(ctx, p, o)...)
}

// finalReports are the reports an outcome owes: the final state of every
// member's head, then the summary comment on every member PR. A stopped
// build owes none.
func (b *Bot) finalReports(ctx context.Context, p *Plan, o *Outcome) []store.Report {
	if o.Stopped != nil {
		return nil
	}
	res := o.Result
	out := b.stateReports(p, lifecycle.Done, res.Result, describeResult(res, p.Changeset), annotations(res))
	s := b.summary(p, o)
	s.MarkFlaky(b.flakyMarks(ctx, p.Run, res))
	body, err := RenderSummary(s)
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
	s := Summary{
		Context: p.Config.StatusContext(), Command: p.Config.CommandWord(), Result: res.Result,
		Headline: lifecycle.Show(lifecycle.Done, res.Result).Word, RunURL: b.runURL(p.Run), Key: p.Changeset.Key,
		QueueURL: b.queueURL(url.Values{"changeset": {p.Changeset.Key}}),
		Members:  summaryMembers(p.Changeset), Steps: res.Steps, Failed: res.FirstFailure(),
	}
	s.Excluded, s.MoreExcluded = summaryExcluded(p.Changeset)
	s.RetriedFlaky = res.RetriedFlaky
	if s.NotAffected = res.NotAffected(); len(s.NotAffected) > 0 {
		s.NotAffectedWhy = workspace.NotAffected
	}
	s.AddTests(res, p.Config.Workspace.Name)
	if res.Isolation != nil {
		s.Isolation = res.Isolation.Line()
	}
	if res.Result != ci.Success && res.Error != "" {
		s.Problem = res.Error
	}
	return s
}

// setState reports a live state (queued, waiting, building) on the head
// of every member the plan reports on (reportMembers).
func (b *Bot) setState(ctx context.Context, p *Plan, st lifecycle.State) {
	b.report(ctx, b.stateReports(p, st, "", liveDescription(p, st), nil)...)
}

// liveDescription is the description of a run not done yet.
func liveDescription(p *Plan, st lifecycle.State) string {
	if st == lifecycle.Waiting {
		return waitingDescription(p)
	}
	return lifecycle.Show(st, "").Short + ": " + describeMembers(p.Changeset)
}

// stateReports are the state st on every member's head; ann, by sibling
// (the workspace's name for its own repository), are the failing tests
// each head's check run shows on its files.
func (b *Bot) stateReports(p *Plan, st lifecycle.State, res lifecycle.Result, desc string, ann map[string][]Annotation) []store.Report {
	members := reportMembers(p.Changeset)
	out := make([]store.Report, 0, len(members))
	for _, m := range members {
		out = append(out, b.stateReport(p.Config.Config, m.PR, st, res, desc, p.Run, ann[m.Sibling]...))
	}
	return out
}

// describeResult is the one-line description of a finished run. A
// cancelled run's says who cancelled it and why.
func describeResult(res *ci.Result, cs *changeset.Changeset) string {
	verb := lifecycle.Show(lifecycle.Done, res.Result).Short
	switch res.Result {
	case lifecycle.Success:
		ran := len(res.Steps)
		for _, s := range res.Steps {
			if s.NotAffected != "" {
				ran--
			}
		}
		left := ""
		if n := len(res.NotAffected()); n > 0 {
			left = fmt.Sprintf(" (%d siblings' tests not affected)", n)
		}
		return fmt.Sprintf("%s: %s, %d steps in %s%s", verb, describeMembers(cs), ran, res.Duration.Round(1e8), left)
	case lifecycle.Cancelled:
		if res.Error != "" {
			return res.Error
		}
		fallthrough
	case lifecycle.Failure, lifecycle.Error:
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
	return verb
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
		Context: cfg.StatusContext(), Command: cfg.CommandWord(), Result: lifecycle.Error,
		Headline: "the changeset could not be resolved", Key: cs.Key,
		Members: summaryMembers(cs), Problem: problem, Fix: fix,
		QueueURL: b.queueURL(url.Values{"repo": {start.Repo}, "pr": {strconv.Itoa(start.Number)}}),
	}
	reports := []store.Report{b.stateReport(cfg, start, lifecycle.Done, lifecycle.Failure, u.Description, 0)}
	var err error
	if u.Summary, err = RenderSummary(s); err == nil {
		reports = append(reports, summaryReport(start, u.Summary, 0))
	} else {
		b.logger(ctx).WithError(err).Error("rendering the summary failed")
	}
	b.report(ctx, reports...)
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
