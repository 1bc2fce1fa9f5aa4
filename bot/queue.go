package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/lifecycle"
	"github.com/provide-io/workspace-bot/workspace"
)

// Deliveries are the stored webhook deliveries the queue's workers handle.
type Deliveries interface {
	ClaimDelivery(ctx context.Context) (*store.Delivery, error)
	FinishDelivery(ctx context.Context, id string, handleErr error) error
}

// Runs are the stored runs: what triggers decide, and what the workers
// claim, build and finish.
type Runs interface {
	Trigger(ctx context.Context, r store.Run, force bool, window time.Duration) (store.Triggered, error)
	Release(ctx context.Context, id int64, due time.Time) error
	ClaimRun(ctx context.Context, now time.Time) (*store.Run, error)
	NextRunDue(ctx context.Context) (time.Time, bool, error)
	LatestRun(ctx context.Context, key string) (*store.Run, error)
	GetRun(ctx context.Context, id int64) (*store.Run, error)
	FinishRun(ctx context.Context, id int64, ended lifecycle.Result, result *ci.Result, reports ...store.Report) error
	WaitRun(ctx context.Context, id int64, w store.Waiting) error
	SetWaiting(ctx context.Context, w store.Waiting) error
	SettleWaiting(ctx context.Context, start string, keys []string) error
	SetRunStep(ctx context.Context, id int64, step string, at time.Time) error
	Cancel(ctx context.Context, key string, c lifecycle.Cancel) ([]store.Run, error)
	Requeue(ctx context.Context, id int64) error
	AppendLog(ctx context.Context, runID int64, chunk []byte) error
	RequeueInterrupted(ctx context.Context) (int, error)
	StillRunning(ctx context.Context, ids []int64) (map[int64]bool, error)
}

// QueueOptions configure a Queue.
type QueueOptions struct {
	Deliveries Deliveries
	Runs       Runs
	// Decode reads stored deliveries (gh.DecodeEvent).
	Decode Decoder
	// Workers is how many runs build at once; deliveries are handled by as
	// many workers again (at least two), so a push is read and cancels the
	// run it supersedes while every run worker is busy.
	Workers int
	// CoalesceWindow is how long a queued run waits for more events of
	// its changeset before it starts.
	CoalesceWindow time.Duration
	// Poll bounds how long an idle worker sleeps without a Notify.
	Poll time.Duration
	// OnDelivery and OnRun, when set, are told of each finished job, for
	// metrics.
	OnDelivery func(event, outcome string)
	OnRun      func(state string, d time.Duration)
	// OnLanding, when set, is told how each landing ended.
	OnLanding func(outcome string)
	// Executor builds the runs the workers claim; nil is Local, with the
	// bot's Builder.
	Executor Executor
}

// Defaults.
const (
	DefaultCoalesceWindow = 2 * time.Second
	DefaultWorkers        = 2
	DefaultPoll           = time.Second
)

// maxRunAttempts is how many times a run is started before an
// interrupted one is reported as an error instead of queued again.
const maxRunAttempts = 5

// Queue is the service's shell around the core: events' plans are stored,
// coalesced and superseded in one store transaction each, and workers
// build them. Start it, Notify it when a delivery lands, Stop it to drain.
type Queue struct {
	b   *Bot
	opt QueueOptions
	log logrus.FieldLogger

	wake chan struct{} // a delivery was stored: for the delivery loops
	// runWake wakes the run loops when due, the earliest queued run they
	// know of, comes sooner (runLoop).
	runWake chan struct{}
	dueMu   sync.Mutex
	due     time.Time
	// dispatchWake wakes the watcher of runs built remotely.
	dispatchWake chan struct{}

	// deciding is held (read) while this process stops runs in the store
	// and then cancels its own builds of them, and (write) while
	// stopEnded looks for runs stopped through other replicas: a run this
	// process stopped is stopped with its own cause, never taken for
	// another replica's.
	deciding sync.RWMutex

	mu      sync.Mutex
	active  map[int64]context.CancelCauseFunc // runs building in this process, by store id
	stopped bool

	claimCtx  context.Context // cancelled to stop claiming work
	stopClaim context.CancelFunc
	jobCtx    context.Context // cancelled when the grace period is over
	stopJobs  context.CancelCauseFunc
	loops     sync.WaitGroup
}

// NewQueue wraps b: from now on b's events queue their plans instead of
// building them at once.
func NewQueue(b *Bot, opts QueueOptions) (*Queue, error) {
	var missing []string
	if opts.Deliveries == nil {
		missing = append(missing, "Deliveries")
	}
	if opts.Runs == nil {
		missing = append(missing, "Runs")
	}
	if opts.Decode == nil {
		missing = append(missing, "Decode")
	}
	if b.rec == nil {
		missing = append(missing, "the bot's Records")
	}
	if b.opt.Builder == nil && opts.Executor == nil {
		missing = append(missing, "the bot's Builder")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("bot: queue options missing %s", strings.Join(missing, ", "))
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.CoalesceWindow < 0 {
		return nil, fmt.Errorf("bot: coalesce window %s is negative", opts.CoalesceWindow)
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	if opts.Executor == nil {
		opts.Executor = Local{Bot: b}
	}
	q := &Queue{b: b, opt: opts, log: b.log, wake: make(chan struct{}, 64), runWake: make(chan struct{}, opts.Workers), dispatchWake: make(chan struct{}, 1),
		active: map[int64]context.CancelCauseFunc{}}
	// Until Start, the work is done by Drain, in its caller's goroutine.
	q.claimCtx, q.stopClaim = context.WithCancel(context.Background())
	q.jobCtx, q.stopJobs = context.WithCancelCause(context.Background())
	b.runs = q
	if q.remote() != nil {
		b.workflowEvent = q.workflowMoved
	}
	if opts.OnLanding != nil {
		b.opt.OnLanding = opts.OnLanding
	}
	return q, nil
}

// Drain does, in the caller's goroutine, the work due now by the bot's
// clock: stored deliveries, queued runs, owed reports. It returns once
// none is left, so whoever then finds that something did not happen
// knows it will not. It is for a Queue not Started: tests, and tools
// that drive the core one step at a time.
func (q *Queue) Drain(ctx context.Context) error {
	for q.claimCtx.Err() == nil { // not Stopped
		worked := false
		d, err := q.opt.Deliveries.ClaimDelivery(ctx)
		if err != nil {
			return err
		}
		if d != nil {
			q.handleDelivery(d)
			worked = true
		}
		r, err := q.opt.Runs.ClaimRun(ctx, q.b.clock.Now())
		if err != nil {
			return err
		}
		if r != nil {
			q.execute(r)
			worked = true
		}
		if err := q.b.sweep(ctx, false); err != nil {
			return err
		}
		if lost, err := q.checkDispatches(ctx); err != nil {
			return err
		} else if lost {
			worked = true
		}
		if !worked {
			return nil
		}
	}
	return nil
}

// Notify wakes idle delivery workers: a delivery was stored.
func (q *Queue) Notify() {
	for i := 0; i < cap(q.wake); i++ {
		select {
		case q.wake <- struct{}{}:
		default:
			return
		}
	}
}

// submit records the trigger's decisions in one transaction, then tells
// GitHub: runs it superseded, the queued state, heads a coalesced run no
// longer builds. Only then is the run released to the workers, so no
// "queued" lands on top of a result that came first.
func (q *Queue) submit(ctx context.Context, p *Plan, force bool) (*Submitted, error) {
	log := q.b.logger(ctx)
	window := q.opt.CoalesceWindow
	if force {
		window = 0
	}
	q.deciding.RLock()
	t, err := q.opt.Runs.Trigger(ctx, store.Run{
		Key: p.Changeset.Key, Heads: p.Changeset.RunID, Reason: p.Reason,
		Changeset: p.Changeset, Config: p.Config.Text, ConfigName: p.Config.Name, ConfigRemote: p.Config.Remote,
		AllTests: p.AllTests,
	}, force, window)
	if err != nil {
		q.deciding.RUnlock()
		return nil, err
	}
	for _, r := range t.Superseded {
		if !q.cancelActive(r.ID, errSuperseded) {
			q.cancelRemote(ctx, r.ID, errSuperseded.Error())
		}
		log.WithFields(map[string]any{logging.Run: r.ID, logging.SupersededBy: t.ID}).Info("run superseded")
	}
	q.deciding.RUnlock()
	for i := range t.Retired {
		q.b.retireStaleHeads(ctx, p.Config.Config, &t.Retired[i], p.Changeset)
	}
	if t.Tested != nil {
		log.WithField(logging.Run, t.Tested.ID).Info("these heads are tested already, or being tested; not queued again")
		return nil, nil
	}
	p.Run = t.ID
	q.b.setState(ctx, p, lifecycle.Queued)
	if err := q.opt.Runs.Release(ctx, t.ID, t.Due); err != nil {
		return nil, err
	}
	log.WithFields(map[string]any{logging.Run: t.ID, logging.Coalesced: t.Coalesced}).Info("run queued")
	q.wakeRuns(t.Due)
	return &Submitted{Plan: p}, nil
}

// cancel cancels the live runs of p's changeset.
func (q *Queue) cancel(ctx context.Context, p *Plan, by *Cancel) (int, error) {
	q.deciding.RLock()
	defer q.deciding.RUnlock()
	stopped, err := q.opt.Runs.Cancel(ctx, p.Changeset.Key, lifecycle.Cancel{})
	for i := range stopped {
		q.reportStopped(ctx, &stopped[i], by, "")
	}
	return len(stopped), err
}

// reportStopped tells of a run cancelled by a person. One building here stops
// and reports itself; any other is reported here, on the members it was
// building but skip (a closed PR, whose status nobody reads).
func (q *Queue) reportStopped(ctx context.Context, r *store.Run, by *Cancel, skip string) {
	if q.cancelActive(r.ID, by) {
		return
	}
	q.cancelRemote(ctx, r.ID, by.Error())
	if p, err := q.storedPlan(ctx, r); err == nil {
		q.b.reportCancelled(ctx, p, by, skip)
	} else {
		q.b.logger(ctx).WithError(err).WithField(logging.Run, r.ID).Warn("the cancelled run cannot be reported")
	}
}

// wait records that p's changeset waits for an approval, for the queue
// page; the trigger that queues its run clears it.
func (q *Queue) wait(ctx context.Context, p *Plan) error {
	return q.opt.Runs.SetWaiting(ctx, waitingOf(p))
}

// waitingOf is p as the store keeps a changeset that waits.
func waitingOf(p *Plan) store.Waiting {
	w := store.Waiting{Key: p.Changeset.Key, Changeset: p.Changeset, Run: p.Run, Reason: p.Reason, Command: p.Config.CommandWord()}
	for _, pr := range p.Unapproved {
		w.Needs = append(w.Needs, pr.Ref())
	}
	return w
}

func (q *Queue) settle(ctx context.Context, start string, keys []string) error {
	return q.opt.Runs.SettleWaiting(ctx, start, keys)
}

func (q *Queue) latest(ctx context.Context, key string) (*store.Run, error) {
	return q.opt.Runs.LatestRun(ctx, key)
}

// closed cancels the live runs whose changeset holds pr: they test a set
// that no longer exists. The other members get a status naming who
// closed it and how to test what is left, so nobody reads a stale
// pending as progress.
func (q *Queue) closed(ctx context.Context, pr *changeset.PR, by *Cancel) error {
	q.deciding.RLock()
	defer q.deciding.RUnlock()
	stopped, err := q.opt.Runs.Cancel(ctx, "", lifecycle.Cancel{Member: pr.Ref()})
	for i := range stopped {
		q.reportStopped(ctx, &stopped[i], by, pr.Ref())
		q.b.logger(ctx).WithField(logging.Run, stopped[i].ID).Info("run cancelled: a member closed")
	}
	return err
}

// storedPlan is the plan a stored run builds: its changeset, with the config it
// was resolved with (the current one for a run stored before runs kept
// theirs).
func (q *Queue) storedPlan(ctx context.Context, r *store.Run) (*Plan, error) {
	if r.Changeset == nil || len(r.Changeset.Members) == 0 {
		err := r.RecordError
		if err == nil {
			err = fmt.Errorf("run %d has no changeset", r.ID)
		}
		return nil, err
	}
	var cfg *ConfigFile
	if len(r.Config) > 0 {
		c, _, err := workspace.Parse(r.ConfigName, r.Config)
		if err != nil {
			return nil, fmt.Errorf("run %d: its workspace config: %w", r.ID, err)
		}
		cfg = &ConfigFile{Config: c, Name: r.ConfigName, Text: r.Config, Remote: r.ConfigRemote}
	} else {
		c, err := q.b.config(ctx)
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	p := NewPlan(cfg, r.Changeset)
	p.Run, p.Reason, p.AllTests = r.ID, r.Reason, r.AllTests
	return p, nil
}

// cancelActive cancels a run building in this process.
func (q *Queue) cancelActive(id int64, cause error) bool {
	q.mu.Lock()
	cancel := q.active[id]
	q.mu.Unlock()
	if cancel == nil {
		return false
	}
	cancel(cause)
	return true
}

// cancelRemote stops the handed-off build of run id, if it has one: its
// run already ended in the store, and a result it posts is refused.
func (q *Queue) cancelRemote(ctx context.Context, id int64, why string) {
	if err := q.opt.Executor.Cancel(ctx, id, why); err != nil {
		q.b.logger(ctx).WithError(err).WithField(logging.Run, id).Warn("stopping the run's build failed")
	}
}

// execute builds a claimed run and reports it. A run cancelled because
// the service stops goes back to the queue; one superseded by a newer run
// reports nothing (the newer run will); every other end is reported on
// every member.
func (q *Queue) execute(r *store.Run) {
	log := q.log.WithFields(map[string]any{logging.Run: r.ID, logging.Changeset: r.Key})
	ctx, cancel := context.WithCancelCause(logging.With(q.jobCtx, log))
	defer cancel(nil)
	start := q.b.clock.Now()

	q.mu.Lock()
	stopping := q.stopped
	if !stopping {
		q.active[r.ID] = cancel
	}
	q.mu.Unlock()
	if stopping {
		q.requeue(r.ID, log)
		return
	}
	defer func() {
		q.mu.Lock()
		delete(q.active, r.ID)
		q.mu.Unlock()
	}()

	state := q.build(ctx, r)
	log.WithFields(map[string]any{logging.State: state, logging.Duration: q.b.clock.Now().Sub(start).Milliseconds()}).Info("run ended")
	if q.opt.OnRun != nil && state != "" {
		q.opt.OnRun(state, q.b.clock.Now().Sub(start))
	}
	if state != "" && state != string(lifecycle.Waiting) {
		q.b.landingsAfter(context.WithoutCancel(ctx))
	}
}

// build runs r and returns its final state, or "" when it was put back.
func (q *Queue) build(ctx context.Context, r *store.Run) string {
	log := q.b.logger(ctx)
	p, err := q.storedPlan(ctx, r)
	if err != nil {
		if context.Cause(ctx) == errShutdown {
			q.requeue(r.ID, log)
			return ""
		}
		res := &ci.Result{Result: ci.Error, Changeset: r.Key, Error: fmt.Sprintf("run %d cannot start: %s", r.ID, err)}
		// Reported with the current config, when there is a changeset to
		// report on.
		p = nil
		if cfg, cerr := q.b.config(ctx); cerr == nil && r.Changeset != nil {
			p = NewPlan(cfg, r.Changeset)
			p.Run = r.ID
		}
		return q.finish(r.ID, p, &Outcome{Result: res}, log)
	}
	if r.Attempts > maxRunAttempts {
		// A run that kills the service (or is cut short by every restart)
		// must not loop forever: report it and let a person re-run it.
		res := &ci.Result{Result: ci.Error, Changeset: r.Key, Error: fmt.Sprintf(
			"the run was interrupted %d times before it could finish; comment %s test to try again",
			r.Attempts-1, workspace.DefaultCommand)}
		return q.finish(r.ID, p, &Outcome{Result: res}, log)
	}
	// The changeset may have been coalesced with an event resolved after
	// the approval: untrusted code runs only for approved heads.
	if _, err := q.b.decideTrust(ctx, p, nil); err != nil {
		res := &ci.Result{Result: ci.Error, Changeset: r.Key, Error: "checking trust failed: " + err.Error()}
		return q.finish(r.ID, p, &Outcome{Result: res}, log)
	}
	if lifecycle.DecideStart(r.Life(), p.Runnable()).Kind == lifecycle.Wait {
		log.Info("heads not approved: the run waits for a trusted command")
		q.waitRun(p, log)
		q.b.setState(ctx, p, lifecycle.Waiting)
		return string(lifecycle.Waiting)
	}
	// A log that cannot be stored (a full disk) stops the build: its
	// result could not be shown.
	bctx, stopBuild := context.WithCancelCause(ctx)
	defer stopBuild(nil)
	lw := &logWriter{ctx: bctx, st: q.opt.Runs, id: r.ID, fail: stopBuild}
	steps := &stepTracker{ctx: bctx, st: q.opt.Runs, id: r.ID, now: q.b.clock.Now, log: log}
	o := q.opt.Executor.Build(bctx, Job{Plan: p, Log: lw, Progress: steps.event})
	// The build is over: a cancel from now on has nothing to stop, and a
	// replica that finds the run ended in the store must not say it
	// stopped it.
	q.mu.Lock()
	delete(q.active, r.ID)
	q.mu.Unlock()
	if o == nil {
		// Handed off: whoever builds it posts the outcome back
		// (Complete), and the run stays building in the store till then.
		log.Info("run handed to the executor")
		return ""
	}
	// A run cancelled (by a person, a close) is reported as that, even
	// when its tail could not be stored.
	if err := lw.failed(); err != nil && o.Stopped == nil && ctx.Err() == nil {
		o.Result.Result = ci.Error
		o.Result.Error = "the run's log could not be stored, so the run was stopped: " + err.Error()
	}
	switch o.Stopped {
	case errShutdown:
		q.requeue(r.ID, log)
		return ""
	case errSuperseded, errStoppedElsewhere:
		// The store keeps how the run ended if another replica ended it.
		q.finishQuiet(r.ID, lifecycle.Superseded, log)
		return string(lifecycle.Superseded)
	}
	return q.finish(r.ID, p, o, log)
}

// finish records the outcome and the reports it owes every member in one
// transaction, then sends them: a crash between the two leaves them in
// the outbox, and the next start sends them.
func (q *Queue) finish(id int64, p *Plan, o *Outcome, log logrus.FieldLogger) string {
	ended := o.Ended()
	// The run's own context may be cancelled; reporting still happens.
	ctx, cancel := context.WithTimeout(logging.With(context.Background(), log), time.Minute)
	defer cancel()
	var reports []store.Report
	if p != nil {
		reports = q.b.finalReports(ctx, p, o)
		due := q.b.clock.Now().Add(ReportSweep)
		for i := range reports {
			reports[i].NotBefore = due // sent below; the sweep takes over if that fails
		}
	}
	if err := q.opt.Runs.FinishRun(ctx, id, ended, o.Result, reports...); err != nil {
		log.WithError(err).Error("recording the run's result failed")
		q.b.report(ctx, reports...)
		return string(ended)
	}
	q.b.sendNow(ctx, reports)
	return string(ended)
}

// finishQuiet records how a run ended without reporting it.
func (q *Queue) finishQuiet(id int64, ended lifecycle.Result, log logrus.FieldLogger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.opt.Runs.FinishRun(ctx, id, ended, nil); err != nil {
		log.WithError(err).Warn("recording the run's end failed")
	}
}

// waitRun records that p's run waits for an approval of its code.
func (q *Queue) waitRun(p *Plan, log logrus.FieldLogger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.opt.Runs.WaitRun(ctx, p.Run, waitingOf(p)); err != nil {
		log.WithError(err).Warn("recording that the run waits for an approval failed")
	}
}

// requeue puts a run back in the queue for the next start.
func (q *Queue) requeue(id int64, log logrus.FieldLogger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.opt.Runs.Requeue(ctx, id); err != nil {
		log.WithError(err).Warn("putting the run back in the queue failed; the next start requeues it")
		return
	}
	log.Info("run put back in the queue")
}

// logWriter streams a run's output into the store, where the run page
// reads it while the run goes on. The first write the store refuses
// stops the build (fail) and is kept for its result.
type logWriter struct {
	ctx  context.Context
	st   Runs
	id   int64
	fail context.CancelCauseFunc

	mu  sync.Mutex
	err error
}

func (w *logWriter) Write(p []byte) (int, error) {
	if err := w.failed(); err != nil {
		return 0, err
	}
	// The tail of a cancelled run still belongs in its log: the build's
	// cancel, which can come between any two writes, does not stop one.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 5*time.Second)
	defer cancel()
	if err := w.st.AppendLog(ctx, w.id, p); err != nil {
		w.mu.Lock()
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
		w.fail(err)
		return 0, err
	}
	return len(p), nil
}

func (w *logWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
