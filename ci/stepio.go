package ci

import (
	"io"
	"os"
	"sync"

	"github.com/provide-io/workspace-bot/internal/sandbox"
)

// stepIO is what every step of a run shares: its environment, where its
// output goes, the run's log budget and what to censor.
type stepIO struct {
	env     []string
	box     sandbox.Spec // the run's sandbox (or process group), without the command
	sandbox *runBox      // where sandboxed steps start; nil when not sandboxed
	out     io.Writer    // the run's output (serialized); nil for none
	budget  *logBudget   // what the run may still write to out
	limit   int64        // what one step may write to out
	needles []string
}

// runBox is the sandbox the run's steps of one network start in, made
// when the first of them starts (see sandbox.Box).
type runBox struct {
	spec    sandbox.Spec
	refused *refusals // what its egress proxy refused
	once    sync.Once
	box     *sandbox.Box
	err     error
}

func (b *runBox) start(s sandbox.Spec) (*sandbox.Process, error) {
	b.once.Do(func() { b.box, b.err = sandbox.Open(b.spec) })
	if b.err != nil {
		return nil, b.err
	}
	return b.box.Start(s)
}

// close ends the sandbox and everything still in it.
func (b *runBox) close() {
	b.once.Do(func() {})
	if b.box != nil {
		b.box.Close()
	}
}

// stream is where a step's output is copied as it comes: the run's
// output, or for a step running beside others a spool file (unlinked, so
// nothing but this process can reach it) that the caller copies to the
// run's output and closes.
func (sx *stepIO) stream(parallel bool) (io.Writer, *os.File, error) {
	if sx.out == nil {
		return nil, nil, nil
	}
	if !parallel {
		return sx.out, nil, nil
	}
	f, err := os.CreateTemp("", "workspace-bot-step-*.log")
	if err != nil {
		return nil, nil, err
	}
	os.Remove(f.Name())
	return f, f, nil
}

func (sx *stepIO) censorText(s string) string {
	return (&secrets{needles: sx.needles}).text(s)
}

// logLimits are the run's budget for step output and one step's cap.
func (r *Runner) logLimits(req Request) (*logBudget, int64) {
	run := r.MaxLog
	if run <= 0 {
		run = req.Config.Workspace.CI.MaxLog
	}
	if run <= 0 {
		run = DefaultMaxLog
	}
	step := r.MaxStepLog
	if step <= 0 || step > run {
		step = run
	}
	return &logBudget{left: run}, step
}

// secretSet is the Runner's censored values: Secrets, then every
// credential Authorization handed out.
func (r *Runner) secretSet() *secrets {
	r.secretsMu.Lock()
	defer r.secretsMu.Unlock()
	if r.secrets == nil {
		r.secrets = newSecrets(r.Secrets)
	}
	return r.secrets
}

// command is the step's command line in dir, run the run's way.
func (sx *stepIO) command(dir, name string, args ...string) sandbox.Spec {
	s := sx.box
	s.Path, s.Args, s.Env, s.Dir = name, append([]string{name}, args...), sx.env, dir
	return s
}
