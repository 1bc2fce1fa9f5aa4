package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/internal/text"
	"github.com/provide-io/workspace-bot/lifecycle"
	"github.com/provide-io/workspace-bot/workspace"
)

// Handled is what handling one event did, for a caller that reports it
// (the Action): the plans built (or queued), the plans waiting for a
// trusted approval, the changesets that could not be resolved, and the
// replies posted.
type Handled struct {
	Runs       []Submitted
	Waiting    []Waiting
	Unresolved []Unresolved
	Replies    []string
}

// Submitted is a plan that was built (buildNow), or queued (the service).
type Submitted struct {
	Plan *Plan
	// Outcome is how the build ended; nil when the plan was queued.
	Outcome *Outcome
}

// Waiting is a plan whose untrusted code waits for an approval, and the
// state posted on its members saying so.
type Waiting struct {
	Plan        *Plan
	Description string
}

// runner is what becomes of the plans events make: buildNow builds each at
// once (the Action, where the job is the queue); a Queue stores them for
// its workers (the service).
type runner interface {
	// submit builds or queues p; force builds heads tested already. It
	// returns nil when nothing was built or queued.
	submit(ctx context.Context, p *Plan, force bool) (*Submitted, error)
	// cancel cancels the queued and running runs of the plan's changeset
	// and reports them cancelled; it says how many there were.
	cancel(ctx context.Context, p *Plan, by *Cancel) (int, error)
	// latest is the newest run of key, or an error wrapping
	// store.ErrNotFound.
	latest(ctx context.Context, key string) (*store.Run, error)
	// closed cancels the live runs whose changeset holds pr, by by.
	closed(ctx context.Context, pr *changeset.PR, by *Cancel) error
	// wait records that p's changeset waits for an approval.
	wait(ctx context.Context, p *Plan) error
	// settle is told the keys of the changesets a trigger from start
	// made: any other that waits with start in it was superseded.
	settle(ctx context.Context, start string, keys []string) error
}

// trigger is a reason to test the changeset a PR belongs to.
type trigger struct {
	start  *changeset.PR
	reason string // for people: "pull_request synchronize o/r#3"
	// force runs even when the same heads were already tested.
	force bool
	// all runs every sibling's tests, not only the affected ones.
	all bool
	// approval, when set, is a /workspace test by someone who can push:
	// it approves the untrusted heads the bot had seen by its time.
	approval *approval
}

// trigger resolves the changeset start belongs to and builds or queues a
// run of it. A changeset that cannot be resolved is reported on start's
// PR; untrusted code waits for an approval.
func (h *eventState) trigger(ctx context.Context, t trigger) error {
	cfg, err := h.config(ctx)
	if err != nil {
		return err
	}
	if t.start.State != "" && t.start.State != "open" {
		return nil
	}
	h.triggerMu.Lock()
	defer h.triggerMu.Unlock()
	p, err := h.resolve(ctx, cfg, h.trustFunc(cfg), changeset.Ref{Repo: t.start.Repo, Number: t.start.Number})
	var re *ResolveError
	if errors.As(err, &re) {
		err = re.Err
	}
	if err != nil {
		if retryable(err) {
			return fmt.Errorf("resolve the changeset of %s: %w", t.start.Ref(), err)
		}
		u, err := h.reportResolutionError(ctx, cfg.Config, t.start, err)
		if u != nil {
			h.handled.Unresolved = append(h.handled.Unresolved, *u)
		}
		return err
	}
	plans, err := h.linkedBy(ctx, cfg, p)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(plans))
	for _, p := range plans {
		p.AllTests = t.all
		if err := h.admit(ctx, p, t); err != nil {
			return err
		}
		keys = append(keys, p.Changeset.Key)
	}
	return h.runs.settle(ctx, t.start.Ref(), keys)
}

// linkedBy returns the plans a trigger of p's start makes. A changeset
// resolved from an untrusted PR is reported only on its untrusted members
// (reportMembers); but a trusted member whose own Depends-On names that
// PR linked it on purpose, and its changeset holds the PR too: a push to
// the PR changes it, so it is planned as well, from the trusted member.
// When that is the same changeset, only the trusted one is kept, and it
// is reported on every member.
func (h *eventState) linkedBy(ctx context.Context, cfg *ConfigFile, p *Plan) ([]*Plan, error) {
	var start *changeset.Member
	for i, m := range p.Changeset.Members {
		if isStart(m) {
			start = &p.Changeset.Members[i]
		}
	}
	if start == nil || start.Trusted {
		return []*Plan{p}, nil
	}
	names := changeset.LinkDependsOn(changeset.Ref{Repo: start.PR.Repo, Number: start.PR.Number})
	var out []*Plan
	keys := map[string]bool{}
	for _, m := range p.Changeset.Members {
		if !m.Trusted || !slices.Contains(m.Links, names) {
			continue
		}
		q, err := h.resolve(ctx, cfg, h.trustFunc(cfg), changeset.Ref{Repo: m.PR.Repo, Number: m.PR.Number})
		var re *ResolveError
		if errors.As(err, &re) && !retryable(re.Err) {
			// The trusted PR's own changeset is broken: its own events
			// report that on it.
			h.logger(ctx).WithError(err).Info("the changeset of a trusted PR that links this one cannot be resolved")
			continue
		}
		if err != nil {
			return nil, err
		}
		if !keys[q.Changeset.Key] {
			keys[q.Changeset.Key] = true
			out = append(out, q)
		}
	}
	if !keys[p.Changeset.Key] {
		out = append(out, p)
	}
	return out, nil
}

// admit decides whether p's code may run, then builds or queues it, or
// reports it waiting for an approval.
func (h *eventState) admit(ctx context.Context, p *Plan, t trigger) error {
	p.Reason = t.reason
	log := h.logger(ctx).WithField(logging.Changeset, p.Changeset.Key)
	ctx = logging.With(ctx, log)
	approvals, err := h.decideTrust(ctx, p, t.approval)
	if err != nil {
		return err
	}
	if t.approval != nil && len(approvals) > 0 {
		h.approvals = append(h.approvals, approvals...)
		log.WithField(logging.User, t.approval.by).WithField(logging.Untrusted, len(approvals)).Info("approval of untrusted heads")
	}
	if !p.Runnable() {
		log.WithField(logging.Untrusted, len(p.Untrusted)).Info("authors not trusted: waiting for an approval")
		// Recorded first: whoever reads the status finds it on the
		// queue page.
		if err := h.runs.wait(ctx, p); err != nil {
			return err
		}
		h.setState(ctx, p, lifecycle.Waiting)
		h.handled.Waiting = append(h.handled.Waiting, Waiting{Plan: p, Description: waitingDescription(p)})
		return nil
	}
	ran, err := h.runs.submit(ctx, p, t.force)
	if ran != nil {
		h.handled.Runs = append(h.handled.Runs, *ran)
	}
	return err
}

// buildNow builds each plan at once, in the caller's goroutine.
type buildNow struct{ b *Bot }

func (i buildNow) submit(ctx context.Context, p *Plan, _ bool) (*Submitted, error) {
	i.b.setState(ctx, p, lifecycle.Queued)
	o := i.b.Build(ctx, p, io.Discard, nil)
	rctx, cancel := reportContext(ctx)
	defer cancel()
	i.b.Report(rctx, p, o)
	return &Submitted{Plan: p, Outcome: o}, nil
}

// Nothing is queued or running beside the build in progress.
func (buildNow) cancel(context.Context, *Plan, *Cancel) (int, error) { return 0, nil }

func (buildNow) latest(_ context.Context, key string) (*store.Run, error) {
	return nil, fmt.Errorf("runs of %s: %w", key, store.ErrNotFound)
}

func (buildNow) closed(context.Context, *changeset.PR, *Cancel) error { return nil }

// The job shows what waits: there is no queue page.
func (buildNow) wait(context.Context, *Plan) error              { return nil }
func (buildNow) settle(context.Context, string, []string) error { return nil }

// reportContext is the context a build's report goes out with: the
// build's own may be cancelled, and the report is still owed. A cancelled
// one gets a few seconds, as a cancelled job has before it is killed.
func reportContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d := time.Minute
	if ctx.Err() != nil {
		d = 5 * time.Second
	}
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}

// retireStaleHeads gives a final state to the heads an older run of the
// changeset was going to test and the newer one no longer does (a member
// was pushed to), so no old commit shows a check that never finishes.
func (b *Bot) retireStaleHeads(ctx context.Context, cfg *workspace.Config, old *store.Run, cs *changeset.Changeset) {
	if old.Changeset == nil {
		return
	}
	now := map[string]string{}
	for _, m := range cs.Members {
		now[m.PR.Ref()] = m.PR.HeadSHA
	}
	var reports []store.Report
	for _, m := range reportMembers(old.Changeset) {
		sha, ok := now[m.PR.Ref()]
		if !ok || sha == m.PR.HeadSHA {
			continue
		}
		desc := fmt.Sprintf("superseded by a newer push to %s (%s)", m.PR.Ref(), text.ShortSHA(sha))
		reports = append(reports, b.stateReport(cfg, m.PR, lifecycle.Done, lifecycle.Superseded, desc, old.ID))
	}
	b.report(ctx, reports...)
}

// reportCancelled reports the plan's run cancelled on every member but
// skip.
func (b *Bot) reportCancelled(ctx context.Context, p *Plan, by *Cancel, skip string) {
	desc := by.describe()
	var reports []store.Report
	for _, m := range reportMembers(p.Changeset) {
		if m.PR.Ref() == skip {
			continue
		}
		reports = append(reports, b.stateReport(p.Config.Config, m.PR, lifecycle.Done, lifecycle.Cancelled, desc, p.Run))
	}
	b.report(ctx, reports...)
}
