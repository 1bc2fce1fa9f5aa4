package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// Outcome is how a build ended.
type Outcome struct {
	// Result is what to report; nil when Stopped.
	Result *ci.Result
	// Stopped says the build was stopped with nothing to report: the
	// service is shutting down (the run goes back to the queue), or
	// newer heads superseded it (their run reports).
	Stopped error
}

// Ended is how the run ended, as the store records it. A run stopped for
// the service's shutdown does not end: it is queued again.
func (o *Outcome) Ended() lifecycle.Result {
	if o.Stopped != nil {
		return lifecycle.Superseded
	}
	switch r := o.Result.Result; r {
	case lifecycle.Success, lifecycle.Failure, lifecycle.Error, lifecycle.Cancelled:
		return r
	}
	return lifecycle.Error
}

// Build marks the plan's members running, builds and tests the plan, and
// says how it ended; out receives the build's log as it is written, and
// progress, when set, each fetch, checkout and step as it starts and
// ends. A build that panics ends in an error, reported like any other.
func (b *Bot) Build(ctx context.Context, p *Plan, out io.Writer, progress func(ci.Event)) (o *Outcome) {
	defer func() {
		if r := recover(); r != nil {
			b.logger(ctx).WithField(logging.Stack, string(debug.Stack())).Errorf("panic in run: %v", r)
			o = &Outcome{Result: &ci.Result{Result: ci.Error, Changeset: p.Changeset.Key, Error: fmt.Sprintf("the bot failed: %v", r)}}
		}
	}()
	if b.opt.Builder == nil {
		return &Outcome{Result: &ci.Result{Result: ci.Error, Changeset: p.Changeset.Key, Error: "the bot has no builder"}}
	}
	// A run superseded or cancelled before it started must not post
	// "running" over the state its canceller just reported.
	if ctx.Err() == nil {
		b.setState(ctx, p, lifecycle.Building)
	}
	req := b.request(p)
	req.Output, req.Progress = out, progress
	res, err := b.opt.Builder.Run(ctx, req)
	// [workspace.ci].retry_flaky: a run that failed only at tests known
	// to be flaky is run again, whole, and the last run is the result.
	for retries := 0; retries < p.Config.Workspace.CI.RetryFlaky && err == nil && res != nil && ctx.Err() == nil && b.onlyFlakyFailed(ctx, res); {
		retries++
		if out != nil {
			io.WriteString(out, flakyRetryLine(retries, p.Config.Workspace.CI.RetryFlaky))
		}
		res, err = b.opt.Builder.Run(ctx, req)
		if res != nil {
			res.RetriedFlaky = retries
		}
	}
	cause := context.Cause(ctx)
	if cause == errShutdown || cause == errSuperseded || cause == errStoppedElsewhere {
		return &Outcome{Stopped: cause}
	}
	if res == nil {
		res = &ci.Result{Result: ci.Error, Changeset: p.Changeset.Key}
	}
	if err != nil && res.Result != ci.Cancelled {
		res.Result = ci.Error
		if res.Error == "" {
			res.Error = err.Error()
		}
	}
	var refused *ci.RefusedError
	if errors.As(err, &refused) {
		switch refused.Need {
		case ci.NeedSandbox:
			res.Error += " (fix: run the service where it can make namespaces, as root or with CAP_SYS_ADMIN, " +
				"or let it build forks without a sandbox: serve --allow-unsandboxed)"
		case ci.NeedLimits:
			res.Error += " (fix: run the service as root, or under systemd with Delegate=yes, " +
				"or let it build forks without limits: serve --allow-unlimited)"
		}
	}
	var c *Cancel
	if errors.As(cause, &c) {
		res.Result = ci.Cancelled
		res.Error = c.describe()
	}
	return &Outcome{Result: res}
}

// stopped is the outcome of p's build when ctx ended before it began: as
// Build says it for a build cut short.
func stopped(ctx context.Context, p *Plan) *Outcome {
	cause := context.Cause(ctx)
	if cause == errShutdown || cause == errSuperseded {
		return &Outcome{Stopped: cause}
	}
	res := &ci.Result{Result: ci.Cancelled, Changeset: p.Changeset.Key, Error: "cancelled before it started"}
	var c *Cancel
	if errors.As(cause, &c) {
		res.Error = c.describe()
	}
	return &Outcome{Result: res}
}

// request is what ci is asked to build for p, whoever builds it.
func (b *Bot) request(p *Plan) ci.Request {
	// Only a run of trusted code may reuse a warm root and the cache: an
	// approved PR by an author who is not trusted still runs code nobody
	// on the project wrote.
	untrusted := len(p.Untrusted) > 0
	return ci.Request{Config: p.Config.Config, Pins: p.Pins, Changeset: p.Changeset.Key, RunLabel: runLabel(p),
		Members: p.Members(), Trusted: !untrusted, RequireSandbox: untrusted && !b.opt.AllowUnsandboxed, RequireLimits: untrusted && !b.opt.AllowUnlimited}
}

// runLabel names p's run for later runs' logs: its number in the store.
func runLabel(p *Plan) string {
	if p.Run == 0 {
		return ""
	}
	return fmt.Sprintf("run %d", p.Run)
}
