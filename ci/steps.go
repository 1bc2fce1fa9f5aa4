package ci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/provide-io/workspace-bot/internal/egress"
	"github.com/provide-io/workspace-bot/internal/sandbox"
)

// runStep runs one command with sh -c. Output goes to the run's output
// as it comes, or, for steps running side by side, to a spool file copied
// there in one piece when the step ends, so logs do not interleave.
func (r *Runner) runStep(ctx context.Context, st StepResult, dir string, sx *stepIO, buffered bool) StepResult {
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
	r.emit(Event{Kind: EventStep, Name: st.Name, Sibling: st.Sibling, Command: st.Command})
	start := time.Now()
	stopBeat := r.beat(st, who, start, out)
	spec := sx.command(dir, "sh", "-c", st.Command)
	var refused refusals
	if spec.Net == sandbox.NetEgress {
		spec.Proxy = func(l net.Listener) {
			p := &egress.Proxy{Allow: r.EgressAllow, Upstream: http.ProxyFromEnvironment, Refused: refused.add}
			p.Serve(l)
		}
	}
	err = runProc(ctx, spec, log, log)
	stopBeat()
	d := time.Since(start)
	refused.note(log)
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
	r.emit(Event{Kind: EventStep, Done: true, Name: st.Name, Sibling: st.Sibling, Command: st.Command, Result: st.Result, Duration: d})
	return st
}

// beat reports a long step every Runner.Heartbeat, to Progress and to out
// (the run's log), until the returned stop is called; stop returns once
// nothing more will be reported.
func (r *Runner) beat(st StepResult, who string, start time.Time, out io.Writer) (stop func()) {
	every := r.Heartbeat
	if every <= 0 {
		every = DefaultHeartbeat
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case now := <-tick.C:
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

// refusals are the connections an egress step's proxy refused.
type refusals struct {
	mu    sync.Mutex
	lines []string
	more  int
}

func (r *refusals) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lines) < 10 {
		r.lines = append(r.lines, line)
	} else {
		r.more++
	}
}

// note ends the step's log with them, so a setup that failed for a
// refused address says which.
func (r *refusals) note(log *stepLog) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		log.note("%s", l)
	}
	if r.more > 0 {
		log.note("[egress: %d more connections refused]", r.more)
	}
}
