package lifecycle

import (
	"slices"
	"strings"
)

// Run is what a decision knows of one run of a changeset.
type Run struct {
	ID int64
	// Heads names the exact heads the run builds (a hash of the pinned
	// SHAs): two runs with the same Heads build the same code.
	Heads string
	State State
	Ended Result
	// Members are the refs (owner/repo#n) of the PRs the run builds.
	Members []string
}

// Trigger is an event asking for a run of a changeset at Heads. Force
// builds heads that were tested already (a command, a re-run).
type Trigger struct {
	Heads string
	Force bool
}

// Kind is what a decision does.
type Kind string

// The kinds of decision.
const (
	// Skip queues nothing: Run tested these heads already, or tests them
	// now.
	Skip Kind = "skip"
	// Enqueue queues a new run of the heads.
	Enqueue Kind = "enqueue"
	// Coalesce gives the heads to Run, the changeset's queued run, which
	// then waits for more events a little longer.
	Coalesce Kind = "coalesce"
	// Supersede cancels Run: it builds heads nobody needs now. The run
	// that replaces it is the one enqueued or coalesced into, or the
	// one skipped to.
	Supersede Kind = "supersede"
	// Retire gives a final state to the heads Run was to test that the
	// trigger's heads no longer hold (a member was pushed to), so no old
	// commit shows a check that never finishes.
	Retire Kind = "retire"
	// Stop cancels Run at a person's word: a cancel command, or a member
	// PR closed.
	Stop Kind = "stop"
	// Build starts a claimed run.
	Build Kind = "build"
	// Wait parks a claimed run whose untrusted heads nobody trusted has
	// approved; a trusted command queues it again.
	Wait Kind = "wait"
)

// Decision is one thing to do about a trigger.
type Decision struct {
	Kind Kind
	Run  int64 // the run it concerns; 0 for Enqueue
}

// Decide is what a trigger does to a changeset's runs: live are its
// queued and running runs, last its newest run (live or not, nil for
// none). It decides from these alone, so the store commits what it
// decides in the same transaction that read them: the same heads are
// never cancelled and built again, however events interleave.
//
// The decisions come in order: first Skip, Enqueue or Coalesce, then the
// runs it supersedes.
func Decide(live []Run, last *Run, t Trigger) []Decision {
	var tested *Run
	for i, r := range live {
		if r.State == Building && r.Heads == t.Heads {
			tested = &live[i]
		}
	}
	if tested == nil && !t.Force && last != nil && last.Heads == t.Heads && last.State == Done &&
		(last.Ended == Success || last.Ended == Failure) {
		tested = last
	}
	if tested != nil {
		// A queued run of other heads is moot once these heads are
		// tested or being tested.
		out := []Decision{{Kind: Skip, Run: tested.ID}}
		for _, r := range live {
			if r.State == Queued {
				out = append(out, supersede(r.ID)...)
			}
		}
		return out
	}
	out := []Decision{{Kind: Enqueue}}
	for _, r := range live {
		if r.State == Queued {
			out = []Decision{{Kind: Coalesce, Run: r.ID}}
			if r.Heads != t.Heads {
				out = append(out, Decision{Kind: Retire, Run: r.ID})
			}
		}
	}
	for _, r := range live {
		if r.State == Building && r.Heads != t.Heads {
			out = append(out, supersede(r.ID)...)
		}
	}
	return out
}

func supersede(id int64) []Decision {
	return []Decision{{Kind: Supersede, Run: id}, {Kind: Retire, Run: id}}
}

// Cancel asks to stop live runs by a person's word.
type Cancel struct {
	// Member, when set, is a closed PR's ref (its owner and name in any
	// case, as GitHub's are): only the runs that build it stop (they test a set that no longer exists). Empty: every live
	// run given stops (a cancel command on the changeset).
	Member string
}

// DecideCancel is which of live a cancel stops.
func DecideCancel(live []Run, c Cancel) []Decision {
	var out []Decision
	for _, r := range live {
		if r.State == Done {
			continue
		}
		if c.Member != "" && !slices.ContainsFunc(r.Members, func(m string) bool { return strings.EqualFold(m, c.Member) }) {
			continue
		}
		out = append(out, Decision{Kind: Stop, Run: r.ID})
	}
	return out
}

// DecideStart is what a worker does with a run it claimed: untrusted
// code runs only at heads a trusted person approved.
func DecideStart(r Run, approved bool) Decision {
	if !approved {
		return Decision{Kind: Wait, Run: r.ID}
	}
	return Decision{Kind: Build, Run: r.ID}
}
