package bot

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/store"
)

// Start puts back the work a previous process left half done and starts
// the workers. It returns at once; Stop drains them.
func (q *Queue) Start(ctx context.Context) error {
	n, err := q.opt.Runs.RequeueInterrupted(ctx)
	if err != nil {
		return fmt.Errorf("bot: requeue interrupted work: %w", err)
	}
	if n > 0 {
		q.log.WithField(logging.Requeued, n).Info("resuming work a previous process left unfinished")
	}
	// Jobs get contexts of their own, not the caller's: a job outlives
	// the call that started the bot and ends only through Stop.
	q.claimCtx, q.stopClaim = context.WithCancel(context.Background())
	q.jobCtx, q.stopJobs = context.WithCancelCause(context.Background())
	dw := q.opt.Workers
	if dw < 2 {
		dw = 2
	}
	for i := 0; i < dw; i++ {
		q.loops.Add(1)
		go q.deliveryLoop(i)
	}
	for i := 0; i < q.opt.Workers; i++ {
		q.loops.Add(1)
		go q.runLoop(i)
	}
	q.loops.Add(1)
	go q.reportLoop()
	if q.remote() != nil {
		q.loops.Add(1)
		go q.watchLoop()
	}
	if q.b.claimer() != nil {
		q.loops.Add(1)
		go q.replicaLoop()
	}
	q.loops.Add(1)
	go func() {
		defer q.loops.Done()
		q.resumeLandings(q.jobCtx)
	}()
	return nil
}

// Stop stops claiming work, lets the jobs under way finish within grace,
// then cancels what is left: a cancelled run goes back to the queue for the
// next start. It returns once every goroutine the bot started has ended.
func (q *Queue) Stop(grace time.Duration) {
	if q.stopClaim == nil {
		return
	}
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
	q.stopClaim()
	// Jobs run on the loops' goroutines: the loops end when their jobs do.
	done := make(chan struct{})
	go func() { q.loops.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		q.log.WithField(logging.Grace, grace.String()).Warn("grace period over: cancelling the jobs under way")
		q.stopJobs(errShutdown)
		<-done
	}
	q.stopJobs(errShutdown)
}

// idle waits for a Notify, the poll interval, d when shorter, or the end
// of claiming.
func (q *Queue) idle(d time.Duration) bool {
	if d <= 0 || d > q.opt.Poll {
		d = q.opt.Poll
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-q.claimCtx.Done():
		return false
	case <-q.wake:
		return true
	case <-t.C:
		return true
	}
}

func (q *Queue) deliveryLoop(worker int) {
	defer q.loops.Done()
	log := q.log.WithField(logging.Worker, fmt.Sprintf("delivery-%d", worker))
	for q.claimCtx.Err() == nil {
		d, err := q.opt.Deliveries.ClaimDelivery(q.claimCtx)
		if err != nil {
			if q.claimCtx.Err() == nil {
				log.WithError(err).Error("claiming a delivery failed")
			}
			if !q.idle(0) {
				return
			}
			continue
		}
		if d == nil {
			if !q.idle(0) {
				return
			}
			continue
		}
		q.handleDelivery(d)
	}
}

// runLoop claims and builds runs. It asks the store only when a run may
// be claimable: when the earliest queued run it knows of is due, when a
// trigger queued one due sooner (wakeRuns), or every poll interval, for
// what other replicas queued. A flood of deliveries that queue nothing, or
// that coalesce into runs already queued, costs no query here.
func (q *Queue) runLoop(worker int) {
	defer q.loops.Done()
	log := q.log.WithField(logging.Worker, fmt.Sprintf("run-%d", worker))
	for q.claimCtx.Err() == nil {
		r, err := q.opt.Runs.ClaimRun(q.claimCtx, q.b.clock.Now())
		if err != nil {
			if q.claimCtx.Err() == nil {
				log.WithError(err).Error("claiming a run failed")
			}
			if !q.idle(0) {
				return
			}
			continue
		}
		if r != nil {
			q.execute(r)
			continue
		}
		if due, ok, err := q.opt.Runs.NextRunDue(q.claimCtx); err == nil && ok {
			if due.Sub(q.b.clock.Now()) <= 0 {
				// Due but blocked by a running run of its key, which
				// may end on another replica: look again soon.
				due = q.b.clock.Now().Add(100 * time.Millisecond)
			}
			q.expectRun(due)
		}
		if !q.idleRuns() {
			return
		}
	}
}

// expectRun notes that a queued run is due at due, if that is sooner
// than the run loops knew; it says whether it was.
func (q *Queue) expectRun(due time.Time) bool {
	q.dueMu.Lock()
	defer q.dueMu.Unlock()
	if !q.due.IsZero() && !due.Before(q.due) {
		return false
	}
	q.due = due
	return true
}

// wakeRuns tells the run loops a run was queued due at due; they wake
// only when it is sooner than what they wait for.
func (q *Queue) wakeRuns(due time.Time) {
	if !q.expectRun(due) {
		return
	}
	for i := 0; i < cap(q.runWake); i++ {
		select {
		case q.runWake <- struct{}{}:
		default:
			return
		}
	}
}

// idleRuns waits until the earliest queued run known is due, or the poll
// interval, whichever is sooner, without asking the store; a wakeRuns
// that brings the due time closer shortens the wait. It reports false
// when claiming has ended.
func (q *Queue) idleRuns() bool {
	for {
		wait := q.opt.Poll
		q.dueMu.Lock()
		if !q.due.IsZero() {
			wait = min(wait, q.due.Sub(q.b.clock.Now()))
		}
		q.dueMu.Unlock()
		if wait <= 0 {
			q.dueMu.Lock()
			q.due = time.Time{}
			q.dueMu.Unlock()
			return true
		}
		t := time.NewTimer(wait)
		select {
		case <-q.claimCtx.Done():
			t.Stop()
			return false
		case <-q.runWake:
			t.Stop()
		case <-t.C:
			q.dueMu.Lock()
			q.due = time.Time{}
			q.dueMu.Unlock()
			return true
		}
	}
}

// reportLoop sends the reports a previous process or a failed send left
// in the outbox: all of them on start, then each when it is due, at
// least every ReportSweep.
func (q *Queue) reportLoop() {
	defer q.loops.Done()
	log := q.log.WithField(logging.Worker, "reports")
	ctx := logging.With(q.jobCtx, log)
	for all := true; q.claimCtx.Err() == nil; all = false {
		if err := q.b.sweep(ctx, all); err != nil && q.claimCtx.Err() == nil {
			log.WithError(err).Error("sending the reports in the outbox failed")
		}
		wait := ReportSweep
		if due, ok, err := q.b.rec.NextReportDue(ctx); err == nil && ok {
			wait = min(wait, max(due.Sub(q.b.clock.Now()), 50*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-q.claimCtx.Done():
		case <-q.b.sweepWake:
		case <-t.C:
		}
		t.Stop()
	}
}

// handleDelivery runs one delivery's handler in a fresh context carrying
// the delivery's logger, recovering a panic into a failed delivery.
func (q *Queue) handleDelivery(d *store.Delivery) {
	log := q.log.WithFields(map[string]any{logging.Delivery: d.ID, logging.Event: d.Event})
	ctx := logging.With(q.jobCtx, log)
	start := time.Now()
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				log.WithField(logging.Stack, string(debug.Stack())).Errorf("panic handling the delivery: %v", p)
				err = fmt.Errorf("panic handling %s delivery %s: %v", d.Event, d.ID, p)
			}
		}()
		return q.dispatch(ctx, d.Event, d.Payload)
	}()
	outcome := "done"
	if err != nil {
		outcome = "error"
		log.WithError(err).Warn("delivery failed; it will be retried")
	}
	log.WithField(logging.Duration, time.Since(start).Milliseconds()).Debug("delivery handled")
	// Record the outcome even when the jobs were cancelled, so the store
	// knows to retry it.
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ferr := q.opt.Deliveries.FinishDelivery(fctx, d.ID, err); ferr != nil {
		log.WithError(ferr).Error("recording the delivery's outcome failed")
	}
	if q.opt.OnDelivery != nil {
		q.opt.OnDelivery(d.Event, outcome)
	}
}

// dispatch decodes a stored delivery and handles it. A payload that does
// not decode is dropped with a warning, since retrying it cannot help.
func (q *Queue) dispatch(ctx context.Context, event string, payload []byte) error {
	ev, err := q.opt.Decode(event, payload)
	if err != nil {
		q.b.logger(ctx).WithError(fmt.Errorf("decode payload: %w", err)).Warn("payload dropped")
		return nil
	}
	if ev == nil {
		q.b.logger(ctx).Debug("event not handled; ignored")
		return nil
	}
	_, err = q.b.Handle(ctx, ev)
	return err
}

// replicaLoop stops the runs building here that were cancelled or
// superseded through another replica sharing the database: the replica
// that handled the event could not reach this process's builds.
func (q *Queue) replicaLoop() {
	defer q.loops.Done()
	t := time.NewTicker(q.opt.Poll)
	defer t.Stop()
	for {
		select {
		case <-q.claimCtx.Done():
			return
		case <-t.C:
		}
		q.stopEnded(q.claimCtx)
	}
}

// stopEnded cancels the runs building here that the store no longer has
// running.
func (q *Queue) stopEnded(ctx context.Context) {
	q.mu.Lock()
	none := len(q.active) == 0
	q.mu.Unlock()
	if none {
		return // nothing building here: decisions under way need no wait
	}
	q.deciding.Lock()
	defer q.deciding.Unlock()
	q.mu.Lock()
	ids := make([]int64, 0, len(q.active))
	for id := range q.active {
		ids = append(ids, id)
	}
	q.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	running, err := q.opt.Runs.StillRunning(ctx, ids)
	if err != nil {
		if ctx.Err() == nil {
			q.log.WithError(err).Warn("checking the runs building here failed")
		}
		return
	}
	for _, id := range ids {
		if !running[id] && q.cancelActive(id, errStoppedElsewhere) {
			q.log.WithField(logging.Run, id).Info("run stopped: it was cancelled or superseded through another replica")
		}
	}
}
