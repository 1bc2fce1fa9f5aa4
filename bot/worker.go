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
func (b *Bot) Start(ctx context.Context) error {
	n, err := b.st.RequeueInterrupted(ctx)
	if err != nil {
		return fmt.Errorf("bot: requeue interrupted work: %w", err)
	}
	if n > 0 {
		b.log.WithField(logging.Requeued, n).Info("resuming work a previous process left unfinished")
	}
	// Jobs get contexts of their own, not the caller's: a job outlives
	// the call that started the bot and ends only through Stop.
	b.claimCtx, b.stopClaim = context.WithCancel(context.Background())
	b.jobCtx, b.stopJobs = context.WithCancelCause(context.Background())
	dw := b.opt.Workers
	if dw < 2 {
		dw = 2
	}
	for i := 0; i < dw; i++ {
		b.loops.Add(1)
		go b.deliveryLoop(i)
	}
	for i := 0; i < b.opt.Workers; i++ {
		b.loops.Add(1)
		go b.runLoop(i)
	}
	return nil
}

// Stop stops claiming work, lets the jobs under way finish within grace,
// then cancels what is left: a cancelled run goes back to the queue for the
// next start. It returns once every goroutine the bot started has ended.
func (b *Bot) Stop(grace time.Duration) {
	if b.stopClaim == nil {
		return
	}
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	b.stopClaim()
	// Jobs run on the loops' goroutines: the loops end when their jobs do.
	done := make(chan struct{})
	go func() { b.loops.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		b.log.WithField(logging.Grace, grace.String()).Warn("grace period over: cancelling the jobs under way")
		b.stopJobs(errShutdown)
		<-done
	}
	b.stopJobs(errShutdown)
}

// idle waits for a Notify, the poll interval, d when shorter, or the end
// of claiming.
func (b *Bot) idle(d time.Duration) bool {
	if d <= 0 || d > b.opt.Poll {
		d = b.opt.Poll
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-b.claimCtx.Done():
		return false
	case <-b.wake:
		return true
	case <-t.C:
		return true
	}
}

func (b *Bot) deliveryLoop(worker int) {
	defer b.loops.Done()
	log := b.log.WithField(logging.Worker, fmt.Sprintf("delivery-%d", worker))
	for b.claimCtx.Err() == nil {
		d, err := b.st.ClaimDelivery(b.claimCtx)
		if err != nil {
			if b.claimCtx.Err() == nil {
				log.WithError(err).Error("claiming a delivery failed")
			}
			if !b.idle(0) {
				return
			}
			continue
		}
		if d == nil {
			if !b.idle(0) {
				return
			}
			continue
		}
		b.handleDelivery(d)
	}
}

func (b *Bot) runLoop(worker int) {
	defer b.loops.Done()
	log := b.log.WithField(logging.Worker, fmt.Sprintf("run-%d", worker))
	for b.claimCtx.Err() == nil {
		r, err := b.st.ClaimRun(b.claimCtx, time.Now())
		if err != nil {
			if b.claimCtx.Err() == nil {
				log.WithError(err).Error("claiming a run failed")
			}
			if !b.idle(0) {
				return
			}
			continue
		}
		if r == nil {
			var wait time.Duration
			if due, ok, err := b.st.NextRunDue(b.claimCtx); err == nil && ok {
				wait = time.Until(due)
				if wait <= 0 {
					// Due but blocked by a running run of its key:
					// poll, the running run's end will not notify.
					wait = 100 * time.Millisecond
				}
			}
			if !b.idle(wait) {
				return
			}
			continue
		}
		b.executeRun(r)
	}
}

// handleDelivery runs one delivery's handler in a fresh context carrying
// the delivery's logger, recovering a panic into a failed delivery.
func (b *Bot) handleDelivery(d *store.Delivery) {
	log := b.log.WithFields(map[string]any{logging.Delivery: d.ID, logging.Event: d.Event})
	ctx := logging.With(b.jobCtx, log)
	start := time.Now()
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				log.WithField(logging.Stack, string(debug.Stack())).Errorf("panic handling the delivery: %v", p)
				err = fmt.Errorf("panic handling %s delivery %s: %v", d.Event, d.ID, p)
			}
		}()
		return b.Dispatch(ctx, d.Event, d.Payload)
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
	if ferr := b.st.FinishDelivery(fctx, d.ID, err); ferr != nil {
		log.WithError(ferr).Error("recording the delivery's outcome failed")
	}
	if b.opt.OnDelivery != nil {
		b.opt.OnDelivery(d.Event, outcome)
	}
}
