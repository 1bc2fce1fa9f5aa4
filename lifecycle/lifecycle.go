// Package lifecycle names the states a run goes through and the results
// it ends in, ranks the results once, and says in one place how each
// shows: the commit status, the check run, the summary's words and icon,
// the CLI's exit code and the Action's result output. Nothing learns a
// state from the words that describe it.
package lifecycle

import "github.com/provide-io/workspace-bot/internal/exitcode"

// Result is how a run, or one of its steps, ended.
type Result string

// The results. Superseded is a run's only: newer heads of its changeset
// took its place, and their run reports. Skipped is a step's only.
const (
	Success    Result = "success"
	Failure    Result = "failure"   // a step failed: the change's fault
	Error      Result = "error"     // infrastructure or the bot's fault
	Cancelled  Result = "cancelled" // cancelled by a person, or timed out
	Superseded Result = "superseded"
	Skipped    Result = "skipped" // not run because an earlier step failed
)

// rank orders the results by how much they say about what went wrong:
// an error means nothing after it can be trusted, a failure is a finding
// about the change, and a run stopped before it finished found nothing
// more than what ran. The worse of two results is the higher.
var rank = map[Result]int{"": 0, Success: 1, Skipped: 2, Superseded: 3, Cancelled: 4, Failure: 5, Error: 6}

// Worse is the worse of a and b.
func Worse(a, b Result) Result {
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// Overall is the result of several: success when every one succeeded
// (or there are none), the worst of them otherwise. A skipped step is a
// failure of its run, since something it needed did not pass.
func Overall(results ...Result) Result {
	out := Success
	for _, r := range results {
		out = Worse(out, r)
	}
	if out == Skipped {
		return Failure
	}
	return out
}

// Valid says whether r is one of the results.
func (r Result) Valid() bool { _, ok := rank[r]; return ok && r != "" }

// State is where a run is in its life.
type State string

// The states. A run is queued, may wait for a trusted approval of its
// code, builds, and is done with a Result.
const (
	Queued   State = "queued"
	Waiting  State = "waiting" // untrusted code waits for a trusted approval
	Building State = "running"
	Done     State = "done"
)

// Live says whether a run in s can still change.
func (s State) Live() bool { return s == Queued || s == Building }

// Shown is everything that shows one state and result.
type Shown struct {
	// Status is the commit status state: pending, success, failure, error.
	Status string
	// CheckStatus is the check run's status (queued, in_progress,
	// completed) and CheckConclusion its conclusion once completed.
	CheckStatus     string
	CheckConclusion string
	// Word is the summary's headline: "passed", "could not finish".
	Word string
	// Short starts a status description, which GitHub cuts at 140
	// characters: "passed", "error", "running".
	Short string
	// Icon is how the summary shows it at a glance.
	Icon string
	// Exit is the CLI's and the Action's exit code.
	Exit int
	// Output is the Action's result output.
	Output string
}

// Show is how state s with result r (read only when s is Done) shows.
func Show(s State, r Result) Shown {
	switch s {
	case Queued:
		return Shown{Status: "pending", CheckStatus: "queued", Word: "queued", Short: "queued", Icon: "⏳", Exit: exitcode.OK, Output: "queued"}
	case Waiting:
		return Shown{Status: "pending", CheckStatus: "queued", Word: "waiting for approval", Short: "waiting", Icon: "⏸️", Exit: exitcode.OK, Output: "waiting"}
	case Building:
		return Shown{Status: "pending", CheckStatus: "in_progress", Word: "running", Short: "running", Icon: "⏳", Exit: exitcode.OK, Output: "running"}
	}
	done := Shown{CheckStatus: "completed", Output: string(r), Short: string(r)}
	switch r {
	case Success:
		done.Status, done.CheckConclusion, done.Word, done.Icon, done.Exit = "success", "success", "passed", "✅", exitcode.OK
		done.Short = "passed"
	case Failure:
		done.Status, done.CheckConclusion, done.Word, done.Icon, done.Exit = "failure", "failure", "failed", "❌", exitcode.Failed
		done.Short = "failed"
	case Cancelled:
		done.Status, done.CheckConclusion, done.Word, done.Icon, done.Exit = "error", "cancelled", "cancelled", "🚫", exitcode.Failed
	case Superseded:
		done.Status, done.CheckConclusion, done.Word, done.Icon, done.Exit = "error", "cancelled", "superseded", "🚫", exitcode.Failed
	case Skipped:
		done.Status, done.CheckConclusion, done.Word, done.Icon, done.Exit = "failure", "skipped", "skipped", "⏭️", exitcode.Failed
	default:
		done.Status, done.CheckConclusion, done.Word, done.Icon, done.Exit = "error", "failure", "could not finish", "⚠️", exitcode.Infra
		done.Output, done.Short = string(Error), string(Error)
	}
	return done
}
