package ci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"time"

	"github.com/provide-io/workspace-bot/workspace"
)

// lane is steps run one after another (indexes into Result.Steps); a
// phase is lanes run side by side.
type (
	lane  []int
	phase []lane
)

// stepDirs remembers where each planned step runs.
type stepDirs map[int]string

// plan appends every setup and test step to res.Steps as skipped, in the
// order they run, and groups them: workspace setup one by one, each
// stage's siblings side by side, then the tests one by one.
func (r *Runner) plan(req Request, stages [][]*workspace.Sibling, lay layout, res *Result) []phaseDirs {
	cfg := req.Config
	var out []phaseDirs
	add := func(name, sibling, command, dir string) int {
		res.Steps = append(res.Steps, StepResult{Name: name, Sibling: sibling, Command: command, Result: Skipped})
		return len(res.Steps) - 1
	}
	for _, c := range cfg.Workspace.CI.Setup {
		i := add("setup", "", c, lay.wsDir)
		out = append(out, phaseDirs{lanes: phase{{i}}, dirs: stepDirs{i: lay.wsDir}})
	}
	for _, st := range stages {
		pd := phaseDirs{dirs: stepDirs{}}
		for _, s := range st {
			var l lane
			for _, c := range s.Setup {
				i := add("setup", s.Name, c, lay.dirs[s.Name])
				pd.dirs[i] = lay.dirs[s.Name]
				l = append(l, i)
			}
			if len(l) > 0 {
				pd.lanes = append(pd.lanes, l)
			}
		}
		if len(pd.lanes) > 0 {
			out = append(out, pd)
		}
	}
	for _, c := range cfg.Workspace.CI.Test {
		i := add("test", "", c, lay.wsDir)
		out = append(out, phaseDirs{lanes: phase{{i}}, dirs: stepDirs{i: lay.wsDir}})
	}
	return out
}

type phaseDirs struct {
	lanes phase
	dirs  stepDirs
}

// runPhases runs the planned steps until one does not succeed; the rest
// stay skipped. Steps of one phase already running are let finish.
func (r *Runner) runPhases(ctx context.Context, req Request, lay layout, sc scratch, phases []phaseDirs, res *Result) {
	sx := &stepIO{env: stepEnv(req, lay, sc), needles: r.secretSet().list()}
	if req.Output != nil {
		sx.out = &syncWriter{w: req.Output}
		sx.budget, sx.limit = r.logLimits(req)
	}
	for _, ph := range phases {
		if ctx.Err() != nil {
			return
		}
		parallel := len(ph.lanes) > 1
		var wg sync.WaitGroup
		for _, l := range ph.lanes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, i := range l {
					res.Steps[i] = r.runStep(ctx, res.Steps[i], ph.dirs[i], sx, parallel)
					if res.Steps[i].Result != Success {
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, l := range ph.lanes {
			for _, i := range l {
				if res.Steps[i].Result != Success && res.Steps[i].Result != Skipped {
					return
				}
			}
		}
	}
}

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
	err = runProc(ctx, dir, sx.env, log, log, "sh", "-c", st.Command)
	stopBeat()
	d := time.Since(start)
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		st.Result = Cancelled
		log.note("[%s: the run was cancelled or timed out; the step's processes were killed]", st.Name)
	case err == nil:
		st.Result = Success
	case errors.As(err, &exit):
		st.Result = Failure
		if code := exit.ExitCode(); code >= 0 {
			log.note("[exit status %d]", code)
		} else {
			log.note("[%s]", exit.String())
		}
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
