package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/backoff"
	"github.com/provide-io/workspace-bot/internal/gherror"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/mdescape"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/internal/text"
	"github.com/provide-io/workspace-bot/lifecycle"
	"github.com/provide-io/workspace-bot/workspace"
)

// Outbox keeps the reports the bot owes GitHub until GitHub has accepted
// them, and the check run it keeps on each head. *store.Store is one.
type Outbox interface {
	AddReports(ctx context.Context, reports ...store.Report) error
	PendingReport(ctx context.Context, target string) (*store.Report, error)
	DueReports(ctx context.Context, now time.Time, after int64, limit int) ([]store.Report, error)
	ReportSent(ctx context.Context, id int64) error
	ReportFailed(ctx context.Context, id int64, why string, retry time.Time, giveUp bool) error
	NextReportDue(ctx context.Context) (time.Time, bool, error)
	CheckRun(ctx context.Context, repo, sha, name string) (store.CheckRunRecord, bool, error)
	SetCheckRun(ctx context.Context, c store.CheckRunRecord) error
}

// Kinds of report.
const (
	kindState   = "state"   // a commit status or check run on a head
	kindSummary = "summary" // the summary comment on a PR
)

// Report retry timing: a failed send is tried again after a second,
// doubling up to a minute, and the sweep runs at least once a minute.
const (
	reportRetryFirst = time.Second
	ReportSweep      = time.Minute
	reportBatch      = 100
)

// payload is what a report says, as the outbox keeps it.
type payload struct {
	Repo   string `json:"repo"`
	Number int    `json:"number,omitempty"`
	SHA    string `json:"sha,omitempty"`
	// A state on the head SHA: where the run is, and how it ended once
	// Phase is done. State is the commit status state, kept for reports
	// stored before they carried the phase.
	Phase       lifecycle.State  `json:"phase,omitempty"`
	Result      lifecycle.Result `json:"result,omitempty"`
	State       string           `json:"state,omitempty"`
	Context     string           `json:"context,omitempty"`
	Description string           `json:"description,omitempty"`
	TargetURL   string           `json:"target_url,omitempty"`
	// Annotations are the failing tests in this head's repository, for
	// a check run.
	Annotations []Annotation `json:"annotations,omitempty"`
	// The summary comment on PR Number.
	Body string `json:"body,omitempty"`
}

func (o payload) ref() string { return fmt.Sprintf("%s#%d", o.Repo, o.Number) }

// shown is how the state shows on GitHub. A report stored before reports
// carried their phase has only the commit status state: it shows as that
// state did, and a pending one as queued.
func (o payload) shown() lifecycle.Shown {
	if o.Phase != "" {
		return lifecycle.Show(o.Phase, o.Result)
	}
	if o.State == "pending" {
		return lifecycle.Show(lifecycle.Queued, "")
	}
	return lifecycle.Show(lifecycle.Done, lifecycle.Result(o.State))
}

// stateReport is the state of pr's head under cfg's status context. Its
// description is plain text GitHub shows as written: one line, no control
// characters (it carries branch names and commands).
//
// A changeset that waits for an approval before any run has one links
// the queue page of the PR, which says whose code waits.
func (b *Bot) stateReport(cfg *workspace.Config, pr *changeset.PR, st lifecycle.State, res lifecycle.Result, desc string, run int64, ann ...Annotation) store.Report {
	target := b.runURL(run)
	if target == "" && st == lifecycle.Waiting {
		target = b.queueURL(url.Values{"repo": {pr.Repo}, "pr": {strconv.Itoa(pr.Number)}})
	}
	return b.stateReportTo(cfg, pr, st, res, desc, run, target, ann...)
}

// stateReportTo is stateReport linking target: a run built on GitHub
// Actions links its workflow run while it builds.
func (b *Bot) stateReportTo(cfg *workspace.Config, pr *changeset.PR, st lifecycle.State, res lifecycle.Result, desc string, run int64, target string, ann ...Annotation) store.Report {
	o := payload{Repo: pr.Repo, Number: pr.Number, SHA: pr.HeadSHA, Phase: st, Result: res, Context: cfg.StatusContext(),
		Description: text.Truncate(mdescape.Plain(desc), maxDescription), TargetURL: target, Annotations: ann}
	return newReport(kindState, fmt.Sprintf("state %s@%s %s", strings.ToLower(o.Repo), o.SHA, o.Context), run, o)
}

// summaryReport is the summary comment on pr.
func summaryReport(pr *changeset.PR, body string, run int64) store.Report {
	o := payload{Repo: pr.Repo, Number: pr.Number, Body: body}
	return newReport(kindSummary, fmt.Sprintf("summary %s#%d", strings.ToLower(o.Repo), o.Number), run, o)
}

func newReport(kind, target string, run int64, o payload) store.Report {
	payload, err := json.Marshal(o)
	if err != nil {
		// Strings and numbers only: Marshal cannot fail.
		panic(fmt.Sprintf("bot: encode a report: %v", err))
	}
	return store.Report{Run: run, Target: target, Kind: kind, Payload: payload}
}

// report records reports in the outbox, in one transaction, and sends them
// now; what GitHub does not accept now is sent again later (sweep).
// Without an outbox, or when the store fails, they are sent once.
func (b *Bot) report(ctx context.Context, reports ...store.Report) {
	if len(reports) == 0 {
		return
	}
	if b.rec != nil {
		// The caller sends them now; the sweep only takes over if that
		// fails, or the process dies first (every start sends them all).
		due := b.clock.Now().Add(ReportSweep)
		for i := range reports {
			reports[i].NotBefore = due
		}
		err := b.rec.AddReports(ctx, reports...)
		if err == nil {
			b.sendNow(ctx, reports)
			return
		}
		b.logger(ctx).WithError(err).Error("recording reports failed: sending them once, without retries")
	}
	for i := range reports {
		r := &reports[i]
		mu := b.reportLock(r.Target)
		mu.Lock()
		err := b.send(ctx, r)
		mu.Unlock()
		if err != nil {
			b.logger(ctx).WithError(err).WithField(logging.Report, r.Target).Warn("sending a report failed")
		}
	}
}

// sendNow sends the pending report of each report's target, in order.
// Failures are recorded for the sweep.
func (b *Bot) sendNow(ctx context.Context, reports []store.Report) {
	for _, r := range reports {
		b.sendTarget(ctx, r.Target) //nolint:errcheck // recorded in the outbox and logged
	}
}

// sendTarget sends the pending report of target, if it still has one.
// The target's lock keeps its reports in order: a report replaced while
// another goroutine sends it is sent before its replacement, never after.
func (b *Bot) sendTarget(ctx context.Context, target string) error {
	mu := b.reportLock(target)
	mu.Lock()
	defer mu.Unlock()
	release, ok := b.claimTarget(ctx, target)
	if !ok {
		return nil
	}
	defer release()
	r, err := b.rec.PendingReport(ctx, target)
	if err != nil || r == nil {
		return err
	}
	return b.attempt(ctx, r)
}

// attempt sends r and records how it went: sent once GitHub accepted it,
// else tried again later, or never when asking again cannot help.
func (b *Bot) attempt(ctx context.Context, r *store.Report) error {
	err := b.send(ctx, r)
	// The caller's context may be over (a cancelled build, a shutdown);
	// what happened is recorded all the same.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	log := b.logger(ctx).WithFields(map[string]any{logging.Report: r.Target, logging.Run: r.Run})
	if err == nil {
		if merr := b.rec.ReportSent(rctx, r.ID); merr != nil {
			log.WithError(merr).Warn("GitHub accepted a report, but marking it sent failed; it will be sent again")
			return merr
		}
		return nil
	}
	giveUp := final(err)
	retry := b.clock.Now().Add(reportBackoff(r.Attempts + 1))
	if merr := b.rec.ReportFailed(rctx, r.ID, err.Error(), retry, giveUp); merr != nil {
		log.WithError(merr).Error("recording a failed report failed")
	}
	switch {
	case giveUp && b.opt.QuietRefusals:
		log.WithError(err).Debug("GitHub refused a report; it is not sent again")
	case giveUp:
		log.WithError(err).Error("GitHub refused a report; it is not sent again")
	default:
		log.WithError(err).WithField(logging.Attempts, r.Attempts+1).Warn("sending a report failed; it is sent again later")
		b.wakeSweep()
	}
	return err
}

// send sends one report to GitHub.
func (b *Bot) send(ctx context.Context, r *store.Report) error {
	var o payload
	if err := json.Unmarshal(r.Payload, &o); err != nil {
		return &badReport{fmt.Errorf("report %d: its record cannot be read: %w", r.ID, err)}
	}
	switch r.Kind {
	case kindState:
		return b.sendState(ctx, o, r.Run)
	case kindSummary:
		return b.upsertSummary(ctx, o.Repo, o.Number, o.Body)
	}
	return &badReport{fmt.Errorf("report %d: unknown kind %q", r.ID, r.Kind)}
}

// badReport is a report that can never be sent.
type badReport struct{ err error }

func (e *badReport) Error() string { return e.err.Error() }
func (e *badReport) Unwrap() error { return e.err }

// final says whether asking GitHub again cannot help: the PR or commit
// is gone or out of reach, GitHub refused the request itself, the
// changeset is wrong (a resolution error to report, not retry), or the
// report is unreadable. Everything else (5xx, rate limits outlasting the
// client's wait, the network, bad credentials an operator can fix) is
// tried again: a delivery's handling, a report's send. It is the one
// answer to that question in the bot.
func final(err error) bool {
	var bad *badReport
	var ce *changeset.Error
	return errors.As(err, &bad) || errors.As(err, &ce) || gherror.Final(err)
}

// retryable is !final, as the handlers ask it.
func retryable(err error) bool { return !final(err) }

// reportBackoff is how long to wait before the nth attempt of a report.
func reportBackoff(n int) time.Duration {
	return backoff.Policy{First: reportRetryFirst, Max: ReportSweep}.Wait(n)
}

func (b *Bot) reportLock(target string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(target))
	return &b.reportLocks[h.Sum32()%uint32(len(b.reportLocks))]
}

// wakeSweep tells the sweep a report is due sooner than it planned.
func (b *Bot) wakeSweep() {
	select {
	case b.sweepWake <- struct{}{}:
	default:
	}
}

// sweep sends the pending reports due now, oldest first, or every
// pending one when all. It makes one pass: a report that fails again
// waits for its next turn.
func (b *Bot) sweep(ctx context.Context, all bool) error {
	now := b.clock.Now()
	if all {
		now = time.Time{}
	}
	var after int64
	for {
		due, err := b.rec.DueReports(ctx, now, after, reportBatch)
		if err != nil {
			return err
		}
		for _, r := range due {
			after = r.ID
			b.sendTarget(ctx, r.Target) //nolint:errcheck // recorded in the outbox and logged
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if len(due) < reportBatch {
			return nil
		}
	}
}

// Refusal is a report GitHub refused for good: the PR it was for shows
// nothing of it.
type Refusal struct {
	Repo   string
	Number int
	// Summary is true for the summary comment, false for the status or
	// check run on the head.
	Summary bool
	Error   string
}

// Refused lists the reports GitHub refused for good, when the outbox
// keeps them (*store.Store does), so a caller can name the PRs left
// without a report.
func (b *Bot) Refused(ctx context.Context) ([]Refusal, error) {
	lister, ok := b.rec.(interface {
		FailedReports(ctx context.Context) ([]store.Report, error)
	})
	if !ok {
		return nil, nil
	}
	reports, err := lister.FailedReports(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Refusal, 0, len(reports))
	for _, r := range reports {
		var o payload
		if err := json.Unmarshal(r.Payload, &o); err != nil {
			continue // a report that cannot be read was never for a PR
		}
		out = append(out, Refusal{Repo: o.Repo, Number: o.Number, Summary: r.Kind == kindSummary, Error: r.Error})
	}
	return out, nil
}

// Flush sends every pending report, trying again with backoff until all
// are sent or ctx ends, and says how many are left. The Action calls it
// before it exits, so it gives the outbox's guarantee within its run.
func (b *Bot) Flush(ctx context.Context) (int, error) {
	if b.rec == nil {
		return 0, nil
	}
	for n := 1; ; n++ {
		if err := b.sweep(ctx, true); err != nil {
			return 0, err
		}
		left, err := b.rec.DueReports(ctx, time.Time{}, 0, reportBatch)
		if err != nil || len(left) == 0 {
			return len(left), err
		}
		t := time.NewTimer(reportBackoff(n))
		select {
		case <-ctx.Done():
			t.Stop()
			return len(left), ctx.Err()
		case <-t.C:
		}
	}
}

// Claimer is an outbox shared by several replicas: a name claimed by one
// is refused to the others until released, or until the replica that
// holds it dies. *store.Store is one.
type Claimer interface {
	// Shared says whether other replicas use the store at all.
	Shared() bool
	ClaimName(ctx context.Context, name string) (bool, error)
	ReleaseName(ctx context.Context, name string) error
}

// claimer is the store's Claimer when other replicas share it, else nil.
func (b *Bot) claimer() Claimer {
	if c, ok := b.rec.(Claimer); ok && c.Shared() {
		return c
	}
	return nil
}

// claimOnce tries once to take name for this replica; release gives it
// up, even after ctx ends.
func claimOnce(ctx context.Context, c Claimer, name string) (release func(), got bool, err error) {
	if got, err = c.ClaimName(ctx, name); !got || err != nil {
		return nil, false, err
	}
	return func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		c.ReleaseName(rctx, name) //nolint:errcheck // the lease runs out if this fails
	}, true, nil
}

// claimTarget takes target for this replica, so that no other writes to
// it at once: two replicas sending a PR's first summary would both create
// a comment. A target another replica holds is tried a few times, for a
// send takes a fraction of a second; then it is left to the sweep, which
// is woken. ok is false when the target was not taken.
func (b *Bot) claimTarget(ctx context.Context, target string) (release func(), ok bool) {
	c := b.claimer()
	if c == nil {
		return func() {}, true
	}
	for i := 0; i < 50; i++ {
		release, got, err := claimOnce(ctx, c, "report "+target)
		if err != nil {
			b.logger(ctx).WithError(err).WithField(logging.Report, target).Warn("claiming a report's target failed; the sweep tries again")
			b.wakeSweep()
			return nil, false
		}
		if got {
			return release, true
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(100 * time.Millisecond):
		}
	}
	b.wakeSweep()
	return nil, false
}

// holdName waits until this replica holds name, when replicas share the
// store, and returns its release: landings lock their repositories across
// replicas as within one. It gives up when ctx ends.
func (b *Bot) holdName(ctx context.Context, name string) func() {
	c := b.claimer()
	if c == nil {
		return func() {}
	}
	for {
		release, got, err := claimOnce(ctx, c, name)
		if got {
			return release
		}
		if err != nil {
			b.logger(ctx).WithError(err).WithField(logging.Changeset, name).Warn("claiming a lock shared by the replicas failed; trying again")
		}
		select {
		case <-ctx.Done():
			return func() {}
		case <-time.After(200 * time.Millisecond):
		}
	}
}
