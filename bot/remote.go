package bot

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// The service's side of a remote build: the job asks for its plan and
// posts its outcome (JobPlan, JobResult), to whichever replica answers,
// and a watcher finds jobs that died, were cancelled on GitHub, or never
// started. Everything it knows of a dispatch is in the store.

// JobRefusal is a job's request refused; Status is the HTTP status the
// service answers with.
type JobRefusal struct {
	Status int
	Reason string
}

func (r *JobRefusal) Error() string { return r.Reason }

// HTTPStatus is the status to answer with.
func (r *JobRefusal) HTTPStatus() int { return r.Status }

// errBadToken is every authentication failure alike: a wrong token, a
// token of another run, a run with no dispatch. Saying which would tell
// a guesser what exists.
var errBadToken = &JobRefusal{Status: http.StatusUnauthorized, Reason: "the run token is not this run's (fix: the job posts the token it was dispatched with, from WORKSPACE_BOT_RUN_TOKEN)"}

// remote is the queue's remote executor, or nil.
func (q *Queue) remote() *Actions {
	a, _ := q.opt.Executor.(*Actions)
	return a
}

// authorize finds run id's dispatch and checks token against it in
// constant time.
func (q *Queue) authorize(ctx context.Context, id int64, token string) (*store.Dispatch, error) {
	a := q.remote()
	if a == nil {
		return nil, &JobRefusal{Status: http.StatusNotFound, Reason: "this service builds its runs itself (serve --executor local): it takes no job results"}
	}
	d, err := a.opt.Dispatches.GetDispatch(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		// Hash anyway, so a run with no dispatch takes as long as one
		// with a wrong token.
		subtle.ConstantTimeCompare([]byte(TokenHash(token)), []byte(strings.Repeat("0", 64)))
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	if token == "" || subtle.ConstantTimeCompare([]byte(TokenHash(token)), []byte(d.TokenHash)) != 1 {
		return nil, errBadToken
	}
	return d, nil
}

// ended is the refusal of a job whose dispatch is over.
func ended(d *store.Dispatch) error {
	return &JobRefusal{Status: http.StatusConflict, Reason: fmt.Sprintf("run %d's build is over (%s): a newer push, a cancel, or a lost job ended it; stop", d.Run, d.Ended)}
}

// JobPlan answers the job of run id, authenticated by token, with what
// to build (a RemoteJob as JSON), and records that it started;
// workflowRun, when not 0, is the workflow run it runs in.
func (q *Queue) JobPlan(ctx context.Context, id int64, token string, workflowRun int64) ([]byte, error) {
	d, err := q.authorize(ctx, id, token)
	if err != nil {
		return nil, err
	}
	if !d.Live() {
		if d.Ended != "" || d.ResultAt.IsZero() {
			return nil, ended(d)
		}
		return nil, &JobRefusal{Status: http.StatusConflict, Reason: fmt.Sprintf("run %d's result is in already", id)}
	}
	st := q.remote().opt.Dispatches
	if ok, err := st.StartDispatch(ctx, id, d.TokenHash); err != nil {
		return nil, err
	} else if !ok {
		return nil, ended(d)
	}
	if workflowRun != 0 && d.WorkflowRun == 0 {
		st.SetWorkflowRun(ctx, id, d.TokenHash, workflowRun, "")
	}
	q.b.logger(ctx).WithFields(map[string]any{logging.Run: id, logging.WorkflowRun: workflowRun}).Info("the run's job started")
	return d.Job, nil
}

// JobResult takes the outcome the job of run id posted (a JobResult as
// JSON), authenticated by token, and finishes the run through the same
// path a local build takes: the result and its reports in one
// transaction, then sent. The same body posted again is answered as the
// first was; any other after it is refused.
func (q *Queue) JobResult(ctx context.Context, id int64, token string, body []byte) error {
	d, err := q.authorize(ctx, id, token)
	if err != nil {
		return err
	}
	if len(body) > MaxJobResult {
		return &JobRefusal{Status: http.StatusRequestEntityTooLarge, Reason: fmt.Sprintf("the result is %d bytes, over %d (fix: send at most the last %d bytes of the log)", len(body), MaxJobResult, MaxJobLog)}
	}
	var job RemoteJob
	if err := json.Unmarshal(d.Job, &job); err != nil {
		return fmt.Errorf("run %d: the stored job cannot be read: %w", id, err)
	}
	var jr JobResult
	if err := json.Unmarshal(body, &jr); err != nil {
		return &JobRefusal{Status: http.StatusBadRequest, Reason: "the result is not JSON of a job result: " + err.Error()}
	}
	if err := job.check(jr.Result); err != nil {
		return &JobRefusal{Status: http.StatusBadRequest, Reason: "the result is refused: " + err.Error()}
	}
	st := q.remote().opt.Dispatches
	sum := sha256.Sum256(body)
	first, err := st.RecordDispatchResult(ctx, id, d.TokenHash, hex.EncodeToString(sum[:]))
	switch {
	case errors.Is(err, store.ErrResultRecorded):
		return &JobRefusal{Status: http.StatusConflict, Reason: fmt.Sprintf("run %d has a different result already; a result is posted once", id)}
	case errors.Is(err, store.ErrDispatchEnded):
		return &JobRefusal{Status: http.StatusConflict, Reason: fmt.Sprintf("run %d's build is over: a newer push, a cancel, or a lost job ended it; its result is not wanted", id)}
	case err != nil:
		return err
	}
	r, err := q.opt.Runs.GetRun(ctx, id)
	if err != nil {
		return err
	}
	if r.State != lifecycle.Building {
		if first {
			return &JobRefusal{Status: http.StatusConflict, Reason: fmt.Sprintf("run %d is %s: its result is not wanted", id, r.Label())}
		}
		return nil // the same result again, taken the first time
	}
	log := q.log.WithFields(map[string]any{logging.Run: id, logging.Changeset: r.Key})
	// The job censors its output; the token is censored here too, since
	// whoever posts this holds it.
	censor := func(s string) string { return strings.ReplaceAll(s, token, "***") }
	if first && jr.Log != "" {
		tail := jr.Log
		if len(tail) > MaxJobLog {
			tail = tail[len(tail)-MaxJobLog:]
		}
		if err := q.opt.Runs.AppendLog(ctx, id, []byte(censor(tail))); err != nil {
			log.WithError(err).Warn("storing the job's log failed")
		}
	}
	res := jr.Result
	res.Error = censor(res.Error)
	for i := range res.Steps {
		res.Steps[i].LogTail = censor(res.Steps[i].LogTail)
		res.Steps[i].Log = censor(res.Steps[i].Log)
	}
	p, err := q.storedPlan(ctx, r)
	if err != nil {
		return err
	}
	p.Pins = job.Pins
	res.RetriedFlaky = job.RetriedFlaky
	// [workspace.ci].retry_flaky, as a local build does it: the run is
	// built again, whole, on a new dispatch, and only the last result is
	// reported and its tests recorded.
	if retry := p.Config.Workspace.CI.RetryFlaky; first && job.RetriedFlaky < retry && q.b.onlyFlakyFailed(ctx, res) {
		ok, err := st.RetryDispatch(ctx, id, d.TokenHash, store.RetryFlaky)
		if err != nil {
			return err
		}
		if ok {
			log.Info("every failing test is known to be flaky: the run is dispatched again")
			q.appendLog(ctx, id, flakyRetryLine(job.RetriedFlaky+1, retry))
			q.wakeRuns(q.b.clock.Now())
			return nil
		}
	}
	state := q.finish(id, p, &Outcome{Result: res}, log)
	log.WithField(logging.State, state).Info("run ended on GitHub Actions")
	if q.opt.OnRun != nil {
		q.opt.OnRun(state, q.b.clock.Now().Sub(r.StartedAt))
	}
	q.b.landingsAfter(context.WithoutCancel(ctx))
	return nil
}

// workflowMoved wakes the watcher when a workflow run that builds a live
// dispatch completed. Every workflow run of every repository the App is
// installed on sends these events: the others are passed over with one
// lookup, and a run GitHub did not name at the dispatch is left to the
// poll.
func (q *Queue) workflowMoved(ctx context.Context, e *WorkflowEvent) {
	if e.Action != "completed" || e.RunID == 0 {
		return
	}
	d, err := q.remote().opt.Dispatches.DispatchOfWorkflowRun(ctx, e.RunID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			q.b.logger(ctx).WithError(err).Warn("looking up the run a workflow run builds failed; the poll will look")
		}
		return
	}
	if d.Live() {
		q.WakeDispatches()
	}
}

// WakeDispatches makes the watcher check the live dispatches now: a
// workflow_run or workflow_job event came.
func (q *Queue) WakeDispatches() {
	select {
	case q.dispatchWake <- struct{}{}:
	default:
	}
}

// watchLoop checks the live dispatches every CheckEvery, and when woken.
func (q *Queue) watchLoop() {
	defer q.loops.Done()
	a := q.remote()
	t := time.NewTicker(a.opt.Check)
	defer t.Stop()
	for {
		if _, err := q.checkDispatches(q.claimCtx); err != nil && q.claimCtx.Err() == nil {
			q.log.WithError(err).Warn("checking the runs on GitHub Actions failed")
		}
		select {
		case <-q.claimCtx.Done():
			return
		case <-t.C:
		case <-q.dispatchWake:
		}
	}
}

// checkDispatches finds the live dispatches whose job is lost and
// retries each once, then reports it as an error; acted says it found
// one. Any replica may do it: the store lets one act on each lost job.
func (q *Queue) checkDispatches(ctx context.Context) (acted bool, err error) {
	a := q.remote()
	if a == nil {
		return false, nil
	}
	live, err := a.opt.Dispatches.LiveDispatches(ctx)
	if err != nil {
		return false, err
	}
	var errs []error
	for i := range live {
		d := &live[i]
		why, err := a.check(ctx, d, q.b.clock.Now())
		if err != nil {
			errs = append(errs, fmt.Errorf("run %d: %w", d.Run, err))
			continue
		}
		if why == "" {
			continue
		}
		r, err := q.opt.Runs.GetRun(ctx, d.Run)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p, err := q.storedPlan(ctx, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		q.lost(ctx, a, p, d, why)
		acted = true
	}
	return acted, errors.Join(errs...)
}

// lost handles a job that will not post a result: its first attempt is
// retried, with an error status that says so; its second is the run's
// result, an error.
func (q *Queue) lost(ctx context.Context, a *Actions, p *Plan, d *store.Dispatch, why string) {
	log := q.b.logger(ctx).WithFields(map[string]any{logging.Run: d.Run, logging.WorkflowRun: d.WorkflowRun, logging.Attempts: d.Attempt})
	// Whatever is left of it must not build on.
	if d.WorkflowRun != 0 {
		if err := a.cancelWorkflow(ctx, d.Run, d); err != nil {
			log.WithError(err).Warn("cancelling the lost job's workflow run failed")
		}
	}
	// Attempts that were builds again for flaky tests were not lost.
	var job RemoteJob
	json.Unmarshal(d.Job, &job)
	lostAttempts := d.Attempt - job.RetriedFlaky
	if lostAttempts < dispatchAttempts {
		ok, err := a.opt.Dispatches.RetryDispatch(ctx, d.Run, d.TokenHash, store.RetryLost)
		if err != nil || !ok {
			return // another replica took it, or the run ended
		}
		log.Warn("the run's job is lost; dispatching it once more: " + why)
		q.appendLog(ctx, d.Run, "\n--- the run's job is lost: "+why+"; dispatching it once more\n")
		q.b.report(ctx, q.b.stateReports(p, lifecycle.Done, lifecycle.Error, "job lost, retrying once: "+why, nil)...)
		q.wakeRuns(q.b.clock.Now())
		return
	}
	ok, err := a.opt.Dispatches.EndDispatch(ctx, d.Run, d.TokenHash, store.RetryLost)
	if err != nil || !ok {
		return
	}
	log.Warn("the run's job is lost again; the run ends in an error: " + why)
	res := &ci.Result{Result: ci.Error, Changeset: p.Changeset.Key, RetriedFlaky: job.RetriedFlaky, Error: fmt.Sprintf(
		"the run was dispatched to GitHub Actions %d times and each job was lost; the last: %s (comment %s test to try again)", lostAttempts, why, p.Config.CommandWord())}
	q.finish(d.Run, p, &Outcome{Result: res}, log)
}

func (q *Queue) appendLog(ctx context.Context, id int64, s string) {
	if err := q.opt.Runs.AppendLog(ctx, id, []byte(s)); err != nil {
		q.b.logger(ctx).WithError(err).Warn("storing a line of the run's log failed")
	}
}

// setStateAt reports st on every member of p, described by what and
// linking target (the run page when "").
func (b *Bot) setStateAt(ctx context.Context, p *Plan, st lifecycle.State, what, target string) {
	if target == "" {
		b.setState(ctx, p, st)
		return
	}
	desc := lifecycle.Show(st, "").Short + " " + what + ": " + describeMembers(p.Changeset)
	var reports []store.Report
	for _, m := range reportMembers(p.Changeset) {
		reports = append(reports, b.stateReportTo(p.Config.Config, m.PR, st, "", desc, p.Run, target))
	}
	b.report(ctx, reports...)
}
