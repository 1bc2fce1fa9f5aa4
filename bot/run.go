package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/workspace"
)

// MaxRunAttempts is how many times a run is started before an
// interrupted one is reported as an error instead of queued again.
const MaxRunAttempts = 5

// executeRun builds a claimed run and reports it. A run cancelled because
// the service stops goes back to the queue; one superseded by a newer run
// reports nothing (the newer run will); every other end is reported on
// every member.
func (b *Bot) executeRun(r *store.Run) {
	log := b.log.WithFields(map[string]any{logging.Run: r.ID, logging.Changeset: r.Key})
	ctx, cancel := context.WithCancelCause(logging.With(b.jobCtx, log))
	defer cancel(nil)
	start := time.Now()

	b.mu.Lock()
	stopping := b.stopped
	if !stopping {
		b.active[r.ID] = &activeRun{key: r.Key, runID: r.RunID, cancel: cancel}
	}
	b.mu.Unlock()
	if stopping {
		b.requeue(r.ID, log)
		return
	}
	defer func() {
		b.mu.Lock()
		delete(b.active, r.ID)
		b.mu.Unlock()
	}()

	var panicCS *changeset.Changeset
	if cs := new(changeset.Changeset); json.Unmarshal(r.Changeset, cs) == nil && len(cs.Members) > 0 {
		panicCS = cs
	}
	state := func() (state string) {
		defer func() {
			if p := recover(); p != nil {
				log.WithField(logging.Stack, string(debug.Stack())).Errorf("panic in run: %v", p)
				state = store.RunError
				b.finish(r, panicCS, &ci.Result{Result: ci.Error, Changeset: r.Key, Error: fmt.Sprintf("the bot failed: %v", p)}, log)
			}
		}()
		return b.build(ctx, r)
	}()
	log.WithFields(map[string]any{logging.State: state, logging.Duration: time.Since(start).Milliseconds()}).Info("run ended")
	if b.opt.OnRun != nil && state != "" {
		b.opt.OnRun(state, time.Since(start))
	}
}

// build runs r and returns its final state, or "" when it was put back.
func (b *Bot) build(ctx context.Context, r *store.Run) string {
	log := b.logger(ctx)
	var cs changeset.Changeset
	if err := json.Unmarshal(r.Changeset, &cs); err != nil || len(cs.Members) == 0 {
		res := &ci.Result{Result: ci.Error, Changeset: r.Key, Error: fmt.Sprintf("run %d has no readable changeset", r.ID)}
		return b.finish(r, nil, res, log)
	}
	if r.Attempts > MaxRunAttempts {
		// A run that kills the service (or is cut short by every restart)
		// must not loop forever: report it and let a person re-run it.
		res := &ci.Result{Result: ci.Error, Changeset: cs.Key, Error: fmt.Sprintf(
			"the run was interrupted %d times before it could finish; comment %s test to try again",
			r.Attempts-1, workspace.DefaultCommand)}
		return b.finish(r, &cs, res, log)
	}
	cfg, err := b.opt.Config(ctx)
	if err != nil {
		if context.Cause(ctx) == errShutdown {
			b.requeue(r.ID, log)
			return ""
		}
		res := &ci.Result{Result: ci.Error, Changeset: cs.Key, Error: "reading the workspace config failed: " + err.Error()}
		return b.finish(r, &cs, res, log)
	}
	// The changeset may have been coalesced with an event resolved after
	// the approval: fork code runs only for approved heads.
	if forks, err := b.untrustedForks(ctx, &cs, cfg.Trusted()); err != nil || len(forks) > 0 {
		ok := false
		if err == nil {
			ok, err = b.st.Approved(ctx, cs.Key, approvalSHAs(&cs))
		}
		if err != nil {
			res := &ci.Result{Result: ci.Error, Changeset: cs.Key, Error: "checking trust failed: " + err.Error()}
			return b.finish(r, &cs, res, log)
		}
		if !ok {
			log.Info("heads not approved: the run waits for a trusted command")
			b.setState(ctx, cfg, &cs, "pending", fmt.Sprintf("waiting for a trusted %s test: %s is from a fork", cfg.CommandWord(), forks[0].Ref()), r.ID)
			b.finishQuiet(r, store.RunCancelled, log)
			return store.RunCancelled
		}
	}

	// A run superseded or cancelled while it was being claimed must not
	// post "running" over the state its canceller just reported.
	if ctx.Err() == nil {
		b.setState(ctx, cfg, &cs, "pending", "running: "+describeMembers(&cs), r.ID)
	}
	out := &logWriter{ctx: ctx, st: b.st, id: r.ID}
	res, err := b.opt.Builder.Run(ctx, ci.Request{
		Config:    cfg,
		Pins:      Pins(cfg, &cs),
		Changeset: cs.Key,
		Output:    out,
	})
	cause := context.Cause(ctx)
	switch {
	case cause == errShutdown:
		b.requeue(r.ID, log)
		return ""
	case cause == errSuperseded:
		b.finishQuiet(r, store.RunCancelled, log)
		return store.RunCancelled
	}
	if res == nil {
		res = &ci.Result{Result: ci.Error, Changeset: cs.Key}
	}
	if err != nil && res.Result != ci.Cancelled {
		res.Result = ci.Error
		if res.Error == "" {
			res.Error = err.Error()
		}
	}
	var by *cancelledBy
	if errors.As(cause, &by) {
		res.Result = ci.Cancelled
		res.Error = by.Error()
	}
	return b.finish(r, &cs, res, log)
}

// finish records res and reports it on every member.
func (b *Bot) finish(r *store.Run, cs *changeset.Changeset, res *ci.Result, log logrus.FieldLogger) string {
	state := res.Result
	switch state {
	case ci.Success, ci.Failure, ci.Error, ci.Cancelled:
	default:
		state = store.RunError
	}
	data, _ := json.Marshal(res)
	// The run's own context may be cancelled; reporting still happens.
	ctx, cancel := context.WithTimeout(logging.With(context.Background(), log), time.Minute)
	defer cancel()
	if err := b.st.FinishRun(ctx, r.ID, state, data); err != nil {
		log.WithError(err).Error("recording the run's result failed")
	}
	if cs == nil {
		return state
	}
	cfg, err := b.opt.Config(ctx)
	if err != nil {
		log.WithError(err).Error("reading the workspace config to report failed")
		return state
	}
	desc := describeResult(res, cs)
	if res.Result == ci.Cancelled && res.Error != "" {
		desc = res.Error
	}
	b.setState(ctx, cfg, cs, statusState(res.Result), desc, r.ID)
	headline := map[string]string{ci.Success: "passed", ci.Failure: "failed", ci.Error: "could not finish", ci.Cancelled: "cancelled"}[res.Result]
	if headline == "" {
		headline = res.Result
	}
	s := Summary{
		Context: cfg.StatusContext(), Command: cfg.CommandWord(), State: res.Result,
		Headline: headline, RunURL: b.runURL(r.ID), Key: cs.Key,
		Members: summaryMembers(cs), Steps: res.Steps, Failed: res.FirstFailure(),
	}
	if res.Result != ci.Success && res.Error != "" {
		s.Problem = res.Error
	}
	b.postSummary(ctx, cs, s)
	return state
}

// finishQuiet records a final state without reporting it.
func (b *Bot) finishQuiet(r *store.Run, state string, log logrus.FieldLogger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.st.FinishRun(ctx, r.ID, state, nil); err != nil {
		log.WithError(err).Warn("recording the run's end failed")
	}
}

// requeue puts a run back in the queue for the next start.
func (b *Bot) requeue(id int64, log logrus.FieldLogger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.st.SetRunState(ctx, id, store.RunQueued); err != nil {
		log.WithError(err).Warn("putting the run back in the queue failed; the next start requeues it")
		return
	}
	log.Info("run put back in the queue")
}

// Pins says what ci checks out for each member: its pinned head, merged
// onto its base in merge mode, fetched from refs/pull/N/head of the
// sibling's own repository. GitHub keeps that ref for every PR, forks
// included, so fork code is fetched without cloning the fork (which may be
// gone, private, or rewritten since the approval: the SHA is pinned).
func Pins(cfg *workspace.Config, cs *changeset.Changeset) map[string]ci.Pin {
	pins := make(map[string]ci.Pin, len(cs.Members))
	for _, m := range cs.Members {
		pr := m.PR
		name := m.Sibling
		if name == "" {
			if s := cfg.SiblingByRepo(pr.Repo); s != nil {
				name = s.Name
			} else {
				name = cfg.Workspace.Name
			}
		}
		p := ci.Pin{Ref: pr.HeadRef, SHA: pr.HeadSHA, FetchRef: fmt.Sprintf("refs/pull/%d/head", pr.Number)}
		if cfg.Workspace.CI.Checkout != workspace.CheckoutHead {
			p.Base = pr.BaseRef
		}
		pins[name] = p
	}
	return pins
}

// logWriter streams a run's output into the store, where the run page
// reads it while the run goes on.
type logWriter struct {
	ctx context.Context
	st  Store
	id  int64
}

func (w *logWriter) Write(p []byte) (int, error) {
	chunk := append([]byte(nil), p...)
	ctx := w.ctx
	if ctx.Err() != nil {
		// The tail of a cancelled run still belongs in its log.
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ctx = c
	}
	if err := w.st.AppendLog(ctx, w.id, chunk); err != nil {
		return 0, err
	}
	return len(p), nil
}
