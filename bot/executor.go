package bot

import (
	"context"
	"io"

	"github.com/provide-io/workspace-bot/ci"
)

// Executor carries out "build this plan" for the queue. Local builds in
// this process and returns the outcome; a remote executor (Actions) hands
// the plan to someone else and returns no outcome: the builder posts it
// back later, to any replica (Queue.Complete), so a remote build never
// holds one of the queue's workers while it runs.
type Executor interface {
	// Build builds j.Plan, or hands it off. It returns the outcome, or nil
	// once the build was handed off; a hand-off refused is an outcome (an
	// error that says what to fix), never a nil.
	Build(ctx context.Context, j Job) *Outcome
	// Cancel stops the handed-off build of run, if one is under way. A
	// local build stops through its context instead, so Local's does
	// nothing.
	Cancel(ctx context.Context, run int64, why string) error
}

// Job is one build the queue asks of its executor.
type Job struct {
	Plan *Plan
	// Log receives the build's log as it is written, Progress each
	// fetch, checkout and step: both are stored for the run page.
	Log      io.Writer
	Progress func(ci.Event)
}

// Local builds in this process, with the bot's Builder: the service's
// default, and what the Action and the CLI always do.
type Local struct{ Bot *Bot }

// Build builds the plan now and returns how it ended.
func (l Local) Build(ctx context.Context, j Job) *Outcome {
	return l.Bot.Build(ctx, j.Plan, j.Log, j.Progress)
}

// Cancel does nothing: a local build is stopped through its context.
func (Local) Cancel(context.Context, int64, string) error { return nil }
