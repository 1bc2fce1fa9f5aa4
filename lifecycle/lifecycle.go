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

// live is how each state a run is not done in shows.
var live = map[State]Shown{
	Queued:   {Status: "pending", CheckStatus: "queued", Word: "queued", Short: "queued", Icon: "⏳", Exit: exitcode.OK, Output: "queued"},
	Waiting:  {Status: "pending", CheckStatus: "queued", Word: "waiting for approval", Short: "waiting", Icon: "⏸️", Exit: exitcode.OK, Output: "waiting"},
	Building: {Status: "pending", CheckStatus: "in_progress", Word: "running", Short: "running", Icon: "⏳", Exit: exitcode.OK, Output: "running"},
}

// ended is how each result of a run that is done shows.
var ended = map[Result]Shown{
	Success:    {Status: "success", CheckStatus: "completed", CheckConclusion: "success", Word: "passed", Short: "passed", Icon: "✅", Exit: exitcode.OK, Output: "success"},
	Failure:    {Status: "failure", CheckStatus: "completed", CheckConclusion: "failure", Word: "failed", Short: "failed", Icon: "❌", Exit: exitcode.Failed, Output: "failure"},
	Error:      {Status: "error", CheckStatus: "completed", CheckConclusion: "failure", Word: "could not finish", Short: "error", Icon: "⚠️", Exit: exitcode.Infra, Output: "error"},
	Cancelled:  {Status: "error", CheckStatus: "completed", CheckConclusion: "cancelled", Word: "cancelled", Short: "cancelled", Icon: "🚫", Exit: exitcode.Failed, Output: "cancelled"},
	Superseded: {Status: "error", CheckStatus: "completed", CheckConclusion: "cancelled", Word: "superseded", Short: "superseded", Icon: "🚫", Exit: exitcode.Failed, Output: "superseded"},
	Skipped:    {Status: "failure", CheckStatus: "completed", CheckConclusion: "skipped", Word: "skipped", Short: "skipped", Icon: "⏭️", Exit: exitcode.Failed, Output: "skipped"},
}

// Show is how state s with result r (read only when s is Done) shows. A
// result it does not know shows as an error.
func Show(s State, r Result) Shown {
	if sh, ok := live[s]; ok {
		return sh
	}
	if sh, ok := ended[r]; ok {
		return sh
	}
	return ended[Error]
}
