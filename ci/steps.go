package ci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/provide-io/workspace-bot/internal/clock"
	"github.com/provide-io/workspace-bot/internal/sandbox"
)

// runStep runs one command with sh -c. Output goes to the run's output
// as it comes, or, for steps running side by side, to a spool file copied
// there in one piece when the step ends, so logs do not interleave.
func (r *Runner) runStep(ctx context.Context, st StepResult, dir string, sx *stepIO, buffered bool, env []string) StepResult {
	who := st.Sibling
	if who == "" {
		who = "workspace"
	}
	header := fmt.Sprintf("==> %s %s: %s\n", st.Name, who, st.Command)
	out := sx.out
	stream, spool, err := sx.stream(buffered)
	if err != nil {
		st.Result = Error
		st.Log = fmt.Sprintf("[could not spool the step's output: %v]\n", err)
		st.LogTail = st.Log
		return st
	}
	if spool != nil {
		defer spool.Close()
	}
	if stream != nil {
		io.WriteString(stream, sx.censorText(header))
	}
	log := newStepLog(sx.needles, stream, sx.limit, sx.budget)
	r.progress(ctx, Event{Kind: EventStep, Name: st.Name, Sibling: st.Sibling, Command: st.Command})
	start0 := time.Now()
	stopBeat := r.beat(st, who, out)
	start, spec := sandbox.Start, sx.command(dir, "sh", "-c", st.Command)
	spec.Env = slices.Concat(spec.Env, env)
	if sx.sandbox != nil {
		start = sx.sandbox.start
	}
	err = runProc(ctx, start, spec, log, log)
	stopBeat()
	d := time.Since(start0)
	if sx.sandbox != nil {
		sx.sandbox.refused.note(log, start0, start0.Add(d))
	}
	var exit *sandbox.ExitError
	var stopped *limitStop
	switch {
	case errors.As(context.Cause(ctx), &stopped):
		st.Result = stopped.result
		log.note("[%s: stopped: %s]", st.Name, stopped.msg)
	case ctx.Err() != nil:
		st.Result = Cancelled
		log.note("[%s: the run was cancelled or timed out; the step's processes were killed]", st.Name)
	case err == nil:
		st.Result = Success
	case errors.As(err, &exit):
		st.Result = Failure
		log.note("[%s]", exit)
	default:
		st.Result = Error
		log.note("[could not run the step in %s: %v]", dir, err)
	}
	st.DurationMS = d.Milliseconds()
	log.finish()
	st.Log = log.Log()
	st.LogTail = log.Tail()
	if stream != nil {
		footer := fmt.Sprintf("<== %s %s: %s in %s\n", st.Name, who, st.Result, d.Round(time.Millisecond))
		io.WriteString(stream, sx.censorText(footer))
	}
	if spool != nil {
		if _, err := spool.Seek(0, io.SeekStart); err == nil {
			io.Copy(out, spool)
		}
	}
	r.progress(ctx, Event{Kind: EventStep, Done: true, Name: st.Name, Sibling: st.Sibling, Command: st.Command, Result: st.Result, Duration: d})
	return st
}

// beat reports a long step every Runner.Heartbeat, to Progress and to out
// (the run's log), until the returned stop is called; stop returns once
// nothing more will be reported.
func (r *Runner) beat(st StepResult, who string, out io.Writer) (stop func()) {
	every := r.Heartbeat
	if every <= 0 {
		every = DefaultHeartbeat
	}
	clk := clock.Or(r.Clock)
	start := clk.Now()
	ticks, stopTicks := clk.Every(every)
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		defer stopTicks()
		for {
			select {
			case <-quit:
				return
			case now := <-ticks:
				elapsed := now.Sub(start).Round(time.Second)
				if every < time.Second {
					elapsed = now.Sub(start).Round(time.Millisecond)
				}
				r.emit(Event{Kind: EventHeartbeat, Name: st.Name, Sibling: st.Sibling, Command: st.Command, Duration: elapsed})
				if out != nil {
					fmt.Fprintf(out, "%s %s ... still running, %s\n", st.Name, who, elapsed)
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
}

// refusals are the connections an egress sandbox's proxy refused, as
// they came.
type refusals struct {
	mu    sync.Mutex
	lines []refusal
}

type refusal struct {
	at   time.Time
	line string
}

// maxRefusals bounds what is kept: the first are the telling ones.
const maxRefusals = 50

func (r *refusals) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lines) < maxRefusals {
		r.lines = append(r.lines, refusal{time.Now(), line})
	}
}

// note ends a step's log with the refusals made while it ran (by it, or
// a step beside it), so a setup that failed for a refused address says
// which.
func (r *refusals) note(log *stepLog, from, to time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.lines {
		if !x.at.Before(from) && !x.at.After(to) {
			log.note("%s", x.line)
		}
	}
}
